/**
 * Reads a first-order greeks CSV body into `OptionGreek` records as it streams: columns are found
 * by their header names (never by position), for both APIs:
 * - v3 `symbol, expiration (YYYY-MM-DD), strike (dollars), right (CALL/PUT), timestamp, …,
 *   underlying_timestamp, underlying_price` (New York wall-clock times);
 * - v2 `root, expiration (YYYYMMDD), strike (thousandths), right (C/P), ms_of_day, …, ms_of_day2,
 *   underlying_price, date`.
 * A row that cannot be read (wrong field count, a value that is no number or date) is rejected with
 * its line number; so is a last line the body broke off in (`cut`).
 *
 * The hot path (bench/thetadataCsv.ts) makes no string per field: a row's fields are ranges of its
 * line, read by char code (numbers, strikes, times); symbol, expiration and right are the strings
 * of the row before while their text repeats.
 */
import type { Rejected } from "../../domain/Dataset.js"
import { type OptionGreek, thousandthsAt } from "../../domain/OptionGreek.js"
import { makeLineSplitter, numberAt, splitFields } from "./csvText.js"
import { isoDateOf, newYorkMsOfDay, parseDateInt, wallClockAt } from "./wallClock.js"

export type ThetaApi = "v3" | "v2"

export interface GreeksBatch {
  readonly rows: Array<OptionGreek>
  readonly rejected: Array<Rejected>
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

/** A row's fields as ranges of one string: field k is `src.slice(from[k], to[k])`. */
type RowDecoder = (src: string, from: Int32Array, to: Int32Array) => OptionGreek

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

/** The last string read from a field, reused while the text repeats (symbol, expiration). */
const makeTextCache = <A>(convert: (text: string) => A) => {
  let lastText = ""
  let last: A | undefined
  let primed = false
  return (src: string, a: number, b: number): { readonly text: string; readonly value: A | undefined } => {
    if (!(primed && b - a === lastText.length && src.startsWith(lastText, a))) {
      lastText = src.slice(a, b)
      last = convert(lastText)
      primed = true
    }
    return { text: lastText, value: last }
  }
}

const makeRowDecoder = (api: ThetaApi, index: ReadonlyMap<string, number>): RowDecoder => {
  const at = (name: string) => index.get(name)!
  const num = (name: string) => {
    const k = at(name)
    return (src: string, from: Int32Array, to: Int32Array): number => {
      const v = numberAt(src, from[k]!, to[k]!)
      if (Number.isNaN(v))
        throw new RowError(`${name} ${JSON.stringify(src.slice(from[k]!, to[k]!))} is not a number`)
      return v
    }
  }
  const optNum = (name: string) => {
    const k = at(name)
    return (src: string, from: Int32Array, to: Int32Array): number | null => {
      if (from[k] === to[k]) return null
      const v = numberAt(src, from[k]!, to[k]!)
      if (Number.isNaN(v))
        throw new RowError(`${name} ${JSON.stringify(src.slice(from[k]!, to[k]!))} is not a number`)
      return v
    }
  }
  const bid = optNum("bid")
  const ask = optNum("ask")
  const [delta, theta, vega, rho, epsilon, lambda, impliedVol, ivError, underlyingPrice] = GREEK_COLUMNS.map(
    num
  ) as [
    ReturnType<typeof num>,
    ReturnType<typeof num>,
    ReturnType<typeof num>,
    ReturnType<typeof num>,
    ReturnType<typeof num>,
    ReturnType<typeof num>,
    ReturnType<typeof num>,
    ReturnType<typeof num>,
    ReturnType<typeof num>
  ]
  const iSymbol = at(api === "v3" ? "symbol" : "root")
  const iExpiration = at("expiration")
  const iStrike = at("strike")
  const iRight = at("right")
  const symbols = makeTextCache((s) => s)
  const expirations = makeTextCache(isoDateOf)
  const rights = makeTextCache((s) => RIGHTS[s] ?? s.toLowerCase())
  const expiration = (src: string, from: Int32Array, to: Int32Array): string => {
    const e = expirations(src, from[iExpiration]!, to[iExpiration]!)
    if (e.value === undefined) throw new RowError(`expiration ${JSON.stringify(e.text)} is not a date`)
    return e.value
  }
  const strike = (src: string, from: Int32Array, to: Int32Array): number => {
    const a = from[iStrike]!
    const b = to[iStrike]!
    const v = api === "v3" ? thousandthsAt(src, a, b) : intAt(src, a, b)
    if (v === undefined)
      throw new RowError(`strike ${JSON.stringify(src.slice(a, b))} is not a decimal of at most 3 places`)
    return v
  }
  // The row's two times, set by `times` (no tuple per row).
  let ts = 0
  let underlyingTs = 0
  let times: (src: string, from: Int32Array, to: Int32Array) => void
  if (api === "v3") {
    const iTs = at("timestamp")
    const iUts = at("underlying_timestamp")
    times = (src, from, to) => {
      ts = wallClockAt(src, from[iTs]!, to[iTs]!)
      if (Number.isNaN(ts))
        throw new RowError(`timestamp ${JSON.stringify(src.slice(from[iTs]!, to[iTs]!))} is not a date-time`)
      underlyingTs = wallClockAt(src, from[iUts]!, to[iUts]!)
      if (Number.isNaN(underlyingTs))
        throw new RowError(
          `underlying_timestamp ${JSON.stringify(src.slice(from[iUts]!, to[iUts]!))} is not a date-time`
        )
    }
  } else {
    const iMs = at("ms_of_day")
    const iMs2 = at("ms_of_day2")
    const iDate = at("date")
    const dates = makeTextCache(parseDateInt)
    const msOf = (name: string, src: string, a: number, b: number): number => {
      const v = msOfDayAt(src, a, b)
      if (Number.isNaN(v)) throw new RowError(`${name} ${JSON.stringify(src.slice(a, b))} is not ms of a day`)
      return v
    }
    times = (src, from, to) => {
      const date = dates(src, from[iDate]!, to[iDate]!)
      const day = date.value
      if (day === undefined) throw new RowError(`date ${JSON.stringify(date.text)} is not a YYYYMMDD date`)
      ts = newYorkMsOfDay(day[0], day[1], day[2], msOf("ms_of_day", src, from[iMs]!, to[iMs]!))
      underlyingTs = newYorkMsOfDay(day[0], day[1], day[2], msOf("ms_of_day2", src, from[iMs2]!, to[iMs2]!))
    }
  }
  return (src, from, to) => {
    times(src, from, to)
    return {
      symbol: symbols(src, from[iSymbol]!, to[iSymbol]!).text,
      expiration: expiration(src, from, to),
      strike: strike(src, from, to),
      right: rights(src, from[iRight]!, to[iRight]!).value!,
      ts,
      bid: bid(src, from, to),
      ask: ask(src, from, to),
      delta: delta(src, from, to),
      theta: theta(src, from, to),
      vega: vega(src, from, to),
      rho: rho(src, from, to),
      epsilon: epsilon(src, from, to),
      lambda: lambda(src, from, to),
      implied_vol: impliedVol(src, from, to),
      iv_error: ivError(src, from, to),
      underlying_ts: underlyingTs,
      underlying_price: underlyingPrice(src, from, to)
    }
  }
}

export interface GreeksCsvParser {
  /**
   * Reads a chunk of the body; the rows and rejects of the lines it completes. A string: the
   * header lacks columns the API must send (the body cannot be read at all).
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
  let decode: RowDecoder | undefined
  let headerError: string | undefined
  let lines = 0
  let batch: GreeksBatch = { rows: [], rejected: [] }
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
    if (decode === undefined) {
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
      decode = makeRowDecoder(api, index)
      return
    }
    if (a === b) return
    let row = src
    let count = 0
    if (!quoted(src, a, b)) {
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
        batch.rejected.push(rejectLine(lineNo, src.slice(a, b), "a quote is not closed"))
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
      batch.rejected.push(
        rejectLine(lineNo, src.slice(a, b), `${count} fields where the header has ${width} (a malformed row)`)
      )
      return
    }
    try {
      batch.rows.push(decode(row, from, to))
    } catch (e) {
      if (!(e instanceof RowError)) throw e
      batch.rejected.push(rejectLine(lineNo, src.slice(a, b), e.reason))
    }
  }
  const take = (): GreeksBatch | string => {
    if (headerError !== undefined) return headerError
    const out = batch
    batch = { rows: [], rejected: [] }
    return out
  }
  return {
    feed: (text) => {
      splitter.feedRanges(text, onLine)
      return take()
    },
    end: () => {
      const rest = splitter.rest()
      if (rest.text !== "") onLine(rest.text, 0, rest.text.length, rest.lineNo)
      return take()
    },
    cut: () => {
      const rest = splitter.rest()
      const out: GreeksBatch = { rows: batch.rows, rejected: batch.rejected }
      batch = { rows: [], rejected: [] }
      if (rest.text !== "")
        out.rejected.push(rejectLine(rest.lineNo, rest.text, "the body was cut short inside this row"))
      return out
    },
    lines: () => lines
  }
}
