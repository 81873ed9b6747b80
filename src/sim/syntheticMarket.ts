/**
 * A deterministic synthetic stock market for the simulator: per-second bars for a few known
 * symbols inside the NYSE regular session, and their aggregation into coarser bars.
 *
 * - Everything is a pure function of (symbol, date): a seeded PRNG (FNV-1a hash into mulberry32).
 * - Day-to-day continuity in O(1): each day's close is an anchor computed from the date index
 *   (drift plus multi-scale value noise); a day opens at the previous trading day's anchor
 *   (plus a small gap) and follows a Brownian bridge to its own anchor.
 * - Seconds without trades are omitted; trade intensity is U-shaped over the session.
 * - Data exists for the years the NYSE rules cover (2015–2035); other dates are empty.
 */

import { type DayStatus, nyseDay, RULES_FIRST_YEAR, RULES_LAST_YEAR } from "../calendar/nyseRules.js"
import type { StockBar } from "../domain/StockBar.js"
import { addDays, dayOfWeek, newYorkDate, newYorkTimeToEpochMs, parseDate } from "../domain/time.js"

export type IntradayTimespan = "second" | "minute" | "hour"
export type Timespan = IntradayTimespan | "day" | "week" | "month" | "quarter" | "year"
export const TIMESPANS: ReadonlyArray<Timespan> = [
  "second",
  "minute",
  "hour",
  "day",
  "week",
  "month",
  "quarter",
  "year"
]

interface SymbolSpec {
  /** Close on the reference date (2024-03-01), dollars. */
  readonly base: number
  /** Annual log drift. */
  readonly drift: number
  /** Daily log volatility. */
  readonly dailyVol: number
  /** Trade arrival intensity at midday: P(trade in a second) = 1 - exp(-liquidity * shape). */
  readonly liquidity: number
  /** Mean trades in a traded second at midday. */
  readonly tradeRate: number
  /** Mean shares per trade. */
  readonly avgSize: number
}

const SPECS: Readonly<Record<string, SymbolSpec>> = {
  SPY: { base: 510, drift: 0.1, dailyVol: 0.01, liquidity: 2.4, tradeRate: 18, avgSize: 150 },
  QQQ: { base: 440, drift: 0.14, dailyVol: 0.013, liquidity: 2.1, tradeRate: 14, avgSize: 120 },
  IWM: { base: 205, drift: 0.06, dailyVol: 0.014, liquidity: 1.2, tradeRate: 8, avgSize: 140 },
  DIA: { base: 390, drift: 0.08, dailyVol: 0.009, liquidity: 0.45, tradeRate: 3, avgSize: 60 },
  AAPL: { base: 180, drift: 0.2, dailyVol: 0.016, liquidity: 2.0, tradeRate: 14, avgSize: 100 },
  MSFT: { base: 415, drift: 0.2, dailyVol: 0.015, liquidity: 1.6, tradeRate: 9, avgSize: 70 },
  // Split-adjusted (the API's default `adjusted=true`): about 85 in March 2024.
  NVDA: { base: 85, drift: 0.5, dailyVol: 0.028, liquidity: 2.2, tradeRate: 20, avgSize: 180 },
  TSLA: { base: 200, drift: 0.3, dailyVol: 0.035, liquidity: 2.2, tradeRate: 18, avgSize: 110 }
}

/** The symbols the synthetic market knows; any other ticker has no data (as the real API). */
export const SYMBOLS: ReadonlyArray<string> = Object.keys(SPECS)

export const isKnownSymbol = (symbol: string): boolean => Object.hasOwn(SPECS, symbol)

// ---------------------------------------------------------------------------------------------
// PRNG and hashing

