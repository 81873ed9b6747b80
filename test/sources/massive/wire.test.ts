import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import {
  AggregateBar,
  AggregatesEnvelope,
  decodeBar,
  errorText,
  MarketStatusNow,
  MarketStatusUpcoming,
  OpenClose
} from "../../../src/sources/massive/wire.js"

const fixtures = join(process.cwd(), "..", "shared", "fixtures", "massive")
const haveFixtures = existsSync(fixtures)
const needsShared = "needs ../shared/fixtures/massive next to the repo"

const listFixtures = (pattern: RegExp): ReadonlyArray<string> => {
  const top = readdirSync(fixtures).filter((f) => pattern.test(f))
  const spec = readdirSync(join(fixtures, "spec-examples"))
    .filter((f) => pattern.test(f))
    .map((f) => join("spec-examples", f))
  return [...top, ...spec]
}
const readFixture = (name: string): unknown => JSON.parse(readFileSync(join(fixtures, name), "utf8"))

describe.skipIf(!haveFixtures)(`vendor fixtures decode (${needsShared})`, () => {
  it("every custom-range aggregates file: stocks, options, indices", () => {
    const files = listFixtures(/aggs__ticker__.*__range__/)
    // 2 recorded AAPL ranges + 3 spec examples (stocks, options, indices)
    expect(files.length).toBe(5)
    for (const file of files) {
      const env = Schema.decodeUnknownSync(AggregatesEnvelope)(readFixture(file))
      const results = env.results ?? []
      expect(results.length, file).toBeGreaterThan(0)
      for (const raw of results) {
        expect(Either.isRight(Schema.decodeUnknownEither(AggregateBar)(raw)), file).toBe(true)
        const r = decodeBar(raw, env.ticker)
        if (env.ticker.startsWith("I:")) {
          // indices bars have no volume: rejected with a reason, never silently dropped or zeroed
          expect(r._tag, file).toBe("Rejected")
          if (r._tag === "Rejected") expect(r.rejected.reason).toMatch(/no v \(volume\)/)
        } else {
          expect(r._tag, file).toBe("Bar")
        }
      }
    }
  })

  it("recorded AAPL daily range maps to StockBar exactly", () => {
    const env = Schema.decodeUnknownSync(AggregatesEnvelope)(
      readFixture("test_rest__mocks__v2__aggs__ticker__AAPL__range__1__day__2005-04-01__2005-04-04.json")
    )
    expect(env.status).toBe("OK")
    expect(env.next_url).toBeUndefined()
    expect(decodeBar(env.results?.[0], "AAPL")).toEqual({
      _tag: "Bar",
      bar: {
        symbol: "AAPL",
        ts: 1112331600000,
        open: 1.5032,
        high: 1.5064,
        low: 1.4489,
        close: 1.4604,
        volume: 642646396,
        vwap: 1.469,
        trades: 82132
      }
    })
  })

  it("the stocks spec example carries a next_url without a key", () => {
    const env = Schema.decodeUnknownSync(AggregatesEnvelope)(
      readFixture(
        "spec-examples/rest__v2__aggs__ticker__{stocksTicker}__range__{multiplier}__{timespan}__{from}__{to}.200.example.json"
      )
    )
    expect(env.next_url).toMatch(/cursor=/)
    expect(env.next_url).not.toMatch(/apiKey/i)
  })

  it("every open-close file: recorded AAPL and spec stocks/options/indices", () => {
    const files = listFixtures(/open-close__/)
    expect(files.length).toBe(4)
    const decoded = files.map((f) => Schema.decodeUnknownSync(OpenClose)(readFixture(f)))
    const indices = decoded.find((d) => d.symbol === "I:NDX")
    expect(indices?.volume).toBeUndefined()
    expect(indices?.from).toBe("2023-03-10T00:00:00.000Z")
    expect(decoded.find((d) => d.symbol === "O:TSLA210903C00700000")?.volume).toBe(2)
  })

  it("marketstatus now: recorded and spec example", () => {
    const files = listFixtures(/marketstatus__now/)
    expect(files.length).toBe(2)
    for (const f of files) {
      const now = Schema.decodeUnknownSync(MarketStatusNow)(readFixture(f))
      expect(now.market).toBe("extended-hours")
      expect(now.afterHours).toBe(true)
    }
  })

  it("marketstatus upcoming: recorded and spec example, early closes carry open/close", () => {
    const files = listFixtures(/marketstatus__upcoming/)
    expect(files.length).toBe(2)
    for (const f of files) {
      const days = Schema.decodeUnknownSync(MarketStatusUpcoming)(readFixture(f))
      expect(days.length).toBeGreaterThan(0)
      const early = days.filter((d) => d.status === "early-close")
      expect(early.length, f).toBeGreaterThan(0)
      for (const d of early) {
        expect(Number.isFinite(Date.parse(d.open ?? ""))).toBe(true)
        expect(Number.isFinite(Date.parse(d.close ?? ""))).toBe(true)
      }
      for (const d of days.filter((d) => d.status === "closed")) expect(d.open).toBeUndefined()
    }
  })
})

