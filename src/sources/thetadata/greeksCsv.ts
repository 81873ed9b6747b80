/**
 * Reads a first-order greeks CSV body as it streams, into the columns of `OptionGreeks1m` (typed
 * arrays, no object per row; `GreeksBatch.rows` gives records to those who ask): columns are found
 * by their header names (never by position), for both APIs:
 * - v3 `symbol, expiration (YYYY-MM-DD), strike (dollars), right (CALL/PUT), timestamp, …,
 *   underlying_timestamp, underlying_price` (New York wall-clock times);
 * - v2 `root, expiration (YYYYMMDD), strike (thousandths), right (C/P), ms_of_day, …, ms_of_day2,
 *   underlying_price, date`.
 * A row that cannot be read (wrong field count, a value that is no number or date) is rejected with
 * its line number; so is a last line the body broke off in (`cut`).
 *
 * The hot path (bench/thetadataCsv.ts) makes no string per field: a row's fields are ranges of its
 * line, read by char code (numbers, strikes, times) into the builder's staged row; symbol, expiration
 * and right are the values of the row before while their text repeats, and a line that begins with
 * the same contract as the line before (the next minute) skips those four fields altogether.
 */
import { daysOfDate } from "../../domain/columnValues.js"
import type { Rejected } from "../../domain/Dataset.js"
import { type OptionGreek, OptionGreeks1m, thousandthsAt } from "../../domain/OptionGreek.js"
import { ColumnBuilder, rowsOfColumns } from "../../pipeline/columnBatch.js"
import type { ColumnarRows } from "../../sinks/parquetColumns.js"
import { makeLineSplitter, numberAt, POW10, splitFields } from "./csvText.js"
import { isoDateOf, newYorkMsOfDay, parseDateInt, wallClockAt } from "./wallClock.js"

export type ThetaApi = "v3" | "v2"

/** Rows read, as columns of `OptionGreeks1m` (no object per row), and the lines rejected. */
export interface GreeksBatch {
  readonly columns: ColumnarRows
  readonly rejected: Array<Rejected>
  /** The same rows as records, built on first read (for tests and callers that take records). */
  readonly rows: ReadonlyArray<OptionGreek>
}

/** A batch of `columns` and `rejected`; its `rows` are built from the columns when first read. */
export const greeksBatch = (columns: ColumnarRows, rejected: Array<Rejected>): GreeksBatch => {
  let rows: ReadonlyArray<OptionGreek> | undefined
  return {
    columns,
    rejected,
    get rows() {
      rows ??= rowsOfColumns(OptionGreeks1m, columns)
      return rows
    }
  }
}

const GREEK_COLUMNS = [
  "delta",
  "theta",
  "vega",
  "rho",
  "epsilon",
  "lambda",
  "implied_vol",
  "iv_error",
  "underlying_price"
] as const

/** The header names each API must send, beyond `bid`, `ask` and the greeks. */
export const CONTRACT_COLUMNS: Record<ThetaApi, ReadonlyArray<string>> = {
  v3: ["symbol", "expiration", "strike", "right", "timestamp", "underlying_timestamp"],
  v2: ["root", "expiration", "strike", "right", "ms_of_day", "ms_of_day2", "date"]
}

/** Every header name the decoder of `api` reads. */
export const requiredColumns = (api: ThetaApi): ReadonlyArray<string> => [
  ...CONTRACT_COLUMNS[api],
  "bid",
  "ask",
  ...GREEK_COLUMNS
]

const RIGHTS: Record<string, string> = {
  CALL: "call",
  PUT: "put",
  C: "call",
  P: "put",
  call: "call",
  put: "put"
}

class RowError {
  constructor(readonly reason: string) {}
}

/**
 * Decodes a row's fields (ranges of one string: field k is `src.slice(from[k], to[k])`) into the
 * builder's staged row; throws `RowError` for a field that cannot be read, before anything is
 * pushed.
 */
type RowDecoder = (src: string, from: Int32Array, to: Int32Array) => void

const msOfDayAt = (src: string, a: number, b: number): number => {
  if (b - a < 1 || b - a > 8) return Number.NaN
  let v = 0
  for (let i = a; i < b; i++) {
    const c = src.charCodeAt(i) - 48
    if (c < 0 || c > 9) return Number.NaN
    v = v * 10 + c
  }
  return v < 86_400_000 ? v : Number.NaN
}

