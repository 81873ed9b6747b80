/** The client's readers on ThetaData's own v3 samples (../shared/fixtures/thetadata; skipped without them). */
import * as fs from "node:fs"
import * as path from "node:path"
import { Chunk, Effect, Stream } from "effect"
import { describe, expect, it } from "vitest"
import { newYorkTimeToEpochMs } from "../../../src/domain/time.js"
import { makeGreeksCsvParser } from "../../../src/sources/thetadata/greeksCsv.js"
import * as ThetaTerminal from "../../../src/sources/thetadata/ThetaTerminal.js"
import { parseExpirations } from "../../../src/sources/thetadata/ThetaTerminal.js"
import { parseWallClock } from "../../../src/sources/thetadata/wallClock.js"
import { sharedDir } from "../../support/fixtures.js"

const dir = path.join(sharedDir, "fixtures/thetadata/v3-openapi-examples")
const haveFixtures = fs.existsSync(dir)
const read = (name: string) => fs.readFileSync(path.join(dir, name), "utf8")

const parseAll = (body: string) => {
  const parser = makeGreeksCsvParser("v3")
  const first = parser.feed(body)
  const last = parser.end()
  if (typeof first === "string") return first
  if (typeof last === "string") return last
  return { rows: [...first.rows, ...last.rows], rejected: [...first.rejected, ...last.rejected] }
}

describe("New York wall clock", () => {
  it("turns v3 timestamps with 0-3 fractional digits into UTC epoch ms", () => {
    // 2024-11-04 is after the switch to EST (UTC-5); 2024-07-01 is EDT (UTC-4)
    expect(parseWallClock("2024-11-04T09:30:00")).toBe(Date.parse("2024-11-04T14:30:00Z"))
    expect(parseWallClock("2024-11-04T17:15:28.71")).toBe(Date.parse("2024-11-04T22:15:28.710Z"))
    expect(parseWallClock("2024-07-01T15:59:59.828")).toBe(Date.parse("2024-07-01T19:59:59.828Z"))
    expect(parseWallClock("2024-03-10T01:30:00")).toBe(Date.parse("2024-03-10T06:30:00Z"))
    expect(parseWallClock("2024-11-04 09:30:00")).toBeNaN()
  })
})

describe.skipIf(!haveFixtures)("ThetaData v3 samples (../shared/fixtures/thetadata)", () => {
  it("decodes the first-order greeks sample by its header", () => {
    const out = parseAll(read("option_history_greeks_first_order.csv"))
    if (typeof out === "string") throw new Error(out)
    expect(out.rejected).toEqual([])
    expect(out.rows).toHaveLength(5)
    expect(out.rows[1]).toEqual({
      symbol: "AAPL",
      expiration: "2024-11-08",
      strike: 262_500,
      right: "call",
      ts: newYorkTimeToEpochMs("2024-11-04", 9, 35),
      bid: 0,
      ask: 0.02,
      delta: 0.0026,
      theta: -0.0141,
      vega: 0.1913,
      rho: 0.0063,
      epsilon: -0.0064,
      lambda: 55.293,
      implied_vol: 0.5874,
      iv_error: 0.0721,
      underlying_ts: newYorkTimeToEpochMs("2024-11-04", 9, 35),
      underlying_price: 220.66
    })
  })

  it("finds the same columns in samples that carry more of them, whatever their position", () => {
    for (const name of ["option_history_greeks_all.csv", "option_history_greeks_eod.csv"]) {
      const out = parseAll(read(name))
      if (typeof out === "string") throw new Error(out)
      expect(out.rejected).toEqual([])
      expect(out.rows.length).toBeGreaterThan(0)
    }
    const eod = parseAll(read("option_history_greeks_eod.csv"))
    if (typeof eod === "string") throw new Error(eod)
    expect(eod.rows[0]).toMatchObject({
      strike: 220_000,
      delta: 0.6083,
      implied_vol: 0.3334,
      ts: Date.parse("2024-11-04T20:59:59.828Z"),
      underlying_ts: Date.parse("2024-11-04T22:15:28.710Z"),
      underlying_price: 221.87
    })
  })

  it("names the missing columns of samples that are no greeks", () => {
    for (const name of [
      "option_history_quote.csv",
      "option_history_trade.csv",
      "option_history_ohlc.csv",
      "option_history_eod.csv",
      "option_history_open_interest.csv",
      "option_list_strikes.csv"
    ]) {
      const out = parseAll(read(name))
      expect(typeof out === "string" && out.includes("lacks")).toBe(true)
      expect(out).toContain("delta")
    }
  })

  it("decodes the expirations list", () => {
    expect(parseExpirations("v3", read("option_list_expirations.csv"))).toEqual([
      "2012-06-01",
      "2012-06-08",
      "2012-06-16",
      "2012-06-22",
      "2012-06-29"
    ])
  })

  it("serves a sample through ThetaTerminal.Test, and 'no data' where it has none", async () => {
    const body = read("option_history_greeks_first_order.csv")
    const request = { symbol: "AAPL", expiration: "2024-11-08", date: "2024-11-04" }
    const parts = await Effect.runPromise(
      Effect.gen(function* () {
        const terminal = yield* ThetaTerminal.ThetaTerminal
        const found = Chunk.toReadonlyArray(yield* Stream.runCollect(terminal.greeks(request)))
        const none = Chunk.toReadonlyArray(
          yield* Stream.runCollect(terminal.greeks({ ...request, date: "2024-11-05" }))
        )
        return { found, none, expirations: yield* terminal.expirations("AAPL") }
      }).pipe(
        Effect.provide(
          ThetaTerminal.Test({
            expirations: { AAPL: ["2024-11-15", "2024-11-08"] },
            greeks: (r) => (r.date === "2024-11-04" ? body : undefined)
          })
        )
      )
    )
    expect(parts.expirations).toEqual(["2024-11-08", "2024-11-15"])
    expect(parts.found.flatMap((p) => (p._tag === "Rows" ? p.rows : []))).toHaveLength(5)
    expect(parts.none.map((p) => p._tag)).toEqual(["NoData"])
  })
})
