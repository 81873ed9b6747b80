/**
 * Reads an aggregates response body straight into records: the `results` bars are scanned from the
 * text and handed to the codec field by field, without a JSON object per bar (`JSON.parse` of a
 * page and the objects it builds were the client's largest cost in the options backfill profile).
 * The rest of the envelope, a few hundred bytes, still goes through `JSON.parse` and its Schema.
 *
 * A fast path only: the answer is `undefined` whenever the body holds anything it does not read
 * exactly as `JSON.parse` would (a bar value that is not a number or null, nested values in a bar,
 * malformed JSON…), and the caller then takes the general path (`JSON.parse`, `decodeAggregateBars`),
 * which also produces every error and rejection. Numbers are the doubles `JSON.parse` gives: up to
 * 15 significant digits without an exponent are an exact integer divided by an exact power of ten
 * (one correctly rounded division); anything longer goes through `Number`.
 */
import type { BarCodec } from "./wire.js"

/** The envelope without `results` (still to be checked), and the bars as records. */
export interface ScannedPage<A> {
  readonly head: unknown
  readonly bars: Array<A>
  /** The text of the first bar object, as sent (for the schema drift check); absent without bars. */
  readonly firstBar?: string
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16]

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09

class Scan {
  /** The position in `s`. */
  i = 0
  constructor(readonly s: string) {}

  space(): void {
    const s = this.s
    while (this.i < s.length && isSpace(s.charCodeAt(this.i))) this.i++
  }

  /** Skips the JSON string starting at `i` (a quote); false when it does not end. */
  skipString(): boolean {
    const s = this.s
    let i = this.i + 1
    while (i < s.length) {
      const c = s.charCodeAt(i)
      if (c === 0x22) {
        this.i = i + 1
        return true
      }
      if (c === 0x5c) i += 2
      else if (c < 0x20) return false
      else i++
    }
    return false
  }

  /** Any JSON value, skipped (structure only: its content is validated by `JSON.parse` later). */
  skipValue(): boolean {
    const s = this.s
    this.space()
    const c = s.charCodeAt(this.i)
    if (c === 0x22) return this.skipString()
    if (c === 0x7b || c === 0x5b) {
      let depth = 0
      while (this.i < s.length) {
        const d = s.charCodeAt(this.i)
        if (d === 0x22) {
          if (!this.skipString()) return false
          continue
        }
        if (d === 0x7b || d === 0x5b) depth++
        else if (d === 0x7d || d === 0x5d) {
          depth--
          if (depth === 0) {
            this.i++
            return true
          }
        }
        this.i++
      }
      return false
    }
    const start = this.i
    while (this.i < s.length) {
      const d = s.charCodeAt(this.i)
      if (d === 0x2c || d === 0x7d || d === 0x5d || isSpace(d)) break
      this.i++
    }
    return this.i > start
  }

  /** A number or `null` at `i`: the number, NaN for null, undefined when it is neither. */
  numberOrNull(): number | undefined {
    const s = this.s
    let i = this.i
    let c = s.charCodeAt(i)
    if (c === 0x6e) {
      if (s.startsWith("null", i)) {
        this.i = i + 4
        return Number.NaN
      }
      return undefined
    }
    const start = i
    const negative = c === 0x2d
    if (negative) c = s.charCodeAt(++i)
    if (c < 0x30 || c > 0x39) return undefined
    let mantissa = 0
    let digits = 0
    let exact = true
    if (c === 0x30) {
      i++
    } else {
      while (c >= 0x30 && c <= 0x39) {
        mantissa = mantissa * 10 + (c - 0x30)
        digits++
        c = s.charCodeAt(++i)
      }
    }
    c = s.charCodeAt(i)
    let fraction = 0
    if (c === 0x2e) {
      c = s.charCodeAt(++i)
      if (c < 0x30 || c > 0x39) return undefined
      while (c >= 0x30 && c <= 0x39) {
        mantissa = mantissa * 10 + (c - 0x30)
        if (mantissa !== 0 || digits > 0) digits++
        fraction++
        c = s.charCodeAt(++i)
      }
    }
    if (c === 0x65 || c === 0x45) {
      exact = false
      c = s.charCodeAt(++i)
      if (c === 0x2b || c === 0x2d) c = s.charCodeAt(++i)
      if (c < 0x30 || c > 0x39) return undefined
      while (c >= 0x30 && c <= 0x39) c = s.charCodeAt(++i)
    }
    this.i = i
    if (!exact || digits > 15 || fraction > 16) return Number(s.slice(start, i))
    const value = fraction === 0 ? mantissa : mantissa / POW10[fraction]!
    return negative ? -value : value
  }

  /** The key of an object member at `i`, when it is a plain one (no escapes). */
  key(): string | undefined {
    const s = this.s
    if (s.charCodeAt(this.i) !== 0x22) return undefined
    const end = s.indexOf('"', this.i + 1)
    if (end < 0) return undefined
    for (let i = this.i + 1; i < end; i++) {
      const c = s.charCodeAt(i)
      if (c === 0x5c || c < 0x20) return undefined
    }
    const key = s.slice(this.i + 1, end)
    this.i = end + 1
    return key
  }

  expect(c: number): boolean {
    this.space()
    if (this.s.charCodeAt(this.i) !== c) return false
    this.i++
    return true
  }
}

