/** The greeks CSV decoder's columns: typed arrays per column, bad lines rejected by number, a cut-short body. */
import { describe, expect, it } from "vitest"
import { newYorkTimeToEpochMs } from "../../../src/domain/time.js"
import { makeGreeksCsvParser } from "../../../src/sources/thetadata/greeksCsv.js"

const HEADER =
  "symbol,expiration,strike,right,timestamp,bid,ask,delta,theta,vega,rho,epsilon,lambda,implied_vol,iv_error,underlying_timestamp,underlying_price"
const row = (minute: number, strike = "5800.000", right = "CALL", delta = "0.51", bid = "12.1") =>
  `SPXW,2024-11-08,${strike},${right},2024-11-04T09:${30 + minute}:00,${bid},12.4,${delta},-3.2,4.1,0.9,-0.8,20.5,0.14,0.001,2024-11-04T09:${30 + minute}:00,5712.5`

describe("makeGreeksCsvParser (columns)", () => {
  it("fills one typed array per column, nulls as presence 0, and rejects a bad line with its number", () => {
    const parser = makeGreeksCsvParser("v3")
    const body = [HEADER, row(0), row(1, "5800.5"), row(2, "58x0"), row(3, "5805", "PUT", "-0.4", "")].join(
      "\r\n"
    )
    // Under a batch of rows and with a reject waiting, feed hands on what it read.
    const first = parser.feed(`${body}\r\n`)
    const last = parser.end()
    if (typeof first === "string" || typeof last === "string") throw new Error("header")
    expect(last.columns.length).toBe(0)
    const { columns, rejected } = first
    expect(columns.length).toBe(3)
    expect(rejected).toEqual([
      {
        record: { line: 4, text: row(2, "58x0") },
        reason: 'line 4: strike "58x0" is not a decimal of at most 3 places'
      }
    ])
    const [symbol, expiration, strike, right, ts, bid] = columns.columns
    expect(symbol).toMatchObject({ kind: "string", values: ["SPXW", "SPXW", "SPXW"] })
    expect(expiration!.kind).toBe("int")
    expect(Array.from(expiration!.values as Float64Array)).toEqual(
      Array(3).fill(Date.UTC(2024, 10, 8) / 86_400_000)
    )
    expect(strike!.values).toBeInstanceOf(Float64Array)
    expect(Array.from(strike!.values as Float64Array)).toEqual([5_800_000, 5_800_500, 5_805_000])
    expect(right).toMatchObject({ kind: "string", values: ["call", "call", "put"] })
    expect(Array.from(ts!.values as Float64Array)).toEqual(
      [30, 31, 33].map((m) => newYorkTimeToEpochMs("2024-11-04", 9, m))
    )
    expect(bid!.kind).toBe("double")
    expect(Array.from(bid!.present!)).toEqual([1, 1, 0])
    // Records on demand, the same values.
    expect(first.rows[2]).toMatchObject({ strike: 5_805_000, right: "put", bid: null, delta: -0.4 })
  })

  it("holds rows back until a batch is full or the body ends", () => {
    const parser = makeGreeksCsvParser("v3")
    const part = parser.feed(`${HEADER}\n${row(0)}\n${row(1)}\n`)
    if (typeof part === "string") throw new Error(part)
    expect([part.columns.length, part.rejected.length]).toEqual([0, 0])
    const end = parser.end()
    if (typeof end === "string") throw new Error(end)
    expect(end.columns.length).toBe(2)
  })

  it("a body cut short: the rows read so far, and its unfinished line rejected with its number", () => {
    const parser = makeGreeksCsvParser("v3")
    const full = row(2)
    expect(parser.feed(`${HEADER}\n${row(0)}\n${row(1)}\n${full.slice(0, 40)}`)).toMatchObject({
      columns: { length: 0 }
    })
    const cut = parser.cut()
    expect(cut.columns.length).toBe(2)
    expect(cut.rejected).toEqual([
      {
        record: { line: 4, text: full.slice(0, 40) },
        reason: "line 4: the body was cut short inside this row"
      }
    ])
  })
})