describe("decodeBar", () => {
  const good = { v: 10.5, vw: 1.5, o: 1, h: 2, l: 0.5, c: 1.5, t: 1700000000000, n: 3, extra: "ignored" }

  it("maps optional vw/n to null and keeps fractional volume", () => {
    const r = decodeBar({ v: 0.25, o: 1, h: 1, l: 1, c: 1, t: 1700000000000 }, "SPY")
    expect(r).toEqual({
      _tag: "Bar",
      bar: {
        symbol: "SPY",
        ts: 1700000000000,
        open: 1,
        high: 1,
        low: 1,
        close: 1,
        volume: 0.25,
        vwap: null,
        trades: null
      }
    })
    expect(decodeBar({ ...good, vw: null, n: null }, "SPY")).toMatchObject({
      bar: { vwap: null, trades: null }
    })
  })

  it("rejects with a specific reason and keeps the record", () => {
    const cases: ReadonlyArray<[unknown, RegExp]> = [
      [{ ...good, h: "2" }, /field h is string, expected a number/],
      [{ ...good, c: null }, /field c is null/],
      [{ ...good, o: undefined }, /has no o/],
      [{ ...good, v: undefined }, /has no v \(volume\)/],
      [{ ...good, v: "10" }, /field v is string/],
      [{ ...good, n: "3" }, /field n is string/],
      [{ ...good, t: 1.5 }, /not an integer/],
      [[1, 2], /bar is array/],
      ["x", /bar is string/]
    ]
    for (const [raw, reason] of cases) {
      const r = decodeBar(raw, "SPY")
      expect(r._tag).toBe("Rejected")
      if (r._tag === "Rejected") {
        expect(r.rejected.reason).toMatch(reason)
        expect(r.rejected.record["symbol"]).toBe("SPY")
      }
    }
  })

  it("agrees with the AggregateBar schema on what is a number", () => {
    const samples: ReadonlyArray<unknown> = [
      good,
      { ...good, vw: undefined },
      { ...good, h: "2" },
      { ...good, otc: true }
    ]
    for (const s of samples) {
      const schemaOk = Either.isRight(Schema.decodeUnknownEither(AggregateBar)(s))
      expect(decodeBar(s, "X")._tag === "Bar").toBe(schemaOk)
    }
  })
})

describe("errorText", () => {
  it("reads error, then message, then raw text", () => {
    expect(errorText(`{"status":"ERROR","request_id":"r1","error":"Unknown API Key"}`)).toBe(
      "Unknown API Key (request_id r1)"
    )
    expect(errorText(`{"status":"NOT_AUTHORIZED","message":"You are not entitled"}`)).toBe(
      "You are not entitled"
    )
    expect(errorText("<html>Bad gateway</html>")).toBe("<html>Bad gateway</html>")
    expect(errorText("")).toBe("empty body")
  })
})
