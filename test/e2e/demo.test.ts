/**
 * `npm start` (`tapehouse demo`) end to end, as a newcomer runs it: the shipped config, the
 * embedded Postgres, the built-in simulator. It backfills five days (the option bars: the last),
 * streams a replay of the last one of all four streamed datasets in one set (bars and the option
 * chain over WebSocket, news polled from the replay) and reconciles each; a second run fetches
 * nothing and leaves the lake as it was.
 */
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { IndexBars1s } from "../../src/domain/IndexBar.js"
import { News, NewsSentiment } from "../../src/domain/News.js"
import { OptionBars1s } from "../../src/domain/OptionBar.js"
import { StockBars1s } from "../../src/domain/StockBar.js"
import { newYorkTimeToEpochMs } from "../../src/domain/time.js"
import { indexSecondBars } from "../../src/sim/syntheticIndices.js"
import { secondBars } from "../../src/sim/syntheticMarket.js"
import { makeConfigDir, runCli } from "../support/cli.js"
import { lakeSnapshot, readLake, tempDir } from "../support/fixtures.js"

const DAYS = ["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08"]
const openMs = newYorkTimeToEpochMs("2024-03-08", 9, 30)
const dayStartMs = newYorkTimeToEpochMs("2024-03-08", 0, 0)
const occurrences = (text: string, part: string) => text.split(part).length - 1

