/**
 * One symbol's synthetic order book: a seeded process of level changes ("events", each with its
 * own update id) that keeps the book consistent and uncrossed.
 *
 * - Prices are tick indexes, sizes whole steps (integers only; strings are made at the wire).
 * - Every bid lies in [mid − depth, mid − 1] and every ask in [mid + 1, mid + depth]. A change
 *   picks a side and a distance from the mid (mostly near the touch) and sets a new size or
 *   deletes the level. Now and then the mid moves one tick; the level that would cross or leave
 *   the window is deleted first, as an event of its own.
 * - Within one interval (`newInterval`, every 100 ms of market time) a change avoids prices
 *   already changed in it, while the window has room: so each event is its own level in the
 *   100 ms message and the event rate is the rate of level changes a client receives.
 * - Update ids: spot ids are contiguous (+1 per event); futures ids jump by 2–16 per event, so
 *   consecutive messages are linked only by `pu` (spec §2.2).
 * - The same seed gives the same events in the same order, whatever the wall clock does.
 */
import { mulberry32 } from "../syntheticMarket.js"
import type { SymbolSpec } from "./catalog.js"

/** Receives one event: side, price (ticks), new size (steps; 0 = delete), update id. */
export type EventSink = (isBid: boolean, tick: number, steps: number, id: number) => void

/** A book at one update id: levels best first, as [tick, steps]. */
export interface BookState {
  readonly lastUpdateId: number
  readonly bids: ReadonlyArray<readonly [number, number]>
  readonly asks: ReadonlyArray<readonly [number, number]>
}

export interface SyntheticBook {
  readonly spec: SymbolSpec
  /** The id of the last event applied. */
  readonly lastUpdateId: () => number
  /** Applies exactly `n` events, reporting each to `sink`. */
  readonly generate: (n: number, sink: EventSink) => void
  /** Starts a new interval: prices changed before may change again. */
  readonly newInterval: () => void
  /** The book now, at most `limit` levels per side, best first. */
  readonly state: (limit: number) => BookState
  readonly levels: () => { readonly bids: number; readonly asks: number }
}

export interface SyntheticBookOptions {
  readonly seed: number
  /** Ticks each side of the mid the book may hold; default 400 (at most 400 levels a side). */
  readonly depth?: number
  /** Ids per event: 1 (contiguous, spot) or "jump" (futures). */
  readonly ids: "contiguous" | "jump"
}

/** Share of actions that move the mid one tick. */
const MOVE_SHARE = 0.01
/** Share of changes at an existing level that delete it. */
const DELETE_SHARE = 0.3
/** Share of the initial window filled with a level. */
const FILL_SHARE = 0.8

export const makeSyntheticBook = (spec: SymbolSpec, options: SyntheticBookOptions): SyntheticBook => {
  const rng = mulberry32(options.seed)
  const depth = options.depth ?? 400
  const jump = options.ids === "jump"
  // Dense arrays over a ring of ticks: every live tick lies in [mid − depth, mid + depth], fewer
  // than W apart, and a tick leaving that window is deleted first, so its slot is empty when reused.
  const W = 2 * depth + 4
  const slot = (tick: number) => ((tick % W) + W) % W
  /** Size in steps by slot (0: no level); a tick below the mid is a bid, above it an ask. */
  const sizes = new Float64Array(W)
  /** The interval in which a slot last changed. */
  const touched = new Float64Array(W).fill(-1)
  let interval = 0
  let bidCount = 0
  let askCount = 0
  let mid = spec.midTicks
  let lastId = spec.firstUpdateId
  const size = () => 1 + Math.floor(spec.maxSteps * rng() * rng())
  for (let k = 1; k <= depth; k++) {
    if (rng() < FILL_SHARE) {
      sizes[slot(mid - k)] = size()
      bidCount++
    }
    if (rng() < FILL_SHARE) {
      sizes[slot(mid + k)] = size()
      askCount++
    }
  }

  const nextId = () => (lastId += jump ? 2 + Math.floor(rng() * 15) : 1)

  /** Sets a level's size (0 deletes), keeping the counts. */
  const put = (isBid: boolean, tick: number, steps: number) => {
    const i = slot(tick)
    const before = sizes[i]!
    if (before === 0 && steps > 0) isBid ? bidCount++ : askCount++
    else if (before > 0 && steps === 0) isBid ? bidCount-- : askCount--
    sizes[i] = steps
    touched[i] = interval
  }

  /** Deletes a level as one event; false when it was not there. */
  const remove = (isBid: boolean, tick: number, sink: EventSink): boolean => {
    if (sizes[slot(tick)] === 0) return false
    put(isBid, tick, 0)
    sink(isBid, tick, 0, nextId())
    return true
  }

  /** A distance from the mid not yet changed this interval: near the touch first, then anywhere. */
  const distance = (isBid: boolean): number => {
    const u = rng()
    let k = 1 + Math.floor(depth * u * u * u)
    for (let i = 0; i < 8 && touched[slot(isBid ? mid - k : mid + k)] === interval; i++)
      k = 1 + Math.floor(depth * rng())
    return k
  }

  const generate = (n: number, sink: EventSink) => {
    let done = 0
    while (done < n) {
      const r = rng()
      if (r < MOVE_SHARE && n - done >= 2) {
        // Move the mid; the crossing level and the one leaving the window go first.
        if (rng() < 0.5) {
          if (remove(false, mid + 1, sink)) done++
          if (remove(true, mid - depth, sink)) done++
          mid++
        } else {
          if (remove(true, mid - 1, sink)) done++
          if (remove(false, mid + depth, sink)) done++
          mid--
        }
        continue
      }
      const isBid = rng() < 0.5
      const tick = isBid ? mid - distance(true) : mid + distance(false)
      const steps = sizes[slot(tick)]! > 0 && rng() < DELETE_SHARE ? 0 : size()
      put(isBid, tick, steps)
      sink(isBid, tick, steps, nextId())
      done++
    }
  }

  const side = (isBid: boolean, limit: number) => {
    const out: Array<readonly [number, number]> = []
    for (let k = 1; k <= depth && out.length < limit; k++) {
      const tick = isBid ? mid - k : mid + k
      const steps = sizes[slot(tick)]!
      if (steps > 0) out.push([tick, steps])
    }
    return out
  }

  return {
    spec,
    lastUpdateId: () => lastId,
    generate,
    newInterval: () => {
      interval++
    },
    state: (limit) => ({ lastUpdateId: lastId, bids: side(true, limit), asks: side(false, limit) }),
    levels: () => ({ bids: bidCount, asks: askCount })
  }
}
