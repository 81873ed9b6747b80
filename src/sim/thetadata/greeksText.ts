/**
 * The text of the simulator's first-order greeks answers, one contract at a time so a day's
 * answer streams: v3 CSV (CRLF, the columns and order of the vendor's sample), v3 JSON and
 * NDJSON, and v2 CSV and JSON. Rows are printed straight into bytes (TextBytes): numbers with a
 * fixed number of decimals by integer arithmetic, digit by digit (toFixed, and a string per row,
 * cost several times the pricing on this path).
 */
import { thousandthsText } from "../../domain/OptionGreek.js"
import { emptyValues, expiryClock, fastGreekValues, type GreekValues, type SpxDay } from "./spxMarket.js"

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

/** Above this, `fixed` digits are printed from the string (2^53: integer arithmetic stays exact). */
const MAX_DIGITS_VALUE = 2 ** 53

/** "0000" to "9999" as ASCII, 4 bytes each: the decimals of the greeks. */
const FOUR_DIGITS = new Uint8Array(40_000)
for (let v = 0; v < 10_000; v++)
  for (let k = 0, r = v; k < 4; k++, r = Math.floor(r / 10)) FOUR_DIGITS[v * 4 + 3 - k] = 48 + (r % 10)

/**
 * A growing byte buffer the answers are printed into: ASCII copied byte by byte, numbers printed
 * digit by digit (as `fixed` and the cents formatting print them), no string per row.
 */
export class TextBytes {
  buf: Buffer
  pos = 0
  constructor(readonly capacity = 65_536) {
    this.buf = Buffer.allocUnsafe(capacity)
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n))
    this.buf.copy(grown, 0, 0, this.pos)
    this.buf = grown
  }

  bytes(src: Uint8Array): void {
    if (this.pos + src.length > this.buf.length) this.reserve(src.length)
    const b = this.buf
    let p = this.pos
    for (let k = 0; k < src.length; k++) b[p++] = src[k]!
    this.pos = p
  }

  /** Any text, as UTF-8. */
  text(s: string): void {
    this.reserve(Buffer.byteLength(s))
    this.pos += this.buf.write(s, this.pos)
  }

  /** A non-negative integer below 2^53. */
  uint(v: number): void {
    if (this.pos + 16 > this.buf.length) this.reserve(16)
    let len = 1
    for (let m = 10; m <= v; m *= 10) len++
    const b = this.buf
    let p = this.pos + len
    this.pos = p
    do {
      const q = Math.floor(v / 10)
      b[--p] = 48 + v - q * 10
      v = q
    } while (v > 0)
  }

  /** `fixed(x, d)`, byte for byte. */
  fixed(x: number, d: number): void {
    const p = POW[d]!
    let n = Math.round(x * p)
    if (!(Math.abs(n) < MAX_DIGITS_VALUE)) {
      this.text(fixed(x, d))
      return
    }
    if (this.pos + 24 > this.buf.length) this.reserve(24)
    if (n < 0) {
      this.buf[this.pos++] = 45
      n = -n
    }
    const whole = Math.floor(n / p)
    let frac = n - whole * p
    this.uint(whole)
    const b = this.buf
    const at = this.pos
    b[at] = 46
    if (d === 4) {
      const k = frac * 4
      b[at + 1] = FOUR_DIGITS[k]!
      b[at + 2] = FOUR_DIGITS[k + 1]!
      b[at + 3] = FOUR_DIGITS[k + 2]!
      b[at + 4] = FOUR_DIGITS[k + 3]!
    } else
      for (let k = d; k > 0; k--) {
        const q = Math.floor(frac / 10)
        b[at + k] = 48 + frac - q * 10
        frac = q
      }
    this.pos = at + d + 1
  }

  /** Non-negative integer cents as dollars with 2 decimals. */
  cents(c: number): void {
    const whole = Math.floor(c / 100)
    const frac = c - whole * 100
    this.uint(whole)
    if (this.pos + 3 > this.buf.length) this.reserve(3)
    const b = this.buf
    const tens = Math.floor(frac / 10)
    b[this.pos] = 46
    b[this.pos + 1] = 48 + tens
    b[this.pos + 2] = 48 + frac - tens * 10
    this.pos += 3
  }

  /** What was written, handed over; writing goes on in a fresh buffer of the same capacity. */
  take(): Buffer {
    const out = this.buf.subarray(0, this.pos)
    this.buf = Buffer.allocUnsafe(this.capacity)
    this.pos = 0
    return out
  }

  toString(): string {
    return this.buf.toString("utf8", 0, this.pos)
  }
}

const ascii = (s: string): Buffer => Buffer.from(s, "utf8")

export interface Contract {
  readonly symbol: string
  readonly expiration: string
  /** Dollars. */
  readonly strike: number
  readonly call: boolean
}

/** What a day's answer needs per minute, computed once per answer, as the bytes printed. */
export interface DayText {
  readonly day: SpxDay
  /** `2024-11-04T09:30:00` per minute. */
  readonly stamps: ReadonlyArray<Buffer>
  /** ms of day per minute (v2). */
  readonly msOfDay: ReadonlyArray<Buffer>
  /** SPX as printed (2 decimals) per minute. */
  readonly spotText: ReadonlyArray<Buffer>
  /** SPX as printed, as the number the greeks use. */
  readonly spot: Float64Array
}

