/**
 * The ThetaData simulator's market: a synthetic SPX path (one deterministic random walk per
 * trading day, a value a minute, in cents), SPXW expirations every trading day (PM-settled: they
 * expire at the 16:00 New York close), strikes every 5 points around the day's open, and each
 * option's quote and first-order greeks.
 *
 * Consistency is by construction: the bid/ask come from a Black–Scholes–Merton price on a smile,
 * and `implied_vol` is then solved from their mid (analytics/impliedVolatility.ts) with the
 * printed underlying price, so the analytics run on the simulator's mid give back its implied_vol.
 * Time to expiry is floored at one hour, as ThetaData's `version=latest` does.
 */
import { bsmGreeks, bsmPrice } from "../../analytics/bsm.js"
import { impliedVolatility } from "../../analytics/impliedVolatility.js"
import { nyseDay } from "../../calendar/nyseRules.js"
import { addDays, newYorkTimeToEpochMs, parseDate } from "../../domain/time.js"

export const SIM_SYMBOL = "SPXW"
/** Continuous rate and dividend yield the simulator prices with. */
export const RATE = 0.05
export const DIVIDEND_YIELD = 0.013
/** The expirations the simulator lists: every trading day in this range. */
export const FIRST_EXPIRATION = "2023-01-03"
export const LAST_EXPIRATION = "2026-12-31"
export const STRIKE_STEP = 5
const YEAR_MS = 365 * 86_400_000
const HOUR_MS = 3_600_000
const MINUTE_MS = 60_000

const expiryCache = new Map<string, number>()

/** Epoch ms of a PM-settled expiration: the 16:00 New York close of its day. */
export const expiryMs = (expiration: string): number => {
  let ms = expiryCache.get(expiration)
  if (ms === undefined) {
    ms = newYorkTimeToEpochMs(expiration, 16, 0)
    if (expiryCache.size > 4096) expiryCache.clear()
    expiryCache.set(expiration, ms)
  }
  return ms
}

/** Years from `tsMs` to an expiry at `expiryAtMs`, at least one hour. */
export const yearsToExpiry = (expiryAtMs: number, tsMs: number): number =>
  Math.max(expiryAtMs - tsMs, HOUR_MS) / YEAR_MS

let expirationCache: ReadonlyArray<string> | undefined

/** Every trading day from FIRST_EXPIRATION to LAST_EXPIRATION (SPXW lists a daily expiration). */
export const expirations = (): ReadonlyArray<string> => {
  if (expirationCache === undefined) {
    const out: Array<string> = []
    for (let d = FIRST_EXPIRATION; d <= LAST_EXPIRATION; d = addDays(d, 1))
      if (nyseDay(d)._tag === "open") out.push(d)
    expirationCache = out
  }
  return expirationCache
}

export interface SpxDay {
  readonly date: string
  /** Epoch ms of 09:30 New York. */
  readonly openMs: number
  /** Minutes in the session (390, or 210 on an early close). */
  readonly minutes: number
  /** SPX at each minute, in cents. */
  readonly spotCents: Int32Array
}

/** A small deterministic PRNG (mulberry32). */
const prng = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const dayCache = new Map<string, SpxDay | undefined>()

/** The day's SPX path, or undefined when `date` is no trading day. */
export const spxDay = (date: string): SpxDay | undefined => {
  if (dayCache.has(date)) return dayCache.get(date)
  const status = nyseDay(date)
  let day: SpxDay | undefined
  if (status._tag === "open") {
    const [y, m, d] = parseDate(date)
    const days = (Date.UTC(y, m - 1, d) - Date.UTC(2023, 0, 1)) / 86_400_000
    const random = prng(y * 10_000 + m * 100 + d)
    // A slow trend with a yearly wave, then a walk of about 15 % annual volatility within the day.
    let spot = 3900 * Math.exp(0.12 * (days / 365)) * (1 + 0.03 * Math.sin(days / 58))
    const minutes = Math.round((status.closeMs - status.openMs) / MINUTE_MS)
    const spotCents = new Int32Array(minutes)
    const step = 0.15 / Math.sqrt(252 * 390)
    for (let i = 0; i < minutes; i++) {
      spotCents[i] = Math.round(spot * 100)
      const u = Math.max(random(), 1e-12)
      const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random())
      spot *= Math.exp(step * z)
    }
    day = { date, openMs: status.openMs, minutes, spotCents }
  }
  if (dayCache.size > 64) dayCache.clear()
  dayCache.set(date, day)
  return day
}

