/**
 * `options_enriched_1s` rows from a day's option bars of one underlying: pure, no I/O. Each row
 * reads only the underlying's and VIX's bars that start at or before the option bar's `ts`
 * (README "Consolidated datasets" defines every column).
 */
import { bsmGreeks } from "../analytics/bsm.js"
import { impliedVolatility } from "../analytics/impliedVolatility.js"
import { type OptionEnriched, OptionsEnriched1s } from "../domain/Consolidated.js"
import { dateOfDays, daysOfDate } from "../domain/columnValues.js"
import { type OptionBar, OptionBars1s } from "../domain/OptionBar.js"
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

/** The option bars' values the enrichment reads, as columns (one slot per bar). */
export interface OptionBarColumns {
  readonly length: number
  readonly symbol: ReadonlyArray<string>
  readonly underlying: ReadonlyArray<string>
  readonly contract_type: ReadonlyArray<string>
  /** Days since 1970-01-01. */
  readonly expiration_date: Float64Array
  readonly strike_price: Float64Array
  readonly ts: Float64Array
  readonly open: Float64Array
  readonly high: Float64Array
  readonly low: Float64Array
  readonly close: Float64Array
  readonly volume: Float64Array
}

type NumberField = "expiration_date" | "strike_price" | "ts" | "open" | "high" | "low" | "close" | "volume"
const NUMBER_FIELDS: ReadonlyArray<NumberField> = [
  "expiration_date",
  "strike_price",
  "ts",
  "open",
  "high",
  "low",
  "close",
  "volume"
]
type StringField = "symbol" | "underlying" | "contract_type"
const STRING_FIELDS: ReadonlyArray<StringField> = ["symbol", "underlying", "contract_type"]

/**
 * The bars of `underlying` in a day of `option_bars_1s` read as columns (`OptionBars1s.columns`
 * order). The arrays are shared, not copied, when every bar is of `underlying` (the usual day).
 */
export const optionBarColumns = (table: ColumnarRows, underlying: string): OptionBarColumns => {
  const column = (name: keyof OptionBar) =>
    table.columns[OptionBars1s.columns.findIndex((c) => c.name === name)]
  const strings = {} as Record<StringField, ReadonlyArray<string>>
  for (const name of STRING_FIELDS) {
    const data = column(name)
    if (data?.kind !== "string") throw new Error(`option_bars_1s: ${name} is not a string column`)
    strings[name] = data.values
  }
  const numbers = {} as Record<NumberField, Float64Array>
  for (const name of NUMBER_FIELDS) {
    const data = column(name)
    if (data?.kind !== "double" && data?.kind !== "int")
      throw new Error(`option_bars_1s: ${name} is not a number column`)
    numbers[name] = data.values
  }
  const keep: Array<number> = []
  for (let i = 0; i < table.length; i++) if (strings.underlying[i] === underlying) keep.push(i)
  if (keep.length === table.length) return { length: table.length, ...strings, ...numbers }
  const gathered = { length: keep.length } as { length: number } & Record<StringField, Array<string>> &
    Record<NumberField, Float64Array>
  for (const name of STRING_FIELDS) gathered[name] = keep.map((i) => strings[name][i]!)
  for (const name of NUMBER_FIELDS) gathered[name] = Float64Array.from(keep, (i) => numbers[name][i]!)
  return gathered
}

/** `OptionBarColumns` of bars held as rows. */
export const optionBarColumnsOfRows = (bars: ReadonlyArray<OptionBar>): OptionBarColumns => {
  const numbers = (value: (b: OptionBar) => number) => Float64Array.from(bars, value)
  return {
    length: bars.length,
    symbol: bars.map((b) => b.symbol),
    underlying: bars.map((b) => b.underlying),
    contract_type: bars.map((b) => b.contract_type),
    expiration_date: numbers((b) => {
      const days = daysOfDate(b.expiration_date)
      if (days === undefined) throw new Error(`option bar ${b.symbol}: expiration ${b.expiration_date}`)
      return days
    }),
    strike_price: numbers((b) => b.strike_price),
    ts: numbers((b) => b.ts),
    open: numbers((b) => b.open),
    high: numbers((b) => b.high),
    low: numbers((b) => b.low),
    close: numbers((b) => b.close),
    volume: numbers((b) => b.volume)
  }
}

/** A column the writer takes, over values computed elsewhere. */
const doublesOf = (values: Float64Array) => ({ kind: "double" as const, values, present: undefined })
const intsOf = (values: Float64Array) => ({
  kind: "int" as const,
  values,
  wide: undefined,
  present: undefined
})
const stringsOf = (values: ReadonlyArray<string>) => ({ kind: "string" as const, values, present: undefined })
const doubles = (n: number) => doublesOf(new Float64Array(n))
/** A nullable double column: a row's value counts only where `present` is 1. */
const nullableDoubles = (n: number) => ({
  kind: "double" as const,
  values: new Float64Array(n),
  present: new Uint8Array(n)
})