export const dayText = (day: SpxDay): DayText => {
  const stamps: Array<Buffer> = []
  const msOfDay: Array<Buffer> = []
  const spotText: Array<Buffer> = []
  const spot = new Float64Array(day.minutes)
  for (let i = 0; i < day.minutes; i++) {
    const minute = 9 * 60 + 30 + i
    stamps.push(ascii(`${day.date}T${pad2(Math.floor(minute / 60))}:${pad2(minute % 60)}:00`))
    msOfDay.push(ascii(String(minute * 60_000)))
    spotText.push(ascii(cents(day.spotCents[i]!)))
    spot[i] = day.spotCents[i]! / 100
  }
  return { day, stamps, msOfDay, spotText, spot }
}

const VALUE_NAMES = V3_COLUMNS.slice(5, 15)
const COMMA = ascii(",")
const CSV_SEPARATORS = VALUE_NAMES.map(() => COMMA)
const JSON_SEPARATORS = VALUE_NAMES.map((name) => ascii(`,"${name}":`))

/**
 * Writes the rows of one contract over the day, in the format asked: `v3` CSV/NDJSON lines, one
 * JSON `{"contract", "data"}` element, or for `v2` CSV lines / one `{"contract", "ticks"}` element.
 * Every row is `P, T, Q, bid, ask, delta … iv_error (with their separators), R, T, U, spot, V`,
 * T the minute's time (v3 stamp, v2 ms of day); P–V are fixed per answer and contract.
 */
export const writeContract = (
  api: "v3" | "v2",
  format: GreeksFormat,
  d: DayText,
  c: Contract,
  out: TextBytes,
  values: GreekValues = emptyValues()
): void => {
  const right = c.call ? "CALL" : "PUT"
  const strikeText = thousandthsText(Math.round(c.strike * 1000))
  const compactExp = c.expiration.replaceAll("-", "")
  const compactDate = d.day.date.replaceAll("-", "")
  let P: Buffer
  let Q = COMMA
  let R = COMMA
  let U = COMMA
  let V: Buffer
  let seps = CSV_SEPARATORS
  if (format === "csv") {
    P = ascii(
      api === "v3"
        ? `${c.symbol},${c.expiration},${strikeText},${right},`
        : `${c.symbol},${compactExp},${Math.round(c.strike * 1000)},${c.call ? "C" : "P"},`
    )
    V = ascii(api === "v3" ? "\r\n" : `,${compactDate}\r\n`)
  } else if (api === "v2") {
    P = ascii("[")
    V = ascii(`,${compactDate}]`)
  } else {
    P = ascii(
      `${format === "ndjson" ? `{"symbol":"${c.symbol}","expiration":"${c.expiration}","strike":${strikeText},"right":"${right}",` : "{"}"timestamp":"`
    )
    Q = ascii(`","${VALUE_NAMES[0]}":`)
    R = ascii(`,"underlying_timestamp":"`)
    U = ascii(`","underlying_price":`)
    V = ascii(format === "ndjson" ? "}\n" : "}")
    seps = JSON_SEPARATORS
  }
  const times = api === "v3" ? d.stamps : d.msOfDay
  if (format === "json")
    out.text(
      api === "v3"
        ? `{"contract":{"symbol":"${c.symbol}","strike":${strikeText},"right":"${right}","expiration":"${c.expiration}"},"data":[`
        : `{"contract":{"root":"${c.symbol}","expiration":${compactExp},"strike":${Math.round(c.strike * 1000)},"right":"${c.call ? "C" : "P"}"},"ticks":[`
    )
  const clock = expiryClock(d.day, c.expiration)
  const jsonArray = format === "json"
  for (let i = 0; i < d.day.minutes; i++) {
    fastGreekValues(c.call, d.spot[i]!, c.strike, clock, i, values)
    if (jsonArray && i > 0) out.bytes(COMMA)
    const T = times[i]!
    out.bytes(P)
    out.bytes(T)
    out.bytes(Q)
    out.cents(values.bidCents)
    out.bytes(seps[1]!)
    out.cents(values.askCents)
    out.bytes(seps[2]!)
    out.fixed(values.delta, 4)
    out.bytes(seps[3]!)
    out.fixed(values.theta, 4)
    out.bytes(seps[4]!)
    out.fixed(values.vega, 4)
    out.bytes(seps[5]!)
    out.fixed(values.rho, 4)
    out.bytes(seps[6]!)
    out.fixed(values.epsilon, 4)
    out.bytes(seps[7]!)
    out.fixed(values.lambda, 4)
    out.bytes(seps[8]!)
    out.fixed(values.impliedVol, 4)
    out.bytes(seps[9]!)
    out.fixed(values.ivError, 4)
    out.bytes(R)
    out.bytes(T)
    out.bytes(U)
    out.bytes(d.spotText[i]!)
    out.bytes(V)
  }
  if (format === "json") out.text("]}")
}

/** The rows of one contract over the day as text (`writeContract` into a string). */
export const contractText = (
  api: "v3" | "v2",
  format: GreeksFormat,
  d: DayText,
  c: Contract,
  values: GreekValues = emptyValues()
): string => {
  const out = new TextBytes()
  writeContract(api, format, d, c, out, values)
  return out.toString()
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
