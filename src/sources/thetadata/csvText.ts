/**
 * The hand-written CSV reading the ThetaData client uses (bench/thetadataCsv.ts measured it against
 * csv-parse): text arrives in chunks, complete lines are cut at LF (a CR before it dropped) and
 * numbered from 1 (the header), and a line is split at commas. ThetaData's CSV quotes nothing;
 * a line holding a quote is read with RFC 4180 quoting all the same.
 */

export interface LineSplitter {
  /** Calls `onLine` with every line `text` completes, in order, with its 1-based number. */
  readonly feed: (text: string, onLine: (line: string, lineNo: number) => void) => void
  /**
   * As `feed`, with each line given as a range of a string: `src.slice(from, to)`, without that
   * slice (the chunk itself, or for a line that spans chunks the line joined).
   */
  readonly feedRanges: (
    text: string,
    onLine: (src: string, from: number, to: number, lineNo: number) => void
  ) => void
  /** What follows the last line break (a line not yet ended), and the number it would have. */
  readonly rest: () => { readonly text: string; readonly lineNo: number }
}

export const makeLineSplitter = (): LineSplitter => {
  let pending = ""
  let lineNo = 0
  return {
    feed: (text, onLine) => {
      let start = 0
      let nl = text.indexOf("\n")
      if (nl < 0) {
        pending += text
        return
      }
      let head = pending
      pending = ""
      while (nl >= 0) {
        let line = head + text.slice(start, nl)
        head = ""
        if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1)
        onLine(line, ++lineNo)
        start = nl + 1
        nl = text.indexOf("\n", start)
      }
      pending = text.slice(start)
    },
    feedRanges: (text, onLine) => {
      let start = 0
      let nl = text.indexOf("\n")
      if (nl < 0) {
        pending += text
        return
      }
      if (pending !== "") {
        const line = pending + text.slice(0, nl)
        pending = ""
        onLine(line, 0, line.charCodeAt(line.length - 1) === 13 ? line.length - 1 : line.length, ++lineNo)
        start = nl + 1
        nl = text.indexOf("\n", start)
      }
      while (nl >= 0) {
        onLine(text, start, nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl, ++lineNo)
        start = nl + 1
        nl = text.indexOf("\n", start)
      }
      pending = text.slice(start)
    },
    rest: () => ({
      text: pending.charCodeAt(pending.length - 1) === 13 ? pending.slice(0, -1) : pending,
      lineNo: lineNo + 1
    })
  }
}

/** RFC 4180 fields of one line; undefined when a quote is not closed. */
const splitQuoted = (line: string): Array<string> | undefined => {
  const out: Array<string> = []
  let i = 0
  const n = line.length
  for (;;) {
    if (line.charCodeAt(i) === 34) {
      let value = ""
      let j = i + 1
      for (;;) {
        const q = line.indexOf('"', j)
        if (q < 0) return undefined
        value += line.slice(j, q)
        if (line.charCodeAt(q + 1) === 34) {
          value += '"'
          j = q + 2
          continue
        }
        i = q + 1
        break
      }
      out.push(value)
      if (i >= n) return out
      if (line.charCodeAt(i) !== 44) return undefined
      i++
    } else {
      const comma = line.indexOf(",", i)
      if (comma < 0) {
        out.push(line.slice(i))
        return out
      }
      out.push(line.slice(i, comma))
      i = comma + 1
    }
  }
}

/** The fields of one CSV line; undefined when its quoting is broken. */
export const splitFields = (line: string): Array<string> | undefined =>
  line.indexOf('"') < 0 ? line.split(",") : splitQuoted(line)

/** 10^k for k = 0..15, exact doubles. */
export const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15]

/**
 * `Number(text.slice(from, to))` for a field, NaN for an empty one. Plain decimals of at most 15
 * digits (`-12.3456`) are read by char code as digits / 10^k: both are exact doubles, so the one
 * rounding of the division gives the same double as Number's correctly rounded parse. Anything
 * else (exponents, hex, spaces, more digits) goes to Number itself.
 */
export const numberAt = (text: string, from: number, to: number): number => {
  if (from === to) return Number.NaN
  let i = from
  const negative = text.charCodeAt(i) === 45
  if (negative) i++
  let m = 0
  let count = 0
  let point = -1
  for (; i < to; i++) {
    const c = text.charCodeAt(i)
    if (c >= 48 && c <= 57) {
      m = m * 10 + (c - 48)
      count++
    } else if (c === 46 && point < 0) point = i
    else return Number(text.slice(from, to))
  }
  const decimals = point < 0 ? 0 : to - point - 1
  if (count === 0 || count > 15 || point === to - 1 || point === (negative ? from + 1 : from))
    return Number(text.slice(from, to))
  const v = m / POW10[decimals]!
  return negative ? -v : v
}
