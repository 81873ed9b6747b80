/**
 * The text of the simulator's first-order greeks answers, one contract at a time so a day's
 * answer streams: v3 CSV (CRLF, the columns and order of the vendor's sample), v3 JSON and
 * NDJSON, and v2 CSV and JSON. Numbers are printed with a fixed number of decimals by integer
 * arithmetic (toFixed is several times slower on this path).
 */
import { thousandthsText } from "../../domain/OptionGreek.js"
import {
  emptyValues,
  expiryMs,
  type GreekValues,
  greekValues,
  type SpxDay,
  yearsToExpiry
} from "./spxMarket.js"

export type GreeksFormat = "csv" | "json" | "ndjson"

/** v3 first-order greeks columns, in the vendor's order (fixtures/thetadata/…greeks_first_order.csv). */
export const V3_COLUMNS = [
  "symbol",
  "expiration",
  "strike",
  "right",
  "timestamp",
  "bid",
  "ask",
  "delta",
  "theta",
  "vega",
  "rho",
  "epsilon",
  "lambda",
  "implied_vol",
  "iv_error",
  "underlying_timestamp",
  "underlying_price"
] as const

/** v2 bulk greeks columns: the contract, then the `format` of the ticks. */
export const V2_TICK_COLUMNS = [
  "ms_of_day",
  "bid",
  "ask",
  "delta",
  "theta",
  "vega",
  "rho",
  "epsilon",
  "lambda",
  "implied_vol",
  "iv_error",
  "ms_of_day2",
  "underlying_price",
  "date"
] as const
export const V2_COLUMNS = ["root", "expiration", "strike", "right", ...V2_TICK_COLUMNS] as const

const POW = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000]
const ZEROS = ["", "0", "00", "000", "0000", "00000", "000000"]

/** `x` with exactly `d` decimals (1 ≤ d ≤ 6), "-0.0000" never printed. */
export const fixed = (x: number, d: number): string => {
  const p = POW[d]!
  let n = Math.round(x * p)
  if (!Number.isFinite(n)) return "0"
  const negative = n < 0
  if (negative) n = -n
  const whole = Math.floor(n / p)
  const frac = n - whole * p
  const fracText = frac === 0 ? ZEROS[d]! : ZEROS[d - 1 - Math.floor(Math.log10(frac))]! + frac
  return negative && n !== 0 ? `-${whole}.${fracText}` : `${whole}.${fracText}`
}

/** Cents as dollars with 2 decimals. */
const cents = (c: number): string => {
  const whole = Math.floor(c / 100)
  const frac = c - whole * 100
  return `${whole}.${frac < 10 ? "0" : ""}${frac}`
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n))

export interface Contract {
  readonly symbol: string
  readonly expiration: string
  /** Dollars. */
  readonly strike: number
  readonly call: boolean
}

/** What a day's answer needs per minute, computed once per answer. */
export interface DayText {
  readonly day: SpxDay
  /** `2024-11-04T09:30:00` per minute. */
  readonly stamps: ReadonlyArray<string>
  /** ms of day per minute (v2). */
  readonly msOfDay: ReadonlyArray<number>
  /** SPX as printed (2 decimals) per minute. */
  readonly spotText: ReadonlyArray<string>
  readonly spot: Float64Array
}

export const dayText = (day: SpxDay): DayText => {
  const stamps: Array<string> = []
  const msOfDay: Array<number> = []
  const spotText: Array<string> = []
  const spot = new Float64Array(day.minutes)
  for (let i = 0; i < day.minutes; i++) {
    const minute = 9 * 60 + 30 + i
    stamps.push(`${day.date}T${pad2(Math.floor(minute / 60))}:${pad2(minute % 60)}:00`)
    msOfDay.push(minute * 60_000)
    spotText.push(cents(day.spotCents[i]!))
    spot[i] = day.spotCents[i]! / 100
  }
  return { day, stamps, msOfDay, spotText, spot }
}

