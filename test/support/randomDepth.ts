/**
 * A seeded stream of Binance-shaped spot depth messages (a REST snapshot body, then `depthUpdate`
 * payloads with contiguous ids) for differential tests and bench/books.ts. Prices sit on a 0.01
 * tick around a drifting mid, most changes close to the top of the book, one in ten anywhere in
 * its depth; about a third are deletes, and a move of the mid deletes the levels it crosses.
 * Strings are printed as Binance spot prints them (8 decimals).
 */
import { formatFixed } from "../../src/books/fixedPoint.js"
import type { SymbolScales } from "../../src/sources/binance/exchangeInfo.js"

export const randomScales: SymbolScales = {
  symbol: "RNDUSDT",
  priceScale: 2,
  sizeScale: 5,
  priceDecimals: 8,
  sizeDecimals: 8
}

export interface RandomDepth {
  /** The REST snapshot, taken after the first event (its lastUpdateId is events[0].u). */
  readonly snapshot: { lastUpdateId: number; bids: Array<[string, string]>; asks: Array<[string, string]> }
  readonly events: Array<{
    e: "depthUpdate"
    E: number
    s: string
    U: number
    u: number
    b: string[][]
    a: string[][]
  }>
  /** Level changes in all events. */
  readonly levelChanges: number
}

/** mulberry32: a small, fast, seeded PRNG in [0, 1). */
export const seededRandom = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export const randomDepth = (options: {
  readonly seed: number
  readonly events: number
  /** Levels per side in the snapshot (default 1000). */
  readonly depth?: number
  /** Most level changes per event (default 12). */
  readonly maxChanges?: number
}): RandomDepth => {
  const rnd = seededRandom(options.seed)
  const depth = options.depth ?? 1000
  const maxChanges = options.maxChanges ?? 12
  const { priceScale, sizeScale, priceDecimals, sizeDecimals } = randomScales
  const px = (ticks: number) => formatFixed(ticks, priceScale, priceDecimals)
  const sz = (steps: number) => formatFixed(steps, sizeScale, sizeDecimals)
  const size = () => 1 + Math.floor(rnd() * rnd() * 50_000_000)
  let mid = 3_000_000 // 30000.00 in ticks
  const bids: Array<[string, string]> = []
  const asks: Array<[string, string]> = []
  for (let i = 0; i < depth; i++) {
    bids.push([px(mid - 1 - i), sz(size())])
    asks.push([px(mid + 1 + i), sz(size())])
  }
  // The levels held, so that a move of the mid deletes the levels it crosses, as trades on the
  // exchange would: the book never crosses.
  const held = { bid: new Set<number>(), ask: new Set<number>() }
  for (let i = 0; i < depth; i++) {
    held.bid.add(mid - 1 - i)
    held.ask.add(mid + 1 + i)
  }
  let id = 1_000_000
  let time = 1_700_000_000_000
  const events: RandomDepth["events"] = []
  let levelChanges = 0
  for (let k = 0; k < options.events; k++) {
    const b: string[][] = []
    const a: string[][] = []
    if (rnd() < 0.2) {
      const next = mid + Math.floor(rnd() * 7) - 3
      for (let p = mid + 1; p <= next; p++) if (held.ask.delete(p)) a.push([px(p), sz(0)])
      for (let p = mid - 1; p >= next; p--) if (held.bid.delete(p)) b.push([px(p), sz(0)])
      mid = next
    }
    const n = 1 + Math.floor(rnd() * maxChanges)
    for (let j = 0; j < n; j++) {
      const r = rnd()
      // Mostly within ~20 ticks of the mid, one in ten anywhere in the book's depth.
      const distance = r < 0.9 ? Math.floor(-Math.log(1 - rnd()) * 6) : Math.floor(rnd() * depth * 1.2)
      const bid = rnd() < 0.5
      const price = bid ? mid - 1 - distance : mid + 1 + distance
      const remove = rnd() < 0.35
      ;(bid ? b : a).push([px(price), sz(remove ? 0 : size())])
      if (remove) (bid ? held.bid : held.ask).delete(price)
      else (bid ? held.bid : held.ask).add(price)
    }
    const changes = a.length + b.length
    levelChanges += changes
    const U = id + 1
    id += changes
    time += 1 + Math.floor(rnd() * 100)
    events.push({ e: "depthUpdate", E: time, s: randomScales.symbol, U, u: id, b, a })
  }
  // As on the wire, the snapshot is taken after the first event was buffered: it holds that
  // event's changes and its lastUpdateId is that event's u, so the sync drops the event.
  const first = events[0]
  const book = (levels: Array<[string, string]>, changes: string[][] | undefined, bid: boolean) => {
    const m = new Map(levels.map(([p, q]) => [Number(p), [p, q] as [string, string]]))
    for (const [p, q] of changes ?? []) {
      if (Number(q) === 0) m.delete(Number(p!))
      else m.set(Number(p!), [p!, q!])
    }
    return [...m].sort((x, y) => (bid ? y[0] - x[0] : x[0] - y[0])).map(([, level]) => level)
  }
  const snapshot = {
    lastUpdateId: first?.u ?? id,
    bids: book(bids, first?.b, true),
    asks: book(asks, first?.a, false)
  }
  return { snapshot, events, levelChanges }
}
