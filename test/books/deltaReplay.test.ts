import { describe, expect, it } from "vitest"
import { NULL_VALUE } from "../../src/books/bookDatasets.js"
import { BookDeltaBuffer } from "../../src/books/bookSegments.js"
import { bookTopColumns, encodeBookTop } from "../../src/books/bookTopParquet.js"
import { DeltaReplay } from "../../src/books/deltaReplay.js"
import { samplerHook, TopSampler } from "../../src/books/topSampler.js"
import { decodeTable } from "../../src/sinks/parquetCodec.js"

type Level = [price: number, size: number]

/** Appends one event (or snapshot block) to `buf`; received time = E in ns. */
const put = (
  buf: BookDeltaBuffer,
  E: number,
  U: number,
  u: number,
  bids: Array<Level>,
  asks: Array<Level>,
  options: { snapshot?: boolean; pu?: number } = {}
) =>
  buf.appendEvent(
    E,
    NULL_VALUE,
    BigInt(E) * 1_000_000n,
    U,
    u,
    options.pu ?? NULL_VALUE,
    bids.map((l) => l[0]),
    bids.map((l) => l[1]),
    asks.map((l) => l[0]),
    asks.map((l) => l[1]),
    options.snapshot ?? false
  )

const DAY = Date.UTC(2026, 0, 5)
const window = { startMs: DAY, endMs: DAY + 86_400_000 }

describe("DeltaReplay", () => {
  it("rebuilds the book, follows the spot chain and counts a gap and the covered time", () => {
    const buf = new BookDeltaBuffer()
    put(
      buf,
      DAY + 1000,
      100,
      100,
      [
        [100, 5],
        [99, 1]
      ],
      [[101, 2]],
      { snapshot: true }
    )
    put(buf, DAY + 1100, 101, 102, [[100, 0]], [[102, 3]])
    put(buf, DAY + 1200, 103, 103, [[98, 4]], [])
    // ids 104..109 never arrive; the capture re-synced from a snapshot at 110.
    put(buf, DAY + 2000, 110, 110, [[97, 1]], [[101, 1]], { snapshot: true })
    put(buf, DAY + 2100, 111, 112, [[97, 2]], [])
    const seen: Array<number> = []
    const replay = new DeltaReplay("spot", window, (_E, _U, u, _snap, at) => seen.push(at.lastUpdateId, u))
    replay.push(buf.rows())
    expect(replay.book.bids.price(0)).toBe(97)
    expect(replay.book.bids.size(0)).toBe(2)
    expect(replay.book.asks.price(0)).toBe(101)
    const counts = replay.counts
    expect(counts).toMatchObject({
      events: 3,
      appliedLevels: 4,
      snapshotBlocks: 2,
      gaps: 1,
      missingIds: 7,
      firstId: 100,
      lastId: 112,
      // Events 1100→1200; the re-sync breaks the chain and one event follows it.
      coveredMs: 100,
      largestSnapshotLevels: 3
    })
    expect(replay.gapList).toEqual([
      { firstMissingId: 104, lastMissingId: 110, missingIds: 7, toTime: DAY + 2000 }
    ])
    // The hook sees the book before each event.
    expect(seen).toEqual([-1, 100, 100, 102, 102, 103, 103, 110, 110, 112])
    expect(replay.eventsPerMinute[0]).toBe(3)
  })

  it("follows the USD-M pu chain, a day-start block continuing it, and skips rows before any block", () => {
    const buf = new BookDeltaBuffer()
    put(buf, DAY + 10, 5, 7, [[1, 1]], [], { pu: 4 })
    put(buf, DAY + 100, 50, 50, [[10, 1]], [[11, 1]], { snapshot: true })
    put(buf, DAY + 200, 45, 60, [[10, 2]], [], { pu: 40 }) // U <= L <= u: the first event
    put(buf, DAY + 300, 64, 70, [[9, 1]], [], { pu: 60 })
    put(
      buf,
      DAY + 300,
      70,
      70,
      [
        [10, 2],
        [9, 1]
      ],
      [[11, 1]],
      { snapshot: true }
    ) // day-start block
    put(buf, DAY + 400, 75, 80, [[9, 3]], [], { pu: 70 })
    put(buf, DAY + 500, 90, 95, [[9, 4]], [], { pu: 85 }) // pu ≠ 80: gap of ids 81..85
    const replay = new DeltaReplay("usdm", window)
    replay.push(buf.rows())
    expect(replay.counts).toMatchObject({
      skippedBeforeSnapshot: 1,
      events: 4,
      gaps: 1,
      missingIds: 5,
      coveredMs: 200
    })
    expect(replay.book.bids.size(1)).toBe(4)
  })
})

