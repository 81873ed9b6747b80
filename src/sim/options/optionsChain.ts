/**
 * A deterministic synthetic options chain on the synthetic underlyings, and its per-second bars.
 * Everything is a pure function of (underlying, dates); nothing is stored.
 *
 * Listing rules
 * - Expirations: every trading day for SPY, QQQ and IWM; Fridays for the others (a Friday holiday
 *   moves the expiration to the trading day before, as OCC does). Options expire at 16:00 New York.
 * - An expiration is listed on the first trading day at or after `expiration − listDays` calendar
 *   days (14 for daily expirations, 35 for Fridays).
 * - Strikes on a grid of `strikeStep` dollars (SPY, QQQ, IWM, DIA, NVDA $1; AAPL, TSLA $2.50;
 *   MSFT $5 — the steps the real chains use near the money). On each trading day from the listing
 *   to the expiration, every grid strike within ±6 % of the previous session's close (the
 *   synthetic market's close anchor) is listed if it is not yet: the range grows as the price
 *   moves, and each strike has its own listing date. Calls and puts on every strike; American
 *   exercise, 100 shares, primary exchange BATO, CFI `OCASPS` (calls) / `OPASPS` (puts).
 * - A contract exists on day D when listed ≤ D ≤ expiration.
 *
 * Pricing (the truth the analytics can be checked against: `theoretical`)
 * - Spot: the underlying's last trade price at the end of the second (its per-second bar's close,
 *   carried over untraded seconds; the first bar's open before the first trade).
 * - t: seconds from the end of the second to the expiration's 16:00 close / 31,536,000 (365-day years).
 * - Forward F = S·e^{(r−q)t}, r = 5 % for all, q the underlying's dividend yield (table below).
 * - Volatility smile, closed form: with k = ln(K/F) and x = clamp(k/√t, −3, 3) (x = 0 at t = 0),
 *     σ(k, t) = a + c·x + b·x²,   b = 0.05, c = −0.10,
 *   a = the underlying's at-the-money volatility (table below). The minimum is a − c²/(4b) = a − 0.05
 *   at x = 1/3, so σ stays positive; puts (k < 0) carry the skew.
 * - Price: Black–Scholes–Merton (European; the early-exercise premium is left out).
 *
 * Trades (sparse, deterministic per contract and day)
 * - A second trades with probability `liquidity`·e^{−|m|}, m = k/(a·√t) the moneyness in at-the-money
 *   standard deviations: at the money most seconds have a bar, a few percent away almost none.
 * - A bar's o/h/l/c are the model prices at the underlying's o/h/l/c in that second (the spot
 *   when it did not trade), unrounded (so the implied volatility of a close is the smile's exactly),
 *   at least $0.01; 1–8 trades of 1–12 contracts; vw inside [l, h].
 */
import { RULES_FIRST_YEAR, RULES_LAST_YEAR } from "../../calendar/nyseRules.js"
import { formatOptionTicker, type OptionTickerParts, parseOptionTicker } from "../../domain/optionTicker.js"
import type { StockBar } from "../../domain/StockBar.js"
import { addDays, dayOfWeek, newYorkDate, newYorkTimeToEpochMs } from "../../domain/time.js"
import { referenceClose, secondBars, sessionOf } from "../syntheticMarket.js"
import { bsmPriceOf, type OptionType } from "./blackScholes.js"

export interface UnderlyingRules {
  /** Strike grid step × 1000. */
  readonly strikeStepMilli: number
  readonly expirations: "daily" | "friday"
  /** Smile level `a`: the at-the-money volatility. */
  readonly atmVol: number
  /** Continuous dividend yield q. */
  readonly dividendYield: number
  /** Probability that an at-the-money contract trades in a given second. */
  readonly liquidity: number
}

