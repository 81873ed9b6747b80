/**
 * Reads a first-order greeks CSV body into `OptionGreek` records as it streams: columns are found
 * by their header names (never by position), for both APIs:
 * - v3 `symbol, expiration (YYYY-MM-DD), strike (dollars), right (CALL/PUT), timestamp, …,
 *   underlying_timestamp, underlying_price` (New York wall-clock times);
 * - v2 `root, expiration (YYYYMMDD), strike (thousandths), right (C/P), ms_of_day, …, ms_of_day2,
 *   underlying_price, date`.
 * A row that cannot be read (wrong field count, a value that is no number or date) is rejected with
 * its line number; so is a last line the body broke off in (`cut`).
 */
import type { Rejected } from "../../domain/Dataset.js"
import { type OptionGreek, parseThousandths } from "../../domain/OptionGreek.js"
import { makeLineSplitter, splitFields } from "./csvText.js"
import { isoDateOf, newYorkMsOfDay, parseDateInt, parseWallClock } from "./wallClock.js"

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

type RowDecoder = (f: ReadonlyArray<string>) => OptionGreek

const makeRowDecoder = (api: ThetaApi, index: ReadonlyMap<string, number>): RowDecoder => {
  const at = (name: string) => index.get(name)!
  const num = (name: string) => {
    const i = at(name)
    return (f: ReadonlyArray<string>): number => {
      const s = f[i]!
      const v = s === "" ? Number.NaN : Number(s)
      if (Number.isNaN(v)) throw new RowError(`${name} ${JSON.stringify(s)} is not a number`)
      return v
    }
  }
  const optNum = (name: string) => {
    const i = at(name)
    return (f: ReadonlyArray<string>): number | null => {
      const s = f[i]!
      if (s === "") return null
      const v = Number(s)
      if (Number.isNaN(v)) throw new RowError(`${name} ${JSON.stringify(s)} is not a number`)
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
  let lastExpText = ""
  let lastExp: string | undefined
  const expiration = (f: ReadonlyArray<string>): string => {
    const s = f[iExpiration]!
    if (s !== lastExpText) {
      lastExpText = s
      lastExp = isoDateOf(s)
    }
    if (lastExp === undefined) throw new RowError(`expiration ${JSON.stringify(s)} is not a date`)
    return lastExp
  }
  const strike = (f: ReadonlyArray<string>): number => {
    const s = f[iStrike]!
    const v = api === "v3" ? parseThousandths(s) : /^\d{1,15}$/.test(s) ? Number(s) : undefined
    if (v === undefined)
      throw new RowError(`strike ${JSON.stringify(s)} is not a decimal of at most 3 places`)
    return v
  }
  const right = (f: ReadonlyArray<string>): string => {
    const s = f[iRight]!
    return RIGHTS[s] ?? s.toLowerCase()
  }
  let times: (f: ReadonlyArray<string>) => readonly [number, number]
  if (api === "v3") {
    const iTs = at("timestamp")
    const iUts = at("underlying_timestamp")
    times = (f) => {
      const ts = parseWallClock(f[iTs]!)
      if (Number.isNaN(ts)) throw new RowError(`timestamp ${JSON.stringify(f[iTs])} is not a date-time`)
      const uts = parseWallClock(f[iUts]!)
      if (Number.isNaN(uts))
        throw new RowError(`underlying_timestamp ${JSON.stringify(f[iUts])} is not a date-time`)
      return [ts, uts]
    }
  } else {
    const iMs = at("ms_of_day")
    const iMs2 = at("ms_of_day2")
    const iDate = at("date")
    const msOf = (name: string, s: string): number => {
      if (!/^\d{1,8}$/.test(s) || Number(s) >= 86_400_000)
        throw new RowError(`${name} ${JSON.stringify(s)} is not ms of a day`)
      return Number(s)
    }
    times = (f) => {
      const day = parseDateInt(f[iDate]!)
      if (day === undefined) throw new RowError(`date ${JSON.stringify(f[iDate])} is not a YYYYMMDD date`)
      return [
        newYorkMsOfDay(day[0], day[1], day[2], msOf("ms_of_day", f[iMs]!)),
        newYorkMsOfDay(day[0], day[1], day[2], msOf("ms_of_day2", f[iMs2]!))
      ]
    }
  }
  return (f) => {
    const [ts, underlyingTs] = times(f)
    return {
      symbol: f[iSymbol]!,
      expiration: expiration(f),
      strike: strike(f),
      right: right(f),
      ts,
      bid: bid(f),
      ask: ask(f),
      delta: delta(f),
      theta: theta(f),
      vega: vega(f),
      rho: rho(f),
      epsilon: epsilon(f),
      lambda: lambda(f),
      implied_vol: impliedVol(f),
      iv_error: ivError(f),
      underlying_ts: underlyingTs,
      underlying_price: underlyingPrice(f)
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
  let decode: RowDecoder | undefined
  let headerError: string | undefined
  let lines = 0
  let batch: GreeksBatch = { rows: [], rejected: [] }
  const onLine = (line: string, lineNo: number) => {
    lines = lineNo
    if (decode === undefined) {
      if (headerError !== undefined) return
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
      decode = makeRowDecoder(api, index)
      return
    }
    if (line === "") return
    const fields = splitFields(line)
    if (fields === undefined) {
      batch.rejected.push(rejectLine(lineNo, line, "a quote is not closed"))
      return
    }
    if (fields.length !== width) {
      batch.rejected.push(
        rejectLine(lineNo, line, `${fields.length} fields where the header has ${width} (a malformed row)`)
      )
      return
    }
    try {
      batch.rows.push(decode(fields))
    } catch (e) {
      if (!(e instanceof RowError)) throw e
      batch.rejected.push(rejectLine(lineNo, line, e.reason))
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
      splitter.feed(text, onLine)
      return take()
    },
    end: () => {
      const rest = splitter.rest()
      if (rest.text !== "") onLine(rest.text, rest.lineNo)
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