describe("TopSampler and the book_top file", () => {
  it("samples the book on the grid only while held, and writes readable DECIMAL columns", async () => {
    const buf = new BookDeltaBuffer()
    put(
      buf,
      DAY + 150,
      1,
      1,
      [[10_050, 5]],
      [
        [10_100, 7],
        [10_200, 1]
      ],
      { snapshot: true }
    )
    put(buf, DAY + 250, 2, 2, [[10_060, 1]], [])
    put(buf, DAY + 420, 3, 3, [], [[10_100, 0]])
    const sampler = new TopSampler({ levels: 2, everyMs: 100, fromMs: DAY, toMs: DAY + 86_400_000 })
    const replay = new DeltaReplay("spot", window, (E, _U, _u, _s, at) => sampler.before(E, at))
    replay.push(buf.rows())
    sampler.finish(DAY + 420, replay)
    const blocks = sampler.take()
    expect(blocks).toHaveLength(1)
    const b = blocks[0]!
    // No book at 0 and 100 ms; 200 (after E=150), 300 and 400 (after E=250); none past 420.
    expect(Array.from(b.ts)).toEqual([DAY + 200, DAY + 300, DAY + 400])
    expect(Array.from(b.u)).toEqual([1, 2, 2])
    expect(Array.from(b.bidPx[0]!)).toEqual([10_050, 10_060, 10_060])
    expect(Array.from(b.bidPresent[1]!)).toEqual([0, 1, 1])
    expect(Array.from(b.askPx[0]!)).toEqual([10_100, 10_100, 10_100])

    const bytes = encodeBookTop(b, {
      symbol: "BTCUSDT",
      levels: 2,
      priceScale: 2,
      sizeScale: 3,
      datasetName: "book_top2_100ms"
    })
    const rows = await decodeTable(bookTopColumns(2, 2, 3), bytes)
    expect(rows[0]).toMatchObject({
      ts: DAY + 200,
      symbol: "BTCUSDT",
      u: 1,
      bid_px_0: 10_050,
      bid_sz_0: 5,
      bid_px_1: null,
      ask_px_1: 10_200
    })
    expect(rows.map((r) => r["ask_px_1"])).toEqual([10_200, 10_200, 10_200])
  })

  it("skips the grid from the last event before a gap to its re-sync block", () => {
    const buf = new BookDeltaBuffer()
    put(buf, DAY + 150, 1, 1, [[100, 1]], [[101, 1]], { snapshot: true })
    put(buf, DAY + 250, 2, 2, [[100, 2]], [])
    put(buf, DAY + 650, 9, 9, [[99, 1]], [[101, 1]], { snapshot: true }) // ids 3..9 missed
    put(buf, DAY + 750, 10, 10, [[99, 3]], [])
    const sampler = new TopSampler({ levels: 1, everyMs: 100, fromMs: DAY, toMs: DAY + 86_400_000 })
    const replay = new DeltaReplay("spot", window, samplerHook(sampler))
    replay.push(buf.rows())
    sampler.finish(DAY + 750, replay)
    const [b] = sampler.take()
    expect(Array.from(b!.ts)).toEqual([DAY + 200, DAY + 700])
    expect(Array.from(b!.bidSz[0]!)).toEqual([1, 1])
  })
})
