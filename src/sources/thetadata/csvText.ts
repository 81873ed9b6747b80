/**
 * The hand-written CSV reading the ThetaData client uses (bench/thetadataCsv.ts measured it against
 * csv-parse): text arrives in chunks, complete lines are cut at LF (a CR before it dropped) and
 * numbered from 1 (the header), and a line is split at commas. ThetaData's CSV quotes nothing;
 * a line holding a quote is read with RFC 4180 quoting all the same.
 */

export interface LineSplitter {
  /** Calls `onLine` with every line `text` completes, in order, with its 1-based number. */
  readonly feed: (text: string, onLine: (line: string, lineNo: number) => void) => void
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