/** A v2 strike: 1–15 digits of thousandths. */
const intAt = (src: string, a: number, b: number): number | undefined => {
  if (b - a < 1 || b - a > 15) return undefined
  let v = 0
  for (let i = a; i < b; i++) {
    const c = src.charCodeAt(i) - 48
    if (c < 0 || c > 9) return undefined
    v = v * 10 + c
  }
  return v
}

/** Whether `src` holds the same `n` chars at `a` and at `b`. */
const sameText = (src: string, a: number, b: number, n: number): boolean => {
  for (let k = 0; k < n; k++) if (src.charCodeAt(a + k) !== src.charCodeAt(b + k)) return false
  return true
}

/**
 * The last value read from a field, reused while the text repeats (symbol, expiration, right):
 * `read` gives the value of `src.slice(a, b)`, `text` the text it was read from.
 */
class TextCache<A> {
  text = ""
  private value: A | undefined
  private primed = false
  constructor(private readonly convert: (text: string) => A | undefined) {}
  read(src: string, a: number, b: number): A | undefined {
    const text = this.text
    if (!(this.primed && b - a === text.length && src.startsWith(text, a))) {
      this.text = src.slice(a, b)
      this.value = this.convert(this.text)
      this.primed = true
    }
    return this.value
  }
}

/** Where each field of `OptionGreek` sits in the dataset's columns (the builder's order). */
const COLUMN = Object.fromEntries(OptionGreeks1m.columns.map((c, j) => [c.name, j])) as Record<
  keyof OptionGreek,
  number
>

/** The days since 1970-01-01 of a v3 or v2 expiration text. */
const daysOfExpiration = (text: string): number | undefined => {
  const iso = isoDateOf(text)
  return iso === undefined ? undefined : daysOfDate(iso)
}

const RANGE = 0
const OPTIONAL = 1
const REQUIRED = 2

interface RowDecoders {
  /** A row from its fields' ranges. */
  readonly decode: RowDecoder
  /**
   * A row from its line, fields split and numbers read in one pass; false when the line needs
   * `decode` (nothing pushed). Throws `RowError` as `decode` does.
   */
  readonly decodeLine: (src: string, a: number, b: number, from: Int32Array, to: Int32Array) => boolean
}

