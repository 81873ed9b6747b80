/** The decoder's range readers (no slice per field) against the slicing ones they replace. */
import { describe, expect, it } from "vitest"
import { newYorkTimeToEpochMs } from "../../../src/domain/time.js"
import { utf8Text } from "../../../src/sources/thetadata/bodyText.js"
import { makeLineSplitter, numberAt } from "../../../src/sources/thetadata/csvText.js"
import { makeGreeksCsvParser } from "../../../src/sources/thetadata/greeksCsv.js"
import { newYorkMsOfDay, parseWallClock, wallClockAt } from "../../../src/sources/thetadata/wallClock.js"

/** Number texts, plain decimals and everything else, that the readers must read as Number() does. */
const numberTexts = [
  "0",
  "-0.0000",
  "0.0000",
  "5791.23",
  "-133.7337",
  "100.0000",
  "00012.50",
  "123456789012345",
  "0.123456789012345",
  "1234567890123456",
  "12345678901234567890",
  "1e3",
  "-2.5E-4",
  "0x10",
  " 7",
  "7 ",
  "+1",
  "1.",
  ".5",
  "-.5",
  "-",
  ".",
  "Infinity",
  "NaN",
  "12.3.4",
  "abc"
]

describe("wallClockAt", () => {
  it("reads a time inside a line as the exact New York conversion: DST days, midnight, days interleaved", () => {
    const cases: ReadonlyArray<[string, number, number, number]> = [
      ["2024-03-10", 0, 0, 0], // spring forward at 02:00
      ["2024-03-10", 1, 59, 59_999],
      ["2024-03-10", 3, 30, 0],
      ["2024-03-10", 9, 30, 0],
      ["2024-11-04", 9, 30, 0],
      ["2024-03-10", 23, 59, 59_000],
      ["2024-11-03", 1, 30, 0], // fall back at 02:00
      ["2024-11-03", 4, 0, 0],
      ["2024-11-03", 16, 0, 710],
      ["2024-07-01", 0, 0, 0],
      ["2024-07-01", 15, 59, 59_828],
      ["2024-11-04", 16, 15, 0]
    ]
    for (const [date, h, m, extraMs] of cases) {
      const s = `${date}T${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${String(Math.floor(extraMs / 1000)).padStart(2, "0")}${extraMs % 1000 === 0 ? "" : `.${String(extraMs % 1000).padStart(3, "0")}`}`
      const line = `SPXW,${s},0.05`
      const expected = newYorkTimeToEpochMs(date, h, m) + extraMs
      expect([s, wallClockAt(line, 5, 5 + s.length)]).toEqual([s, expected])
      expect(parseWallClock(s)).toBe(expected)
    }
    // the day cache follows the day asked, not the one before
    const [y, mo, d] = [2024, 3, 11]
    expect(newYorkMsOfDay(2024, 11, 4, 9.5 * 3_600_000)).toBe(newYorkTimeToEpochMs("2024-11-04", 9, 30))
    expect(newYorkMsOfDay(y, mo, d, 9.5 * 3_600_000)).toBe(newYorkTimeToEpochMs("2024-03-11", 9, 30))
  })

  it("is NaN for what is not YYYY-MM-DDTHH:MM:SS[.f{1,3}], whatever surrounds it", () => {
    for (const bad of [
      "",
      "2024-11-04 09:30:00",
      "2024-11-04T24:00:00",
      "2024-11-04T09:60:00",
      "2024-11-04T09:30:60",
      "2024-11-04T09:30:0a",
      "2024-11-04T09:30:00.",
      "2024-11-04T09:30:00.1234",
      "2024-13-04T09:30:00",
      "2024-11-00T09:30:00",
      "2024-11-4T09:30:00"
    ]) {
      const line = `x,${bad},2024-11-04T09:30:00`
      expect([bad, wallClockAt(line, 2, 2 + bad.length)]).toEqual([bad, Number.NaN])
    }
  })
})

