import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as MassiveSim from "../../src/sim/MassiveSim.js"
import {
  articleAt,
  HOUR_MS,
  hourSkeletons,
  NEWS_TICKERS,
  type NewsArticleWire,
  UPDATE_MAX_DELAY_MS
} from "../../src/sim/newsArticles.js"
import * as NewsRoute from "../../src/sim/newsRoute.js"

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies under test
type Json = any

const DAY = Date.UTC(2024, 2, 4) // 2024-03-04T00:00:00Z
const KEY = { Authorization: "Bearer test-key" }

const getJson = (url: string) =>
  Effect.promise(async () => {
    const res = await fetch(url, { headers: KEY })
    return { status: res.status, body: (await res.json()) as Json }
  })

/** A simulator with news on a clock the test sets. */
const newsSim = (start: number) =>
  Effect.gen(function* () {
    const clock = { now: start }
    const sim = yield* MassiveSim.make({ now: () => clock.now })
    NewsRoute.register(sim)
    return { sim, clock }
  })

/** Every article of a walk through `next_url`, and how many pages it took. */
const walk = (first: string) =>
  Effect.gen(function* () {
    const articles: Array<NewsArticleWire> = []
    const nextUrls: Array<string> = []
    let url: string | undefined = first
    while (url !== undefined) {
      const { status, body }: { status: number; body: Json } = yield* getJson(url)
      expect(status).toBe(200)
      articles.push(...body.results)
      url = body.next_url
      if (url !== undefined) nextUrls.push(url)
    }
    return { articles, nextUrls }
  })

const iso = (ms: number) => new Date(ms).toISOString()

describe("simulated news articles", () => {
  it("are deterministic, a few per hour per ticker, with every field of the vendor's shape", () => {
    const day = Array.from({ length: 24 }, (_, h) => hourSkeletons(DAY / HOUR_MS + h)).flat()
    expect(hourSkeletons(DAY / HOUR_MS + 5)).toEqual(hourSkeletons(DAY / HOUR_MS + 5))
    const perTickerHour = day.length / 24 / NEWS_TICKERS.length
    expect(perTickerHour).toBeGreaterThan(1)
    expect(perTickerHour).toBeLessThan(2.5)
    expect(new Set(day.map((s) => s.id)).size).toBe(day.length)
    // several articles share one second: the checkpoint boundary case
    expect(new Set(day.map((s) => s.ms)).size).toBeLessThan(day.length)
    expect(day.some((s) => s.tickers.length > 1)).toBe(true)

    const articles = day.map((s) => articleAt(s, s.ms))
    for (const a of articles) {
      expect(a.id).toMatch(/^[0-9a-f]{64}$/)
      expect(a.published_utc).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/)
      expect(Object.keys(a.publisher)).toEqual(expect.arrayContaining(["name", "homepage_url", "logo_url"]))
      for (const i of a.insights ?? []) {
        expect(a.tickers).toContain(i.ticker)
        expect(["positive", "neutral", "negative"]).toContain(i.sentiment)
        expect(i.sentiment_reasoning.length).toBeGreaterThan(0)
      }
    }
    expect(articles.some((a) => a.amp_url === undefined)).toBe(true)
    expect(articles.some((a) => a.keywords === undefined)).toBe(true)
    expect(articles.some((a) => a.publisher.favicon_url !== undefined)).toBe(true)
    expect(articles.some((a) => a.insights === undefined)).toBe(true)
    // insights for some, not all, of an article's tickers
    expect(articles.some((a) => a.tickers.length > 1 && (a.insights?.length ?? 0) === 1)).toBe(true)
  })

  it("some are revised once, later, under the same id and published_utc", () => {
    const day = Array.from({ length: 24 }, (_, h) => hourSkeletons(DAY / HOUR_MS + h)).flat()
    const revised = day.filter((s) => s.updatedAtMs !== undefined)
    expect(revised.length).toBeGreaterThan(day.length / 10)
    expect(revised.length).toBeLessThan(day.length / 3)
    for (const s of revised) {
      const at = s.updatedAtMs!
      expect(at).toBeGreaterThan(s.ms)
      expect(at - s.ms).toBeLessThanOrEqual(UPDATE_MAX_DELAY_MS)
      const before = articleAt(s, at - 1)
      const after = articleAt(s, at)
      expect(after.id).toBe(before.id)
      expect(after.published_utc).toBe(before.published_utc)
      expect(after.title).toBe(`Update: ${before.title}`)
      expect(after.description).not.toBe(before.description)
    }
  })
})