const makeRowDecoder = (
  api: ThetaApi,
  index: ReadonlyMap<string, number>,
  width: number,
  out: ColumnBuilder
): RowDecoders => {
  const at = (name: string) => index.get(name)!
  const numbers = out.stagedNumber
  const texts = out.stagedText
  const present = out.stagedPresent
  const notANumber = (name: string, src: string, a: number, b: number) =>
    new RowError(`${name} ${JSON.stringify(src.slice(a, b))} is not a number`)
  // Required and optional (empty = null) numbers: CSV field and column of each, read in a loop.
  const requiredNames = GREEK_COLUMNS
  const requiredField = Int32Array.from(requiredNames, at)
  const requiredColumn = Int32Array.from(requiredNames, (name) => COLUMN[name])
  const optionalNames = ["bid", "ask"] as const
  const optionalField = Int32Array.from(optionalNames, at)
  const optionalColumn = Int32Array.from(optionalNames, (name) => COLUMN[name])
  const iSymbol = at(api === "v3" ? "symbol" : "root")
  const iExpiration = at("expiration")
  const iStrike = at("strike")
  const iRight = at("right")
  const symbols = new TextCache((s) => s)
  const expirations = new TextCache(daysOfExpiration)
  const rights = new TextCache((s) => RIGHTS[s] ?? s.toLowerCase())
  const cSymbol = COLUMN.symbol
  const cExpiration = COLUMN.expiration
  const cStrike = COLUMN.strike
  const cRight = COLUMN.right
  const cTs = COLUMN.ts
  const cUts = COLUMN.underlying_ts
  let times: (src: string, from: Int32Array, to: Int32Array) => void
  if (api === "v3") {
    const iTs = at("timestamp")
    const iUts = at("underlying_timestamp")
    times = (src, from, to) => {
      const a = from[iTs]!
      const b = to[iTs]!
      const ts = wallClockAt(src, a, b)
      if (Number.isNaN(ts))
        throw new RowError(`timestamp ${JSON.stringify(src.slice(a, b))} is not a date-time`)
      // The underlying's time is most often the quote's own text: its value then too.
      const ua = from[iUts]!
      const ub = to[iUts]!
      const underlyingTs = ub - ua === b - a && sameText(src, a, ua, b - a) ? ts : wallClockAt(src, ua, ub)
      if (Number.isNaN(underlyingTs))
        throw new RowError(`underlying_timestamp ${JSON.stringify(src.slice(ua, ub))} is not a date-time`)
      numbers[cTs] = ts
      numbers[cUts] = underlyingTs
    }
  } else {
    const iMs = at("ms_of_day")
    const iMs2 = at("ms_of_day2")
    const iDate = at("date")
    const dates = new TextCache(parseDateInt)
    const msOf = (name: string, src: string, a: number, b: number): number => {
      const v = msOfDayAt(src, a, b)
      if (Number.isNaN(v)) throw new RowError(`${name} ${JSON.stringify(src.slice(a, b))} is not ms of a day`)
      return v
    }
    times = (src, from, to) => {
      const day = dates.read(src, from[iDate]!, to[iDate]!)
      if (day === undefined) throw new RowError(`date ${JSON.stringify(dates.text)} is not a YYYYMMDD date`)
      numbers[cTs] = newYorkMsOfDay(day[0], day[1], day[2], msOf("ms_of_day", src, from[iMs]!, to[iMs]!))
      numbers[cUts] = newYorkMsOfDay(day[0], day[1], day[2], msOf("ms_of_day2", src, from[iMs2]!, to[iMs2]!))
    }
  }
  /** Times, symbol, expiration, strike and right (the fields that are not plain numbers). */
  const decodeTexts = (src: string, from: Int32Array, to: Int32Array) => {
    times(src, from, to)
    texts[cSymbol] = symbols.read(src, from[iSymbol]!, to[iSymbol]!)!
    const expiration = expirations.read(src, from[iExpiration]!, to[iExpiration]!)
    if (expiration === undefined)
      throw new RowError(`expiration ${JSON.stringify(expirations.text)} is not a date`)
    numbers[cExpiration] = expiration
    const a = from[iStrike]!
    const b = to[iStrike]!
    const strike = api === "v3" ? thousandthsAt(src, a, b) : intAt(src, a, b)
    if (strike === undefined)
      throw new RowError(`strike ${JSON.stringify(src.slice(a, b))} is not a decimal of at most 3 places`)
    numbers[cStrike] = strike
    texts[cRight] = rights.read(src, from[iRight]!, to[iRight]!)!
  }
  // The contract fields (symbol, expiration, strike, right) when they lead the line, as ThetaData
  // sends them: the text of the last line `decodeLine` read whole up to the comma after them, whose
  // values are still the staged row's. A line that starts with the same text (the other minutes of
  // the same contract) skips reading them. Empty when not known.
  const contractFields = [iSymbol, iExpiration, iStrike, iRight]
  const leading = contractFields.every((f) => f < contractFields.length)
  let contractText = ""
  const decode: RowDecoder = (src, from, to) => {
    contractText = ""
    decodeTexts(src, from, to)
    for (let k = 0; k < optionalField.length; k++) {
      const f = optionalField[k]!
      const c = optionalColumn[k]!
      const a = from[f]!
      const b = to[f]!
      if (a === b) {
        present[c] = 0
        numbers[c] = 0
        continue
      }
      const v = numberAt(src, a, b)
      if (Number.isNaN(v)) throw notANumber(optionalNames[k]!, src, a, b)
      present[c] = 1
      numbers[c] = v
    }
    for (let k = 0; k < requiredField.length; k++) {
      const f = requiredField[k]!
      const a = from[f]!
      const b = to[f]!
      const v = numberAt(src, a, b)
      if (Number.isNaN(v)) throw notANumber(requiredNames[k]!, src, a, b)
      numbers[requiredColumn[k]!] = v
    }
  }
  // What each field of a line is to `decodeLine`: a range for `decodeTexts`, or a number read in
  // place (optional: empty is null; required) into its column.
  const kind = new Uint8Array(width)
  const target = new Int32Array(width)
  optionalField.forEach((f, k) => {
    kind[f] = OPTIONAL
    target[f] = optionalColumn[k]!
  })
  requiredField.forEach((f, k) => {
    kind[f] = REQUIRED
    target[f] = requiredColumn[k]!
  })
  /**
   * The line `src.slice(a, b)` (no quote in it) in one pass: numbers are read as their digits are
   * met, the other fields' ranges noted for `decodeTexts`. False, with nothing pushed, for a line
   * that is not `width` fields of plain numbers where numbers go (a bad or unusual value, a wrong
   * field count): `decode` then reads it, and rejects it with the same reason as ever.
   * Its digit loop is `numberAt`'s (csvText.ts), inlined on purpose: it reads up to the next comma,
   * whose place `numberAt` would need first, and a shared helper would have to return the digits,
   * their count, the point and the end for every field of every row.
   */
  const decodeLine = (src: string, a: number, b: number, from: Int32Array, to: Int32Array): boolean => {
    let p = a
    let k0 = 0
    const sameContract = contractText !== "" && src.startsWith(contractText, a)
    if (sameContract) {
      p = a + contractText.length
      k0 = contractFields.length
    }
    const last = width - 1
    for (let k = k0; k <= last; k++) {
      const start = p
      const kd = kind[k]!
      if (kd === RANGE) {
        let comma = src.indexOf(",", p)
        if (comma < 0 || comma > b) comma = b
        from[k] = start
        to[k] = comma
        p = comma
      } else {
        let i = p
        const negative = i < b && src.charCodeAt(i) === 45
        if (negative) i++
        let m = 0
        let count = 0
        let point = -1
        for (; i < b; i++) {
          const c = src.charCodeAt(i)
          if (c >= 48 && c <= 57) {
            m = m * 10 + (c - 48)
            count++
          } else if (c === 46 && point < 0) point = i
          else break
        }
        if (i < b && src.charCodeAt(i) !== 44) return false
        const c = target[k]!
        if (i === start) {
          if (kd === REQUIRED) return false
          present[c] = 0
          numbers[c] = 0
        } else {
          let v: number
          if (count === 0 || count > 15 || point === i - 1 || point === (negative ? start + 1 : start)) {
            v = numberAt(src, start, i)
            if (Number.isNaN(v)) return false
          } else {
            v = m / POW10[point < 0 ? 0 : i - point - 1]!
            if (negative) v = -v
          }
          present[c] = 1
          numbers[c] = v
        }
        p = i
      }
      if (k < last) {
        if (p >= b) return false
        p++
      }
    }
    if (p !== b) return false
    if (sameContract) {
      times(src, from, to)
      return true
    }
    contractText = ""
    decodeTexts(src, from, to)
    if (leading) contractText = src.slice(a, to[contractFields.length - 1]! + 1)
    return true
  }
  return { decode, decodeLine }
}

