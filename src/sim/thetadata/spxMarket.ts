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
import { normCdf } from "../../analytics/normal.js"
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

/**
 * What pricing needs per minute of a day for one expiration, shared by all its strikes: years to
 * expiry (floored at an hour), √t and the discount factors e^{−qt}, e^{−rt}.
 */
export interface ExpiryClock {
  readonly t: Float64Array
  readonly sqrtT: Float64Array
  readonly dq: Float64Array
  readonly dr: Float64Array
}

const clockCache = new Map<string, ExpiryClock>()

export const expiryClock = (day: SpxDay, expiration: string): ExpiryClock => {
  const key = `${day.date} ${expiration}`
  let clock = clockCache.get(key)
  if (clock === undefined) {
    const expiry = expiryMs(expiration)
    const n = day.minutes
    const c = {
      t: new Float64Array(n),
      sqrtT: new Float64Array(n),
      dq: new Float64Array(n),
      dr: new Float64Array(n)
    }
    for (let i = 0; i < n; i++) {
      const t = yearsToExpiry(expiry, day.openMs + i * MINUTE_MS)
      c.t[i] = t
      c.sqrtT[i] = Math.sqrt(t)
      c.dq[i] = Math.exp(-DIVIDEND_YIELD * t)
      c.dr[i] = Math.exp(-RATE * t)
    }
    if (clockCache.size > 256) clockCache.clear()
    clockCache.set(key, c)
    clock = c
  }
  return clock
}

const ONE_OVER_SQRT_2PI = 0.3989422804014327
/** Halley steps tried from the model volatility before falling back to the exact solver. */
const FAST_IV_STEPS = 8
/** A step in σ this small ends the iteration: σ is then within ~1e−20 of the root (cubic order). */
const FAST_IV_STEP = 2e-10

/**
 * `greekValues` for minute `i` of `clock`, the simulator's hot path: the same quote (the model
 * price by the same arithmetic as bsm.ts, so the same cents), and the implied volatility of its
 * mid found by Halley's method on the price started at the model volatility, which the mid is
 * within a tick of (two price evaluations in most rows, against the general solver's ~5 from
 * scratch). The greeks come from the last evaluation, within 2e−10 of the printed σ. Where the
 * analytics find no volatility (their checks, repeated here), or the iteration does not settle in
 * FAST_IV_STEPS, it is `greekValues` itself.
 */
export const fastGreekValues = (
  call: boolean,
  S: number,
  K: number,
  clock: ExpiryClock,
  i: number,
  out: GreekValues
): void => {
  const r = RATE
  const q = DIVIDEND_YIELD
  const t = clock.t[i]!
  const sqrtT = clock.sqrtT[i]!
  const dq = clock.dq[i]!
  const dr = clock.dr[i]!
  const logSK = Math.log(S / K)
  const spotQ = S * dq
  const strikeR = K * dr
  // The model price, as bsmGreeks computes it.
  let sigma = modelVolatility(S, K, t)
  let sd = sigma * sqrtT
  let d1 = (logSK + (r - q + (sigma * sigma) / 2) * t) / sd
  let d2 = d1 - sd
  const theoN1 = normCdf(call ? d1 : -d1)
  const theoN2 = normCdf(call ? d2 : -d2)
  const theo = call ? spotQ * theoN1 - strikeR * theoN2 : strikeR * theoN2 - spotQ * theoN1
  const tick = theo * 100 < 300 ? 5 : 10
  const spread = Math.max(tick, Math.round((theo * 2) / tick) * tick)
  let bid = Math.max(0, Math.floor((theo * 100 - spread / 2) / tick) * tick)
  let ask = Math.max(bid + spread, tick)
  const intrinsic = Math.max(0, (call ? 1 : -1) * (spotQ - strikeR)) * 100
  if ((bid + ask) / 2 < intrinsic + tick / 2) {
    bid = Math.max(bid, Math.floor(intrinsic / tick) * tick)
    ask = Math.max(ask, Math.ceil((2 * intrinsic + tick - bid) / tick) * tick, bid + tick)
  }
  const mid = (bid + ask) / 200
  // impliedVolatility's checks, on the same arithmetic: where they find no volatility, so does this.
  const parity = call ? spotQ - strikeR : strikeR - spotQ
  const logMoneyness = logSK + (r - q) * t
  const x = -Math.abs(logMoneyness)
  const otm = parity > 0 ? mid - parity : mid
  if (
    mid < parity ||
    (call ? mid >= spotQ : mid >= strikeR) ||
    mid === 0 ||
    !(otm > 0) ||
    !(otm / (dr * Math.sqrt(S * Math.exp((r - q) * t) * K)) < Math.exp(x / 2))
  ) {
    greekValues(call, S, K, t, out)
    return
  }
  // Solve on the out-of-the-money right's price (parity, as the analytics do): no cancellation.
  const otmCall = parity > 0 ? !call : call
  let n1 = 0 // N(±d1) and N(±d2) of the out-of-the-money right at sigma
  let n2 = 0
  if (otmCall === call) {
    n1 = theoN1
    n2 = theoN2
  } else {
    n1 = normCdf(otmCall ? d1 : -d1)
    n2 = normCdf(otmCall ? d2 : -d2)
  }
  let iv = Number.NaN
  let density = 0
  for (let k = 0; k < FAST_IV_STEPS; k++) {
    const price = otmCall ? spotQ * n1 - strikeR * n2 : strikeR * n2 - spotQ * n1
    density = spotQ * ONE_OVER_SQRT_2PI * Math.exp(-0.5 * d1 * d1)
    const vega = density * sqrtT
    const f = price - otm
    const newton = f / vega
    const correction = 1 - (newton * ((d1 * d2) / sigma)) / 2
    const step = correction >= 0.5 && correction <= 2 ? newton / correction : newton
    if (!Number.isFinite(step)) break
    if (Math.abs(step) <= FAST_IV_STEP) {
      iv = sigma - step
      break
    }
    sigma = sigma - step > 0 ? sigma - step : sigma / 2
    sd = sigma * sqrtT
    d1 = (logSK + (r - q + (sigma * sigma) / 2) * t) / sd
    d2 = d1 - sd
    n1 = normCdf(otmCall ? d1 : -d1)
    n2 = normCdf(otmCall ? d2 : -d2)
  }
  if (!(iv > 0)) {
    greekValues(call, S, K, t, out)
    return
  }
  // The quoted right's N(±d1), N(±d2) at sigma: the complements when it is the in-the-money one.
  const m1 = otmCall === call ? n1 : 1 - n1
  const m2 = otmCall === call ? n2 : 1 - n2
  const decay = -(density * sigma) / (2 * sqrtT)
  const vega = density * sqrtT
  const delta = call ? dq * m1 : -dq * m1
  out.bidCents = bid
  out.askCents = ask
  out.delta = delta
  out.theta =
    (call ? decay - r * strikeR * m2 + q * spotQ * m1 : decay + r * strikeR * m2 - q * spotQ * m1) / 365
  out.vega = vega
  out.rho = call ? t * strikeR * m2 : -t * strikeR * m2
  out.epsilon = -t * S * delta
  out.lambda = mid > 0 ? (delta * S) / mid : 0
  const printed = Math.round(iv * 10_000) / 10_000
  out.impliedVol = printed
  out.ivError = (vega * (printed - iv)) / mid
}