describe("GET /v2/reference/news on the simulator", () => {
  it.scopedLive("filters by ticker and published_utc, orders asc/desc, limit 10 by default", () =>
    Effect.gen(function* () {
      const { sim } = yield* newsSim(DAY + 3 * 86_400_000)
      const from = DAY + 2 * HOUR_MS
      const to = DAY + 20 * HOUR_MS
      const base = `${sim.url}/v2/reference/news?ticker=QQQ&published_utc.gte=${iso(from)}&published_utc.lt=${iso(to)}`

      const byDefault = yield* getJson(base)
      expect(byDefault.status).toBe(200)
      expect(byDefault.body.status).toBe("OK")
      expect(byDefault.body.results).toHaveLength(10)
      expect(byDefault.body.count).toBe(10)
      expect(typeof byDefault.body.request_id).toBe("string")

      const asc = (yield* getJson(`${base}&order=asc&limit=1000`)).body.results as Array<NewsArticleWire>
      const expected = Array.from({ length: 18 }, (_, h) => hourSkeletons(from / HOUR_MS + h))
        .flat()
        .filter((s) => s.tickers.includes("QQQ"))
      expect(asc.map((a) => a.id)).toEqual(expected.map((s) => s.id))
      for (const a of asc) {
        expect(a.tickers).toContain("QQQ")
        expect(Date.parse(a.published_utc)).toBeGreaterThanOrEqual(from)
        expect(Date.parse(a.published_utc)).toBeLessThan(to)
      }
      const desc = (yield* getJson(`${base}&order=desc&limit=1000`)).body.results as Array<NewsArticleWire>
      expect(desc.map((a) => a.id)).toEqual(asc.map((a) => a.id).reverse())

      // gt/lte at an instant, and a plain date as its whole UTC day
      const at = Date.parse(asc[3]!.published_utc)
      const gt = (yield* getJson(`${base}&order=asc&limit=1000&published_utc.gt=${iso(at)}`)).body.results
      expect(gt.every((a: NewsArticleWire) => Date.parse(a.published_utc) > at)).toBe(true)
      const lte = (yield* getJson(`${base}&order=asc&limit=1000&published_utc.lte=${iso(at)}`)).body.results
      expect(lte.length + gt.length).toBe(asc.length)
      const day = (yield* getJson(
        `${sim.url}/v2/reference/news?published_utc=2024-03-04&order=asc&limit=1000`
      )).body.results as Array<NewsArticleWire>
      expect(day[0]!.published_utc.slice(0, 10)).toBe("2024-03-04")
      expect(day[day.length - 1]!.published_utc.slice(0, 10)).toBe("2024-03-04")

      for (const bad of ["limit=1001", "limit=0", "order=up", "sort=title", "published_utc.gte=yesterday"]) {
        const r = yield* getJson(`${sim.url}/v2/reference/news?${bad}`)
        expect(r.status).toBe(400)
        expect(r.body.status).toBe("ERROR")
        expect(r.body.error).toMatch(/Invalid/)
      }
    })
  )

  it.scopedLive("next_url walks every page exactly once, on the simulator's origin, with only a cursor", () =>
    Effect.gen(function* () {
      const { sim } = yield* newsSim(DAY + 86_400_000)
      const query = `published_utc.gte=2024-03-04T00:00:00Z&published_utc.lt=2024-03-05T00:00:00Z&limit=1000`
      const all = (yield* getJson(`${sim.url}/v2/reference/news?${query}&order=asc`)).body
      expect(all.next_url).toBeUndefined()
      const ids = (all.results as Array<NewsArticleWire>).map((a) => a.id)
      expect(ids.length).toBeGreaterThan(200)

      for (const order of ["asc", "desc"]) {
        const paged = yield* walk(`${sim.url}/v2/reference/news?${query.replace("1000", "7")}&order=${order}`)
        expect(paged.articles.map((a) => a.id)).toEqual(order === "asc" ? ids : [...ids].reverse())
        expect(paged.nextUrls).toHaveLength(Math.ceil(ids.length / 7) - 1)
        for (const next of paged.nextUrls) {
          const url = new URL(next)
          expect(url.origin).toBe(sim.url)
          expect([...url.searchParams.keys()]).toEqual(["cursor"])
        }
      }
      expect(
        sim
          .requests()
          .every((r) => r.path === "/v2/reference/news" && r.status === 200 && !("apiKey" in r.query))
      ).toBe(true)

      const broken = yield* getJson(`${sim.url}/v2/reference/news?cursor=not-a-cursor`)
      expect(broken.status).toBe(400)
    })
  )

  it.scopedLive("hides articles published after the clock; a walk whose clock moves sees each once", () =>
    Effect.gen(function* () {
      const noon = DAY + 12 * HOUR_MS
      const { sim, clock } = yield* newsSim(noon)
      const url = `${sim.url}/v2/reference/news?published_utc.gte=2024-03-04&order=asc&limit=1000`
      const before = (yield* getJson(url)).body.results as Array<NewsArticleWire>
      expect(before.length).toBeGreaterThan(0)
      expect(Math.max(...before.map((a) => Date.parse(a.published_utc)))).toBeLessThanOrEqual(noon)
      const latest = (yield* getJson(`${sim.url}/v2/reference/news?ticker=SPY`)).body.results
      expect(Date.parse(latest[0].published_utc)).toBeLessThanOrEqual(noon)

      clock.now = noon + 2 * HOUR_MS
      const after = (yield* getJson(url)).body.results as Array<NewsArticleWire>
      expect(after.length).toBeGreaterThan(before.length)
      expect(after.slice(0, before.length).map((a) => a.id)).toEqual(before.map((a) => a.id))

      // the clock moves between pages: the walk ends with the newer articles, none twice
      clock.now = noon
      const first = (yield* getJson(url.replace("limit=1000", "limit=50"))).body
      clock.now = noon + 2 * HOUR_MS
      const rest = yield* walk(first.next_url)
      const ids = [...first.results, ...rest.articles].map((a: NewsArticleWire) => a.id)
      expect(ids).toEqual(after.map((a) => a.id))
    })
  )

  it.scopedLive("re-serves a revised article with its new title once the clock passes the revision", () =>
    Effect.gen(function* () {
      const revised = Array.from({ length: 24 }, (_, h) => hourSkeletons(DAY / HOUR_MS + h))
        .flat()
        .find((s) => s.updatedAtMs !== undefined)!
      const { sim, clock } = yield* newsSim(revised.updatedAtMs! - 1000)
      const url = `${sim.url}/v2/reference/news?published_utc=${iso(revised.ms)}&limit=1000`
      const find = (results: Array<NewsArticleWire>) => results.find((a) => a.id === revised.id)!
      const old = find((yield* getJson(url)).body.results)
      expect(old.title.startsWith("Update: ")).toBe(false)
      clock.now = revised.updatedAtMs!
      const fresh = find((yield* getJson(url)).body.results)
      expect(fresh.title).toBe(`Update: ${old.title}`)
      expect(fresh.published_utc).toBe(old.published_utc)
    })
  )
})
