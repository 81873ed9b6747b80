import { describe, expect, it } from "vitest"
import { DepthSync } from "../../../src/sources/binance/depthSync.js"
import type { DepthEvent, DepthSnapshot } from "../../../src/sources/binance/depthWire.js"

/** An event setting one bid level per entry of `bids` ([price, size]); ids and times as given. */
const ev = (
  U: number,
  u: number,
  options: { pu?: number; E?: number; bids?: Array<[number, number]>; asks?: Array<[number, number]> } = {}
): DepthEvent => ({
  symbol: "X",
  E: options.E ?? u * 10,
  T: undefined,
  U,
  u,
  pu: options.pu,
  bidPrices: (options.bids ?? []).map((l) => l[0]),
  bidSizes: (options.bids ?? []).map((l) => l[1]),
  askPrices: (options.asks ?? []).map((l) => l[0]),
  askSizes: (options.asks ?? []).map((l) => l[1])
})

const snap = (
  lastUpdateId: number,
  bids: Array<[number, number]> = [[100, 1]],
  asks: Array<[number, number]> = [[101, 1]]
): DepthSnapshot => ({
  lastUpdateId,
  E: undefined,
  T: undefined,
  bidPrices: bids.map((l) => l[0]),
  bidSizes: bids.map((l) => l[1]),
  askPrices: asks.map((l) => l[0]),
  askSizes: asks.map((l) => l[1])
})

const bidLevels = (sync: DepthSync) =>
  Array.from({ length: sync.book.bids.length }, (_, i) => [sync.book.bids.price(i), sync.book.bids.size(i)])

