import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { addDays, newYorkTimeToEpochMs } from "../../../src/domain/time.js"
import * as MassiveSim from "../../../src/sim/MassiveSim.js"
import { contractsListed, underlyingOpen } from "../../../src/sim/options/optionsChain.js"
import { optionsMarket, registerOptionContracts } from "../../../src/sim/options/optionsSim.js"

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies under test
type Json = any

const DAY = "2024-03-05"
const KEY = "k1"

const get = (url: string) =>
  Effect.promise(async () => {
    const res = await fetch(url, { headers: { Authorization: `Bearer ${KEY}` } })
    return { status: res.status, body: (await res.json()) as Json }
  })

/** The simulator at noon of DAY, options attached. */
const sim = Effect.gen(function* () {
  const s = yield* MassiveSim.make({ now: () => newYorkTimeToEpochMs(DAY, 12, 0), markets: [optionsMarket] })
  registerOptionContracts(s)
  return s
})

/** Every page from `first`, following next_url; the URLs visited. */
const walk = (first: string) =>
  Effect.gen(function* () {
    const rows: Array<Json> = []
    const urls: Array<string> = []
    let url: string | undefined = first
    while (url !== undefined) {
      urls.push(url)
      const { status, body }: { status: number; body: Json } = yield* get(url)
      expect(status).toBe(200)
      expect(body.status).toBe("OK")
      rows.push(...body.results)
      url = body.next_url
    }
    return { rows, urls }
  })

const FIXTURE_KEYS = [
  "cfi",
  "contract_type",
  "exercise_style",
  "expiration_date",
  "primary_exchange",
  "shares_per_contract",
  "strike_price",
  "ticker",
  "underlying_ticker"
]

