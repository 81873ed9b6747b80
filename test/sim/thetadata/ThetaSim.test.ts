/** The ThetaData simulator over HTTP: the vendor's columns, formats and codes, and greeks the analytics agree with. */
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { bsmGreeks } from "../../../src/analytics/bsm.js"
import { impliedVolatility } from "../../../src/analytics/impliedVolatility.js"
import { OptionGreeks1m } from "../../../src/domain/OptionGreek.js"
import { newYorkTimeToEpochMs } from "../../../src/domain/time.js"
import { makeValidator } from "../../../src/pipeline/validate.js"
import { DIVIDEND_YIELD, expiryMs, RATE, yearsToExpiry } from "../../../src/sim/thetadata/spxMarket.js"
import * as ThetaSim from "../../../src/sim/thetadata/ThetaSim.js"
import { makeGreeksCsvParser } from "../../../src/sources/thetadata/greeksCsv.js"
import { sharedDir } from "../../support/fixtures.js"

const fixtures = path.join(sharedDir, "fixtures/thetadata/v3-openapi-examples")
const haveFixtures = fs.existsSync(fixtures)
const fixture = (name: string) => fs.readFileSync(path.join(fixtures, name), "utf8")

const GREEKS =
  "/v3/option/history/greeks/first_order?symbol=SPXW&expiration=20241108&date=20241104&interval=1m"

const get = (url: string, init?: RequestInit) =>
  Effect.promise(async () => {
    const r = await fetch(url, init)
    return { status: r.status, headers: r.headers, body: await r.text() }
  })

const withSim = <A>(options: ThetaSim.ThetaSimOptions, f: (sim: ThetaSim.ThetaSim) => Effect.Effect<A>) =>
  Effect.scoped(Effect.flatMap(ThetaSim.make({ strikesPerSide: 2, ...options }), f))

describe("ThetaData simulator", () => {
  it.live.skipIf(!haveFixtures)(
    "answers with the fixtures' columns in their order, in CSV (CRLF), JSON and NDJSON",
    () =>
      withSim({}, (sim) =>
        Effect.gen(function* () {
          const csv = yield* get(sim.url + GREEKS)
          const sample = fixture("option_history_greeks_first_order.csv")
          expect(csv.status).toBe(200)
          expect(csv.body.split("\r\n")[0]).toBe(sample.split("\r\n")[0])
          expect(csv.body.endsWith("\r\n")).toBe(true)
          expect(csv.body.replaceAll("\r\n", "")).not.toContain("\n")

          const firstLine = (text: string) => JSON.parse(text.split("\n")[0]!) as Record<string, unknown>
          const ndjson = yield* get(`${sim.url}${GREEKS}&format=ndjson`)
          const sampleRow = firstLine(fixture("option_history_greeks_first_order.ndjson"))
          expect(Object.keys(firstLine(ndjson.body)).sort()).toEqual(Object.keys(sampleRow).sort())

          type Json = { response: Array<{ contract: object; data: Array<object> }> }
          const json = JSON.parse((yield* get(`${sim.url}${GREEKS}&format=json`)).body) as Json
          const sampleJson = JSON.parse(fixture("option_history_greeks_first_order.json")) as Json
          expect(Object.keys(json.response[0]!.contract).sort()).toEqual(
            Object.keys(sampleJson.response[0]!.contract).sort()
          )
          expect(Object.keys(json.response[0]!.data[0]!).sort()).toEqual(
            Object.keys(sampleJson.response[0]!.data[0]!).sort()
          )
          expect(json.response).toHaveLength(8)

          const list = yield* get(`${sim.url}/v3/option/list/expirations?symbol=SPXW`)
          expect(list.body.split("\r\n")[0]).toBe(fixture("option_list_expirations.csv").split("\r\n")[0])
        })
      )
  )

  it.live(
    "its implied_vol is the analytics' IV of its bid/ask mid, its greeks are at that IV, and every row validates",
    () =>
      withSim({}, (sim) =>
        Effect.gen(function* () {
          // the same day for a 0DTE, a 4DTE and a 46DTE expiration
          for (const expiration of ["20241104", "20241108", "20241220"]) {
            const body = (yield* get(sim.url + GREEKS.replace("20241108", expiration))).body
            // A body under one batch of rows comes out whole at its end.
            const parser = makeGreeksCsvParser("v3")
            expect(parser.feed(body)).toMatchObject({ rejected: [], columns: { length: 0 } })
            const parsed = parser.end()
            if (typeof parsed === "string") throw new Error(parsed)
            expect(parsed.rejected).toEqual([])
            let solved = 0
            for (const g of parsed.rows) {
              const call = g.right === "call"
              const t = yearsToExpiry(expiryMs(g.expiration), g.ts)
              const mid = (g.bid! + g.ask!) / 2
              const iv = impliedVolatility(
                call,
                g.underlying_price,
                g.strike / 1000,
                t,
                RATE,
                DIVIDEND_YIELD,
                mid
              )
              if (g.iv_error === 100) {
                expect(g.implied_vol).toBe(0)
                continue
              }
              solved++
              expect(iv._tag).toBe("Solved")
              if (iv._tag !== "Solved") continue
              expect(Math.abs(iv.iv - g.implied_vol)).toBeLessThanOrEqual(0.00005 + 1e-9)
              const greeks = bsmGreeks(
                call,
                g.underlying_price,
                g.strike / 1000,
                t,
                RATE,
                DIVIDEND_YIELD,
                iv.iv
              )
              expect(Math.abs(greeks.delta - g.delta)).toBeLessThan(0.0002)
              expect(Math.abs(greeks.theta / 365 - g.theta)).toBeLessThan(0.0002 + Math.abs(g.theta) * 1e-3)
            }
            expect(solved).toBeGreaterThan(parsed.rows.length * 0.9)
            const window = {
              date: "2024-11-04",
              startMs: newYorkTimeToEpochMs("2024-11-04", 9, 30),
              endMs: newYorkTimeToEpochMs("2024-11-04", 16, 0)
            }
            expect(makeValidator(OptionGreeks1m)(parsed.rows, window).rejected).toEqual([])
          }
        })
      )
  )

  it.live(
    "speaks the terminal's codes: 472 no data, 473 bad parameters, 471 below the tier, 429 past the concurrency",
    () =>
      Effect.gen(function* () {
        yield* withSim({ concurrency: 1 }, (sim) =>
          Effect.gen(function* () {
            expect((yield* get(sim.url + GREEKS.replace("date=20241104", "date=20241109"))).status).toBe(472)
            expect((yield* get(sim.url + GREEKS.replace("interval=1m", "interval=5m"))).status).toBe(473)
            expect((yield* get(`${sim.v2Url}/v2/list/expirations?root=QQQ`)).status).toBe(472)
            // one slow answer holds the only slot: the next request is throttled
            sim.faults.inject({ kind: "slow", delayMs: 300 })
            const slow = Effect.runPromise(get(sim.url + GREEKS))
            yield* Effect.sleep("50 millis")
            const throttled = yield* get(sim.url + GREEKS)
            expect(throttled.status).toBe(429)
            expect(throttled.headers.get("retry-after")).toBe("1")
            expect((yield* Effect.promise(() => slow)).status).toBe(200)
          })
        )
        yield* withSim({ tier: "value" }, (sim) =>
          Effect.map(get(sim.url + GREEKS), (r) => expect(r.status).toBe(471))
        )
      })
  )
})
