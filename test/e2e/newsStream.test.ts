/**
 * news streamed through the CLI, as a user runs it: a backfill of the day before, then `stream
 * --dataset news` polling the simulator's `/v2/reference/news` (its clock driven by the test) with
 * overlapping windows, a kill -9 in the middle of polling, a restart that resumes from the stored
 * position, and `stop`. Every article of the two days is in the lake and in SQL exactly once, in
 * its latest version (revisions replace the first version); news_sentiment is written alongside.
 */
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Dataset } from "../../src/domain/Dataset.js"
import { News, NewsSentiment } from "../../src/domain/News.js"
import { addDays, newYorkTimeToEpochMs } from "../../src/domain/time.js"
import * as MassiveSim from "../../src/sim/MassiveSim.js"
import { articleAt, HOUR_MS, hourSkeletons } from "../../src/sim/newsArticles.js"
import * as NewsRoute from "../../src/sim/newsRoute.js"
import { readPartition } from "../../src/sinks/ParquetSink.js"
import { collect, makeConfigDir, runCli, start } from "../support/cli.js"
import { tempDir } from "../support/fixtures.js"

const KEY = "sk-test-news-stream-3f9e"
const DAY = "2024-03-04"
const BEFORE = addDays(DAY, -1)
const ny = (h: number, m = 0) => newYorkTimeToEpochMs(DAY, h, m)

/** The articles mentioning SPY published in [fromMs, toMs), as the simulator serves them at `nowMs`. */
const served = (fromMs: number, toMs: number, nowMs: number) => {
  const out = []
  for (let h = Math.floor(fromMs / HOUR_MS); h * HOUR_MS < toMs; h++)
    for (const s of hourSkeletons(h))
      if (s.ms >= fromMs && s.ms < toMs && s.ms <= nowMs && s.tickers.includes("SPY"))
        out.push(articleAt(s, nowMs))
  return out
}

const waitFor = <A>(what: string, probe: () => Promise<A | undefined>, timeoutMs = 90_000) =>
  Effect.promise(async () => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = await probe()
      if (found !== undefined) return found
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  })

describe("news stream through the CLI", () => {
  it.scopedLive(
    "backfill, then polls with overlapping windows, a kill -9 and a restart: every article once, revisions replace the old version",
    () =>
      Effect.gen(function* () {
        // The vendor's clock: set by the test, and moving on in real time from there (a replay).
        let simBase = ny(10)
        let setAt = Date.now()
        const setSimNow = (ms: number) => {
          simBase = ms
          setAt = Date.now()
        }
        const sim = yield* MassiveSim.make({ now: () => simBase + (Date.now() - setAt) })
        NewsRoute.register(sim)
        const dir = yield* tempDir()
        const configDir = yield* makeConfigDir(dir, {
          sql: true,
          replace: [["settings.yaml", /poll_interval_ms: 300000/, "poll_interval_ms: 1000"]]
        })
        const dataDir = Path.join(dir, "data")
        const env = { TAPEHOUSE_MASSIVE_URL: sim.url, MASSIVE_API_KEY: KEY, TAPEHOUSE_DATA_DIR: dataDir }
        const args = ["--config-dir", configDir]

        const backfill = yield* runCli(
          [...args, "backfill", "--dataset", "news", "--tickers", "SPY", "--from", BEFORE, "--to", BEFORE],
          { env }
        )
        expect(backfill.code, backfill.stderr).toBe(0)

        const positionFile = Path.join(dataDir, "state", "positions", "massive-news.json")
        const latestStored = async () => {
          try {
            return (JSON.parse(await NodeFs.readFile(positionFile, "utf8")) as { latestMs: number }).latestMs
          } catch {
            return undefined
          }
        }
        /** Waits until the stored position has seen the newest SPY article published by `simNow`. */
        const caughtUp = () => {
          const simNow = simBase
          const newest = Math.max(
            ...served(ny(0), simNow + 1, simNow).map((a) => Date.parse(a.published_utc))
          )
          return waitFor(`the position to reach ${new Date(newest).toISOString()}`, async () => {
            const latest = await latestStored()
            return latest !== undefined && latest >= newest ? latest : undefined
          })
        }

        // First run: catches up the day from midnight, then polls while the vendor's clock moves on.
        const first = start([...args, "stream", "--dataset", "news"], { env })
        const firstEnded = collect(first)
        yield* caughtUp()
        setSimNow(ny(11, 30))
        yield* caughtUp()
        // kill -9 in the middle of polling: no drain, no flush, no goodbye.
        first.kill("SIGKILL")
        yield* Effect.promise(() => firstEnded)

        // Later in the day, a restart resumes from the stored position.
        setSimNow(ny(14))
        const second = start([...args, "stream", "--datasets", "news"], { env })
        // Listening from the start: the exit comes while `stop` waits for it.
        const secondEnded = collect(second, 60_000)
        yield* caughtUp()
        const stop = yield* runCli([...args, "stop"], { env })
        expect(stop.code, stop.stderr).toBe(0)
        const ended = yield* Effect.promise(() => secondEnded)
        expect(ended.code, ended.stderr).toBe(0)

        const simNow = sim.now()
        // The lake: the day before (backfilled) and the day so far (streamed), every article once,
        // each in the version served last (a revision made within the poller's window replaces it).
        const expected = [
          ...served(newYorkTimeToEpochMs(BEFORE, 0, 0), ny(0), Date.now()),
          ...served(ny(0), simNow + 1, simNow)
        ]
        const revised = expected.filter(
          (a) => a.title.startsWith("Update: ") && Date.parse(a.published_utc) >= ny(0)
        )
        expect(revised.length).toBeGreaterThan(0)
        // Streamed rows are appended part files until the day's close compacts them; a revision is a
        // later part with the same id, and reading a partition resolves them (last write wins).
        const partitions = <A>(dataset: Dataset<A>) =>
          Effect.map(
            Effect.all([readPartition(dataDir, dataset, BEFORE), readPartition(dataDir, dataset, DAY)]),
            ([a, b]) => [...a, ...b]
          )
        const rows = yield* partitions(News)
        expect(rows.map((r) => r.id).sort()).toEqual(expected.map((a) => a.id).sort())
        const titles = new Map(rows.map((r) => [r.id, r.title]))
        for (const a of expected) expect(titles.get(a.id), a.id).toBe(a.title)
        const sentiment = yield* partitions(NewsSentiment)
        expect(sentiment.map((s) => `${s.id}|${s.ticker}|${s.sentiment}`).sort()).toEqual(
          expected.flatMap((a) => (a.insights ?? []).map((i) => `${a.id}|${i.ticker}|${i.sentiment}`)).sort()
        )

        // SQL: the same rows, once each, revised titles included.
        const sql = yield* runCli(
          [
            ...args,
            "sql",
            "SELECT count(*) AS n, count(DISTINCT id) AS d, count(*) FILTER (WHERE title LIKE 'Update: %') AS u FROM news"
          ],
          { env }
        )
        expect(sql.code, sql.stderr).toBe(0)
        const updates = expected.filter((a) => a.title.startsWith("Update: ")).length
        expect(sql.stdout).toMatch(
          new RegExp(`^\\s*${expected.length}\\s+${expected.length}\\s+${updates}\\s*$`, "m")
        )
      }),
    240_000
  )
})
