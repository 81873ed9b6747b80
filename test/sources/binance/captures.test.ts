/**
 * The real Binance captures in ../shared/fixtures/binance (spot NKNUSDT, USD-M SUSHIUSDT): exact
 * decimals on every level, the book rebuilt from the snapshot by the official procedure with no
 * gap, and that book equal to tardis-dev's OrderBook after every event.
 */
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { formatFixed, parseFixed } from "../../../src/books/fixedPoint.js"
import { DepthSync } from "../../../src/sources/binance/depthSync.js"
import {
  decodeDepthEvent,
  decodeDepthSnapshot,
  framePayload
} from "../../../src/sources/binance/depthWire.js"
import { type BinanceVenue, symbolScales } from "../../../src/sources/binance/exchangeInfo.js"
import { haveBinanceFixtures, loadCapture } from "../../support/binanceFixtures.js"
import { bookChange, TardisOrderBook, topDifference } from "../../support/tardisBook.js"

const scalesOf = (venue: BinanceVenue) => {
  const capture = loadCapture(venue)
  const scales = Either.getOrThrow(symbolScales(venue, capture.exchangeInfo))
  return { capture, scales, symbol: scales.get(capture.symbol)! }
}

interface Expected {
  readonly dropped: number
  readonly applied: number
  readonly finalU: number
  readonly bestBid: [string, string]
  readonly bestAsk: [string, string]
  readonly levels: [number, number]
}

// The final state INDEX.md reports from an independent replay in exact decimals.
const expected: Record<BinanceVenue, Expected> = {
  "binance-spot": {
    dropped: 1,
    applied: 149,
    finalU: 499870179,
    bestBid: ["0.35270000", "9602.00000000"],
    bestAsk: ["0.35310000", "152.00000000"],
    levels: [614, 994]
  },
  "binance-usdm": {
    dropped: 3,
    applied: 252,
    finalU: 600860425198,
    bestBid: ["7.6120", "303"],
    bestAsk: ["7.6160", "267"],
    levels: [1006, 1000]
  }
}