export const RULES: Readonly<Record<string, UnderlyingRules>> = {
  SPY: { strikeStepMilli: 1000, expirations: "daily", atmVol: 0.13, dividendYield: 0.013, liquidity: 0.6 },
  QQQ: { strikeStepMilli: 1000, expirations: "daily", atmVol: 0.17, dividendYield: 0.006, liquidity: 0.5 },
  IWM: { strikeStepMilli: 1000, expirations: "daily", atmVol: 0.2, dividendYield: 0.012, liquidity: 0.35 },
  DIA: { strikeStepMilli: 1000, expirations: "friday", atmVol: 0.12, dividendYield: 0.018, liquidity: 0.15 },
  AAPL: { strikeStepMilli: 2500, expirations: "friday", atmVol: 0.22, dividendYield: 0.005, liquidity: 0.4 },
  MSFT: { strikeStepMilli: 5000, expirations: "friday", atmVol: 0.21, dividendYield: 0.007, liquidity: 0.3 },
  NVDA: {
    strikeStepMilli: 1000,
    expirations: "friday",
    atmVol: 0.48,
    dividendYield: 0.0003,
    liquidity: 0.45
  },
  TSLA: { strikeStepMilli: 2500, expirations: "friday", atmVol: 0.52, dividendYield: 0, liquidity: 0.45 }
}

export const OPTION_UNDERLYINGS: ReadonlyArray<string> = Object.keys(RULES)

/** r, continuously compounded. */
export const RATE = 0.05
/** Smile curvature b and skew c (see the module comment). */
export const SMILE_CURVE = 0.05
export const SMILE_SKEW = -0.1
/** |x| is capped here: the wings are flat beyond three √t-units of log-moneyness. */
export const SMILE_X_CAP = 3
/** Strikes listed around the previous close, as a fraction of it. */
export const STRIKE_BAND = 0.06
export const LIST_DAYS: Readonly<Record<UnderlyingRules["expirations"], number>> = { daily: 14, friday: 35 }

const YEAR_MS = 365 * 86_400_000

// ---------------------------------------------------------------------------------------------
// Calendar

const FIRST_DATE = `${RULES_FIRST_YEAR}-01-01`
const LAST_DATE = `${RULES_LAST_YEAR}-12-31`
const isTradingDay = (date: string): boolean =>
  date >= FIRST_DATE && date <= LAST_DATE && sessionOf(date)._tag === "open"

const previousTradingDay = (date: string): string => {
  let d = addDays(date, -1)
  for (let i = 0; i < 10 && !isTradingDay(d); i++) d = addDays(d, -1)
  return d
}

/** Whether `date` is an expiration date of `underlying`. */
export const isExpiration = (underlying: string, date: string): boolean => {
  const rules = RULES[underlying]
  if (rules === undefined || !isTradingDay(date)) return false
  if (rules.expirations === "daily") return true
  // Friday, or the last trading day before a Friday holiday.
  const friday = addDays(date, 5 - dayOfWeek(date))
  if (dayOfWeek(date) > 5) return false
  for (let d = addDays(date, 1); d <= friday; d = addDays(d, 1)) if (isTradingDay(d)) return false
  return true
}

/** Expiration dates of `underlying` in [from, to], ascending. */
export const expirationsBetween = (underlying: string, from: string, to: string): ReadonlyArray<string> => {
  const out: Array<string> = []
  const lo = from < FIRST_DATE ? FIRST_DATE : from
  const hi = to > LAST_DATE ? LAST_DATE : to
  for (let d = lo; d <= hi; d = addDays(d, 1)) if (isExpiration(underlying, d)) out.push(d)
  return out
}

/** The day an expiration is listed: the first trading day at or after `expiration − listDays`. */
export const listingDate = (underlying: string, expiration: string): string => {
  const rules = RULES[underlying]!
  let d = addDays(expiration, -LIST_DAYS[rules.expirations])
  while (!isTradingDay(d) && d < expiration) d = addDays(d, 1)
  return d
}

// ---------------------------------------------------------------------------------------------
// Contracts

export interface SimContract extends OptionTickerParts {
  readonly ticker: string
  /** The first day the contract exists. */
  readonly listedDate: string
}

