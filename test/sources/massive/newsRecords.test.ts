import { existsSync, readFileSync } from "node:fs"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { articleAt, HOUR_MS, hourSkeletons } from "../../../src/sim/newsArticles.js"
import * as News from "../../../src/sources/massive/news.js"
import * as Records from "../../../src/sources/massive/newsRecords.js"
import { sharedDir } from "../../support/fixtures.js"

const FIXTURES = Path.join(sharedDir, "fixtures", "massive")
const haveFixtures = existsSync(FIXTURES)
const fixtureArticle = (name: string) =>
  Either.getOrThrow(News.decodePage(JSON.parse(readFileSync(Path.join(FIXTURES, name), "utf8")))).articles[0]!

/** A day of simulated articles, decoded as the client decodes them. */
const simDay = Array.from({ length: 24 }, (_, h) => hourSkeletons(Date.UTC(2024, 2, 4) / HOUR_MS + h))
  .flat()
  .map((s) => Either.getOrThrow(News.decodeArticle(JSON.parse(JSON.stringify(articleAt(s, s.ms))))))

describe.skipIf(!haveFixtures)("news records of the vendor's samples (needs ../shared)", () => {
  const NFLX = haveFixtures
    ? fixtureArticle("test_rest__mocks__v2__reference__news&ticker=NFLX.json")
    : undefined!
  const UBS = haveFixtures
    ? fixtureArticle("spec-examples/rest__v2__reference__news.200.example.json")
    : undefined!

  it("an article is one news row; absent optional text is null, absent keywords an empty list", () => {
    expect(Records.newsRecord(NFLX)).toEqual({
      id: "JeJEhAVoKaqJ2zF9nzQYMg07UlEeWlis6Dsop33TPQY",
      published_utc: Date.UTC(2022, 3, 28, 17, 8, 0),
      title: NFLX.title,
      author: "MarketWatch",
      description: NFLX.description,
      article_url: NFLX.article_url,
      amp_url: NFLX.amp_url,
      image_url: "https://images.mktw.net/im-533637/social",
      publisher_name: "MarketWatch",
      publisher_homepage_url: "https://www.marketwatch.com/",
      tickers: ["MSFT", "TSN", "NFLX", "AMZN"],
      keywords: []
    })
    const bare = Records.newsRecord({
      ...NFLX,
      amp_url: undefined,
      image_url: undefined,
      description: undefined
    })
    expect([bare.amp_url, bare.image_url, bare.description]).toEqual([null, null, null])
    expect(Records.newsRecord(UBS).keywords).toEqual(["Federal Reserve", "interest rates", "economic data"])
  })

  it("each insight is one sentiment row keyed (id, ticker); a repeated ticker keeps the later insight", () => {
    expect(Records.sentimentRecords(UBS)).toEqual([
      {
        id: UBS.id,
        ticker: "UBS",
        sentiment: "positive",
        sentiment_reasoning: UBS.insights![0]!.sentiment_reasoning,
        published_utc: Date.UTC(2024, 5, 24, 18, 33, 53)
      }
    ])
    expect(Records.sentimentRecords(NFLX)).toEqual([])
    const twice = {
      ...UBS,
      insights: [
        { ticker: "UBS", sentiment: "positive" as const, sentiment_reasoning: "first" },
        { ticker: "UBS", sentiment: "negative" as const, sentiment_reasoning: "second" }
      ]
    }
    expect(Records.sentimentRecords(twice).map((r) => r.sentiment_reasoning)).toEqual(["second"])
  })

  it("relevance: a mention is enough unless an insight is required", () => {
    expect(Records.recordsOf([NFLX], { tickers: ["NFLX"], requireInsight: false }).news).toHaveLength(1)
    expect(Records.isRelevant(NFLX, { tickers: ["NFLX"], requireInsight: true })).toBe(false)
    expect(Records.isRelevant(UBS, { tickers: ["UBS"], requireInsight: true })).toBe(true)
  })

  it("partitions by the New York date of published_utc", () => {
    expect(Records.partitionDate({ published_utc: Date.UTC(2024, 2, 5, 3, 0) })).toBe("2024-03-04")
    expect(Records.partitionDate({ published_utc: Date.UTC(2024, 2, 5, 5, 0) })).toBe("2024-03-05")
    expect(Records.partitionDate(Records.newsRecord(UBS))).toBe("2024-06-24")
    expect(Records.partitionDate(Records.newsRecord(simDay[0]!))).toBe("2024-03-03")
  })
})

describe("news relevance", () => {
  it("news.tickers keeps articles mentioning one of them (default SPY)", () => {
    expect(Records.defaultRelevance).toEqual({ tickers: ["SPY"], requireInsight: false })
    const kept = Records.recordsOf(simDay, Records.defaultRelevance)
    const mentioning = simDay.filter((a) => a.tickers.includes("SPY"))
    expect(kept.news.map((r) => r.id)).toEqual(mentioning.map((a) => a.id))
    expect(kept.news.length).toBeLessThan(simDay.length)
    // all insights of a kept article, including those for other tickers
    expect(kept.sentiment.length).toBe(mentioning.reduce((n, a) => n + (a.insights?.length ?? 0), 0))
    expect(kept.sentiment.some((s) => s.ticker !== "SPY")).toBe(true)

    const two = Records.recordsOf(simDay, { tickers: ["NFLX", "AAPL"], requireInsight: false })
    expect(two.news.map((r) => r.id)).toEqual(
      simDay.filter((a) => a.tickers.includes("NFLX") || a.tickers.includes("AAPL")).map((a) => a.id)
    )
  })

  it("news.require_insight keeps only articles with an insight for one of those tickers", () => {
    const relevance = { tickers: ["SPY"], requireInsight: true }
    const kept = Records.recordsOf(simDay, relevance)
    const withInsight = simDay.filter((a) => (a.insights ?? []).some((i) => i.ticker === "SPY"))
    expect(kept.news.map((r) => r.id)).toEqual(withInsight.map((a) => a.id))
    // mentioned without an insight for SPY: dropped
    const mentionedOnly = simDay.filter((a) => a.tickers.includes("SPY") && !withInsight.includes(a))
    expect(mentionedOnly.length).toBeGreaterThan(0)
    for (const a of mentionedOnly) expect(Records.isRelevant(a, relevance)).toBe(false)
  })
})