describe("DepthSync, spot rules (spec §1.4)", () => {
  it("buffers events until a snapshot, asking for one once", () => {
    const sync = new DepthSync("X", "spot")
    expect(sync.onEvent(ev(90, 95))).toEqual({ _tag: "Buffered", requestSnapshot: true })
    expect(sync.onEvent(ev(96, 99))).toEqual({ _tag: "Buffered", requestSnapshot: false })
    expect(sync.synced).toBe(false)
    expect(sync.buffered).toBe(2)
  })

  it("drops buffered events with u <= lastUpdateId, applies the one spanning lastUpdateId + 1, then contiguous ones", () => {
    const sync = new DepthSync("X", "spot")
    sync.onEvent(ev(90, 99, { bids: [[100, 7]] })) // covered by the snapshot
    sync.onEvent(ev(100, 100, { bids: [[100, 8]] })) // u == lastUpdateId: dropped too
    sync.onEvent(ev(101, 104, { bids: [[99, 5]] })) // U <= 101 <= u: the first applied
    sync.onEvent(ev(105, 106, { bids: [[100, 0]] }))
    expect(sync.onSnapshot(snap(100))).toEqual({ _tag: "Synced", lastUpdateId: 100, dropped: 2, applied: 2 })
    expect(sync.synced).toBe(true)
    expect(sync.lastUpdateId).toBe(106)
    expect(bidLevels(sync)).toEqual([[99, 5]])
    expect(sync.onEvent(ev(107, 107, { bids: [[98, 1]] }))).toEqual({ _tag: "Applied" })
    expect(bidLevels(sync)).toEqual([
      [99, 5],
      [98, 1]
    ])
  })

  it("accepts a first event that overlaps the snapshot (U < lastUpdateId + 1 <= u)", () => {
    const sync = new DepthSync("X", "spot")
    sync.onEvent(ev(95, 105))
    expect(sync.onSnapshot(snap(100))).toMatchObject({ _tag: "Synced", dropped: 0, applied: 1 })
    expect(sync.lastUpdateId).toBe(105)
  })

  it("refetches a snapshot older than the first buffered event and keeps the buffer", () => {
    const sync = new DepthSync("X", "spot")
    sync.onEvent(ev(101, 104))
    // lastUpdateId 100 < U 101: too old by the documented rule (step 3), even though contiguous.
    expect(sync.onSnapshot(snap(100))).toEqual({
      _tag: "SnapshotTooOld",
      lastUpdateId: 100,
      firstBufferedU: 101
    })
    expect(sync.synced).toBe(false)
    expect(sync.buffered).toBe(1)
    expect(sync.onEvent(ev(105, 106))).toEqual({ _tag: "Buffered", requestSnapshot: false })
    expect(sync.onSnapshot(snap(104))).toEqual({ _tag: "Synced", lastUpdateId: 104, dropped: 1, applied: 1 })
    expect(sync.stats.snapshotsTooOld).toBe(1)
  })

  it("treats a first live event past an unbuffered snapshot as the snapshot being too old, not a gap", () => {
    const sync = new DepthSync("X", "spot")
    expect(sync.onSnapshot(snap(100))).toEqual({ _tag: "Synced", lastUpdateId: 100, dropped: 0, applied: 0 })
    expect(sync.onEvent(ev(150, 151))).toEqual({
      _tag: "SnapshotTooOld",
      lastUpdateId: 100,
      firstBufferedU: 150
    })
    expect(sync.synced).toBe(false)
    expect(sync.book.bids.length).toBe(0)
    expect(sync.stats.gaps).toBe(0)
  })

  it("ignores stale live events (u <= local id)", () => {
    const sync = new DepthSync("X", "spot")
    sync.onEvent(ev(99, 101, { bids: [[100, 2]] }))
    sync.onSnapshot(snap(100))
    expect(sync.onEvent(ev(98, 101, { bids: [[100, 9]] }))).toEqual({ _tag: "Stale" })
    expect(bidLevels(sync)).toEqual([[100, 2]])
    expect(sync.lastUpdateId).toBe(101)
  })

  it("reports a gap (U > local id + 1) with its ids, times and estimated loss, then re-syncs from the revealing event", () => {
    const sync = new DepthSync("X", "spot")
    sync.onEvent(ev(100, 102, { E: 1000, bids: [[100, 2]] }))
    sync.onSnapshot(snap(100))
    // 10 ids carried 5 level changes: 0.5 per id.
    sync.onEvent(
      ev(103, 110, {
        E: 1100,
        bids: [
          [99, 1],
          [98, 1],
          [97, 1],
          [96, 1]
        ]
      })
    )
    const outcome = sync.onEvent(ev(115, 117, { E: 1400, bids: [[95, 3]] }))
    expect(outcome).toEqual({
      _tag: "Gap",
      gap: {
        symbol: "X",
        firstMissingId: 111,
        lastMissingId: 114,
        missingIds: 4,
        eventsLostEstimate: 2,
        fromTime: 1100,
        toTime: 1400
      }
    })
    expect(sync.synced).toBe(false)
    expect(sync.book.bids.length).toBe(0)
    expect(sync.buffered).toBe(1)
    // The caller fetches a new snapshot; the revealing event is replayed onto it.
    expect(sync.onSnapshot(snap(116))).toEqual({ _tag: "Synced", lastUpdateId: 116, dropped: 0, applied: 1 })
    expect(bidLevels(sync)).toEqual([
      [100, 1],
      [95, 3]
    ])
    expect(sync.stats).toMatchObject({ gaps: 1, missingIds: 4, eventsLostEstimate: 2, snapshotsApplied: 2 })
  })

  it("finds a gap inside the buffer while replaying it and keeps the events after it", () => {
    const sync = new DepthSync("X", "spot")
    sync.onEvent(ev(95, 100))
    sync.onEvent(ev(101, 103))
    sync.onEvent(ev(108, 109))
    sync.onEvent(ev(110, 111))
    const outcome = sync.onSnapshot(snap(100))
    expect(outcome).toMatchObject({
      _tag: "Gap",
      gap: { firstMissingId: 104, lastMissingId: 107, missingIds: 4 }
    })
    expect(sync.buffered).toBe(2)
    expect(sync.onSnapshot(snap(109))).toEqual({ _tag: "Synced", lastUpdateId: 109, dropped: 1, applied: 1 })
  })

  it("reports a gap when buffered events stop before lastUpdateId + 1 and the next starts after it", () => {
    const sync = new DepthSync("X", "spot")
    sync.onEvent(ev(90, 95))
    sync.onEvent(ev(104, 106))
    expect(sync.onSnapshot(snap(100))).toMatchObject({
      _tag: "Gap",
      gap: { firstMissingId: 101, lastMissingId: 103, missingIds: 3 }
    })
  })

  it("ignores a snapshot that arrives while the book is live", () => {
    const sync = new DepthSync("X", "spot")
    sync.onEvent(ev(100, 101))
    sync.onSnapshot(snap(100))
    expect(sync.onSnapshot(snap(500, [[1, 1]]))).toEqual({ _tag: "SnapshotIgnored" })
    expect(sync.lastUpdateId).toBe(101)
  })

  it("drops the oldest events of a full buffer, so an old snapshot fails the too-old check", () => {
    const sync = new DepthSync("X", "spot", { maxBuffered: 2 })
    sync.onEvent(ev(101, 102))
    sync.onEvent(ev(103, 104))
    sync.onEvent(ev(105, 106))
    expect(sync.buffered).toBe(2)
    expect(sync.stats.bufferOverflow).toBe(1)
    expect(sync.onSnapshot(snap(102))).toMatchObject({ _tag: "SnapshotTooOld", firstBufferedU: 103 })
    expect(sync.onSnapshot(snap(104))).toMatchObject({ _tag: "Synced", dropped: 1, applied: 1 })
  })

  it("reset discards the book and starts a new sync", () => {
    const sync = new DepthSync("X", "spot")
    sync.onEvent(ev(100, 101))
    sync.onSnapshot(snap(100))
    sync.reset()
    expect(sync.synced).toBe(false)
    expect(sync.book.bids.length).toBe(0)
    expect(sync.onEvent(ev(300, 301))).toEqual({ _tag: "Buffered", requestSnapshot: true })
  })
})