interface ListedStrike {
  readonly strikeMilli: number
  readonly listedDate: string
}

const strikeCache = new Map<string, ReadonlyArray<ListedStrike>>()

/** Every strike an expiration ever lists, ascending, with the day each is listed. */
const strikesOf = (underlying: string, expiration: string): ReadonlyArray<ListedStrike> => {
  const key = `${underlying}|${expiration}`
  const cached = strikeCache.get(key)
  if (cached !== undefined) return cached
  const step = RULES[underlying]!.strikeStepMilli
  const listed = new Map<number, string>()
  for (let d = listingDate(underlying, expiration); d <= expiration; d = addDays(d, 1)) {
    if (!isTradingDay(d)) continue
    const center = referenceClose(underlying, previousTradingDay(d))! * 1000
    const lo = Math.ceil((center * (1 - STRIKE_BAND)) / step) * step
    const hi = Math.floor((center * (1 + STRIKE_BAND)) / step) * step
    for (let k = Math.max(step, lo); k <= hi; k += step) if (!listed.has(k)) listed.set(k, d)
  }
  const strikes = [...listed]
    .map(([strikeMilli, listedDate]) => ({ strikeMilli, listedDate }))
    .sort((a, b) => a.strikeMilli - b.strikeMilli)
  if (strikeCache.size >= 5000) strikeCache.clear()
  strikeCache.set(key, strikes)
  return strikes
}

const contractOf = (
  underlying: string,
  expirationDate: string,
  type: OptionType,
  s: ListedStrike
): SimContract => {
  const parts = { underlying, expirationDate, type, strikeMilli: s.strikeMilli }
  return { ...parts, ticker: formatOptionTicker(parts), listedDate: s.listedDate }
}

/** The longest listing window: no contract alive on D expires after D + this. */
export const MAX_LISTING_DAYS = Math.max(...Object.values(LIST_DAYS))

/**
 * Contracts of `underlying` listed on or before `asOf` whose expiration lies in [expirationFrom,
 * expirationTo], calls and puts, ordered by expiration, strike, call before put.
 */
export const contractsListed = (
  underlying: string,
  asOf: string,
  expirationFrom: string,
  expirationTo: string
): ReadonlyArray<SimContract> => {
  if (RULES[underlying] === undefined) return []
  const to = expirationTo < addDays(asOf, MAX_LISTING_DAYS) ? expirationTo : addDays(asOf, MAX_LISTING_DAYS)
  const out: Array<SimContract> = []
  for (const expiration of expirationsBetween(underlying, expirationFrom, to)) {
    if (listingDate(underlying, expiration) > asOf) continue
    for (const s of strikesOf(underlying, expiration)) {
      if (s.listedDate > asOf) continue
      out.push(contractOf(underlying, expiration, "call", s), contractOf(underlying, expiration, "put", s))
    }
  }
  return out
}

/** The contract behind `ticker` if it is listed on or before `asOf` (expired ones included). */
export const contractAsOf = (ticker: string, asOf: string): SimContract | undefined => {
  const parts = parseOptionTicker(ticker)
  if (parts === undefined || RULES[parts.underlying] === undefined) return undefined
  if (!isExpiration(parts.underlying, parts.expirationDate)) return undefined
  const s = strikesOf(parts.underlying, parts.expirationDate).find((x) => x.strikeMilli === parts.strikeMilli)
  if (s === undefined || s.listedDate > asOf) return undefined
  return contractOf(parts.underlying, parts.expirationDate, parts.type, s)
}

/** Whether the contract trades on `date`: listed ≤ date ≤ expiration, on a trading day. */
const aliveOn = (ticker: string, date: string): SimContract | undefined => {
  const c = contractAsOf(ticker, date)
  return c !== undefined && date <= c.expirationDate && isTradingDay(date) ? c : undefined
}

// ---------------------------------------------------------------------------------------------
// Underlying path per second