/**
 * Enriches `bars` (option bars of one underlying, one day; any order) in their order, as the
 * columns of `options_enriched_1s` (`OptionsEnriched1s.columns` order, as the Parquet writer takes
 * them; the bars' own columns are shared): a day's million rows never become objects. Expiry
 * instants and dte are computed once per expiration.
 */
export const enrichOptionColumns = (bars: OptionBarColumns, inputs: EnrichmentInputs): ColumnarRows => {
  const { rate: r, dividendYield: q } = inputs
  const n = bars.length
  const c = {
    symbol: stringsOf(bars.symbol),
    ts: intsOf(bars.ts),
    underlying: stringsOf(bars.underlying),
    contract_type: stringsOf(bars.contract_type),
    strike_price: doublesOf(bars.strike_price),
    expiration_date: intsOf(bars.expiration_date),
    open: doublesOf(bars.open),
    high: doublesOf(bars.high),
    low: doublesOf(bars.low),
    close: doublesOf(bars.close),
    volume: doublesOf(bars.volume),
    underlying_price: nullableDoubles(n),
    underlying_age_ms: nullableDoubles(n),
    vix: nullableDoubles(n),
    t_years: doubles(n),
    moneyness: nullableDoubles(n),
    dte: intsOf(new Float64Array(n)),
    iv: nullableDoubles(n),
    delta: nullableDoubles(n),
    gamma: nullableDoubles(n),
    theta: nullableDoubles(n),
    vega: nullableDoubles(n),
    rho: nullableDoubles(n),
    iv_reason: { kind: "string" as const, values: new Array<string>(n).fill(""), present: new Uint8Array(n) },
    rate: doublesOf(new Float64Array(n).fill(r)),
    div_yield: doublesOf(new Float64Array(n).fill(q))
  } satisfies Record<keyof OptionEnriched, FlatColumnData>
  /** Per expiration (days since 1970-01-01): its date and its 16:00 New York instant. */
  const expiries = new Map<number, { readonly date: string; readonly ms: number }>()
  /** dte per expiration on `dayOf`. */
  let dtes = new Map<number, number>()
  let dayOf = ""
  let dayStart = Number.POSITIVE_INFINITY
  let dayEnd = Number.NEGATIVE_INFINITY
  for (let k = 0; k < n; k++) {
    const ts = bars.ts[k]!
    const expirationDays = bars.expiration_date[k]!
    let expiry = expiries.get(expirationDays)
    if (expiry === undefined) {
      const date = dateOfDays(expirationDays)
      expiry = { date, ms: newYorkTimeToEpochMs(date, 16, 0) }
      expiries.set(expirationDays, expiry)
    }
    // The New York date of ts, recomputed only when ts leaves the day last computed.
    if (!(ts >= dayStart && ts < dayEnd)) {
      dayOf = newYorkDate(ts)
      dayStart = newYorkTimeToEpochMs(dayOf, 0, 0)
      dayEnd = dayStart + 86_400_000 - 3_600_000 // a day of 23 h at least: safe on DST days
      dtes = new Map()
    }
    let dte = dtes.get(expirationDays)
    if (dte === undefined) {
      dte = daysBetween(dayOf, expiry.date)
      dtes.set(expirationDays, dte)
    }
    c.dte.values[k] = dte
    const call = bars.contract_type[k] === "call"
    const K = bars.strike_price[k]!
    // The bar's close is the last trade in the second: time runs from the end of the second.
    const t = (expiry.ms - (ts + 1000)) / YEAR_MS
    c.t_years.values[k] = t
    const v = indexAtOrBefore(inputs.vix, ts)
    if (v >= 0) {
      c.vix.values[k] = inputs.vix.value[v]!
      c.vix.present[k] = 1
    }
    const i = indexAtOrBefore(inputs.underlying, ts)
    if (i < 0) {
      c.iv_reason.values[k] = NO_UNDERLYING_REASON
      c.iv_reason.present[k] = 1
      continue
    }
    const S = inputs.underlying.value[i]!
    c.underlying_price.values[k] = S
    c.underlying_price.present[k] = 1
    c.underlying_age_ms.values[k] = ts - inputs.underlying.ts[i]!
    c.underlying_age_ms.present[k] = 1
    c.moneyness.values[k] = Math.log(K / (S * Math.exp((r - q) * t)))
    c.moneyness.present[k] = 1
    const solved = impliedVolatility(call, S, K, t, r, q, bars.close[k]!)
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

/** `enrichOptionColumns` of bars and to rows (tests, small inputs). */
export const enrichOptionBars = (
  bars: ReadonlyArray<OptionBar>,
  inputs: EnrichmentInputs
): Array<OptionEnriched> =>
  rowsFromColumns(
    OptionsEnriched1s.columns,
    enrichOptionColumns(optionBarColumnsOfRows(bars), inputs)
  ) as Array<OptionEnriched>