/** The key code of `vw` (one-letter keys are their character's code). */
const VW = 0x10000

/** A field's value: a number, or undefined for absent and null (as the codec takes them). */
const opt = (x: number) => (Number.isNaN(x) ? undefined : x)

/**
 * One bar object at `scan.i`, through `codec`: false when the bar is not one the fast path reads
 * (a value that is not a number or null, a required field missing or null, `t` not an integer).
 */
const scanBar = <A>(scan: Scan, symbol: string, codec: BarCodec<A>, out: Array<A>): boolean => {
  if (!scan.expect(0x7b)) return false
  let o = Number.NaN
  let h = Number.NaN
  let l = Number.NaN
  let c = Number.NaN
  let t = Number.NaN
  let v = Number.NaN
  let vw = Number.NaN
  let n = Number.NaN
  const s = scan.s
  scan.space()
  if (s.charCodeAt(scan.i) === 0x7d) return false
  for (;;) {
    scan.space()
    // The vendor's keys are one letter, or `vw`: read from the characters, without a string each.
    const i = scan.i
    let code = 0
    if (s.charCodeAt(i) === 0x22) {
      const c1 = s.charCodeAt(i + 1)
      if (s.charCodeAt(i + 2) === 0x22 && c1 >= 0x20 && c1 !== 0x22 && c1 !== 0x5c) {
        code = c1
        scan.i = i + 3
      } else if (c1 === 0x76 && s.charCodeAt(i + 2) === 0x77 && s.charCodeAt(i + 3) === 0x22) {
        code = VW
        scan.i = i + 4
      }
    }
    const key = code === 0 ? scan.key() : undefined
    if ((code === 0 && key === undefined) || !scan.expect(0x3a)) return false
    scan.space()
    if (key === "otc") {
      // A flag the vendor adds on OTC bars; not part of the record.
      if (scan.s.startsWith("true", scan.i)) scan.i += 4
      else if (scan.s.startsWith("false", scan.i)) scan.i += 5
      else return false
    } else {
      const x = scan.numberOrNull()
      if (x === undefined) return false
      if (code === 0x6f) o = x
      else if (code === 0x68) h = x
      else if (code === 0x6c) l = x
      else if (code === 0x63) c = x
      else if (code === 0x74) t = x
      else if (code === 0x76) v = x
      else if (code === VW) vw = x
      else if (code === 0x6e) n = x
      // Another numeric member is ignored, as the general path ignores unknown members.
    }
    scan.space()
    const next = s.charCodeAt(scan.i++)
    if (next === 0x7d) break
    if (next !== 0x2c) return false
  }
  // NaN stands for absent or null: the general path decides what those mean (and rejects).
  if (Number.isNaN(o) || Number.isNaN(h) || Number.isNaN(l) || Number.isNaN(c) || !Number.isInteger(t))
    return false
  if (codec.volume === "required" && Number.isNaN(v)) return false
  out.push(codec.toRecord(symbol, t, o, h, l, c, opt(v), opt(vw), opt(n)))
  return true
}

/**
 * The page in `body` when every bar reads on the fast path, else undefined (take the general path).
 * `head` is the envelope parsed without its `results` member, for the envelope's Schema.
 */
export const scanAggregatesBody = <A>(
  body: string,
  symbol: string,
  codec: BarCodec<A>
): ScannedPage<A> | undefined => {
  const scan = new Scan(body)
  if (!scan.expect(0x7b)) return undefined
  let resultsStart = -1
  let resultsEnd = -1
  const bars: Array<A> = []
  let firstBar: string | undefined
  scan.space()
  if (body.charCodeAt(scan.i) === 0x7d) return undefined
  for (;;) {
    scan.space()
    const memberStart = scan.i
    const key = scan.key()
    if (key === undefined || !scan.expect(0x3a)) return undefined
    if (key === "results" && resultsStart < 0) {
      scan.space()
      if (!scan.expect(0x5b)) return undefined
      scan.space()
      if (body.charCodeAt(scan.i) === 0x5d) scan.i++
      else
        for (;;) {
          const barStart = scan.i
          if (!scanBar(scan, symbol, codec, bars)) return undefined
          if (firstBar === undefined) firstBar = body.slice(barStart, scan.i)
          scan.space()
          const next = body.charCodeAt(scan.i++)
          if (next === 0x5d) break
          if (next !== 0x2c) return undefined
        }
      resultsStart = memberStart
      resultsEnd = scan.i
    } else if (key === "results" || !scan.skipValue()) {
      return undefined
    }
    scan.space()
    const next = body.charCodeAt(scan.i++)
    if (next === 0x7d) break
    if (next !== 0x2c) return undefined
  }
  scan.space()
  if (scan.i !== body.length) return undefined
  // The envelope without `results` (and the comma that separated it from a neighbour).
  let head: unknown
  try {
    if (resultsStart < 0) head = JSON.parse(body)
    else {
      let before = body.slice(0, resultsStart).trimEnd()
      let after = body.slice(resultsEnd).trimStart()
      if (after.startsWith(",")) after = after.slice(1)
      else if (before.endsWith(",")) before = before.slice(0, -1)
      head = JSON.parse(before + after)
    }
  } catch {
    return undefined
  }
  if (typeof head !== "object" || head === null || Array.isArray(head)) return undefined
  return firstBar === undefined ? { head, bars } : { head, bars, firstBar }
}
