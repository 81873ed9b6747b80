/** The decoder's range readers (no slice per field) against the slicing ones they replace. */
import { describe, expect, it } from "vitest"
import { newYorkTimeToEpochMs } from "../../../src/domain/time.js"
import { makeLineSplitter, numberAt } from "../../../src/sources/thetadata/csvText.js"
import { newYorkMsOfDay, parseWallClock, wallClockAt } from "../../../src/sources/thetadata/wallClock.js"

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
    for (const text of [
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
      "abc",
      "1,5"
    ]) {
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
