import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { HttpClient, HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Option } from "effect"
import { AppConfig } from "../../../src/config/AppConfig.js"
import { addDays, newYorkTimeToEpochMs } from "../../../src/domain/time.js"
import * as MassiveSim from "../../../src/sim/MassiveSim.js"
import { optionsMarket, registerOptionContracts } from "../../../src/sim/options/optionsSim.js"
import { discover, discoverContracts } from "../../../src/sources/massive/discovery.js"
import * as MassiveRest from "../../../src/sources/massive/MassiveRest.js"
import {
  getContract,
  listContracts,
  type OptionContract
} from "../../../src/sources/massive/optionContracts.js"
import { testConfig } from "../../support/fixtures.js"

const fixtures = join(process.cwd(), "..", "shared", "fixtures", "massive")
const PAGE1 = "test_rest__mocks__v3__reference__options__contracts.json"
const PAGE2 = "test_rest__mocks__v3__reference__options__contracts&cursor=YXA9JTdCJTIySUQlMjIlM0ElMjIy.json"
const SINGLE = "test_rest__mocks__v3__reference__options__contracts__OEVRI240119C00002500.json"
const haveFixtures = existsSync(join(fixtures, PAGE1))
const fixture = (name: string) => readFileSync(join(fixtures, name), "utf8")

/** The Live client over a fake HTTP backend serving the recorded fixtures by path and query. */
const fixtureClient = Effect.gen(function* () {
  const requested: Array<URL> = []
  const client = HttpClient.make((request, url) => {
    requested.push(url)
    const cursor = url.searchParams.get("cursor")
    const name =
      url.pathname === "/v3/reference/options/contracts"
        ? cursor === null
          ? PAGE1
          : cursor === "YXA9JTdCJTIySUQlMjIlM0ElMjIy"
            ? PAGE2
            : undefined
        : url.pathname === "/v3/reference/options/contracts/OEVRI240119C00002500"
          ? SINGLE
          : undefined
    const response =
      name === undefined
        ? new Response(JSON.stringify({ status: "NOT_FOUND", request_id: "x", message: "Not found." }), {
            status: 404
          })
        : new Response(fixture(name), { status: 200, headers: { "content-type": "application/json" } })
    return Effect.succeed(HttpClientResponse.fromWeb(request, response))
  })
  const rest = yield* MassiveRest.make.pipe(
    Effect.provideService(HttpClient.HttpClient, client),
    Effect.provideService(AppConfig, testConfig("/tmp/tapehouse-test", "https://api.test.invalid"))
  )
  return { rest, requested }
})

describe.skipIf(!haveFixtures)("options contracts client on the recorded fixtures", () => {
  it.scoped("decodes both pages, following next_url once with limit=1000, as_of and expired=true", () =>
    Effect.gen(function* () {
      const { rest, requested } = yield* fixtureClient
      const contracts = yield* listContracts(rest, { underlying: "A", asOf: "2022-05-02" })
      const raw = [...JSON.parse(fixture(PAGE1)).results, ...JSON.parse(fixture(PAGE2)).results]
      expect(contracts.map((c) => c.ticker)).toEqual(raw.map((r: { ticker: string }) => r.ticker))
      expect(contracts[0]).toEqual({
        ticker: "O:A220520C00065000",
        underlying: "A",
        type: "call",
        exerciseStyle: "american",
        expirationDate: "2022-05-20",
        strike: 65,
        sharesPerContract: 100,
        primaryExchange: "BATO",
        cfi: "OCASPS"
      } satisfies OptionContract)
      expect(requested).toHaveLength(2)
      const first = requested[0]!.searchParams
      expect(first.get("limit")).toBe("1000")
      expect(first.get("as_of")).toBe("2022-05-02")
      expect(first.get("expired")).toBe("true")
      expect(first.get("underlying_ticker")).toBe("A")
      // The next page is the next_url's path and query on our base URL, nothing else.
      expect(requested[1]!.host).toBe("api.test.invalid")
      expect([...requested[1]!.searchParams.keys()]).toEqual(["cursor"])
    })
  )

  it.scoped("the single contract, and None on 404", () =>
    Effect.gen(function* () {
      const { rest } = yield* fixtureClient
      const one = yield* getContract(rest, "OEVRI240119C00002500")
      expect(Option.getOrThrow(one)).toMatchObject({
        ticker: "O:EVRI240119C00002500",
        strike: 2.5,
        underlying: "EVRI"
      })
      expect(yield* getContract(rest, "O:NOPE240119C00002500")).toEqual(Option.none())
    })
  )
})