/** Strikes in dollars, every 5 points, `perSide` below and at-or-above the day's open, ascending. */
export const strikesOf = (day: SpxDay, perSide: number): ReadonlyArray<number> => {
  const atm = Math.round(day.spotCents[0]! / 100 / STRIKE_STEP) * STRIKE_STEP
  const out: Array<number> = []
  for (let i = -perSide; i < perSide; i++) {
    const k = atm + i * STRIKE_STEP
    if (k > 0) out.push(k)
  }
  return out
}

/** The smile: higher volatility for low strikes and short expiries, bounded. */
export const modelVolatility = (S: number, K: number, t: number): number => {
  const m = Math.log(K / S) / Math.sqrt(Math.max(t, 1 / 365))
  const v = 0.13 + 0.02 / Math.sqrt(Math.max(t * 12, 0.05)) - 0.12 * m + 0.25 * m * m
  return Math.min(Math.max(v, 0.06), 1.5)
}

/** One row's numbers, filled in place (the generator reuses one object). */
export interface GreekValues {
  bidCents: number
  askCents: number
  delta: number
  /** Per calendar day. */
  theta: number
  vega: number
  rho: number
  epsilon: number
  lambda: number
  impliedVol: number
  ivError: number
}

export const emptyValues = (): GreekValues => ({
  bidCents: 0,
  askCents: 0,
  delta: 0,
  theta: 0,
  vega: 0,
  rho: 0,
  epsilon: 0,
  lambda: 0,
  impliedVol: 0,
  ivError: 0
})

/**
 * The quote and greeks of an option with spot `S` (dollars, as printed), strike `K`, `t` years.
 * The quote is in SPX ticks (0.05 below $3, else 0.10), its mid above the discounted intrinsic
 * value; the greeks are at the IV of the mid. Where the mid pins no volatility (too little time
 * value to measure), `implied_vol` is 0 and `iv_error` 100, the vendor's no-fit marker.
 */
export const greekValues = (call: boolean, S: number, K: number, t: number, out: GreekValues): void => {
  const r = RATE
  const q = DIVIDEND_YIELD
  const theo = bsmPrice(call, S, K, t, r, q, modelVolatility(S, K, t))
  const tick = theo * 100 < 300 ? 5 : 10
  const spread = Math.max(tick, Math.round((theo * 2) / tick) * tick)
  let bid = Math.max(0, Math.floor((theo * 100 - spread / 2) / tick) * tick)
  let ask = Math.max(bid + spread, tick)
  const intrinsic = Math.max(0, (call ? 1 : -1) * (S * Math.exp(-q * t) - K * Math.exp(-r * t))) * 100
  // The mid at least half a tick above the discounted intrinsic value.
  if ((bid + ask) / 2 < intrinsic + tick / 2) {
    bid = Math.max(bid, Math.floor(intrinsic / tick) * tick)
    ask = Math.max(ask, Math.ceil((2 * intrinsic + tick - bid) / tick) * tick, bid + tick)
  }
  out.bidCents = bid
  out.askCents = ask
  const mid = (bid + ask) / 200
  const solved = impliedVolatility(call, S, K, t, r, q, mid)
  const iv = solved._tag === "Solved" ? solved.iv : 0
  const g = bsmGreeks(call, S, K, t, r, q, iv)
  out.delta = g.delta
  out.theta = g.theta / 365
  out.vega = g.vega
  out.rho = g.rho
  out.epsilon = -t * S * g.delta
  out.lambda = mid > 0 ? (g.delta * S) / mid : 0
  if (solved._tag === "Solved") {
    const printed = Math.round(iv * 10_000) / 10_000
    out.impliedVol = printed
    // The model price at the printed IV against the mid, relative (first order in the rounding).
    out.ivError = (g.vega * (printed - iv)) / mid
  } else {
    out.impliedVol = 0
    out.ivError = 100
  }
}