describe("numberAt", () => {
  it("is Number() of the field, NaN when empty, on plain decimals and on everything else", () => {
    // "1,5": a comma inside the range, which a field never holds but the range reader must not take for a number.
    for (const text of [...numberTexts, "1,5"]) {
      const line = `a,${text},b`
      expect([text, numberAt(line, 2, 2 + text.length)]).toEqual([text, Number(text)])
    }
    expect(numberAt("a,,b", 2, 2)).toBeNaN()
  })
})

describe("feedRanges", () => {
  it("gives the lines feed gives, at every chunk size (CR and LF split apart, a line over many chunks)", () => {
    const text = 'h1,h2\r\n1,2\r\n\r\n"a,b",3\nlast,4\r\n5,6789012345678901234567890\r\n7,'
    const expected: Array<string> = []
    const reference = makeLineSplitter()
    reference.feed(text, (line, n) => {
      expected.push(`${n}:${line}`)
    })
    for (let size = 1; size <= text.length; size++) {
      const splitter = makeLineSplitter()
      const got: Array<string> = []
      for (let i = 0; i < text.length; i += size)
        splitter.feedRanges(text.slice(i, i + size), (src, from, to, n) => {
          got.push(`${n}:${src.slice(from, to)}`)
        })
      expect([size, got]).toEqual([size, expected])
      expect(splitter.rest()).toEqual({ text: "7,", lineNo: expected.length + 1 })
    }
  })
})

describe("makeGreeksCsvParser's one-pass read of a line", () => {
  const header =
    "symbol,expiration,strike,right,timestamp,bid,ask,delta,theta,vega,rho,epsilon,lambda,implied_vol,iv_error,underlying_timestamp,underlying_price"
  const row = (bid: string, delta: string) =>
    `SPXW,2024-11-08,5800.000,CALL,2024-11-04T09:35:00,${bid},1.20,${delta},-0.0141,0.1913,0.0063,-0.0064,55.2930,0.5874,0.0721,2024-11-04T09:35:00,5712.66`

  it("reads every number as Number() of its text, and rejects what is none with the field's name", () => {
    const texts = numberTexts
    const parser = makeGreeksCsvParser("v3")
    const lines = [header]
    for (const t of texts) lines.push(row("1.10", t), row(t, "0.5000"))
    lines.push(row("", "0.5000"), `${row("1.10", "0.5")},extra`, row("1.10", "0.5").replace(",5712.66", ""))
    const first = parser.feed(`${lines.join("\r\n")}\r\n`)
    const last = parser.end()
    if (typeof first === "string" || typeof last === "string") throw new Error("header refused")
    const rows = [...first.rows, ...last.rows]
    const rejected = [...first.rejected, ...last.rejected].map((r) => r.reason)
    const expectedRows: Array<[number | null, number]> = []
    const expectedRejects: Array<string> = []
    texts.forEach((t, i) => {
      const n = Number(t)
      if (Number.isNaN(n)) {
        expectedRejects.push(`line ${2 + 2 * i}: delta ${JSON.stringify(t)} is not a number`)
        expectedRejects.push(`line ${3 + 2 * i}: bid ${JSON.stringify(t)} is not a number`)
      } else {
        expectedRows.push([1.1, n])
        expectedRows.push([n, 0.5])
      }
    })
    expectedRows.push([null, 0.5])
    const end = 2 + 2 * texts.length
    expectedRejects.push(`line ${end + 1}: 18 fields where the header has 17 (a malformed row)`)
    expectedRejects.push(`line ${end + 2}: 16 fields where the header has 17 (a malformed row)`)
    expect(rows.map((r) => [r.bid, r.delta])).toEqual(expectedRows)
    expect(rejected).toEqual(expectedRejects)
    // The rest of a row read in one pass is the row read from its fields' ranges.
    expect(rows.at(-1)).toMatchObject({
      symbol: "SPXW",
      expiration: "2024-11-08",
      strike: 5_800_000,
      right: "call",
      ask: 1.2,
      underlying_price: 5712.66,
      ts: newYorkTimeToEpochMs("2024-11-04", 9, 35),
      underlying_ts: newYorkTimeToEpochMs("2024-11-04", 9, 35)
    })
  })
})

