/**
 * `options_enriched_1s` rows from a day's option bars of one underlying: pure, no I/O. Each row
 * reads only the underlying's and VIX's bars that start at or before the option bar's `ts`
 * (README "Consolidated datasets" defines every column).
 */
import { bsmGreeks } from "../analytics/bsm.js"
import { impliedVolatility } from "../analytics/impliedVolatility.js"
import { type OptionEnriched, OptionsEnriched1s } from "../domain/Consolidated.js"
import { daysOfDate } from "../domain/columnValues.js"
import type { OptionBar } from "../domain/OptionBar.js"
import { newYorkDate, newYorkTimeToEpochMs, parseDate } from "../domain/time.js"
import { type ColumnarRows, type FlatColumnData, rowsFromColumns } from "../sinks/parquetColumns.js"
import { indexAtOrBefore, type Series } from "./asOf.js"

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

/** A double column without nulls, as the Parquet writer takes it. */
const doubles = (n: number) => ({ kind: "double" as const, values: new Float64Array(n), present: undefined })
/** A nullable double column: a row's value counts only where `present` is 1. */
const nullableDoubles = (n: number) => ({
  kind: "double" as const,
  values: new Float64Array(n),
  present: new Uint8Array(n)
})
const ints = (n: number) => ({
  kind: "int" as const,
  values: new Float64Array(n),
  wide: undefined,
  present: undefined
})
const strings = (n: number) => ({ kind: "string" as const, values: new Array<string>(n), present: undefined })

/**
 * Enriches `bars` (option bars of one underlying, one day; any order) in their order, as the
 * columns of `options_enriched_1s` (`OptionsEnriched1s.columns` order, as the Parquet writer takes
 * them): a day's million rows never become objects. Expiry instants and dte are computed once per
 * expiration.
 */
export const enrichOptionColumns = (
  bars: ReadonlyArray<OptionBar>,
  inputs: EnrichmentInputs
): ColumnarRows => {
  const { rate: r, dividendYield: q } = inputs
  const n = bars.length
  const c = {
    symbol: strings(n),
    ts: ints(n),
    underlying: strings(n),
    contract_type: strings(n),
    strike_price: doubles(n),
    expiration_date: ints(n),
    open: doubles(n),
    high: doubles(n),
    low: doubles(n),
    close: doubles(n),
    volume: doubles(n),
    underlying_price: nullableDoubles(n),
    underlying_age_ms: nullableDoubles(n),
    vix: nullableDoubles(n),
    t_years: doubles(n),
    moneyness: nullableDoubles(n),
    dte: ints(n),
    iv: nullableDoubles(n),
    delta: nullableDoubles(n),
    gamma: nullableDoubles(n),
    theta: nullableDoubles(n),
    vega: nullableDoubles(n),
    rho: nullableDoubles(n),
    iv_reason: { kind: "string" as const, values: new Array<string>(n), present: new Uint8Array(n) },
    rate: doubles(n),
    div_yield: doubles(n)
  } satisfies Record<keyof OptionEnriched, FlatColumnData>
  /** Per expiration: its 16:00 New York instant and its days since 1970-01-01. */
  const expiries = new Map<string, { readonly ms: number; readonly days: number }>()
  /** dte per expiration on `dayOf`. */
  let dtes = new Map<string, number>()
  let dayOf = ""
  let dayStart = Number.POSITIVE_INFINITY
  let dayEnd = Number.NEGATIVE_INFINITY
  for (let k = 0; k < n; k++) {
    const bar = bars[k]!
    let expiry = expiries.get(bar.expiration_date)
    if (expiry === undefined) {
      const days = daysOfDate(bar.expiration_date)
      if (days === undefined) throw new Error(`option bar ${bar.symbol}: expiration ${bar.expiration_date}`)
      expiry = { ms: newYorkTimeToEpochMs(bar.expiration_date, 16, 0), days }
      expiries.set(bar.expiration_date, expiry)
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
    const t = (expiry.ms - (bar.ts + 1000)) / YEAR_MS
    const i = indexAtOrBefore(inputs.underlying, bar.ts)
    c.symbol.values[k] = bar.symbol
    c.ts.values[k] = bar.ts
    c.underlying.values[k] = bar.underlying
    c.contract_type.values[k] = bar.contract_type
    c.strike_price.values[k] = K
    c.expiration_date.values[k] = expiry.days
    c.open.values[k] = bar.open
    c.high.values[k] = bar.high
    c.low.values[k] = bar.low
    c.close.values[k] = bar.close
    c.volume.values[k] = bar.volume
    const v = indexAtOrBefore(inputs.vix, bar.ts)
    if (v >= 0) {
      c.vix.values[k] = inputs.vix.value[v]!
      c.vix.present[k] = 1
    }
    c.t_years.values[k] = t
    c.dte.values[k] = dte
    c.rate.values[k] = r
    c.div_yield.values[k] = q
    c.iv_reason.values[k] = ""
    if (i < 0) {
      c.iv_reason.values[k] = NO_UNDERLYING_REASON
      c.iv_reason.present[k] = 1
      continue
    }
    const S = inputs.underlying.value[i]!
    c.underlying_price.values[k] = S
    c.underlying_price.present[k] = 1
    c.underlying_age_ms.values[k] = bar.ts - inputs.underlying.ts[i]!
    c.underlying_age_ms.present[k] = 1
    c.moneyness.values[k] = Math.log(K / (S * Math.exp((r - q) * t)))
    c.moneyness.present[k] = 1
    const solved = impliedVolatility(call, S, K, t, r, q, bar.close)
    if (solved._tag === "NoSolution") {
      c.iv_reason.values[k] = solved.reason
      c.iv_reason.present[k] = 1
      continue
    }
    const g = bsmGreeks(call, S, K, t, r, q, solved.iv)
    c.iv.values[k] = solved.iv
    c.delta.values[k] = g.delta
    c.gamma.values[k] = g.gamma
    c.theta.values[k] = g.theta
    c.vega.values[k] = g.vega
    c.rho.values[k] = g.rho
    c.iv.present[k] = 1
    c.delta.present[k] = 1
    c.gamma.present[k] = 1
    c.theta.present[k] = 1
    c.vega.present[k] = 1
    c.rho.present[k] = 1
  }
  return { length: n, columns: OptionsEnriched1s.columns.map((column) => c[column.name]) }
}

/** `enrichOptionColumns` as row objects (tests, small inputs). */
export const enrichOptionBars = (
  bars: ReadonlyArray<OptionBar>,
  inputs: EnrichmentInputs
): Array<OptionEnriched> =>
  rowsFromColumns(OptionsEnriched1s.columns, enrichOptionColumns(bars, inputs)) as Array<OptionEnriched>
