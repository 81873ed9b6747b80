/**
 * Synthetic indices for the simulator: I:VIX as one value per second of the regular session that
 * moves against the synthetic SPY, as the real VIX moves against the S&P 500.
 *
 * - A day's level at the open comes from multi-day value noise around 16 (about 13 to 20).
 * - Each second the log level moves by `-beta` times SPY's log return over that second (SPY's last
 *   trade carried over seconds without trades), plus a small mean-reverting noise: VIX rises when
 *   SPY falls. Values are rounded to cents, as the index is published.
 * - A bar's open is the previous second's value and its close this second's; high and low bound
 *   both (now and then a cent beyond), so o/h/l/c are consistent.
 * - Deterministic: a pure function of (symbol, date), like the stock market it follows.
 */
import type { StockBar } from "../domain/StockBar.js"
import {
  dayIndex,
  fnv1a,
  gaussian,
  mulberry32,
  secondBars,
  sessionOf,
  valueNoise
} from "./syntheticMarket.js"

interface IndexSpec {
  /** The stock whose per-second returns drive it. */
  readonly underlying: string
  /** Level around which the day's open moves. */
  readonly base: number
  /** Log change of the index per unit log return of the underlying (negative: moves against it). */
  readonly beta: number
}

const SPECS: Readonly<Record<string, IndexSpec>> = {
  "I:VIX": { underlying: "SPY", base: 16, beta: -5 }
}

/** The indices the synthetic market knows (what `A.*` on `/indices` covers). */
export const INDEX_SYMBOLS: ReadonlyArray<string> = Object.keys(SPECS)

const round2 = (x: number) => Math.round(x * 100) / 100

/** The index level at the open of `date`: the base moved by value noise over weeks and months. */
const openLevel = (symbol: string, spec: IndexSpec, date: string): number => {
  const seed = fnv1a(symbol)
  const k = dayIndex(date)
  return spec.base * Math.exp(0.1 * (valueNoise(seed, 8, k) + valueNoise(seed, 32, k)))
}

const generate = (symbol: string, spec: IndexSpec, date: string): ReadonlyArray<StockBar> => {
  const session = sessionOf(date)
  if (session._tag === "closed") return []
  const under = secondBars(spec.underlying, date)
  const first = under[0]
  if (first === undefined) return []
  const n = Math.round((session.closeMs - session.openMs) / 1000)
  const rng = mulberry32(fnv1a(`${symbol}|${date}`))
  const gauss = gaussian(rng)
  const logOpen = Math.log(openLevel(symbol, spec, date))
  const underOpen = Math.log(first.open)

  const bars: Array<StockBar> = new Array(n)
  let j = 0
  let underLast = first.open
  let drift = 0
  let prev = round2(Math.exp(logOpen))
  for (let i = 0; i < n; i++) {
    const ts = session.openMs + i * 1000
    while (j < under.length && under[j]!.ts <= ts) underLast = under[j++]!.close
    // Mean-reverting noise (half-life about 3.5 minutes), small next to the underlying's pull.
    drift = drift * 0.9967 + gauss() * 0.00015
    const close = round2(Math.exp(logOpen + spec.beta * (Math.log(underLast) - underOpen) + drift))
    const open = prev
    const wiggle = rng() < 0.2 ? 0.01 : 0
    bars[i] = {
      symbol,
      ts,
      open,
      high: round2(Math.max(open, close) + wiggle),
      low: round2(Math.min(open, close) - (rng() < 0.2 ? 0.01 : 0)),
      close,
      // Indices carry none of these; the wire leaves them out (`wire: "index"`).
      volume: 0,
      vwap: null,
      trades: null
    }
    prev = close
  }
  return bars
}

const CACHE_SIZE = 8
const cache = new Map<string, ReadonlyArray<StockBar>>()

/**
 * Per-second values of an index on `date`, one per second of the regular session, ascending; empty
 * for unknown indices and on days without a session. Cached for the last few days (do not mutate).
 */
export const indexSecondBars = (symbol: string, date: string): ReadonlyArray<StockBar> => {
  const spec = SPECS[symbol]
  if (spec === undefined) return []
  const key = `${symbol}|${date}`
  const cached = cache.get(key)
  if (cached !== undefined) return cached
  const bars = generate(symbol, spec, date)
  cache.set(key, bars)
  if (cache.size > CACHE_SIZE) {
    const oldest = cache.keys().next()
    if (!oldest.done) cache.delete(oldest.value)
  }
  return bars
}