describe("DepthSync, USD-M futures rules (spec §2.4)", () => {
  it("drops u < lastUpdateId, applies a first event with U <= lastUpdateId <= u, then follows the pu chain", () => {
    const sync = new DepthSync("X", "usdm")
    sync.onEvent(ev(80, 90, { pu: 70 }))
    sync.onEvent(ev(95, 100, { pu: 90, bids: [[100, 4]] })) // u == lastUpdateId: kept (strict drop), U <= L <= u
    sync.onEvent(ev(130, 140, { pu: 100, bids: [[99, 2]] })) // ids jump: U != previous u + 1, pu chains
    expect(sync.onSnapshot(snap(100))).toEqual({ _tag: "Synced", lastUpdateId: 100, dropped: 1, applied: 2 })
    expect(sync.onEvent(ev(200, 210, { pu: 140 }))).toEqual({ _tag: "Applied" })
    expect(bidLevels(sync)).toEqual([
      [100, 4],
      [99, 2]
    ])
    expect(sync.lastUpdateId).toBe(210)
  })

  it("refetches a snapshot older than the first buffered event", () => {
    const sync = new DepthSync("X", "usdm")
    sync.onEvent(ev(120, 130, { pu: 110 }))
    expect(sync.onSnapshot(snap(119))).toEqual({
      _tag: "SnapshotTooOld",
      lastUpdateId: 119,
      firstBufferedU: 120
    })
    expect(sync.onSnapshot(snap(120))).toMatchObject({ _tag: "Synced", applied: 1 })
  })

  it("re-syncs when pu breaks the chain, the gap running from local id + 1 to pu", () => {
    const sync = new DepthSync("X", "usdm")
    sync.onEvent(ev(95, 100, { pu: 90, E: 5000 }))
    sync.onSnapshot(snap(100))
    sync.onEvent(ev(101, 120, { pu: 100, E: 5100, asks: [[101, 0]] }))
    const outcome = sync.onEvent(ev(300, 320, { pu: 250, E: 5600 }))
    expect(outcome).toMatchObject({
      _tag: "Gap",
      gap: { firstMissingId: 121, lastMissingId: 250, missingIds: 130, fromTime: 5100, toTime: 5600 }
    })
    expect(sync.synced).toBe(false)
  })

  it("ignores an event the book already holds (u <= local id: the same stream on two connections)", () => {
    const sync = new DepthSync("X", "usdm")
    sync.onEvent(ev(95, 100, { pu: 90 }))
    sync.onSnapshot(snap(100))
    sync.onEvent(ev(101, 120, { pu: 100, bids: [[100, 7]] }))
    sync.onEvent(ev(130, 140, { pu: 120 }))
    expect(sync.onEvent(ev(101, 120, { pu: 100, bids: [[100, 1]] }))).toEqual({ _tag: "Stale" })
    expect(sync.onEvent(ev(130, 140, { pu: 120 }))).toEqual({ _tag: "Stale" })
    expect(bidLevels(sync)).toEqual([[100, 7]])
    expect(sync.onEvent(ev(150, 160, { pu: 140 }))).toEqual({ _tag: "Applied" })
  })

  it("re-syncs on a pu pointing backwards past which the event reaches (an event out of order)", () => {
    const sync = new DepthSync("X", "usdm")
    sync.onEvent(ev(95, 100, { pu: 90 }))
    sync.onSnapshot(snap(100))
    sync.onEvent(ev(101, 120, { pu: 100 }))
    expect(sync.onEvent(ev(101, 130, { pu: 100 }))).toMatchObject({ _tag: "Gap", gap: { missingIds: 0 } })
  })

  it("reports a gap when the first event after dropped ones starts past lastUpdateId", () => {
    const sync = new DepthSync("X", "usdm")
    sync.onEvent(ev(80, 90, { pu: 70 }))
    sync.onEvent(ev(110, 120, { pu: 105 }))
    expect(sync.onSnapshot(snap(100))).toMatchObject({
      _tag: "Gap",
      gap: { firstMissingId: 101, lastMissingId: 105, missingIds: 5 }
    })
  })
})