const contract = (strike: number, expirationDate: string, type: "call" | "put" = "call"): OptionContract => ({
  ticker: `O:X${expirationDate.replace(/-/g, "").slice(2)}${type === "call" ? "C" : "P"}${String(strike * 1000).padStart(8, "0")}`,
  underlying: "X",
  type,
  exerciseStyle: "american",
  expirationDate,
  strike,
  sharesPerContract: 100,
  primaryExchange: null,
  cfi: null
})

describe("discover (pure)", () => {
  it("keeps strikes within ±1 % of the open, bounds included, expiring from D to D + 7", () => {
    const d = "2024-03-05"
    const all = [
      contract(494.99, d),
      contract(495, d),
      contract(500, d, "put"),
      contract(505, d),
      contract(505.01, d),
      contract(500, "2024-03-04"),
      contract(500, "2024-03-12"),
      contract(500, "2024-03-13"),
      { ...contract(500, d), type: "other" as const }
    ]
    const picked = discover({ date: d, open: 500 }, all)
    expect(picked.map((c) => `${c.expirationDate} ${c.strike} ${c.type}`)).toEqual([
      "2024-03-05 495 call",
      "2024-03-05 500 put",
      "2024-03-05 505 call",
      "2024-03-12 500 call"
    ])
    expect(discover({ date: d, open: 500, maxDte: 0, band: 0.002 }, all).map((c) => c.strike)).toEqual([500])
  })
})

describe("discovery against the simulator over loopback", () => {
  const DAY = "2024-03-05"
  const run = (nowMs: number) =>
    Effect.gen(function* () {
      const sim = yield* MassiveSim.make({ now: () => nowMs, markets: [optionsMarket] })
      registerOptionContracts(sim)
      const context = yield* Layer.build(
        MassiveRest.Live.pipe(Layer.provide(Layer.succeed(AppConfig, testConfig("/tmp/th", sim.url))))
      )
      const rest = Context.get(context, MassiveRest.MassiveRest)
      return { sim, rest }
    })

  it.scopedLive("a past day: the open from open-close, the band computed here independently", () =>
    Effect.gen(function* () {
      const { sim, rest } = yield* run(newYorkTimeToEpochMs("2024-03-08", 12, 0))
      const found = Option.getOrThrow(yield* discoverContracts(rest, "SPY", DAY))
      const oc = (yield* Effect.promise(() =>
        fetch(`${sim.url}/v1/open-close/SPY/${DAY}?apiKey=k`).then((r) => r.json())
      )) as { open: number }
      expect(found.openSource).toBe("open-close")
      expect(found.open).toBe(oc.open)
      // Independently: every listed contract from the sim's full list for that as_of, filtered here.
      const all = (yield* listContracts(rest, { underlying: "SPY", asOf: DAY })).filter(
        (c) => c.expirationDate >= DAY && c.expirationDate <= addDays(DAY, 7)
      )
      const lo = oc.open * 0.99
      const hi = oc.open * 1.01
      const expected = all.filter((c) => c.strike >= lo && c.strike <= hi).map((c) => c.ticker)
      expect(found.contracts.map((c) => c.ticker).sort()).toEqual(expected.sort())
      expect(expected.length).toBeGreaterThan(40)
      expect(new Set(found.contracts.map((c) => c.type))).toEqual(new Set(["call", "put"]))
    })
  )

  it.scopedLive("during the session: open-close is 404, the first second bar gives the open", () =>
    Effect.gen(function* () {
      const { rest } = yield* run(newYorkTimeToEpochMs(DAY, 10, 0))
      const found = Option.getOrThrow(yield* discoverContracts(rest, "SPY", DAY))
      expect(found.openSource).toBe("first-second-bar")
      const { secondBars } = yield* Effect.promise(() => import("../../../src/sim/syntheticMarket.js"))
      expect(found.open).toBe(secondBars("SPY", DAY)[0]!.open)
      expect(found.contracts.length).toBeGreaterThan(0)
      for (const c of found.contracts)
        expect(Math.abs(c.strike - found.open)).toBeLessThanOrEqual(found.open * 0.01)
    })
  )

  it.scopedLive("no session (a Saturday): no contracts", () =>
    Effect.gen(function* () {
      const { rest } = yield* run(newYorkTimeToEpochMs("2024-03-11", 12, 0))
      expect(yield* discoverContracts(rest, "SPY", "2024-03-09")).toEqual(Option.none())
    })
  )
})
