import { describe, expect, it } from "vitest"
import { formatUnits, SPOT_SYMBOLS, USDM_SYMBOLS, type Venue } from "../../../src/sim/binance/catalog.js"
import { makeDepthMarket } from "../../../src/sim/binance/depthMarket.js"
import type { DepthMessage } from "../../../src/sim/binance/depthStream.js"
import { parseDepthStream } from "../../../src/sim/binance/depthStream.js"

interface Snapshot {
  lastUpdateId: number
  bids: Array<[string, string]>
  asks: Array<[string, string]>
}
interface Update {
  U: number
  u: number
  pu?: number
  b: Array<[string, string]>
  a: Array<[string, string]>
}

const bookOf = (s: Snapshot) => ({ bids: new Map(s.bids), asks: new Map(s.asks) })
const apply = (book: ReturnType<typeof bookOf>, m: Update) => {
  for (const [p, q] of m.b)
    if (Number(q) === 0) book.bids.delete(p)
    else book.bids.set(p, q)
  for (const [p, q] of m.a)
    if (Number(q) === 0) book.asks.delete(p)
    else book.asks.set(p, q)
}
const sortedEntries = (m: Map<string, string>) => [...m].sort((a, b) => (a[0] < b[0] ? -1 : 1))

const market = (venue: Venue, seed: number) =>
  makeDepthMarket({
    seed,
    startMs: 1_700_000_000_000,
    depth: 200,
    venues: {
      spot: venue === "spot" ? [{ spec: SPOT_SYMBOLS[0]!, rate: 2000 }] : [],
      usdm: venue === "usdm" ? [{ spec: USDM_SYMBOLS[2]!, rate: 2000 }] : []
    }
  })

describe("depthMarket", () => {
  it("formats fixed-point units exactly", () => {
    expect(formatUnits(35_130_000, 8)).toBe("0.35130000")
    expect(formatUnits(76_110, 4)).toBe("7.6110")
    expect(formatUnits(813, 0)).toBe("813")
    expect(formatUnits(0, 8)).toBe("0.00000000")
    expect(formatUnits(6_000_000_000_000, 8)).toBe("60000.00000000")
  })

  it("parses the depth stream names each venue serves", () => {
    expect(parseDepthStream("spot", "btcusdt@depth@100ms")).toEqual({ symbol: "BTCUSDT", intervalMs: 100 })
    expect(parseDepthStream("spot", "btcusdt@depth")).toEqual({ symbol: "BTCUSDT", intervalMs: 1000 })
    expect(parseDepthStream("spot", "btcusdt@depth@500ms")).toBeUndefined()
    expect(parseDepthStream("usdm", "btcusdt@depth@500ms")).toEqual({ symbol: "BTCUSDT", intervalMs: 500 })
    expect(parseDepthStream("usdm", "btcusdt@depth")).toEqual({ symbol: "BTCUSDT", intervalMs: 250 })
    expect(parseDepthStream("spot", "BTCUSDT@depth")).toBeUndefined()
    expect(parseDepthStream("spot", "btcusdt@trade")).toBeUndefined()
  })

  for (const venue of ["spot", "usdm"] as const)
    it(`${venue}: the snapshot at every interval end equals the first snapshot plus every message; ids chain`, () => {
      const m = market(venue, 7)
      const symbol = venue === "spot" ? "BTCUSDT" : "SUSHIUSDT"
      const stream = venue === "spot" ? "btcusdt@depth@100ms" : "sushiusdt@depth@500ms"
      expect(m.activate(venue, stream)).toBe(true)
      const first = JSON.parse(m.snapshot(venue, symbol, 5000)!.body) as Snapshot
      const book = bookOf(first)
      let prev: Update | undefined
      let checked = 0
      let levels = 0
      for (let i = 0; i < 120; i++) {
        const out: Array<DepthMessage> = []
        m.step((_, msg) => out.push(msg))
        for (const msg of out) {
          const u = JSON.parse(msg.payload) as Update
          expect([u.U, u.u]).toEqual([msg.U, msg.u])
          if (venue === "spot") expect(u.U).toBe((prev?.u ?? first.lastUpdateId) + 1)
          else {
            expect(u.pu).toBe(prev?.u ?? first.lastUpdateId)
            expect(u.U).toBeGreaterThan(u.pu!)
          }
          apply(book, u)
          levels += u.b.length + u.a.length
          prev = u
          const snap = JSON.parse(m.snapshot(venue, symbol, 5000)!.body) as Snapshot
          expect(snap.lastUpdateId).toBe(u.u)
          expect(sortedEntries(book.bids)).toEqual(sortedEntries(new Map(snap.bids)))
          expect(sortedEntries(book.asks)).toEqual(sortedEntries(new Map(snap.asks)))
          // Uncrossed, best first.
          expect(Number(snap.bids[0]![0])).toBeLessThan(Number(snap.asks[0]![0]))
          checked++
        }
      }
      expect(checked).toBeGreaterThan(10)
      const events = m.stats()[0]!.events
      expect(events).toBe(120 * 100)
      // A change avoids prices already changed in its 100 ms: nearly every event is a level of its own.
      if (venue === "spot") expect(levels / events).toBeGreaterThan(0.97)
    })

  it("the same seed gives the same messages; another seed, others", () => {
    const run = (seed: number) => {
      const m = market("spot", seed)
      m.activate("spot", "btcusdt@depth@100ms")
      const out: Array<string> = []
      for (let i = 0; i < 40; i++) m.step((_, msg) => out.push(msg.payload))
      return out
    }
    expect(run(3)).toEqual(run(3))
    expect(run(3)).not.toEqual(run(4))
  })

  it("a stale snapshot is an older, consistent copy", () => {
    const m = market("spot", 5)
    for (let i = 0; i < 100; i++) m.step(() => {})
    const fresh = JSON.parse(m.snapshot("spot", "BTCUSDT", 5000)!.body) as Snapshot
    const stale = JSON.parse(m.snapshot("spot", "BTCUSDT", 5000, 2000)!.body) as Snapshot
    // 100 steps of 50 ms, 100 events each: the copy kept at 3 s, 40 steps before the end.
    expect(stale.lastUpdateId).toBe(fresh.lastUpdateId - 40 * 100)
    // It is the book a run with the same seed holds after 60 steps.
    const again = market("spot", 5)
    for (let i = 0; i < 60; i++) again.step(() => {})
    expect(JSON.parse(again.snapshot("spot", "BTCUSDT", 5000)!.body)).toEqual(stale)
  })
})