describe("DepthSync hooks and restore (the capture's log)", () => {
  it("reports each applied event before it changes the book, and each snapshot loaded", () => {
    const seen: Array<string> = []
    const sync = new DepthSync("X", "spot", {
      onApply: (e) => seen.push(`apply ${e.U}-${e.u} book ${sync.book.bids.length}`),
      onSnapshotLoaded: (s) => seen.push(`snapshot ${s.lastUpdateId}`)
    })
    sync.onEvent(ev(5, 6))
    sync.onEvent(ev(7, 8, { bids: [[99, 2]] }))
    sync.onSnapshot(snap(6))
    sync.onEvent(ev(9, 9, { bids: [[98, 1]] }))
    expect(seen).toEqual(["snapshot 6", "apply 7-8 book 1", "apply 9-9 book 2"])
  })

  it("continues a restored book, and takes a jump past it for a gap (spot and USD-M)", () => {
    const spot = new DepthSync("X", "spot")
    spot.restore([100], [1], [101], [1], 10, 1000)
    expect(spot.synced).toBe(true)
    expect(spot.onEvent(ev(9, 10))._tag).toBe("Stale")
    expect(spot.onEvent(ev(11, 12, { bids: [[100, 5]] }))._tag).toBe("Applied")
    expect(bidLevels(spot)).toEqual([[100, 5]])
    const gap = spot.onEvent(ev(20, 21))
    expect(gap._tag === "Gap" ? [gap.gap.firstMissingId, gap.gap.lastMissingId] : gap._tag).toEqual([13, 19])

    const usdm = new DepthSync("X", "usdm")
    usdm.restore([100], [1], [101], [1], 10, 1000)
    expect(usdm.onEvent(ev(15, 20, { pu: 10 }))._tag).toBe("Applied")
    expect(usdm.onEvent(ev(30, 40, { pu: 25 }))._tag).toBe("Gap")
  })
})
