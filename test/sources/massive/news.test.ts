import { existsSync, readFileSync } from "node:fs"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, Stream } from "effect"
import { HOUR_MS, hourSkeletons } from "../../../src/sim/newsArticles.js"
import * as MassiveRest from "../../../src/sources/massive/MassiveRest.js"
import * as News from "../../../src/sources/massive/news.js"
import { sharedDir } from "../../support/fixtures.js"
import { newsStack } from "../../support/newsSim.js"

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies under test
type Json = any

const FIXTURES = Path.join(sharedDir, "fixtures", "massive")
const haveFixtures = existsSync(FIXTURES)
const fixture = (name: string): Json => JSON.parse(readFileSync(Path.join(FIXTURES, name), "utf8"))
const NFLX = "test_rest__mocks__v2__reference__news&ticker=NFLX.json"
const SPEC = "spec-examples/rest__v2__reference__news.200.example.json"

const leftOf = <A>(e: Either.Either<A, string>): string => {
  if (Either.isRight(e)) throw new Error("expected a decode failure")
  return e.left
}

describe.skipIf(!haveFixtures)("news decoding of the vendor's samples (needs ../shared)", () => {
  it("decodes the vendor's fixture (no keywords or insights) and the spec example (with them)", () => {
    const page = Either.getOrThrow(News.decodePage(fixture(NFLX)))
    expect(page.next).toBeUndefined()
    expect(page.articles).toHaveLength(1)
    const a = page.articles[0]!
    expect(a.id).toBe("JeJEhAVoKaqJ2zF9nzQYMg07UlEeWlis6Dsop33TPQY")
    expect(a.published_utc).toBe(Date.UTC(2022, 3, 28, 17, 8, 0))
    expect(a.publisher.name).toBe("MarketWatch")
    expect(a.tickers).toEqual(["MSFT", "TSN", "NFLX", "AMZN"])
    expect(a.keywords).toBeUndefined()
    expect(a.insights).toBeUndefined()

    const spec = Either.getOrThrow(News.decodePage(fixture(SPEC)))
    // the host (with its :443) is dropped: the next page goes to the configured base URL
    expect(spec.next).toMatch(/^\/v2\/reference\/news\?cursor=eyJ/)
    expect(spec.articles[0]!.insights).toEqual([
      expect.objectContaining({ ticker: "UBS", sentiment: "positive" })
    ])
    expect(spec.articles[0]!.keywords).toEqual(["Federal Reserve", "interest rates", "economic data"])
  })

  it("tolerates members it does not know", () => {
    const body = fixture(NFLX)
    body.results[0].sentiment_score = 0.4
    body.results[0].publisher.twitter = "@mw"
    body.results[0].insights = [{ ticker: "NFLX", sentiment: "neutral", sentiment_reasoning: "r", score: 1 }]
    const page = Either.getOrThrow(News.decodePage(body))
    expect(page.articles[0]!.insights).toEqual([
      { ticker: "NFLX", sentiment: "neutral", sentiment_reasoning: "r" }
    ])
  })

  it("a malformed article is an error naming the article and the field", () => {
    const missing = fixture(NFLX)
    delete missing.results[0].publisher.name
    expect(leftOf(News.decodePage(missing))).toBe(
      "results[0] (id JeJEhAVoKaqJ2zF9nzQYMg07UlEeWlis6Dsop33TPQY): publisher.name: is missing"
    )
    const sentiment = fixture(SPEC)
    sentiment.results[0].insights[0].sentiment = "bullish"
    expect(leftOf(News.decodePage(sentiment))).toMatch(
      /^results\[0\] \(id 8ec6.*\): insights\[0\]\.sentiment: /
    )
    expect(leftOf(News.decodePage(sentiment))).toContain('"bullish"')
    const time = fixture(NFLX)
    time.results[0].published_utc = "2022-04-28 17:08"
    expect(leftOf(News.decodePage(time))).toContain(
      'published_utc: expected an RFC 3339 date-time such as 2024-06-24T18:33:53Z, got "2022-04-28 17:08"'
    )
    const tickers = fixture(NFLX)
    tickers.results[0].tickers = "NFLX"
    expect(leftOf(News.decodePage(tickers))).toMatch(/: tickers: Expected ReadonlyArray<string>/)
    expect(leftOf(News.decodePage({ status: "ERROR" }))).toMatch(/^news envelope: status: /)
  })

  it.effect("through the client, a malformed page ends in VendorDecodeError with that detail", () =>
    Effect.gen(function* () {
      const body = fixture(NFLX)
      body.results[0].title = 42
      const path = News.listingPath({ ticker: "NFLX", since: 0 })
      const rest = yield* MassiveRest.MassiveRest.pipe(
        Effect.provide(MassiveRest.Test({ responses: { [path]: body } }))
      )
      const error = yield* Effect.flip(Stream.runCollect(News.list(rest, { ticker: "NFLX", since: 0 })))
      expect(error._tag).toBe("VendorDecodeError")
      expect(error.message).toContain(
        "results[0] (id JeJEhAVoKaqJ2zF9nzQYMg07UlEeWlis6Dsop33TPQY): title: Expected string"
      )
    })
  )
})