interface UnderlyingPath {
  readonly openMs: number
  readonly seconds: number
  /** Last trade price at the end of each second. */
  readonly close: Float64Array
  /** The second's own open/high/low (= close when it did not trade). */
  readonly open: Float64Array
  readonly high: Float64Array
  readonly low: Float64Array
}

const pathCache = new Map<string, UnderlyingPath>()

const underlyingPath = (underlying: string, date: string): UnderlyingPath | undefined => {
  const key = `${underlying}|${date}`
  const cached = pathCache.get(key)
  if (cached !== undefined) return cached
  const session = sessionOf(date)
  const bars = secondBars(underlying, date)
  if (session._tag !== "open" || bars.length === 0) return undefined
  const n = Math.round((session.closeMs - session.openMs) / 1000)
  const close = new Float64Array(n)
  const open = new Float64Array(n)
  const high = new Float64Array(n)
  const low = new Float64Array(n)
  let last = bars[0]!.open
  let j = 0
  for (let i = 0; i < n; i++) {
    const b = bars[j]
    if (b !== undefined && b.ts === session.openMs + i * 1000) {
      open[i] = b.open
      high[i] = b.high
      low[i] = b.low
      close[i] = last = b.close
      j++
    } else {
      open[i] = high[i] = low[i] = close[i] = last
    }
  }
  const path = { openMs: session.openMs, seconds: n, close, open, high, low }
  if (pathCache.size >= 16) pathCache.delete(pathCache.keys().next().value!)
  pathCache.set(key, path)
  return path
}

/** The official open of `underlying` on `date` in the synthetic market (its first trade); undefined when closed. */
export const underlyingOpen = (underlying: string, date: string): number | undefined =>
  secondBars(underlying, date)[0]?.open

// ---------------------------------------------------------------------------------------------
// Pricing

/** σ(k, t) = a + c·x + b·x², x = clamp(k/√t, ±3) (0 at t ≤ 0): the smile of `underlying`. */
export const smileVol = (underlying: string, k: number, t: number): number =>
  smileOf(RULES[underlying]?.atmVol ?? Number.NaN, k, t)

/** The smile with its level `a` given. */
const smileOf = (a: number, k: number, t: number): number => {
  const raw = t > 0 ? k / Math.sqrt(t) : 0
  const x = Math.max(-SMILE_X_CAP, Math.min(SMILE_X_CAP, raw))
  return a + SMILE_SKEW * x + SMILE_CURVE * x * x
}

export interface Theoretical {
  readonly ticker: string
  readonly underlying: string
  readonly type: OptionType
  readonly strike: number
  /** Start of the second, epoch ms (the bar's `t`). */
  readonly ts: number
  /** The underlying's price at the end of the second. */
  readonly spot: number
  /** Years (365 days) from the end of the second to the 16:00 expiry. */
  readonly t: number
  readonly rate: number
  readonly dividendYield: number
  readonly forward: number
  /** ln(K/F). */
  readonly k: number
  readonly sigma: number
  /** The model premium per share (unrounded): the second's bar close, floored at $0.01. */
  readonly price: number
}

const priceAt = (
  rules: UnderlyingRules,
  underlying: string,
  type: OptionType,
  strike: number,
  spot: number,
  t: number
) => {
  const forward = spot * Math.exp((RATE - rules.dividendYield) * Math.max(0, t))
  const k = Math.log(strike / forward)
  const sigma = smileVol(underlying, k, t)
  const price = bsmPriceOf(type === "call", spot, strike, t, RATE, rules.dividendYield, sigma)
  return { forward, k, sigma, price }
}

/**
 * The model state of `ticker` during the second containing `epochMs` (a session second of a day the
 * contract trades on); undefined otherwise.
 */
