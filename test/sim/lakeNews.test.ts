/**
 * `simulate --date D` (serveStoredDay) serves the news stored in the lake for D on
 * `/v2/reference/news`, revealed on the replay's clock: a client polling the REST API during the
 * replay (every page, through `next_url`) sees only the articles published up to the replay's
 * clock, and once the replay is over every stored article of the day, once, as it was stored.
 */
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import type { Dataset } from "../../src/domain/Dataset.js"
import { News, NewsSentiment } from "../../src/domain/News.js"
import { StockBars1s } from "../../src/domain/StockBar.js"
import { addDays, newYorkTimeToEpochMs } from "../../src/domain/time.js"
import { serveStoredDay } from "../../src/sim/lakeBars.js"
import { articleAt, HOUR_MS, hourSkeletons } from "../../src/sim/newsArticles.js"
import { secondBars } from "../../src/sim/syntheticMarket.js"
import { encodeParquet } from "../../src/sinks/parquetCodec.js"
import { NewsArticle } from "../../src/sources/massive/news.js"
import { newsRecord, sentimentRecords } from "../../src/sources/massive/newsRecords.js"
import { tempDir } from "../support/fixtures.js"

const DAY = "2024-03-08"
const dayStart = newYorkTimeToEpochMs(DAY, 0, 0)
const dayEnd = newYorkTimeToEpochMs(addDays(DAY, 1), 0, 0)
const openMs = newYorkTimeToEpochMs(DAY, 9, 30)

/** The day's synthetic SPY articles (their final versions), decoded as a backfill stores them. */
const articles = (() => {
  const out = []
  for (let h = dayStart / HOUR_MS; h < dayEnd / HOUR_MS; h++)
    for (const s of hourSkeletons(h))
      if (s.tickers.includes("SPY"))
        out.push(Schema.decodeUnknownSync(NewsArticle)(articleAt(s, dayEnd + 86_400_000)))
  return out
})()
const stored = articles.map(newsRecord)
const storedInsights = articles.flatMap(sentimentRecords)
const byKey = (
  a: { readonly id: string; readonly ticker?: string },
  b: { readonly id: string; readonly ticker?: string }
) => (`${a.id} ${a.ticker ?? ""}` < `${b.id} ${b.ticker ?? ""}` ? -1 : 1)

const writePartition = <A>(dataDir: string, dataset: Dataset<A>, rows: ReadonlyArray<A>) =>
  Effect.promise(async () => {
    const dir = Path.join(dataDir, "lake", dataset.name, `date=${DAY}`)
    await NodeFs.mkdir(dir, { recursive: true })
    await NodeFs.writeFile(
      Path.join(dir, "part-0000.parquet"),
      encodeParquet(dataset, rows, { compression: "snappy", rowGroupSize: 10_000 })
    )
  })

/** Every article the listing serves now, walking `next_url` (pages of 5). */
const listAll = (restUrl: string, query: string) =>
  Effect.promise(async () => {
    const out: Array<unknown> = []
    let url: string | undefined = `${restUrl}/v2/reference/news?${query}&limit=5&apiKey=k`
    while (url !== undefined) {
      const body = (await fetch(url.includes("apiKey") ? url : `${url}&apiKey=k`).then((r) => r.json())) as {
        results: Array<unknown>
        next_url?: string
      }
      out.push(...body.results)
      url = body.next_url
    }
    return out.map((a) => Schema.decodeUnknownSync(NewsArticle)(a))
  })

describe("simulate serves the day's stored news on the replay's clock", () => {
  it.scopedLive(
    "a poller sees only what was published up to the replay's clock, and at the end every stored article once",
    () =>
      Effect.gen(function* () {
        expect(stored.length).toBeGreaterThan(10)
        expect(stored.some((r) => r.published_utc < openMs)).toBe(true)
        expect(stored.some((r) => r.published_utc > newYorkTimeToEpochMs(DAY, 16, 0))).toBe(true)
        const dataDir = yield* tempDir()
        // A bar a minute is enough for the replay's clock.
        yield* writePartition(
          dataDir,
          StockBars1s,
          secondBars("SPY", DAY).filter((_, i) => i % 60 === 0)
        )
        yield* writePartition(dataDir, News, stored)
        yield* writePartition(dataDir, NewsSentiment, storedInsights)
        const served = yield* serveStoredDay({
          dataDir,
          date: DAY,
          speed: 4000,
          start: "manual",
          apiKeys: ["k"]
        })
        expect(served.newsArticles).toBe(stored.length)
        const query = `ticker=SPY&published_utc.gte=${DAY}&order=asc`
        const publishedBy = (ms: number) => stored.filter((r) => r.published_utc <= ms).map((r) => r.id)

        // Before the replay starts, its clock is the open.
        const atOpen = yield* listAll(served.restUrl, query)
        expect(atOpen.map((a) => a.id)).toEqual(publishedBy(openMs))

        yield* served.socket.start
        const seen: Array<number> = []
        while (!served.socket.isFinished()) {
          const before = served.rest.now()
          const listed = yield* listAll(served.restUrl, query)
          const after = served.rest.now()
          const ids = listed.map((a) => a.id)
          expect(new Set(ids).size).toBe(ids.length)
          for (const a of listed) expect(a.published_utc).toBeLessThanOrEqual(after)
          expect(ids).toEqual(expect.arrayContaining(publishedBy(before)))
          seen.push(listed.length)
          yield* Effect.sleep("150 millis")
        }
        // The articles came out as the clock moved, not all at once.
        expect(seen.some((n) => n > atOpen.length && n < stored.length)).toBe(true)

        // Over: every article of the day, once, as stored (with its insights); nothing from other days.
        const all = yield* listAll(served.restUrl, query)
        expect(all.map(newsRecord)).toEqual(
          [...stored].sort((a, b) => a.published_utc - b.published_utc || (a.id < b.id ? -1 : 1))
        )
        expect(all.flatMap(sentimentRecords).sort(byKey)).toEqual([...storedInsights].sort(byKey))
        const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z")
        expect(yield* listAll(served.restUrl, `ticker=SPY&published_utc.lt=${iso(dayStart)}`)).toEqual([])
        expect(yield* listAll(served.restUrl, `ticker=SPY&published_utc.gte=${iso(dayEnd)}`)).toEqual([])
      }),
    60_000
  )
})
