import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import type { Rejected } from "../../../src/domain/Dataset.js"
import { optionSecondBars } from "../../../src/sim/options/optionsChain.js"
import { scanAggregatesBody } from "../../../src/sources/massive/aggregatesBody.js"
import { type BarCodec, decodeAggregateBars, stockBarCodec } from "../../../src/sources/massive/wire.js"

const indexCodec: BarCodec<readonly [number, number, number, number, number, number | undefined]> = {
  volume: "none",
  toRecord: (_s, t, o, h, l, c, v) => [t, o, h, l, c, v] as const
}

/** What the general path makes of a body: JSON.parse, then each bar checked alone. */
const general = <A>(body: string, codec: BarCodec<A>) => {
  const json = JSON.parse(body)
  const bars: Array<A> = []
  const rejected: Array<Rejected> = []
  decodeAggregateBars(json.results ?? [], "X", codec, bars, rejected)
  const { results: _, ...head } = json
  return { head, bars, rejected }
}

const expectSame = <A>(body: string, codec: BarCodec<A>) => {
  const scanned = scanAggregatesBody(body, "X", codec)
  const expected = general(body, codec)
  expect(expected.rejected).toEqual([])
  expect(scanned).toBeDefined()
  expect(scanned!.head).toEqual(expected.head)
  expect(scanned!.bars).toEqual(expected.bars)
  // Bit for bit, -0 included.
  expect(
    scanned!.bars.map((b) => Object.values(b as object).map((x) => (Object.is(x, -0) ? "-0" : x)))
  ).toEqual(expected.bars.map((b) => Object.values(b as object).map((x) => (Object.is(x, -0) ? "-0" : x))))
}

const fixtures = join(process.cwd(), "..", "shared", "fixtures", "massive")

describe("scanAggregatesBody", () => {
  it("reads a simulator page of option bars exactly as JSON.parse does", () => {
    const bars = optionSecondBars("O:SPY240308C00510000", "2024-03-05")
    expect(bars.length).toBeGreaterThan(1000)
    const results = bars.map((b) => ({
      v: b.volume,
      vw: b.vwap,
      o: b.open,
      c: b.close,
      h: b.high,
      l: b.low,
      t: b.ts,
      n: b.trades
    }))
    const body = JSON.stringify({
      ticker: "X",
      queryCount: 1,
      results,
      status: "OK",
      request_id: "r",
      next_url: "http://x/y?cursor=a"
    })
    expectSame(body, stockBarCodec)
  })

  it("reads the numbers JSON can hold as the same doubles", () => {
    const values = [0, -0, 1, -1, 0.1, 0.3, 1.005, 123.456789, 1e21, 1.5e-7, 2.5e300, 0.000001234, 5e-324]
    const results = values.map((x, i) => ({
      o: x,
      h: x,
      l: x,
      c: x,
      t: 1_700_000_000_000 + i,
      v: x,
      vw: x,
      n: i
    }))
    expectSame(JSON.stringify({ results, status: "OK", ticker: "X" }), stockBarCodec)
    // Written by hand: exponents, leading zeros in fractions, trailing zeros, whitespace everywhere.
    const body = ` { "ticker" : "X" , "results" : [ { "o" : 1E2 , "h" : 0.0500 , "l" : -0.0 , "c" : 12.340000 , "t" : 1 , "v" : 1e+2 , "vw" : null , "n" : null , "otc" : true } , { "o" : 9007199254740993 , "h" : 99999999999999.99 , "l" : 1234567890123456.7 , "c" : 0.1234567890123456789 , "t" : 2 , "v" : 12345678901234567890 } ] , "status" : "OK" } `
    expectSame(body, stockBarCodec)
  })

  it("ignores numeric members it does not know, whatever their key's length", () => {
    const body = `{"results":[{"z":5,"o":1,"vwap":2,"h":3,"l":0.5,"c":1.5,"t":7,"v":9,"vw":1.25,"n":4,"nn":1}],"status":"OK"}`
    expectSame(body, stockBarCodec)
  })

  it("reads bars without volume for a codec that wants none, and an empty or absent results", () => {
    expectSame(
      JSON.stringify({ ticker: "I:X", results: [{ o: 1, h: 2, l: 0.5, c: 1.5, t: 5 }], status: "OK" }),
      indexCodec
    )
    expectSame(JSON.stringify({ ticker: "X", results: [], status: "OK" }), stockBarCodec)
    expectSame(JSON.stringify({ ticker: "X", status: "OK", resultsCount: 0 }), stockBarCodec)
  })

  it.skipIf(!existsSync(fixtures))(
    "reads every aggregates fixture of the vendor as the general path does",
    () => {
      const files = [
        ...readdirSync(fixtures).filter((f) => /aggs__ticker__.*__range__/.test(f)),
        ...readdirSync(join(fixtures, "spec-examples"))
          .filter((f) => /aggs__ticker__.*__range__/.test(f))
          .map((f) => join("spec-examples", f))
      ]
      expect(files.length).toBe(5)
      for (const file of files) {
        const body = readFileSync(join(fixtures, file), "utf8")
        if (file.includes("indices")) expectSame(body, indexCodec)
        else expectSame(body, stockBarCodec)
      }
    }
  )

  it("leaves to the general path whatever it does not read exactly", () => {
    const bar = '{"o":1,"h":1,"l":1,"c":1,"t":1,"v":1}'
    const bodies = [
      `{"results":[{"o":"1","h":1,"l":1,"c":1,"t":1,"v":1}],"status":"OK"}`, // a string price: rejected by the general path
      `{"results":[{"o":1,"h":1,"l":1,"c":1,"t":1.5,"v":1}],"status":"OK"}`, // t not an integer
      `{"results":[{"o":1,"h":1,"l":1,"c":1,"t":1}],"status":"OK"}`, // no volume
      `{"results":[{"o":1,"h":1,"l":1,"c":1,"t":1,"v":null}],"status":"OK"}`,
      `{"results":[${bar},],"status":"OK"}`, // trailing comma: not JSON
      `{"results":[${bar}],"status":"OK"`, // truncated
      `{"results":[${bar}],"status":"OK"}x`,
      `{"results":[${bar}],"status":OK}`, // not JSON outside results
      `{"results":[${bar}],"results":[],"status":"OK"}`,
      `{"results":[01],"status":"OK"}`,
      `{"results":[{"o":01,"h":1,"l":1,"c":1,"t":1,"v":1}],"status":"OK"}`,
      `{"results":[{"o":1,"h":1,"l":1,"c":1,"t":1,"v":1,"x":{"y":1}}],"status":"OK"}`,
      `{"results":{"o":1},"status":"OK"}`,
      `{"results":[{"o":1,"h":1,"l":1,"c":1,"t":1,"v":1,"\u0001":2}],"status":"OK"}`, // a control character in a key: not JSON
      `{"results":[{"o":1,"h":1,"l":1,"c":1,"t":1,"v":1,"a\u0001b":2}],"status":"OK"}`,
      `{"results":[{"o":1,"h":1,"l":1,"c":1,"t":1,"v":1,""":2}],"status":"OK"}`,
      `[${bar}]`,
      ""
    ]
    for (const body of bodies) expect(scanAggregatesBody(body, "X", stockBarCodec), body).toBeUndefined()
  })
})
