/**
 * `options_enriched_1s` rows from a day's option bars of one underlying: pure, no I/O. Each row
 * reads only the underlying's and VIX's bars that start at or before the option bar's `ts`
 * (README "Consolidated datasets" defines every column).
 */
import { bsmGreeks } from "../analytics/bsm.js"
import { impliedVolatility } from "../analytics/impliedVolatility.js"
import type { OptionEnriched } from "../domain/Consolidated.js"
import type { OptionBar } from "../domain/OptionBar.js"
import { newYorkDate, newYorkTimeToEpochMs, parseDate } from "../domain/time.js"
import { indexAtOrBefore, type Series, valueAtOrBefore } from "./asOf.js"

export const YEAR_MS = 365 * 86_400_000

/** Why a row has no implied volatility when the underlying has no trade at or before it. */
export const NO_UNDERLYING_REASON = "no implied volatility: no underlying trade at or before ts"

export interface EnrichmentInputs {
  /** The underlying's bars (ts, close), ascending. */
  readonly underlying: Series
  /** I:VIX (ts, close), ascending; empty when the lake has none for the day. */
  readonly vix: Series
  readonly rate: number
  readonly dividendYield: number
}

/** Whole calendar days from `from` to `to` (YYYY-MM-DD). */
const daysBetween = (from: string, to: string): number => {
  const [y1, m1, d1] = parseDate(from)
  const [y2, m2, d2] = parseDate(to)
  return Math.round((Date.UTC(y2, m2 - 1, d2) - Date.UTC(y1, m1 - 1, d1)) / 86_400_000)
}

/**
 * Enriches `bars` (option bars of one underlying, one day; any order) in their order. Expiry
 * instants and dte are computed once per expiration.
 */
export const enrichOptionBars = (
  bars: ReadonlyArray<OptionBar>,
  inputs: EnrichmentInputs
): Array<OptionEnriched> => {
  const { rate: r, dividendYield: q } = inputs
  const expiries = new Map<string, number>()
  /** dte per expiration on `dayOf`. */
  let dtes = new Map<string, number>()
  const out: Array<OptionEnriched> = new Array(bars.length)
  let dayOf = ""
  let dayStart = Number.POSITIVE_INFINITY
  let dayEnd = Number.NEGATIVE_INFINITY
  for (let n = 0; n < bars.length; n++) {
    const bar = bars[n]!
    let expiryMs = expiries.get(bar.expiration_date)
    if (expiryMs === undefined) {
      expiryMs = newYorkTimeToEpochMs(bar.expiration_date, 16, 0)
      expiries.set(bar.expiration_date, expiryMs)
    }
    // The New York date of ts, recomputed only when ts leaves the day last computed.
    if (!(bar.ts >= dayStart && bar.ts < dayEnd)) {
      dayOf = newYorkDate(bar.ts)
      dayStart = newYorkTimeToEpochMs(dayOf, 0, 0)
      dayEnd = dayStart + 86_400_000 - 3_600_000 // a day of 23 h at least: safe on DST days
      dtes = new Map()
    }
    let dte = dtes.get(bar.expiration_date)
    if (dte === undefined) {
      dte = daysBetween(dayOf, bar.expiration_date)
      dtes.set(bar.expiration_date, dte)
    }
    const call = bar.contract_type === "call"
    const K = bar.strike_price
    // The bar's close is the last trade in the second: time runs from the end of the second.
    const t = (expiryMs - (bar.ts + 1000)) / YEAR_MS
    const i = indexAtOrBefore(inputs.underlying, bar.ts)
    const S = i < 0 ? null : inputs.underlying.value[i]!
    const solved = S === null ? undefined : impliedVolatility(call, S, K, t, r, q, bar.close)
    const g = solved?._tag === "Solved" ? bsmGreeks(call, S!, K, t, r, q, solved.iv) : undefined
    // One object literal per row (no spread): a million rows stay cheap to build and to collect.
    out[n] = {
      symbol: bar.symbol,
      ts: bar.ts,
      underlying: bar.underlying,
      contract_type: bar.contract_type,
      strike_price: K,
      expiration_date: bar.expiration_date,
      open: bar.open,
      high: bar.high,
      low: bar.low,
      close: bar.close,
      volume: bar.volume,
      underlying_price: S,
      underlying_age_ms: i < 0 ? null : bar.ts - inputs.underlying.ts[i]!,
      vix: valueAtOrBefore(inputs.vix, bar.ts),
      t_years: t,
      moneyness: S === null ? null : Math.log(K / (S * Math.exp((r - q) * t))),
      dte,
      iv: solved?._tag === "Solved" ? solved.iv : null,
      delta: g === undefined ? null : g.delta,
      gamma: g === undefined ? null : g.gamma,
      theta: g === undefined ? null : g.theta,
      vega: g === undefined ? null : g.vega,
      rho: g === undefined ? null : g.rho,
      iv_reason:
        solved === undefined ? NO_UNDERLYING_REASON : solved._tag === "NoSolution" ? solved.reason : null,
      rate: r,
      div_yield: q
    }
  }
  return out
}