export const theoretical = (ticker: string, epochMs: number): Theoretical | undefined => {
  const date = newYorkDate(epochMs)
  const c = aliveOn(ticker, date)
  if (c === undefined) return undefined
  const path = underlyingPath(c.underlying, date)
  if (path === undefined) return undefined
  const i = Math.floor((epochMs - path.openMs) / 1000)
  if (i < 0 || i >= path.seconds) return undefined
  const rules = RULES[c.underlying]!
  const ts = path.openMs + i * 1000
  const t = (newYorkTimeToEpochMs(c.expirationDate, 16, 0) - (ts + 1000)) / YEAR_MS
  const spot = path.close[i]!
  const strike = c.strikeMilli / 1000
  return {
    ticker: c.ticker,
    underlying: c.underlying,
    type: c.type,
    strike,
    ts,
    spot,
    t,
    rate: RATE,
    dividendYield: rules.dividendYield,
    ...priceAt(rules, c.underlying, c.type, strike, spot, t)
  }
}

/** Probability that the contract trades in a second, from its moneyness in at-the-money deviations. */
export const tradeProbability = (underlying: string, k: number, t: number): number => {
  const rules = RULES[underlying]
  if (rules === undefined) return 0
  const m =
    t > 0 ? Math.abs(k) / (rules.atmVol * Math.sqrt(t)) : Math.abs(k) > 0 ? Number.POSITIVE_INFINITY : 0
  return rules.liquidity * Math.exp(-m)
}

// ---------------------------------------------------------------------------------------------
// Bars

const fnv1a = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

const mulberry32 = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The model price, unrounded (so that a bar's implied volatility is the smile's), at least $0.01. */
const floored = (p: number): number => Math.max(0.01, p)

/** A contract's bars of one day as columns: priced once, kept, and turned into `StockBar`s per call. */
interface DayColumns {
  readonly length: number
  readonly ts: Float64Array
  readonly open: Float64Array
  readonly high: Float64Array
  readonly low: Float64Array
  readonly close: Float64Array
  readonly vwap: Float64Array
  /** At most 8 trades of 12 contracts. */
  readonly volume: Uint8Array
  readonly trades: Uint8Array
}

const NO_BARS: DayColumns = {
  length: 0,
  ts: new Float64Array(0),
  open: new Float64Array(0),
  high: new Float64Array(0),
  low: new Float64Array(0),
  close: new Float64Array(0),
  vwap: new Float64Array(0),
  volume: new Uint8Array(0),
  trades: new Uint8Array(0)
}

/**
 * Prices a contract's day second by second (see the module comment). The arithmetic is `priceAt`'s
 * and `tradeProbability`'s written out without an object per price, so the doubles are the same.
 */
