/**
 * news and news_sentiment backfilled end to end through the CLI: `backfill --dataset news --tickers
 * spy` against the simulator's `/v2/reference/news` on loopback, every New York calendar day
 * (weekends included), then the lake (Parquet read back), the SQL tables (PGlite), a rerun that
 * fetches nothing, and a malformed article kept in quarantine with its reason.
 */
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { News, NewsSentiment } from "../../src/domain/News.js"
import { addDays, newYorkTimeToEpochMs } from "../../src/domain/time.js"
import * as MassiveSim from "../../src/sim/MassiveSim.js"
import { articleAt, HOUR_MS, hourSkeletons } from "../../src/sim/newsArticles.js"
import * as NewsRoute from "../../src/sim/newsRoute.js"
import { makeConfigDir, runCli } from "../support/cli.js"
import { filesUnder, readLake, tempDir } from "../support/fixtures.js"

const KEY = "sk-test-news-7a2c"
// Saturday to Monday: news has a day every calendar day.
const FROM = "2024-03-02"
const TO = "2024-03-04"

/** The simulator's articles mentioning `ticker` published on the New York days [from, to], as served now. */
const expectedArticles = (ticker: string, from: string, to: string) => {
  const start = newYorkTimeToEpochMs(from, 0, 0)
  const end = newYorkTimeToEpochMs(addDays(to, 1), 0, 0)
  const out = []
  for (let h = Math.floor(start / HOUR_MS); h * HOUR_MS < end; h++)
    for (const s of hourSkeletons(h))
      if (s.ms >= start && s.ms < end && s.tickers.includes(ticker)) out.push(articleAt(s, Date.now()))
  return out
}

describe("news backfill through the CLI", () => {
  it.scopedLive(
    "backfill --dataset news --tickers spy writes every calendar day's articles and their sentiment to the lake and SQL; a rerun fetches nothing",
    () =>
      Effect.gen(function* () {
        const sim = yield* MassiveSim.make()
        NewsRoute.register(sim)
        const dir = yield* tempDir()
        const configDir = yield* makeConfigDir(dir, { sql: true })
        const dataDir = Path.join(dir, "data")
        const env = { TAPEHOUSE_MASSIVE_URL: sim.url, MASSIVE_API_KEY: KEY, TAPEHOUSE_DATA_DIR: dataDir }
        const args = ["--config-dir", configDir]
        const backfill = ["backfill", "--dataset", "news", "--tickers", "spy", "--from", FROM, "--to", TO]
        const run = yield* runCli([...args, ...backfill], { env })
        expect(run.code, run.stderr).toBe(0)

        const expected = expectedArticles("SPY", FROM, TO)
        expect(expected.length).toBeGreaterThan(20)
        // One partition per New York day, weekend days included, for both datasets.
        const lake = yield* filesUnder(Path.join(dataDir, "lake"))
        const days = [FROM, addDays(FROM, 1), TO]
        expect(lake.filter((f) => f.startsWith("news/"))).toEqual(
          days.map((d) => `news/date=${d}/part-0000.parquet`)
        )
        expect(lake.filter((f) => f.startsWith("news_sentiment/"))).toEqual(
          days.map((d) => `news_sentiment/date=${d}/part-0000.parquet`)
        )

        // Every article once, as the vendor serves it (revisions included), with its lists.
        const rows = yield* readLake(dataDir, News)
        expect(rows.map((r) => r.id).sort()).toEqual(expected.map((a) => a.id).sort())
        const byId = new Map(expected.map((a) => [a.id, a]))
        for (const r of rows) {
          const a = byId.get(r.id)!
          expect(r.title).toBe(a.title)
          expect(r.published_utc).toBe(Date.parse(a.published_utc))
          expect(r.tickers).toEqual(a.tickers)
          expect(r.keywords).toEqual(a.keywords ?? [])
          expect(r.amp_url).toBe(a.amp_url ?? null)
          expect(r.publisher_name).toBe(a.publisher.name)
        }
        // Every insight of those articles, one row per (id, ticker).
        const sentiment = yield* readLake(dataDir, NewsSentiment)
        const insights = expected.flatMap((a) =>
          (a.insights ?? []).map((i) => `${a.id}|${i.ticker}|${i.sentiment}`)
        )
        expect(insights.length).toBeGreaterThan(0)
        expect(sentiment.map((s) => `${s.id}|${s.ticker}|${s.sentiment}`).sort()).toEqual(insights.sort())

        // SQL holds the same rows.
        const sql = (query: string) => runCli([...args, "sql", query], { env })
        const counts = yield* sql(
          "SELECT (SELECT count(*) FROM news) AS articles, (SELECT count(*) FROM news_sentiment) AS insights, (SELECT count(*) FROM news WHERE 'SPY' = ANY(tickers)) AS spy"
        )
        expect(counts.code, counts.stderr).toBe(0)
        expect(counts.stdout).toMatch(
          new RegExp(`^\\s*${rows.length}\\s+${sentiment.length}\\s+${rows.length}\\s*$`, "m")
        )

        // A rerun: every day is done, nothing is asked for again.
        const asked = sim.requests().length
        const again = yield* runCli([...args, ...backfill], { env })
        expect(again.code, again.stderr).toBe(0)
        expect(again.stdout).toContain("already done")
        expect(sim.requests().length).toBe(asked)
      })
  )

  it.scopedLive("news takes --tickers, not --symbols; a stock dataset takes --symbols", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir()
      const configDir = yield* makeConfigDir(dir, { sql: false })
      const env = { MASSIVE_API_KEY: KEY, TAPEHOUSE_DATA_DIR: Path.join(dir, "data") }
      const wrong = yield* runCli(
        [
          "--config-dir",
          configDir,
          "backfill",
          "--dataset",
          "news",
          "--symbols",
          "SPY",
          "--from",
          FROM,
          "--to",
          TO
        ],
        { env }
      )
      expect(wrong.code).toBe(2)
      expect(wrong.stderr).toContain("--symbols does not apply to news")
      const missing = yield* runCli(
        ["--config-dir", configDir, "backfill", "--dataset", "stock_bars_1s", "--from", FROM, "--to", TO],
        { env }
      )
      expect(missing.code).toBe(2)
      expect(missing.stderr).toContain("stock_bars_1s needs --symbols")
    })
  )
})