describe("options contracts endpoints", () => {
  it.scopedLive("pages with next_url on its own origin, every contract exactly once, in ticker order", () =>
    Effect.gen(function* () {
      const s = yield* sim
      const { rows, urls } = yield* walk(
        `${s.url}/v3/reference/options/contracts?underlying_ticker=SPY&limit=250`
      )
      const expected = contractsListed("SPY", DAY, DAY, "2099-12-31")
        .map((c) => c.ticker)
        .sort()
      expect(rows.map((r) => r.ticker)).toEqual(expected)
      expect(urls.length).toBe(Math.ceil(expected.length / 250))
      for (const u of urls.slice(1)) {
        expect(u.startsWith(`${s.url}/v3/reference/options/contracts?cursor=`)).toBe(true)
        expect(u).not.toContain(KEY)
      }
      expect(Object.keys(rows[0])).toEqual(FIXTURE_KEYS)
      const call = rows.find((r) => r.contract_type === "call")
      expect(call).toMatchObject({
        cfi: "OCASPS",
        exercise_style: "american",
        shares_per_contract: 100,
        underlying_ticker: "SPY"
      })
      expect(rows.find((r) => r.contract_type === "put").cfi).toBe("OPASPS")
    })
  )

  it.scopedLive("defaults: limit 10, as_of today on the sim clock; limit above 1000 is a 400", () =>
    Effect.gen(function* () {
      const s = yield* sim
      const first = yield* get(`${s.url}/v3/reference/options/contracts`)
      expect(first.body.results).toHaveLength(10)
      expect(first.body.next_url).toBeDefined()
      for (const r of first.body.results) expect(r.expiration_date >= DAY).toBe(true)
      const over = yield* get(`${s.url}/v3/reference/options/contracts?limit=1001`)
      expect(over.status).toBe(400)
      expect(over.body.error).toContain("1000")
      const bad = yield* get(`${s.url}/v3/reference/options/contracts?strike_price.gte=abc`)
      expect(bad.status).toBe(400)
      expect(bad.body.error).toContain("strike_price.gte")
    })
  )

  it.scopedLive("filters: contract type, expiration and strike ranges, order and sort", () =>
    Effect.gen(function* () {
      const s = yield* sim
      const q =
        "underlying_ticker=QQQ&contract_type=put&expiration_date.gte=2024-03-06&expiration_date.lt=2024-03-08" +
        "&strike_price.gt=430&strike_price.lte=440&sort=strike_price&order=desc&limit=1000"
      const { rows } = yield* walk(`${s.url}/v3/reference/options/contracts?${q}`)
      const expected = contractsListed("QQQ", DAY, "2024-03-06", "2024-03-07").filter(
        (c) => c.type === "put" && c.strikeMilli > 430_000 && c.strikeMilli <= 440_000
      )
      expect(rows.length).toBe(expected.length)
      expect(rows.length).toBeGreaterThan(0)
      const strikes = rows.map((r) => r.strike_price)
      expect(strikes).toEqual([...strikes].sort((a, b) => b - a))
      expect(new Set(rows.map((r) => r.expiration_date))).toEqual(new Set(["2024-03-06", "2024-03-07"]))
    })
  )

  it.scopedLive("as_of and expired: a past day's chain; expired contracts only with expired=true", () =>
    Effect.gen(function* () {
      const s = yield* sim
      const base = `${s.url}/v3/reference/options/contracts?underlying_ticker=SPY&limit=1000&as_of=2024-03-01`
      const alive = (yield* walk(base)).rows
      expect(alive.every((r) => r.expiration_date >= "2024-03-01")).toBe(true)
      // Listed by then: nothing expiring past 2024-03-01 + 14 days.
      expect(alive.every((r) => r.expiration_date <= addDays("2024-03-01", 14))).toBe(true)
      const withExpired = (yield* walk(`${base}&expired=true&expiration_date.gte=2024-02-26`)).rows
      const expired = withExpired.filter((r) => r.expiration_date < "2024-03-01")
      expect(expired.length).toBeGreaterThan(0)
      expect(new Set(expired.map((r) => r.expiration_date))).toEqual(
        new Set(["2024-02-26", "2024-02-27", "2024-02-28", "2024-02-29"])
      )
      // Contracts listed after as_of are not there: the 2024-03-19 expiration lists on 03-05.
      const later = (yield* walk(`${base}&expiration_date=2024-03-19`)).rows
      expect(later).toEqual([])
    })
  )

  it.scopedLive("single contract, with or without O:, and 404 NOT_FOUND for unknown or not yet listed", () =>
    Effect.gen(function* () {
      const s = yield* sim
      const strike = String(Math.round(underlyingOpen("SPY", DAY)!) * 1000).padStart(8, "0")
      const ticker = `O:SPY240306C${strike}`
      const one = yield* get(`${s.url}/v3/reference/options/contracts/${ticker}`)
      expect(one.status).toBe(200)
      expect(one.body.results.ticker).toBe(ticker)
      expect(Object.keys(one.body.results)).toEqual(FIXTURE_KEYS)
      const bare = yield* get(`${s.url}/v3/reference/options/contracts/${ticker.slice(2)}`)
      expect(bare.body.results).toEqual(one.body.results)
      const unknown = yield* get(`${s.url}/v3/reference/options/contracts/O:SPY240306C09999000`)
      expect(unknown.status).toBe(404)
      expect(unknown.body.status).toBe("NOT_FOUND")
      expect(typeof unknown.body.request_id).toBe("string")
      const early = yield* get(`${s.url}/v3/reference/options/contracts/${ticker}?as_of=2024-02-01`)
      expect(early.status).toBe(404)
    })
  )

  it.scopedLive("O: aggregates: the chain's per-second bars over the aggregates endpoint", () =>
    Effect.gen(function* () {
      const s = yield* sim
      const strike = String(Math.round(underlyingOpen("SPY", DAY)!) * 1000).padStart(8, "0")
      const { status, body } = yield* get(
        `${s.url}/v2/aggs/ticker/O:SPY240306P${strike}/range/1/second/${DAY}/${DAY}?limit=50`
      )
      expect(status).toBe(200)
      expect(body.ticker).toBe(`O:SPY240306P${strike}`)
      expect(body.results.length).toBe(50)
      expect(Object.keys(body.results[0]).sort()).toEqual(["c", "h", "l", "n", "o", "t", "v", "vw"])
      // Held back after the sim clock (noon).
      expect(body.results.every((b: Json) => b.t < newYorkTimeToEpochMs(DAY, 12, 0))).toBe(true)
    })
  )
})
