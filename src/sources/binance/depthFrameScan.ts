/**
 * A `depthUpdate` frame decoded straight from its text, for the capture's hot path: no JSON.parse,
 * no object or string per level (prices and sizes are read in place with parseFixedIn). It gives
 * the same DepthEvent as JSON.parse + decodeDepthEvent (depthWire.ts) on the compact JSON Binance
 * sends, raw or wrapped in a combined-stream frame. Anything it does not recognise exactly (another
 * event, whitespace between tokens, an escape) returns undefined and the caller takes the general
 * path, so it never decides on a frame it cannot read.
 */
import { FixedPointError, parseFixedIn } from "../../books/fixedPoint.js"
import type { DepthEvent } from "./depthWire.js"
import type { SymbolScales } from "./exchangeInfo.js"

const QUOTE = 34 // "
const OPEN = 91 // [
const CLOSE = 93 // ]
const COMMA = 44 // ,

/** The non-negative integer right after `key` (e.g. `"E":`), or -1 when absent; -2 when malformed. */
const intAfter = (text: string, key: string, from: number): number => {
  const at = text.indexOf(key, from)
  if (at < 0) return -1
  let i = at + key.length
  let value = 0
  let digits = 0
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i) - 48
    if (c < 0 || c > 9) break
    value = value * 10 + c
    digits++
  }
  return digits === 0 || digits > 15 ? -2 : value
}

class Unreadable extends Error {}

/** Reads `[["p","q"],…]` at `i` (the `[`) into the arrays; returns the index after the closing `]`. */
const levels = (
  text: string,
  i: number,
  priceScale: number,
  sizeScale: number,
  prices: Array<number>,
  sizes: Array<number>
): number => {
  if (text.charCodeAt(i) !== OPEN) throw new Unreadable()
  i++
  if (text.charCodeAt(i) === CLOSE) return i + 1
  for (;;) {
    if (text.charCodeAt(i) !== OPEN || text.charCodeAt(i + 1) !== QUOTE) throw new Unreadable()
    const p0 = i + 2
    const p1 = text.indexOf('"', p0)
    if (p1 < 0 || text.charCodeAt(p1 + 1) !== COMMA || text.charCodeAt(p1 + 2) !== QUOTE)
      throw new Unreadable()
    const q0 = p1 + 3
    const q1 = text.indexOf('"', q0)
    if (q1 < 0 || text.charCodeAt(q1 + 1) !== CLOSE) throw new Unreadable()
    prices.push(parseFixedIn(text, p0, p1, priceScale))
    sizes.push(parseFixedIn(text, q0, q1, sizeScale))
    i = q1 + 2
    const next = text.charCodeAt(i)
    if (next === CLOSE) return i + 1
    if (next !== COMMA) throw new Unreadable()
    i++
  }
}

export type ScanResult =
  | { readonly _tag: "Event"; readonly symbol: string; readonly event: DepthEvent }
  /** A depth event of a known symbol that is invalid (a price its scale cannot hold…): quarantine. */
  | { readonly _tag: "Invalid"; readonly symbol: string; readonly reason: string }

/**
 * Decodes a frame's text when it is a compact `depthUpdate` of a symbol `scalesOf` knows;
 * undefined for anything else (take the JSON.parse path).
 */
export const scanDepthFrame = (
  text: string,
  scalesOf: (symbol: string) => SymbolScales | undefined
): ScanResult | undefined => {
  const kind = text.indexOf('"e":"depthUpdate"')
  if (kind < 0) return undefined
  const s0 = text.indexOf('"s":"', kind)
  if (s0 < 0) return undefined
  const s1 = text.indexOf('"', s0 + 5)
  if (s1 < 0) return undefined
  const symbol = text.slice(s0 + 5, s1)
  const scales = scalesOf(symbol)
  if (scales === undefined) return undefined
  const b = text.indexOf('"b":', kind)
  const a = text.indexOf('"a":', kind)
  if (b < 0 || a < 0) return undefined
  // The scalar keys are looked for before the level arrays only.
  const scalarsEnd = Math.min(b, a)
  const head = text.slice(kind, scalarsEnd)
  const E = intAfter(head, '"E":', 0)
  const U = intAfter(head, '"U":', 0)
  const u = intAfter(head, '"u":', 0)
  const T = intAfter(head, '"T":', 0)
  const pu = intAfter(head, '"pu":', 0)
  if (E < 0 || U < 0 || u < 0 || T === -2 || pu === -2 || u < U) return undefined
  const event: DepthEvent = {
    symbol,
    E,
    T: T < 0 ? undefined : T,
    U,
    u,
    pu: pu < 0 ? undefined : pu,
    bidPrices: [],
    bidSizes: [],
    askPrices: [],
    askSizes: []
  }
  try {
    levels(text, b + 4, scales.priceScale, scales.sizeScale, event.bidPrices, event.bidSizes)
    levels(text, a + 4, scales.priceScale, scales.sizeScale, event.askPrices, event.askSizes)
  } catch (e) {
    if (e instanceof FixedPointError)
      return { _tag: "Invalid", symbol, reason: `${symbol} U=${U}: ${e.message}` }
    return undefined
  }
  return { _tag: "Event", symbol, event }
}