describe("news listing", () => {
  it("asks in whole seconds: gt rounds down and gte up, selecting the same whole-second articles", () => {
    const at = Date.UTC(2024, 2, 4, 6, 15, 0)
    const query = (since: number, inclusive: boolean) =>
      Object.fromEntries(new URLSearchParams(News.listingPath({ since, inclusive }).split("?")[1]))
    expect(query(at, false)).toEqual({
      "published_utc.gt": "2024-03-04T06:15:00Z",
      order: "asc",
      sort: "published_utc",
      limit: "1000"
    })
    expect(query(at, true)["published_utc.gte"]).toBe("2024-03-04T06:15:00Z")
    expect(query(at + 500, false)["published_utc.gt"]).toBe("2024-03-04T06:15:00Z")
    expect(query(at + 500, true)["published_utc.gte"]).toBe("2024-03-04T06:15:01Z")
  })
})

describe("news listing over HTTP (simulator on loopback)", () => {
  it.scopedLive("asks published_utc.gt in ascending order and follows next_url through every page", () =>
    Effect.gen(function* () {
      const day = Date.UTC(2024, 2, 4)
      const { sim, rest } = yield* newsStack(day + 86_400_000)
      const since = day + 6 * HOUR_MS + 15 * 60_000 // on a quarter hour, where articles share a second
      const got = Chunk.toReadonlyArray(
        yield* Stream.runCollect(News.list(rest, { ticker: "SPY", since, limit: 5 }))
      )
      const expected: Array<string> = []
      for (let h = Math.floor(since / HOUR_MS); h < (day + 86_400_000) / HOUR_MS + 1; h++)
        for (const s of hourSkeletons(h))
          if (s.ms > since && s.ms <= day + 86_400_000 && s.tickers.includes("SPY")) expected.push(s.id)
      expect(got.map((a) => a.id)).toEqual(expected)
      expect(got.every((a) => a.tickers.includes("SPY") && a.published_utc > since)).toBe(true)

      const requests = sim.requests()
      // the simulator looks one article ahead: a full last page has no next_url
      expect(requests).toHaveLength(Math.max(1, Math.ceil(expected.length / 5)))
      expect(requests[0]!.query).toEqual({
        ticker: "SPY",
        "published_utc.gt": "2024-03-04T06:15:00Z",
        order: "asc",
        sort: "published_utc",
        limit: "5"
      })
      expect(requests.slice(1).every((r) => Object.keys(r.query).join() === "cursor")).toBe(true)
      expect(requests.every((r) => r.auth === "bearer" && r.status === 200)).toBe(true)

      // inclusive: the articles at exactly `since` too
      const gte = yield* Stream.runCollect(News.list(rest, { ticker: "SPY", since, inclusive: true }))
      expect(Chunk.size(gte)).toBeGreaterThanOrEqual(expected.length)
      expect(Chunk.toReadonlyArray(gte).every((a) => a.published_utc >= since)).toBe(true)
    })
  )
})
