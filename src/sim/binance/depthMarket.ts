/**
 * The simulator's market: one synthetic book per (venue, symbol), advanced in fixed steps of
 * `stepMs` of market time, each step applying `rate × stepMs` events per symbol and closing the
 * depth streams whose interval ends with it. Pure and synchronous (the server drives the steps
 * from its clock; the bench drives them in a loop), deterministic under `seed`.
 *
 * A stream collects events from the step after it is first asked for (`activate`), so a stream
 * nobody subscribed costs nothing. The REST snapshot is the book at its last update id; a
 * "stale" one is a copy kept from `staleMs` earlier (the `stale-snapshot` fault).
 */
import { fnv1a } from "../syntheticMarket.js"
import { priceText, qtyText, type SymbolSpec, type Venue } from "./catalog.js"
import {
  type DepthMessage,
  type DepthStream,
  makeDepthStream,
  makeLevelText,
  parseDepthStream
} from "./depthStream.js"
import { type BookState, makeSyntheticBook, type SyntheticBook } from "./syntheticBook.js"

export interface MarketSymbolOptions {
  readonly spec: SymbolSpec
  /** Events (level changes) per second. */
  readonly rate: number
}

export interface DepthMarketOptions {
  readonly seed: number
  readonly venues: Readonly<Record<Venue, ReadonlyArray<MarketSymbolOptions>>>
  /** Market time of step 0, epoch ms. */
  readonly startMs: number
  /**
   * Ticks each side of the mid a book may hold; default max(400, rate / 10), so that a 100 ms
   * interval's changes (rate / 20 a side) find prices not yet changed in it.
   */
  readonly depth?: number
  /** Market time per step; default 50 (every depth interval is a multiple of it). */
  readonly stepMs?: number
  /** How often a copy of each book is kept for stale snapshots; default 1000 ms. */
  readonly historyEveryMs?: number
  /** How many copies are kept; default 60. */
  readonly historyCount?: number
}

interface MarketSymbol {
  readonly venue: Venue
  readonly spec: SymbolSpec
  readonly rate: number
  readonly book: SyntheticBook
  readonly text: ReturnType<typeof makeLevelText>
  readonly streams: Map<string, DepthStream>
  /** `streams` as an array for the event sink. */
  active: Array<DepthStream>
  carry: number
  events: number
  readonly history: Array<{ readonly atMs: number; readonly state: BookState }>
}

export interface SymbolStats {
  readonly venue: Venue
  readonly symbol: string
  readonly lastUpdateId: number
  readonly events: number
  readonly bids: number
  readonly asks: number
  readonly streams: ReadonlyArray<string>
}

export interface DepthMarket {
  readonly stepMs: number
  /** Market time after the steps taken so far. */
  readonly nowMs: () => number
  readonly specs: (venue: Venue) => ReadonlyArray<SymbolSpec>
  readonly has: (venue: Venue, symbol: string) => boolean
  /** Starts collecting `stream` if it is a depth stream of a listed symbol; false if it is not one. */
  readonly activate: (venue: Venue, stream: string) => boolean
  /** One step; every message it closes goes to `publish`. */
  readonly step: (publish: (venue: Venue, message: DepthMessage) => void) => void
  /** The REST depth body (`limit` levels a side), now or as of `staleMs` earlier. */
  readonly snapshot: (
    venue: Venue,
    symbol: string,
    limit: number,
    staleMs?: number
  ) => { readonly lastUpdateId: number; readonly body: string } | undefined
  readonly stats: () => ReadonlyArray<SymbolStats>
}

const MAX_SNAPSHOT_LEVELS = 5000

const levelsText = (spec: SymbolSpec, levels: ReadonlyArray<readonly [number, number]>) =>
  levels.map(([tick, steps]) => `["${priceText(spec, tick)}","${qtyText(spec, steps)}"]`).join(",")