/** The greek fields of one row, from bid to iv_error, as printed and joined by commas. */
const valuesCsv = (v: GreekValues): string =>
  `${cents(v.bidCents)},${cents(v.askCents)},${fixed(v.delta, 4)},${fixed(v.theta, 4)},${fixed(v.vega, 4)},${fixed(v.rho, 4)},${fixed(v.epsilon, 4)},${fixed(v.lambda, 4)},${fixed(v.impliedVol, 4)},${fixed(v.ivError, 4)}`

const VALUE_NAMES = V3_COLUMNS.slice(5, 15)

/**
 * The rows of one contract over the day, in the format asked: `v3` CSV/NDJSON lines, one JSON
 * `{"contract", "data"}` element, or for `v2` CSV lines / one `{"contract", "ticks"}` element.
 */
export const contractText = (
  api: "v3" | "v2",
  format: GreeksFormat,
  d: DayText,
  c: Contract,
  values: GreekValues = emptyValues()
): string => {
  const right = c.call ? "CALL" : "PUT"
  const strikeText = thousandthsText(Math.round(c.strike * 1000))
  const compactExp = c.expiration.replaceAll("-", "")
  const compactDate = d.day.date.replaceAll("-", "")
  const csvPrefix =
    api === "v3"
      ? `${c.symbol},${c.expiration},${strikeText},${right},`
      : `${c.symbol},${compactExp},${Math.round(c.strike * 1000)},${c.call ? "C" : "P"},`
  const expiry = expiryMs(c.expiration)
  let out = ""
  for (let i = 0; i < d.day.minutes; i++) {
    const t = yearsToExpiry(expiry, d.day.openMs + i * 60_000)
    greekValues(c.call, d.spot[i]!, c.strike, t, values)
    if (format === "csv") {
      out +=
        api === "v3"
          ? `${csvPrefix}${d.stamps[i]},${valuesCsv(values)},${d.stamps[i]},${d.spotText[i]}\r\n`
          : `${csvPrefix}${d.msOfDay[i]},${valuesCsv(values)},${d.msOfDay[i]},${d.spotText[i]},${compactDate}\r\n`
    } else if (api === "v2") {
      out += `${i === 0 ? "" : ","}[${d.msOfDay[i]},${valuesCsv(values)},${d.msOfDay[i]},${d.spotText[i]},${compactDate}]`
    } else {
      const f = valuesCsv(values).split(",")
      let obj = `"timestamp":"${d.stamps[i]}"`
      for (let k = 0; k < f.length; k++) obj += `,"${VALUE_NAMES[k]}":${f[k]}`
      obj += `,"underlying_timestamp":"${d.stamps[i]}","underlying_price":${d.spotText[i]}`
      out +=
        format === "ndjson"
          ? `{"symbol":"${c.symbol}","expiration":"${c.expiration}","strike":${strikeText},"right":"${right}",${obj}}\n`
          : `${i === 0 ? "" : ","}{${obj}}`
    }
  }
  if (format !== "json") return out
  return api === "v3"
    ? `{"contract":{"symbol":"${c.symbol}","strike":${strikeText},"right":"${right}","expiration":"${c.expiration}"},"data":[${out}]}`
    : `{"contract":{"root":"${c.symbol}","expiration":${compactExp},"strike":${Math.round(c.strike * 1000)},"right":"${c.call ? "C" : "P"}"},"ticks":[${out}]}`
}

/** What comes before the contracts (the CSV header, the JSON envelope's start). */
export const bodyStart = (api: "v3" | "v2", format: GreeksFormat): string => {
  if (format === "csv") return `${(api === "v3" ? V3_COLUMNS : V2_COLUMNS).join(",")}\r\n`
  if (format === "ndjson") return ""
  return api === "v3"
    ? `{"response":[`
    : `{"header":{"latency_ms":0,"error_type":"null","error_msg":"null","next_page":"null","format":${JSON.stringify(V2_TICK_COLUMNS)}},"response":[`
}

export const bodyEnd = (format: GreeksFormat): string => (format === "json" ? "]}" : "")

/** Between two contracts' texts. */
export const separator = (format: GreeksFormat): string => (format === "json" ? "," : "")
