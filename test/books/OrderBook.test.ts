import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { BookSide, OrderBook } from "../../src/books/OrderBook.js"
import { DepthSync } from "../../src/sources/binance/depthSync.js"
import { decodeDepthEvent, decodeDepthSnapshot } from "../../src/sources/binance/depthWire.js"
import { randomDepth, randomScales, seededRandom } from "../support/randomDepth.js"
import { bookChange, engineTop, TardisOrderBook, tardisTop, topDifference } from "../support/tardisBook.js"

const levels = (side: BookSide): Array<[number, number]> =>
  Array.from({ length: side.length }, (_, i) => [side.price(i)!, side.size(i)!])

describe("BookSide", () => {
  it("keeps bids best (highest) first and asks best (lowest) first", () => {
    const book = new OrderBook()
    for (const [p, s] of [
      [100, 1],
      [102, 2],
      [101, 3]
    ] as const) {
      book.set(true, p, s)
      book.set(false, p + 10, s)
    }
    expect(levels(book.bids)).toEqual([
      [102, 2],
      [101, 3],
      [100, 1]
    ])
    expect(levels(book.asks)).toEqual([
      [110, 1],
      [111, 3],
      [112, 2]
    ])
    expect(book.crossed).toBe(false)
  })

  it("overwrites a level's size, deletes on size 0 and ignores a delete of a level not held", () => {
    const side = new BookSide(false)
    side.set(5, 10)
    side.set(5, 7)
    side.set(6, 0)
    expect(levels(side)).toEqual([[5, 7]])
    expect(side.sizeAt(5)).toBe(7)
    expect(side.sizeAt(6)).toBe(0)
    side.set(5, 0)
    expect(side.length).toBe(0)
    expect(side.price(0)).toBeUndefined()
    expect(side.size(0)).toBeUndefined()
  })

  it("grows past its initial capacity and shifts long runs on both paths", () => {
    const side = new BookSide(true, 4)
    // Inserting below the best level shifts every level above it: long shifts take copyWithin.
    for (let p = 1000; p >= 1; p--) side.set(p, p)
    expect(side.length).toBe(1000)
    for (let p = 2; p <= 1000; p += 2) side.set(p, 0)
    expect(side.length).toBe(500)
    expect(side.price(0)).toBe(999)
    expect(side.price(499)).toBe(1)
    const prices = new Float64Array(3)
    const sizes = new Float64Array(3)
    expect(side.top(3, prices, sizes)).toBe(3)
    expect([...prices]).toEqual([999, 997, 995])
    expect([...sizes]).toEqual([999, 997, 995])
    expect(side.top(1000, new Float64Array(1000), new Float64Array(1000))).toBe(500)
  })

  it("loads a best-first snapshot, skipping zero sizes, and an unordered one too", () => {
    const side = new BookSide(true)
    side.set(1, 1)
    side.load([30, 20, 10], [3, 0, 1])
    expect(levels(side)).toEqual([
      [30, 3],
      [10, 1]
    ])
    side.load([10, 30, 20], [1, 3, 2])
    expect(levels(side)).toEqual([
      [30, 3],
      [20, 2],
      [10, 1]
    ])
  })

  it("matches a plain Map-and-sort model on a random stream of sets and deletes", () => {
    const rnd = seededRandom(7)
    const bids = new BookSide(true, 4)
    const asks = new BookSide(false, 4)
    const model = { bid: new Map<number, number>(), ask: new Map<number, number>() }
    for (let k = 0; k < 20_000; k++) {
      const bid = rnd() < 0.5
      const price = Math.floor(rnd() * 300)
      const size = rnd() < 0.4 ? 0 : 1 + Math.floor(rnd() * 100)
      ;(bid ? bids : asks).set(price, size)
      const m = bid ? model.bid : model.ask
      if (size === 0) m.delete(price)
      else m.set(price, size)
    }
    expect(levels(bids)).toEqual([...model.bid].sort((a, b) => b[0] - a[0]))
    expect(levels(asks)).toEqual([...model.ask].sort((a, b) => a[0] - b[0]))
  })
})

describe("OrderBook against tardis-dev's OrderBook", () => {
  it("holds equal top-20 books after every event of a seeded random delta stream", () => {
    const stream = randomDepth({ seed: 42, events: 1200, depth: 200 })
    const sync = new DepthSync(randomScales.symbol, "spot")
    const reference = new TardisOrderBook()
    const first = Either.getOrThrow(decodeDepthEvent(stream.events[0], randomScales))
    expect(sync.onEvent(first)._tag).toBe("Buffered")
    const snapshot = Either.getOrThrow(decodeDepthSnapshot(stream.snapshot, randomScales))
    expect(sync.onSnapshot(snapshot)).toEqual({
      _tag: "Synced",
      lastUpdateId: first.u,
      dropped: 1,
      applied: 0
    })
    reference.update(bookChange("R", true, stream.snapshot.bids, stream.snapshot.asks))
    for (const raw of stream.events.slice(1)) {
      const event = Either.getOrThrow(decodeDepthEvent(raw, randomScales))
      const outcome = sync.onEvent(event)
      if (outcome._tag !== "Applied") expect.fail(`u=${event.u}: ${outcome._tag}`)
      reference.update(bookChange("R", false, raw.b, raw.a))
      const difference = topDifference(sync.book, reference, 20, randomScales)
      if (difference !== undefined) expect.fail(`after u=${event.u}: ${difference}`)
    }
    expect(engineTop(sync.book, true, 1e6, randomScales)).toEqual(tardisTop(reference, true, 1e6))
    expect(engineTop(sync.book, false, 1e6, randomScales)).toEqual(tardisTop(reference, false, 1e6))
    expect(sync.stats.gaps).toBe(0)
  })
})