describe("tapehouse demo (npm start)", () => {
  it.scopedLive(
    "backfills, streams the replay of the last day through the live path, reconciles it; logs each line once; a rerun changes nothing",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir()
        const configDir = yield* makeConfigDir(dir)
        const dataDir = Path.join(dir, "data")
        const args = ["--config-dir", configDir, "--data-dir", dataDir, "demo"]
        const first = yield* runCli(args, { timeoutMs: 480_000 })
        expect(first.code, first.stderr).toBe(0)
        const streamedBars = secondBars("SPY", "2024-03-08").length
        expect(first.stdout).toMatch(/this run {5}5 day\(s\) fetched, [\d,]+ rows/)
        expect(first.stdout).toContain(
          `stream       replay of 2024-03-08: ${streamedBars.toLocaleString("en-US")} bars over WebSocket`
        )
        expect(first.stdout).toContain("reconciled through REST: verified")
        expect(first.stdout).toContain("dataset      index_bars_1s I:VIX")
        // The tracked contracts and the news are backfilled for the week too.
        expect(first.stdout).toMatch(
          /dataset {6}option_contracts SPY\nthis run {5}5 day\(s\) fetched, [1-9][\d,]* rows/
        )
        expect(first.stdout).toMatch(/dataset {6}news SPY\nthis run {5}5 day\(s\) fetched, [1-9][\d,]* rows/)
        expect(first.stdout).toMatch(
          /dataset {6}option_bars_1s SPY\nthis run {5}1 day\(s\) fetched, [1-9][\d,]* rows/
        )

        // The replay of the last day: all four streamed in one set, each reconciled at its close with
        // nothing missing, extra or changed in the columns it carries ("verified").
        const streamLine = (dataset: string) =>
          new RegExp(`dataset {6}${dataset} [^\\n]*\\n(?:[^\\n]*\\n)*?stream {7}([^\\n]*)`).exec(
            first.stdout
          )?.[1] ?? ""
        const count = (line: string, unit: string) =>
          Number(new RegExp(`: ([\\d,]+) ${unit}`).exec(line)?.[1]?.replaceAll(",", "") ?? Number.NaN)
        for (const d of ["stock_bars_1s", "index_bars_1s", "option_bars_1s", "news", "news_sentiment"])
          expect(streamLine(d), d).toMatch(/^replay of 2024-03-08: .*reconciled through REST: verified$/)
        // Options: discovered from SPY's op at the replayed open; streamed over /options, the first
        // second (sent before the chain subscribed) repaired through REST: together, the backfill.
        const optionBars = (yield* readLake(dataDir, OptionBars1s)).filter((b) => b.ts >= openMs)
        const options = streamLine("option_bars_1s")
        const repaired = Number(
          /([\d,]+) rows repaired through REST/.exec(options)?.[1]?.replaceAll(",", "") ?? 0
        )
        expect(count(options, "bars over WebSocket")).toBeGreaterThan(optionBars.length / 2)
        expect(count(options, "bars over WebSocket") + repaired).toBe(optionBars.length)
        expect(first.stderr).toMatch(
          /contract\(s\) within the band around the open [\d.]+ \(op of the live stocks feed\)/
        )
        // News: polled from the replay as the clock revealed it; each stored article of the day once.
        const news = (yield* readLake(dataDir, News)).filter((a) => a.published_utc >= dayStartMs)
        const insights = (yield* readLake(dataDir, NewsSentiment)).filter(
          (a) => a.published_utc >= dayStartMs
        )
        expect(news.length).toBeGreaterThan(0)
        expect(count(streamLine("news"), "articles polled over REST")).toBe(news.length)
        expect(count(streamLine("news_sentiment"), "insights polled over REST")).toBe(insights.length)
        expect(first.stdout).toContain(
          `stream       replay of 2024-03-08: ${indexSecondBars("I:VIX", "2024-03-08").length.toLocaleString("en-US")} bars over WebSocket`
        )
        // One logger for the whole demo: the stream's lines are not written twice.
        // Each of the five datasets' streams reads the vendor's clock once.
        expect(occurrences(first.stderr, "the vendor's clock is a replay of 2024-03-08")).toBe(5)
        expect(occurrences(first.stderr, "streaming stock_bars_1s SPY for the 2024-03-08 session")).toBe(1)
        expect(occurrences(first.stderr, "stock_bars_1s 2024-03-08 committed")).toBe(1)
        // The end of the session consolidated the replayed day, and a few of its rows are shown.
        expect(first.stdout).toMatch(
          /\nconsolidated SPY 2024-03-08: options_enriched_1s [1-9][\d,]* rows, underlying_features_1s 23,400 rows\n/
        )
        expect(first.stdout).toContain("options_enriched_1s at 2024-03-08T")
        // SPXW greeks from the ThetaData simulator: two expirations of 10 strikes × 2 rights × 390 minutes.
        expect(first.stdout).toContain(
          "days: 1 downloaded, 0 failed, 0 skipped (done before); expirations: 2 committed, 0 no data, 0 failed, 0 skipped; 15,600 rows"
        )
        // The follow-ups it prints run on the same data dir and config.
        const tapehouse = `npx tapehouse --data-dir ${dataDir} --config-dir ${configDir}`
        expect(first.stdout).toContain(`  ${tapehouse} sql "SELECT symbol,`)
        expect(first.stdout).toContain(`State of every day: ${tapehouse} status`)

        const lake = yield* readLake(dataDir, StockBars1s)
        expect(lake).toHaveLength(DAYS.reduce((n, d) => n + secondBars("SPY", d).length, 0))
        const vix = yield* readLake(dataDir, IndexBars1s)
        expect(vix).toHaveLength(DAYS.reduce((n, d) => n + indexSecondBars("I:VIX", d).length, 0))
        const before = yield* lakeSnapshot(dataDir)

        const second = yield* runCli(args, { timeoutMs: 480_000 })
        expect(second.code, second.stderr).toBe(0)
        expect(second.stdout).toContain(
          `nothing fetched: all 5 day(s) were already done (${DAYS.join(", ")})`
        )
        expect(second.stdout).toContain("reconciled through REST: verified")
        // The news capture resumed from where the first run's stopped: nothing new to capture.
        expect(second.stdout).toContain("replay of 2024-03-08: 0 articles polled over REST")
        expect(yield* lakeSnapshot(dataDir)).toEqual(before)
      }),
    960_000
  )
})