export const makeDepthMarket = (options: DepthMarketOptions): DepthMarket => {
  const stepMs = options.stepMs ?? 50
  const historyEveryMs = options.historyEveryMs ?? 1000
  const historyCount = options.historyCount ?? 60
  let steps = 0
  const nowMs = () => options.startMs + steps * stepMs

  const byVenue: Record<Venue, Map<string, MarketSymbol>> = { spot: new Map(), usdm: new Map() }
  const all: Array<MarketSymbol> = []
  for (const venue of ["spot", "usdm"] as const)
    for (const { spec, rate } of options.venues[venue]) {
      const book = makeSyntheticBook(spec, {
        seed: fnv1a(`${options.seed}|${venue}|${spec.symbol}`),
        depth: options.depth ?? Math.max(400, Math.ceil(rate / 10)),
        ids: venue === "spot" ? "contiguous" : "jump"
      })
      const s: MarketSymbol = {
        venue,
        spec,
        rate,
        book,
        text: makeLevelText(spec),
        streams: new Map(),
        active: [],
        carry: 0,
        events: 0,
        history: [{ atMs: nowMs(), state: book.state(MAX_SNAPSHOT_LEVELS) }]
      }
      byVenue[venue].set(spec.symbol, s)
      all.push(s)
    }

  const sinkOf = (s: MarketSymbol) => (isBid: boolean, tick: number, size: number, id: number) => {
    const active = s.active
    for (let i = 0; i < active.length; i++) active[i]!.add(isBid, tick, size, id)
  }
  const sinks = new Map(all.map((s) => [s, sinkOf(s)]))

  const step = (publish: (venue: Venue, message: DepthMessage) => void) => {
    steps++
    const now = nowMs()
    // Interval ends are counted from step 0, whatever the start time's alignment.
    const elapsed = steps * stepMs
    for (const s of all) {
      s.carry += (s.rate * stepMs) / 1000
      const n = Math.floor(s.carry)
      s.carry -= n
      if (n > 0) {
        s.book.generate(n, sinks.get(s)!)
        s.events += n
      }
      for (const stream of s.active)
        if (elapsed % stream.intervalMs === 0) {
          // Futures: the matching engine's time a few ms before the push (spec: E − T of 3–106 ms).
          const message = stream.flush(now, now - 3 - (steps % 37))
          if (message !== undefined) publish(s.venue, message)
        }
      if (elapsed % 100 === 0) s.book.newInterval()
      if (elapsed % historyEveryMs === 0) {
        s.history.push({ atMs: now, state: s.book.state(MAX_SNAPSHOT_LEVELS) })
        if (s.history.length > historyCount) s.history.shift()
      }
    }
  }

  return {
    stepMs,
    nowMs,
    specs: (venue) => [...byVenue[venue].values()].map((s) => s.spec),
    has: (venue, symbol) => byVenue[venue].has(symbol),
    activate: (venue, name) => {
      const parsed = parseDepthStream(venue, name)
      if (parsed === undefined) return false
      const s = byVenue[venue].get(parsed.symbol)
      if (s === undefined || s.streams.has(name)) return true
      const stream = makeDepthStream(venue, s.spec, name, parsed.intervalMs, s.text, s.book.lastUpdateId())
      s.streams.set(name, stream)
      s.active = [...s.streams.values()]
      return true
    },
    step,
    snapshot: (venue, symbol, limit, staleMs) => {
      const s = byVenue[venue].get(symbol)
      if (s === undefined) return undefined
      let state: BookState
      if (staleMs === undefined) state = s.book.state(limit)
      else {
        const cutoff = nowMs() - staleMs
        let pick = s.history[0]!
        for (const h of s.history) if (h.atMs <= cutoff) pick = h
        state = {
          ...pick.state,
          bids: pick.state.bids.slice(0, limit),
          asks: pick.state.asks.slice(0, limit)
        }
      }
      const t = nowMs()
      const times = venue === "usdm" ? `"E":${t},"T":${t - 3},` : ""
      return {
        lastUpdateId: state.lastUpdateId,
        body: `{"lastUpdateId":${state.lastUpdateId},${times}"bids":[${levelsText(s.spec, state.bids)}],"asks":[${levelsText(s.spec, state.asks)}]}`
      }
    },
    stats: () =>
      all.map((s) => ({
        venue: s.venue,
        symbol: s.spec.symbol,
        lastUpdateId: s.book.lastUpdateId(),
        events: s.events,
        ...s.book.levels(),
        streams: [...s.streams.keys()]
      }))
  }
}