/**
 * Rows a batch gathers before `feed` hands it on: the pipeline's per-batch work (stream steps,
 * validation set-up, arrays) is paid once per ~8k rows rather than per 60 KB network chunk.
 */
const BATCH_ROWS = 8192

const EMPTY: GreeksBatch = greeksBatch(new ColumnBuilder(OptionGreeks1m.columns, 0).finish(), [])

export interface GreeksCsvParser {
  /**
   * Reads a chunk of the body; the rows and rejects of the lines read so far, once there are
   * `BATCH_ROWS` of them or a reject (else an empty batch). A string: the header lacks columns the
   * API must send (the body cannot be read at all).
   */
  readonly feed: (text: string) => GreeksBatch | string
  /** The body ended: its last line, if it had no line break, read as a row. */
  readonly end: () => GreeksBatch | string
  /** The body broke off: its unfinished last line, if any, rejected with its number. */
  readonly cut: () => GreeksBatch
  /** Lines read so far, the header included. */
  readonly lines: () => number
}

const rejectLine = (lineNo: number, line: string, reason: string): Rejected => ({
  record: { line: lineNo, text: line },
  reason: `line ${lineNo}: ${reason}`
})

export const makeGreeksCsvParser = (api: ThetaApi): GreeksCsvParser => {
  const splitter = makeLineSplitter()
  let width = 0
  let from = new Int32Array(0)
  let to = new Int32Array(0)
  let decoders: RowDecoders | undefined
  let headerError: string | undefined
  let lines = 0
  const out = new ColumnBuilder(OptionGreeks1m.columns, BATCH_ROWS + 1024)
  let rejected: Array<Rejected> = []
  // Where the next quote of the current source string is (-1: none), found once per string and
  // moved on only past it, so that finding quotes costs one pass over a chunk.
  let quoteSrc = ""
  let quoteFrom = 0
  let nextQuote = -1
  const quoted = (src: string, a: number, b: number): boolean => {
    if (src !== quoteSrc || a < quoteFrom || (nextQuote >= 0 && nextQuote < a)) {
      quoteSrc = src
      nextQuote = src.indexOf('"', a)
    }
    quoteFrom = a
    return nextQuote >= 0 && nextQuote < b
  }
  const onLine = (src: string, a: number, b: number, lineNo: number) => {
    lines = lineNo
    if (decoders === undefined) {
      if (headerError !== undefined) return
      const line = src.slice(a, b)
      const names = splitFields(line.charCodeAt(0) === 0xfeff ? line.slice(1) : line) ?? []
      const index = new Map<string, number>()
      names.forEach((n, i) => {
        index.set(n.trim(), i)
      })
      const missing = requiredColumns(api).filter((c) => !index.has(c))
      if (missing.length > 0) {
        headerError = `the CSV header ${JSON.stringify(line.slice(0, 300))} lacks ${missing.join(", ")}`
        return
      }
      width = names.length
      from = new Int32Array(width)
      to = new Int32Array(width)
      decoders = makeRowDecoder(api, index, width, out)
      return
    }
    if (a === b) return
    let row = src
    let count = 0
    if (!quoted(src, a, b)) {
      // Most lines: read in one pass.
      try {
        if (decoders.decodeLine(src, a, b, from, to)) {
          out.pushStaged()
          return
        }
      } catch (e) {
        if (!(e instanceof RowError)) throw e
        rejected.push(rejectLine(lineNo, src.slice(a, b), e.reason))
        return
      }
      // Field ranges straight from the commas: no string per field, nor per line.
      let start = a
      for (;;) {
        let comma = src.indexOf(",", start)
        if (comma < 0 || comma > b) comma = b
        if (count < width) {
          from[count] = start
          to[count] = comma
        }
        count++
        if (comma === b) break
        start = comma + 1
      }
    } else {
      const fields = splitFields(src.slice(a, b))
      if (fields === undefined) {
        rejected.push(rejectLine(lineNo, src.slice(a, b), "a quote is not closed"))
        return
      }
      // Quoted fields may hold commas: decode from the fields laid end to end.
      count = fields.length
      row = fields.join("")
      let at = 0
      for (let k = 0; k < count && k < width; k++) {
        from[k] = at
        at += fields[k]!.length
        to[k] = at
      }
    }
    if (count !== width) {
      rejected.push(
        rejectLine(lineNo, src.slice(a, b), `${count} fields where the header has ${width} (a malformed row)`)
      )
      return
    }
    try {
      decoders.decode(row, from, to)
      out.pushStaged()
    } catch (e) {
      if (!(e instanceof RowError)) throw e
      rejected.push(rejectLine(lineNo, src.slice(a, b), e.reason))
    }
  }
  /** The rows read so far as a batch, once `atLeast` rows (or a reject) are waiting. */
  const take = (atLeast: number): GreeksBatch | string => {
    if (headerError !== undefined) return headerError
    if (out.length < atLeast && rejected.length === 0) return EMPTY
    const batch = greeksBatch(out.take(), rejected)
    rejected = []
    return batch
  }
  return {
    feed: (text) => {
      splitter.feedRanges(text, onLine)
      return take(BATCH_ROWS)
    },
    end: () => {
      const rest = splitter.rest()
      if (rest.text !== "") onLine(rest.text, 0, rest.text.length, rest.lineNo)
      return take(0)
    },
    cut: () => {
      const rest = splitter.rest()
      if (rest.text !== "")
        rejected.push(rejectLine(rest.lineNo, rest.text, "the body was cut short inside this row"))
      const batch = greeksBatch(out.take(), rejected)
      rejected = []
      return batch
    },
    lines: () => lines
  }
}