const generateBars = (c: SimContract, date: string): DayColumns => {
  const path = underlyingPath(c.underlying, date)
  if (path === undefined) return NO_BARS
  const rules = RULES[c.underlying]!
  const q = rules.dividendYield
  const atm = rules.atmVol
  const call = c.type === "call"
  const strike = c.strikeMilli / 1000
  const expiryMs = newYorkTimeToEpochMs(c.expirationDate, 16, 0)
  const rng = mulberry32(fnv1a(`${c.ticker}|${date}`))
  const premium = (s: number, t: number): number => {
    const k = Math.log(strike / (s * Math.exp((RATE - q) * Math.max(0, t))))
    return floored(bsmPriceOf(call, s, strike, t, RATE, q, smileOf(atm, k, t)))
  }
  const cap = path.seconds
  const ts = new Float64Array(cap)
  const open = new Float64Array(cap)
  const high = new Float64Array(cap)
  const low = new Float64Array(cap)
  const close = new Float64Array(cap)
  const vwap = new Float64Array(cap)
  const volume = new Uint8Array(cap)
  const trades = new Uint8Array(cap)
  let n = 0
  for (let i = 0; i < cap; i++) {
    const second = path.openMs + i * 1000
    const t = (expiryMs - (second + 1000)) / YEAR_MS
    const spot = path.close[i]!
    // Draw the same number of values every second, so that one second's outcome does not shift the next.
    const u = rng()
    const u1 = rng()
    const u2 = rng()
    const u3 = rng()
    const u4 = rng()
    const k = Math.log(strike / (spot * Math.exp((RATE - q) * Math.max(0, t))))
    const m = t > 0 ? Math.abs(k) / (atm * Math.sqrt(t)) : Math.abs(k) > 0 ? Number.POSITIVE_INFINITY : 0
    if (u >= rules.liquidity * Math.exp(-m)) continue
    const c0 = floored(bsmPriceOf(call, spot, strike, t, RATE, q, smileOf(atm, k, t)))
    const so = path.open[i]!
    const sh = path.high[i]!
    const sl = path.low[i]!
    const o = so === spot ? c0 : premium(so, t)
    const a = sh === spot ? c0 : premium(sh, t)
    const b = sl === spot ? c0 : premium(sl, t)
    const h = Math.max(o, c0, a, b)
    const l = Math.min(o, c0, a, b)
    const tradeCount = 1 + Math.floor(u1 * u2 * 8)
    ts[n] = second
    open[n] = o
    high[n] = h
    low[n] = l
    close[n] = c0
    volume[n] = tradeCount * (1 + Math.floor(u3 * 12))
    vwap[n] = l + (h - l) * (0.25 + 0.5 * u4)
    trades[n] = tradeCount
    n++
  }
  return {
    length: n,
    ts: ts.slice(0, n),
    open: open.slice(0, n),
    high: high.slice(0, n),
    low: low.slice(0, n),
    close: close.slice(0, n),
    vwap: vwap.slice(0, n),
    volume: volume.slice(0, n),
    trades: trades.slice(0, n)
  }
}

/**
 * Priced days kept, oldest out first, up to this many bars (about 51 bytes each): a day of a tracked
 * chain (~130 contracts, ~1.1M bars) fits, so serving it again (a rerun, a second client) prices
 * nothing.
 */
const COLUMN_CACHE_BARS = 1_500_000
const columnCache = new Map<string, DayColumns>()
let columnCacheBars = 0

const dayColumns = (key: string, ticker: string, date: string): DayColumns => {
  const cached = columnCache.get(key)
  if (cached !== undefined) return cached
  const c = aliveOn(ticker, date)
  const columns = c === undefined ? NO_BARS : generateBars(c, date)
  while (
    columnCache.size > 0 &&
    (columnCacheBars + columns.length > COLUMN_CACHE_BARS || columnCache.size >= 20_000)
  ) {
    const oldest = columnCache.keys().next().value!
    columnCacheBars -= columnCache.get(oldest)!.length
    columnCache.delete(oldest)
  }
  columnCache.set(key, columns)
  columnCacheBars += columns.length
  return columns
}

const barsOf = (ticker: string, d: DayColumns): ReadonlyArray<StockBar> => {
  const bars: Array<StockBar> = new Array(d.length)
  for (let i = 0; i < d.length; i++)
    bars[i] = {
      symbol: ticker,
      ts: d.ts[i]!,
      open: d.open[i]!,
      high: d.high[i]!,
      low: d.low[i]!,
      close: d.close[i]!,
      volume: d.volume[i]!,
      vwap: d.vwap[i]!,
      trades: d.trades[i]!
    }
  return bars
}

const barCache = new Map<string, ReadonlyArray<StockBar>>()
const BAR_CACHE_SIZE = 64

/**
 * Per-second bars of option `ticker` on `date`, ascending (a `BarProvider` for `O:` tickers); empty
 * when the contract does not exist or does not trade that day. The last few are cached: callers
 * must not mutate the result.
 */
export const optionSecondBars = (ticker: string, date: string): ReadonlyArray<StockBar> => {
  const key = `${ticker}|${date}`
  const cached = barCache.get(key)
  if (cached !== undefined) return cached
  const bars = barsOf(ticker, dayColumns(key, ticker, date))
  if (barCache.size >= BAR_CACHE_SIZE) barCache.delete(barCache.keys().next().value!)
  barCache.set(key, bars)
  return bars
}