export const fnv1a = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** A 32-bit avalanche mix of up to three integers (murmur3 finaliser on a running combination). */
const mix = (a: number, b: number, c = 0): number => {
  let h = (a ^ Math.imul(b, 0x9e3779b1) ^ Math.imul(c, 0x85ebca6b)) >>> 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

export const mulberry32 = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Standard normal draws (Box–Muller, both values used). */
export const gaussian = (rng: () => number): (() => number) => {
  let spare = Number.NaN
  return () => {
    if (!Number.isNaN(spare)) {
      const s = spare
      spare = Number.NaN
      return s
    }
    const u = 1 - rng()
    const v = rng()
    const r = Math.sqrt(-2 * Math.log(u))
    spare = r * Math.sin(2 * Math.PI * v)
    return r * Math.cos(2 * Math.PI * v)
  }
}

// ---------------------------------------------------------------------------------------------
// Daily anchors (O(1) per day)

const DAY_MS = 86_400_000
export const dayIndex = (date: string): number => {
  const [y, m, d] = parseDate(date)
  return Date.UTC(y, m - 1, d) / DAY_MS
}
const dateOfIndex = (k: number): string => new Date(k * DAY_MS).toISOString().slice(0, 10)

const REF_INDEX = dayIndex("2024-03-01")
const NOISE_SCALES = [1, 4, 16, 64, 256] as const

/** Value noise in about [-1, 1] at integer knots spaced `scale` days apart, smoothly interpolated. */
export const valueNoise = (seed: number, scale: number, k: number): number => {
  const j = Math.floor(k / scale)
  const f = (k - j * scale) / scale
  const knot = (i: number) => {
    const r = mulberry32(mix(seed, scale, i))
    return r() + r() - 1
  }
  const s = f * f * (3 - 2 * f)
  return knot(j) * (1 - s) + knot(j + 1) * s
}

const noise = (seed: number, spec: SymbolSpec, k: number): number => {
  let sum = 0
  for (const scale of NOISE_SCALES) sum += spec.dailyVol * Math.sqrt(scale) * valueNoise(seed, scale, k)
  return sum
}

/** The synthetic close of `symbol` on day index k, dollars. */
const closeAnchor = (symbol: string, spec: SymbolSpec, k: number): number => {
  const seed = fnv1a(symbol)
  return (
    spec.base *
    Math.exp((spec.drift / 365.25) * (k - REF_INDEX) + noise(seed, spec, k) - noise(seed, spec, REF_INDEX))
  )
}

/**
 * The price a trading date's session ends at before rounding (its close anchor), dollars; undefined
 * for unknown symbols. O(1): what the options chain centres its strikes on.
 */
export const referenceClose = (symbol: string, date: string): number | undefined => {
  const spec = SPECS[symbol]
  return spec === undefined ? undefined : closeAnchor(symbol, spec, dayIndex(date))
}

const dayCache = new Map<string, DayStatus>()
/** `nyseDay`, memoised (it formats dates through Intl, which is slow on a hot path). */
export const sessionOf = (date: string): DayStatus => {
  let d = dayCache.get(date)
  if (d === undefined) {
    d = nyseDay(date)
    dayCache.set(date, d)
  }
  return d
}

const inDataYears = (date: string): boolean => {
  const y = Number(date.slice(0, 4))
  return y >= RULES_FIRST_YEAR && y <= RULES_LAST_YEAR
}

const previousTradingDate = (date: string): string => {
  let d = addDays(date, -1)
  for (let i = 0; i < 10 && sessionOf(d)._tag === "closed"; i++) d = addDays(d, -1)
  return d
}

// ---------------------------------------------------------------------------------------------
// Intraday profile

interface Profile {
  /** Trade intensity per second, 1 at midday, higher at the open and the close. */
  readonly shape: Float64Array
  /** sqrt(shape / mean(shape)): scales the per-second volatility. */
  readonly volScale: Float64Array
}

const profiles = new Map<number, Profile>()
const profileOf = (n: number): Profile => {
  const cached = profiles.get(n)
  if (cached) return cached
  const shape = new Float64Array(n)
  let total = 0
  for (let i = 0; i < n; i++) {
    const x = (i + 0.5) / n
    const u = 2 * x - 1
    const v = 1 + 4 * Math.exp(-x / 0.02) + 2.5 * Math.exp(-(1 - x) / 0.03) + 0.6 * u * u
    shape[i] = v
    total += v
  }
  const mean = total / n
  const volScale = new Float64Array(n)
  for (let i = 0; i < n; i++) volScale[i] = Math.sqrt((shape[i] ?? 1) / mean)
  const p = { shape, volScale }
  profiles.set(n, p)
  return p
}

// ---------------------------------------------------------------------------------------------
// Second bars

const REGULAR_SECONDS = 23_400

const generateSeconds = (symbol: string, spec: SymbolSpec, date: string): ReadonlyArray<StockBar> => {
  const session = sessionOf(date)
  if (session._tag === "closed") return []
  const n = Math.round((session.closeMs - session.openMs) / 1000)
  const { shape, volScale } = profileOf(n)
  const rng = mulberry32(fnv1a(`${symbol}|${date}`))
  const gauss = gaussian(rng)

  const logOpen = Math.log(closeAnchor(symbol, spec, dayIndex(previousTradingDate(date)))) + gauss() * 0.0015
  const logClose = Math.log(closeAnchor(symbol, spec, dayIndex(date)))
  const sigma = (spec.dailyVol * 0.9) / Math.sqrt(REGULAR_SECONDS)

  // Random walk in log price, then a bridge so the session ends at the day's anchor.
  const walk = new Float64Array(n + 1)
  for (let i = 0; i < n; i++) walk[i + 1] = (walk[i] ?? 0) + gauss() * sigma * (volScale[i] ?? 1)
  const bridge = (logClose - logOpen - (walk[n] ?? 0)) / n

  const bars: Array<StockBar> = []
  let pStart = Math.exp(logOpen) * 100
  for (let i = 0; i < n; i++) {
    const pEnd = Math.exp(logOpen + (walk[i + 1] ?? 0) + bridge * (i + 1)) * 100
    const lam = shape[i] ?? 1
    const traded = rng() < 1 - Math.exp(-spec.liquidity * lam)
    if (!traded) {
      pStart = pEnd
      continue
    }
    const trades = 1 + Math.floor(spec.tradeRate * lam * rng() * 2)
    let open: number
    let close: number
    let high: number
    let low: number
    let vwap: number
    if (trades === 1) {
      const f = rng()
      const p = Math.max(1, Math.round(pStart * (1 - f) + pEnd * f))
      open = close = high = low = vwap = p
    } else {
      const cents = sigma * (volScale[i] ?? 1) * pStart
      open = Math.max(1, Math.round(pStart + gauss() * 0.3 * cents))
      close = Math.max(1, Math.round(pEnd))
      high = Math.max(open, close)
      low = Math.min(open, close)
      if (trades > 2) {
        high += Math.floor(rng() * rng() * (1 + cents))
        low = Math.max(1, low - Math.floor(rng() * rng() * (1 + cents)))
      }
      vwap = low + (high - low) * (0.25 + 0.5 * rng())
    }
    let volume = Math.max(trades, Math.round(trades * spec.avgSize * (0.3 + 1.4 * rng())))
    if (rng() < 0.002) volume += spec.avgSize * 40
    bars.push({
      symbol,
      ts: session.openMs + i * 1000,
      open: open / 100,
      high: high / 100,
      low: low / 100,
      close: close / 100,
      volume,
      vwap: Math.round(vwap * 100) / 10_000,
      trades
    })
    pStart = pEnd
  }
  return bars
}

const SECOND_CACHE_SIZE = 16
const secondCache = new Map<string, ReadonlyArray<StockBar>>()

/**
 * Per-second bars of `symbol` on `date` (YYYY-MM-DD), ascending, regular session only; empty on
 * weekends, holidays, for unknown symbols and outside 2015–2035. Deterministic; the last few
 * days are cached (callers must not mutate the result).
 */
export const secondBars = (symbol: string, date: string): ReadonlyArray<StockBar> => {
  const spec = SPECS[symbol]
  if (spec === undefined || !inDataYears(date)) return []
  const key = `${symbol}|${date}`
  const cached = secondCache.get(key)
  if (cached) {
    secondCache.delete(key)
    secondCache.set(key, cached)
    return cached
  }
  const bars = generateSeconds(symbol, spec, date)
  secondCache.set(key, bars)
  if (secondCache.size > SECOND_CACHE_SIZE) {
    const oldest = secondCache.keys().next()
    if (!oldest.done) secondCache.delete(oldest.value)
  }
  return bars
}

// ---------------------------------------------------------------------------------------------
// Aggregation

const round4 = (x: number) => Math.round(x * 10_000) / 10_000

/** Merges consecutive bars (ascending) into one bar stamped `ts`. */
export const merge = (
  symbol: string,
  ts: number,
  bars: ReadonlyArray<StockBar>,
  from: number,
  to: number
): StockBar => {
  const first = bars[from]!
  let high = first.high
  let low = first.low
  let volume = 0
  let trades = 0
  let notional = 0
  for (let i = from; i < to; i++) {
    const b = bars[i]!
    if (b.high > high) high = b.high
    if (b.low < low) low = b.low
    volume += b.volume
    trades += b.trades ?? 0
    notional += (b.vwap ?? (b.high + b.low + b.close) / 3) * b.volume
  }
  const vwap = volume > 0 ? Math.min(high, Math.max(low, round4(notional / volume))) : null
  return { symbol, ts, open: first.open, high, low, close: bars[to - 1]!.close, volume, vwap, trades }
}

/** Groups ascending bars by a bucket start and merges each group. */
export const aggregate = (
  symbol: string,
  bars: ReadonlyArray<StockBar>,
  bucketOf: (ts: number) => number
) => {
  const out: Array<StockBar> = []
  let start = 0
  while (start < bars.length) {
    const bucket = bucketOf(bars[start]!.ts)
    let end = start + 1
    while (end < bars.length && bucketOf(bars[end]!.ts) === bucket) end++
    out.push(merge(symbol, bucket, bars, start, end))
    start = end
  }
  return out
}

const UNIT_MS: Record<IntradayTimespan, number> = { second: 1000, minute: 60_000, hour: 3_600_000 }

const dayBarCache = new Map<string, StockBar | null>()
const dailyBar = (symbol: string, date: string): StockBar | null => {
  const key = `${symbol}|${date}`
  const cached = dayBarCache.get(key)
  if (cached !== undefined) return cached
  const seconds = secondBars(symbol, date)
  const bar =
    seconds.length === 0 ? null : merge(symbol, newYorkTimeToEpochMs(date, 0, 0), seconds, 0, seconds.length)
  if (isKnownSymbol(symbol)) dayBarCache.set(key, bar)
  return bar
}

/**
 * Bars of one trading date at `multiplier` × `timespan`, ascending. Intraday buckets are aligned
 * on multiples of their width since the epoch (so minute and hour bars align with New York
 * clock minutes and hours); a day bar is stamped at New York midnight, as the real API does
 * (`multiplier` is ignored for `day`: one date makes one bar).
 */
export const dayBarsFor = (
  symbol: string,
  date: string,
  multiplier: number,
  timespan: IntradayTimespan | "day"
): ReadonlyArray<StockBar> => {
  if (timespan === "day") {
    const bar = dailyBar(symbol, date)
    return bar === null ? [] : [bar]
  }
  const seconds = secondBars(symbol, date)
  if (timespan === "second" && multiplier === 1) return seconds
  const width = UNIT_MS[timespan] * multiplier
  return aggregate(symbol, seconds, (ts) => ts - (ts % width))
}

// ---------------------------------------------------------------------------------------------
// Ranges (what the aggregates endpoint serves)

/** The first date of the bucket a date falls in, for day-or-longer timespans. */
const bucketStartDate = (date: string, multiplier: number, timespan: Exclude<Timespan, IntradayTimespan>) => {
  switch (timespan) {
    case "day": {
      const k = dayIndex(date)
      return dateOfIndex(k - (((k % multiplier) + multiplier) % multiplier))
    }
    case "week": {
      // Weeks start on Sunday; multi-week buckets are counted from the epoch's week.
      const sunday = dayIndex(date) - dayOfWeek(date)
      const w = Math.floor((sunday + 4) / 7)
      return dateOfIndex(sunday - 7 * (w % multiplier))
    }
    default: {
      const months =
        timespan === "month" ? multiplier : timespan === "quarter" ? 3 * multiplier : 12 * multiplier
      const [y, m] = parseDate(date)
      const index = y * 12 + (m - 1)
      const start = index - (index % months)
      return `${Math.floor(start / 12)}-${String((start % 12) + 1).padStart(2, "0")}-01`
    }
  }
}

const clampDate = (date: string): string => {
  const lo = `${RULES_FIRST_YEAR}-01-01`
  const hi = `${RULES_LAST_YEAR}-12-31`
  return date < lo ? lo : date > hi ? hi : date
}

/** What ranges are built from: a day's per-second bars and its merged daily bar (null: none). */
export interface BarSource {
  readonly secondBars: (symbol: string, date: string) => ReadonlyArray<StockBar>
  readonly dailyBar: (symbol: string, date: string) => StockBar | null
}

const SYNTHETIC_SOURCE: BarSource = { secondBars, dailyBar }

/**
 * Every bar of `symbol` at `multiplier` × `timespan` built from `source`, with timestamp in
 * [fromMs, toMs] (for day-or-longer timespans: every bucket holding a trading date in that range),
 * in `sort` order. Lazy: a caller that stops early generates only the days it reached.
 */
export function* rangeFrom(
  source: BarSource,
  symbol: string,
  multiplier: number,
  timespan: Timespan,
  fromMs: number,
  toMs: number,
  sort: "asc" | "desc"
): Generator<StockBar, void, undefined> {
  if (fromMs > toMs || multiplier < 1) return
  const fromDate = clampDate(newYorkDate(fromMs))
  const toDate = clampDate(newYorkDate(toMs))
  if (fromDate > toDate) return
  const asc = sort === "asc"
  const step = asc ? 1 : -1
  const first = asc ? fromDate : toDate
  const inRange = (d: string) => d >= fromDate && d <= toDate

  if (timespan === "second" || timespan === "minute" || timespan === "hour") {
    const width = UNIT_MS[timespan] * multiplier
    for (let d = first; inRange(d); d = addDays(d, step)) {
      const seconds = source.secondBars(symbol, d)
      const bars = width === 1000 ? seconds : aggregate(symbol, seconds, (ts) => ts - (ts % width))
      if (asc) {
        for (const b of bars) if (b.ts >= fromMs && b.ts <= toMs) yield b
      } else {
        for (let i = bars.length - 1; i >= 0; i--) {
          const b = bars[i]!
          if (b.ts >= fromMs && b.ts <= toMs) yield b
        }
      }
    }
    return
  }

  // Day or longer: merge the daily bars of each bucket; emit a bucket when the next one starts.
  let bucket: string | undefined
  let pending: Array<StockBar> = []
  const flush = (): StockBar | undefined => {
    if (bucket === undefined || pending.length === 0) return undefined
    const chronological = asc ? pending : pending.slice().reverse()
    const bar = merge(symbol, newYorkTimeToEpochMs(bucket, 0, 0), chronological, 0, chronological.length)
    pending = []
    return bar
  }
  for (let d = first; inRange(d); d = addDays(d, step)) {
    if (sessionOf(d)._tag === "closed") continue
    const b = source.dailyBar(symbol, d)
    if (b === null) continue
    const start = timespan === "day" && multiplier === 1 ? d : bucketStartDate(d, multiplier, timespan)
    if (start !== bucket) {
      const done = flush()
      if (done) yield done
      bucket = start
    }
    pending.push(b)
  }
  const last = flush()
  if (last) yield last
}

/** `rangeFrom` over the synthetic market; unknown symbols have no bars. */
export function* rangeBars(
  symbol: string,
  multiplier: number,
  timespan: Timespan,
  fromMs: number,
  toMs: number,
  sort: "asc" | "desc"
): Generator<StockBar, void, undefined> {
  if (!isKnownSymbol(symbol)) return
  yield* rangeFrom(SYNTHETIC_SOURCE, symbol, multiplier, timespan, fromMs, toMs, sort)
}