describe.skipIf(!haveBinanceFixtures)("Binance captures (../shared/fixtures/binance)", () => {
  it("reads each symbol's scales from exchangeInfo's filters and printed precisions", () => {
    const spot = Either.getOrThrow(symbolScales("binance-spot", loadCapture("binance-spot").exchangeInfo))
    // tickSize 0.0001 and stepSize 1, but the book holds older prices and sizes finer than both;
    // 7 decimals keep 100 × maxQty 9,000,000 below 2^53.
    expect(spot.get("NKNUSDT")).toEqual({
      symbol: "NKNUSDT",
      priceScale: 8,
      sizeScale: 7,
      priceDecimals: 8,
      sizeDecimals: 8
    })
    expect(spot.get("BTCUSDT")).toMatchObject({ priceScale: 8, sizeScale: 8 })
    const usdm = Either.getOrThrow(symbolScales("binance-usdm", loadCapture("binance-usdm").exchangeInfo))
    // tickSize 0.0010, but prices print with pricePrecision 4 (spec §2.5).
    expect(usdm.get("SUSHIUSDT")).toEqual({
      symbol: "SUSHIUSDT",
      priceScale: 4,
      sizeScale: 0,
      priceDecimals: 4,
      sizeDecimals: 0
    })
    expect(usdm.get("BTCUSDT")).toMatchObject({
      priceScale: 2,
      sizeScale: 3,
      priceDecimals: 2,
      sizeDecimals: 3
    })
  })

  it.each(["binance-spot", "binance-usdm"] as const)(
    "%s: every level's decimal text survives the integer round trip",
    (venue) => {
      const { capture, symbol } = scalesOf(venue)
      const levels: string[][] = [...capture.snapshot.bids, ...capture.snapshot.asks]
      for (const { frame } of capture.frames) {
        const data = framePayload(frame) as { b: string[][]; a: string[][] }
        levels.push(...data.b, ...data.a)
      }
      // Every level of the snapshot and of every frame (counted independently of this code).
      expect(levels.length).toBe(venue === "binance-spot" ? 1988 : 6029)
      for (const [price, size] of levels) {
        const p = parseFixed(price!, symbol.priceScale)
        const s = parseFixed(size!, symbol.sizeScale)
        if (formatFixed(p, symbol.priceScale, symbol.priceDecimals) !== price)
          expect.fail(`price ${price} → ${p}`)
        if (formatFixed(s, symbol.sizeScale, symbol.sizeDecimals) !== size) expect.fail(`size ${size} → ${s}`)
      }
    }
  )

  it.each(["binance-spot", "binance-usdm"] as const)(
    "%s: rebuilds the book from the snapshot with zero gaps, equal to tardis-dev's after every event",
    (venue) => {
      const { capture, symbol } = scalesOf(venue)
      const want = expected[venue]
      const sync = new DepthSync(capture.symbol, venue === "binance-spot" ? "spot" : "usdm")
      const reference = new TardisOrderBook()
      const snapshot = Either.getOrThrow(decodeDepthSnapshot(capture.snapshot, symbol))
      let snapshotTaken = false
      const outcomes: Record<string, number> = {}
      const count = (tag: string) => {
        outcomes[tag] = (outcomes[tag] ?? 0) + 1
      }
      const buffered: Array<{ b: string[][]; a: string[][] }> = []
      const takeSnapshot = () => {
        snapshotTaken = true
        const outcome = sync.onSnapshot(snapshot)
        expect(outcome).toMatchObject({ _tag: "Synced", lastUpdateId: capture.snapshot.lastUpdateId })
        if (outcome._tag !== "Synced") return
        for (let i = 0; i < outcome.dropped; i++) count("Stale")
        for (let i = 0; i < outcome.applied; i++) count("Applied")
        // tardis has no sequence rules: it gets the snapshot and then exactly the events the sync
        // applied (without a gap, the drops are the buffer's first events).
        reference.update(bookChange(capture.symbol, true, capture.snapshot.bids, capture.snapshot.asks))
        for (const raw of buffered.slice(outcome.dropped))
          reference.update(bookChange(capture.symbol, false, raw.b, raw.a))
        expect(topDifference(sync.book, reference, 1e6, symbol)).toBeUndefined()
      }
      // Frames and the snapshot in the order they were received.
      for (const { recvTs, frame } of capture.frames) {
        if (!snapshotTaken && recvTs > capture.snapshotReceived) takeSnapshot()
        const raw = framePayload(frame) as { b: string[][]; a: string[][] }
        const event = Either.getOrThrow(decodeDepthEvent(raw, symbol))
        const outcome = sync.onEvent(event)
        count(outcome._tag)
        if (outcome._tag === "Buffered") buffered.push(raw)
        if (outcome._tag === "Applied") {
          reference.update(bookChange(capture.symbol, false, raw.b, raw.a))
          const difference = topDifference(sync.book, reference, 20, symbol)
          if (difference !== undefined) expect.fail(`after u=${event.u}: ${difference}`)
        }
      }
      expect(outcomes["Gap"] ?? 0).toBe(0)
      expect(outcomes["SnapshotTooOld"] ?? 0).toBe(0)
      expect(outcomes["Stale"]).toBe(want.dropped)
      expect(outcomes["Applied"]).toBe(want.applied)
      expect(sync.stats).toMatchObject({ gaps: 0, appliedEvents: want.applied, staleEvents: want.dropped })
      expect(sync.lastUpdateId).toBe(want.finalU)
      const { bids, asks } = sync.book
      expect([bids.length, asks.length]).toEqual(want.levels)
      expect([
        formatFixed(bids.price(0)!, symbol.priceScale, symbol.priceDecimals),
        formatFixed(bids.size(0)!, symbol.sizeScale, symbol.sizeDecimals)
      ]).toEqual(want.bestBid)
      expect([
        formatFixed(asks.price(0)!, symbol.priceScale, symbol.priceDecimals),
        formatFixed(asks.size(0)!, symbol.sizeScale, symbol.sizeDecimals)
      ]).toEqual(want.bestAsk)
      expect(sync.book.crossed).toBe(false)
      expect(topDifference(sync.book, reference, 1e6, symbol)).toBeUndefined()
    }
  )
})
