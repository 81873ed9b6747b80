/**
 * One diff-depth stream of one symbol (`btcusdt@depth@100ms`): it collects the level changes of
 * its interval, the later change of a price replacing the earlier, and writes them as one
 * `depthUpdate` payload (spec §1.2 spot, §2.2 futures) with the interval's first and last update
 * ids, and, on futures, `pu` = the last id of this stream's previous message. Text is built once
 * per message from cached price and size strings; no per-level objects.
 */
import { formatUnits, type SymbolSpec, type Venue } from "./catalog.js"

export interface DepthMessage {
  /** The stream name, lowercase, as subscribed. */
  readonly stream: string
  readonly symbol: string
  readonly U: number
  readonly u: number
  /** Futures: the previous message's `u` (undefined on spot). */
  readonly pu: number | undefined
  /** Level changes in the message (after coalescing). */
  readonly levels: number
  /** The raw payload text. */
  readonly payload: string
}

export interface DepthStream {
  readonly stream: string
  readonly intervalMs: number
  /** Records one event. */
  readonly add: (isBid: boolean, tick: number, steps: number, id: number) => void
  /** The interval's message (undefined: nothing changed), and starts the next interval. */
  readonly flush: (eventTime: number, transactTime: number) => DepthMessage | undefined
}

/**
 * The text of levels, made once per price and per size and shared by a symbol's streams: a level
 * is `head(tick) + tail(steps)`, i.e. `["0.35130000","` + `6195.00000000"]`.
 */
export interface LevelText {
  readonly head: (tick: number) => string
  readonly tail: (steps: number) => string
}

const PRICE_CACHE_MAX = 200_000

export const makeLevelText = (spec: SymbolSpec): LevelText => {
  let heads = new Map<number, string>()
  const tails: Array<string | undefined> = []
  return {
    head: (tick) => {
      let s = heads.get(tick)
      if (s === undefined) {
        if (heads.size >= PRICE_CACHE_MAX) heads = new Map()
        s = `["${formatUnits(tick * spec.tickUnits, spec.priceDecimals)}","`
        heads.set(tick, s)
      }
      return s
    },
    tail: (steps) => {
      let s = tails[steps]
      if (s === undefined) {
        s = `${formatUnits(steps * spec.stepUnits, spec.qtyDecimals)}"]`
        tails[steps] = s
      }
      return s
    }
  }
}

const side = (levels: Map<number, number>, text: LevelText): string => {
  let out = ""
  // forEach, not for…of: no [key, value] array per level.
  levels.forEach((steps, tick) => {
    out += out.length > 0 ? "," + text.head(tick) + text.tail(steps) : text.head(tick) + text.tail(steps)
  })
  return out
}

export const makeDepthStream = (
  venue: Venue,
  spec: SymbolSpec,
  stream: string,
  intervalMs: number,
  text: LevelText,
  /** The id before this stream's first message (its first `pu`). */
  startId: number
): DepthStream => {
  const bids = new Map<number, number>()
  const asks = new Map<number, number>()
  let first: number | undefined
  let last = 0
  let prevU = startId
  const head = `{"e":"depthUpdate","E":`
  const sym = `"s":"${spec.symbol}"`
  return {
    stream,
    intervalMs,
    add: (isBid, tick, steps, id) => {
      if (first === undefined) first = id
      last = id
      ;(isBid ? bids : asks).set(tick, steps)
    },
    flush: (eventTime, transactTime) => {
      if (first === undefined) return undefined
      const U = first
      const u = last
      const levels = bids.size + asks.size
      const payload =
        venue === "spot"
          ? `${head}${eventTime},${sym},"U":${U},"u":${u},"b":[${side(bids, text)}],"a":[${side(asks, text)}]}`
          : `${head}${eventTime},"T":${transactTime},${sym},"U":${U},"u":${u},"pu":${prevU},"b":[${side(bids, text)}],"a":[${side(asks, text)}]}`
      const message: DepthMessage = {
        stream,
        symbol: spec.symbol,
        U,
        u,
        pu: venue === "spot" ? undefined : prevU,
        levels,
        payload
      }
      prevU = u
      first = undefined
      bids.clear()
      asks.clear()
      return message
    }
  }
}

/** The diff-depth streams a venue serves, by suffix, with their intervals (spec §1.2, §2.2). */
export const DEPTH_INTERVALS: Readonly<Record<Venue, Readonly<Record<string, number>>>> = {
  spot: { "@depth": 1000, "@depth@100ms": 100 },
  usdm: { "@depth": 250, "@depth@100ms": 100, "@depth@500ms": 500 }
}

/** A stream name's symbol (uppercase) and interval, or undefined when it is not a depth stream here. */
export const parseDepthStream = (
  venue: Venue,
  name: string
): { readonly symbol: string; readonly intervalMs: number } | undefined => {
  const m = /^([a-z0-9]+)(@depth(?:@\d+ms)?)$/.exec(name)
  if (m === null) return undefined
  const intervalMs = DEPTH_INTERVALS[venue][m[2]!]
  return intervalMs === undefined ? undefined : { symbol: m[1]!.toUpperCase(), intervalMs }
}