describe("makeGreeksCsvParser's reuse of a contract's fields from the line before", () => {
  const header =
    "symbol,expiration,strike,right,timestamp,bid,ask,delta,theta,vega,rho,epsilon,lambda,implied_vol,iv_error,underlying_timestamp,underlying_price"
  const line = (contract: string, minute: number, bid = "1.10", ts?: string) => {
    const t = ts ?? `2024-11-04T10:${String(minute).padStart(2, "0")}:00`
    return `${contract},${t},${bid},1.20,0.5100,-0.0141,0.1913,0.0063,-0.0064,55.2930,0.5874,0.0721,${t},5712.66`
  }
  const a = "SPXW,2024-11-08,5800.000,CALL"
  const b = "SPXW,2024-11-08,5800.000,PUT"
  const c = "SPXW,2024-11-08,5805.000,CALL"

  it("gives what a fresh parser gives for each line alone, around rejects, quoted and unusual lines", () => {
    const lines = [
      line(a, 1),
      line(a, 2),
      line(a, 3, "1.10", "not-a-time"), // rejected after its contract was reused
      line(a, 4),
      `${line(a, 5)},extra`, // a wrong field count: read by the range reader
      line(a, 6),
      line(a, 7, "x"), // not a number: the range reader rejects it
      line(a, 8),
      `"SPXW",2024-11-08,"5800.000",CALL,2024-11-04T10:09:00,1.10,1.20,0.5100,-0.0141,0.1913,0.0063,-0.0064,55.2930,0.5874,0.0721,2024-11-04T10:09:00,5712.66`,
      line(a, 10),
      line(b, 10),
      line(b, 11),
      line(c, 11),
      line(a, 12),
      line("SPXW,2024-11-08,5800.000,CALLS", 13), // the same text and more: another right
      line(a, 14),
      line("SPXW,2024-11-15,5800.000,CALL", 15),
      line(a, 16, " 1.10") // a number the one-pass reader leaves to the range reader
    ]
    const whole = makeGreeksCsvParser("v3")
    const got = [whole.feed(`${[header, ...lines].join("\r\n")}\r\n`), whole.end()]
    const rows: Array<unknown> = []
    const rejected: Array<string> = []
    for (const batch of got) {
      if (typeof batch === "string") throw new Error(batch)
      rows.push(...batch.rows)
      rejected.push(...batch.rejected.map((r) => r.reason))
    }
    const wantRows: Array<unknown> = []
    const wantRejected: Array<string> = []
    lines.forEach((text, i) => {
      const alone = makeGreeksCsvParser("v3")
      for (const batch of [alone.feed(`${header}\r\n${text}\r\n`), alone.end()]) {
        if (typeof batch === "string") throw new Error(batch)
        wantRows.push(...batch.rows)
        wantRejected.push(...batch.rejected.map((r) => r.reason.replace(/^line 2:/, `line ${i + 2}:`)))
      }
    })
    expect(rows).toEqual(wantRows)
    expect(rejected).toEqual(wantRejected)
    expect(rows).toHaveLength(lines.length - 3)
    expect(rows.map((r) => (r as { right: string }).right)).toContain("calls")
  })
})

describe("utf8Text", () => {
  it("gives the UTF-8 decoder's text, ASCII chunks read as Latin-1 until one is not ASCII", () => {
    const text = "symbol,x\r\nSPXW,1\r\nSPXW,é€😀,2\r\nSPXW,3\r\n"
    const bytes = new TextEncoder().encode(text)
    for (let size = 1; size <= bytes.length; size++) {
      const decode = utf8Text()
      let got = ""
      for (let i = 0; i < bytes.length; i += size) got += decode.chunk(bytes.subarray(i, i + size))
      got += decode.rest()
      expect([size, got]).toEqual([size, text])
    }
  })
})
