import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Queue, Stream, TestClock } from "effect"
import { articleAt, HOUR_MS, hourSkeletons, type NewsSkeleton } from "../../../src/sim/newsArticles.js"
import type { MassiveRestShape } from "../../../src/sources/massive/MassiveRest.js"
import type { NewsArticle } from "../../../src/sources/massive/news.js"
import * as Poller from "../../../src/sources/massive/newsPoller.js"
import { newsStack } from "../../support/newsSim.js"

const START = Date.UTC(2024, 2, 4, 14, 0) // 2024-03-04T14:00:00Z
const INTERVAL = 300_000
const settings: Poller.NewsPollSettings = { ...Poller.defaultPollSettings, tickers: ["SPY", "QQQ"] }

/** A version as the sink sees it. */
const versionKey = (a: {
  readonly id: string
  readonly title: string
  readonly description?: string | undefined
}) => `${a.id}|${a.title}|${a.description}`

/** The simulator's articles mentioning SPY or QQQ published in [from, to]. */
const truth = (from: number, to: number): Array<NewsSkeleton> => {
  const out: Array<NewsSkeleton> = []
  for (let h = Math.floor(from / HOUR_MS); h <= Math.floor(to / HOUR_MS); h++)
    for (const s of hourSkeletons(h))
      if (s.ms >= from && s.ms <= to && s.tickers.some((t) => t === "SPY" || t === "QQQ")) out.push(s)
  return out
}

/** Polls at START + k·INTERVAL for k in [first, last], from `checkpoint`; every poll's result. */
const pollRun = (
  rest: MassiveRestShape,
  clock: { now: number },
  first: number,
  last: number,
  checkpoint: Poller.NewsCheckpoint
) =>
  Effect.gen(function* () {
    const results: Array<Poller.PollResult> = []
    let cp = checkpoint
    for (let k = first; k <= last; k++) {
      clock.now = START + k * INTERVAL
      const r = yield* Poller.pollOnce(rest, settings, cp)
      results.push(r)
      cp = r.checkpoint
    }
    return results
  })

const emitted = (results: ReadonlyArray<Poller.PollResult>): Array<NewsArticle> =>
  results.flatMap((r) => r.articles)

describe("news poller against the simulator", () => {
  it.scopedLive(
    "overlapping windows: every article once per version, revisions again with their new content",
    () =>
      Effect.gen(function* () {
        const { rest, clock } = yield* newsStack(START)
        const polls = 8 * 12 // eight hours, every five minutes
        const results = yield* pollRun(rest, clock, 0, polls, Poller.initialCheckpoint(START))
        const end = START + polls * INTERVAL
        const out = emitted(results)

        const keys = out.map(versionKey)
        expect(new Set(keys).size).toBe(keys.length)
        // exactly the versions the API showed: each article first as published, then its revision
        const expected = truth(START, end).flatMap((s) => {
          const original = articleAt(s, s.ms)
          const revised =
            s.updatedAtMs !== undefined && s.updatedAtMs <= end ? [articleAt(s, s.updatedAtMs)] : []
          return [original, ...revised]
        })
        expect([...keys].sort()).toEqual(expected.map(versionKey).sort())
        expect(expected.some((a) => a.title.startsWith("Update: "))).toBe(true)

        // each revision comes out at the first poll at or after its time, after its original
        for (const s of truth(START, end).filter(
          (s) => s.updatedAtMs !== undefined && s.updatedAtMs <= end
        )) {
          const poll = results.findIndex((r) =>
            r.articles.some((a) => a.id === s.id && a.title.startsWith("Update: "))
          )
          expect(START + poll * INTERVAL).toBeGreaterThanOrEqual(s.updatedAtMs!)
          expect(START + (poll - 1) * INTERVAL).toBeLessThan(s.updatedAtMs!)
          const first = results.findIndex((r) => r.articles.some((a) => a.id === s.id))
          expect(first).toBeLessThan(poll)
        }
        // a sink replacing by id ends with the latest version of each
        const byId = new Map(out.map((a) => [a.id, a.title]))
        for (const s of truth(START, end)) expect(byId.get(s.id)).toBe(articleAt(s, end).title)

        // the checkpoint stays the size of the window, not of the history
        const last = results[results.length - 1]!.checkpoint
        expect(Object.keys(last.seen).length).toBeLessThan(truth(START, end).length)
        for (const v of Object.values(last.seen))
          expect(v.publishedMs).toBeGreaterThanOrEqual(last.latestMs - settings.revisitWindowMs)
      })
  )

  it.scopedLive("at the checkpoint's instant, ids already seen are dropped and the others come out", () =>
    Effect.gen(function* () {
      // an instant several SPY/QQQ articles share
      const day = truth(START, START + 24 * HOUR_MS)
      const shared = day.find((s, i) => day[i + 1]?.ms === s.ms)!
      const atInstant = day.filter((s) => s.ms === shared.ms)
      expect(atInstant.length).toBeGreaterThan(1)
      const { rest } = yield* newsStack(shared.ms)
      const seenArticle = yield* Effect.map(
        Poller.pollOnce(rest, settings, Poller.initialCheckpoint(shared.ms)),
        (r) => r.articles.find((a) => a.id === shared.id)!
      )
      const checkpoint: Poller.NewsCheckpoint = {
        startMs: shared.ms,
        latestMs: shared.ms,
        seen: { [shared.id]: { publishedMs: shared.ms, fingerprint: Poller.fingerprint(seenArticle) } }
      }
      const r = yield* Poller.pollOnce(rest, settings, checkpoint)
      expect(r.articles.map((a) => a.id).sort()).toEqual(
        atInstant
          .slice(1)
          .map((s) => s.id)
          .sort()
      )
      expect(r.checkpoint.latestMs).toBe(shared.ms)
      expect(Object.keys(r.checkpoint.seen).sort()).toEqual(atInstant.map((s) => s.id).sort())
    })
  )

  it.scopedLive("restarting from a stored checkpoint repeats nothing and loses nothing", () =>
    Effect.gen(function* () {
      const { rest, clock } = yield* newsStack(START)
      const clean = yield* pollRun(rest, clock, 0, 60, Poller.initialCheckpoint(START))
      const before = yield* pollRun(rest, clock, 0, 25, Poller.initialCheckpoint(START))
      // stored as JSON, read back by a new process
      const stored = JSON.parse(
        JSON.stringify(before[before.length - 1]!.checkpoint)
      ) as Poller.NewsCheckpoint
      const after = yield* pollRun(rest, clock, 26, 60, stored)
      expect(emitted([...before, ...after]).map(versionKey)).toEqual(emitted(clean).map(versionKey))
      expect(after[after.length - 1]!.checkpoint).toEqual(clean[clean.length - 1]!.checkpoint)
      // a restart that misses several polls catches up in one
      const late = yield* pollRun(rest, clock, 60, 60, stored)
      expect(late[0]!.articles.map(versionKey).sort()).toEqual(emitted(after).map(versionKey).sort())
    })
  )

  it.scopedLive(
    "a timed poll that runs past the session's end leaves the next day's articles, and its checkpoint before them, to the next capture",
    () =>
      Effect.gen(function* () {
        const { rest, clock } = yield* newsStack(START)
        const end = START + 2 * HOUR_MS // the session's end, as `closeMs`
        clock.now = end + HOUR_MS // the poll was due before the end and ran after it
        const [late] = yield* Poller.polls(rest, settings, Poller.initialCheckpoint(START), end).pipe(
          Stream.take(1),
          Stream.runCollect,
          Effect.map((chunk) => [...chunk])
        )
        const after = truth(end, clock.now - 1)
        expect(after.length).toBeGreaterThan(0)
        expect(late!.articles.map((a) => a.id).sort()).toEqual(
          truth(START, end - 1)
            .map((s) => s.id)
            .sort()
        )
        expect(late!.checkpoint.latestMs).toBeLessThan(end)
        // The next capture, from that checkpoint, takes them: each once, nothing of before again.
        const next = yield* Poller.pollOnce(rest, settings, late!.checkpoint)
        expect(next.articles.map((a) => a.id).sort()).toEqual(after.map((s) => s.id).sort())
      })
  )

  it.scopedLive("a poll rides out a 503 and a truncated page through the client's retries", () =>
    Effect.gen(function* () {
      const { rest, clock, sim } = yield* newsStack(START)
      const clean = yield* pollRun(rest, clock, 0, 0, Poller.initialCheckpoint(START))
      sim.clearRequests()
      sim.faults.inject({ kind: "status", status: 503 }, { path: /^\/v2\/reference\/news/ })
      sim.faults.inject({ kind: "truncated" }, { path: /^\/v2\/reference\/news/ })
      const faulty = yield* pollRun(rest, clock, 0, 0, Poller.initialCheckpoint(START))
      expect(faulty[0]!.articles.map(versionKey)).toEqual(clean[0]!.articles.map(versionKey))
      expect(sim.requests().map((r) => r.fault ?? r.status)).toEqual(["status", "truncated", 200, 200])
    })
  )

  it.scoped(
    "polls every poll_interval_ms on the schedule (TestClock), from the previous poll's checkpoint",
    () =>
      Effect.gen(function* () {
        const { rest, clock, sim } = yield* newsStack(START)
        const expected = yield* pollRun(rest, clock, 0, 6, Poller.initialCheckpoint(START))
        sim.clearRequests()
        clock.now = START
        const queue = yield* Queue.unbounded<Poller.PollResult>()
        const fiber = yield* Poller.polls(rest, settings, Poller.initialCheckpoint(START)).pipe(
          Stream.runForEach((r) => Queue.offer(queue, r)),
          Effect.fork
        )
        const got: Array<Poller.PollResult> = [yield* Queue.take(queue)] // the first poll runs at once
        const requestsPerPoll = sim.requests().length
        expect(requestsPerPoll).toBe(2) // one listing per ticker, one page each
        for (let k = 1; k <= 6; k++) {
          clock.now = START + k * INTERVAL
          yield* TestClock.adjust(INTERVAL - 1)
          yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 30)))
          expect(sim.requests().length).toBe(k * requestsPerPoll) // not yet
          yield* TestClock.adjust(1)
          got.push(yield* Queue.take(queue))
        }
        yield* Fiber.interrupt(fiber)
        expect(got.map((r) => r.articles.map(versionKey))).toEqual(
          expected.map((r) => r.articles.map(versionKey))
        )
        expect(got[6]!.checkpoint).toEqual(expected[6]!.checkpoint)
      })
  )
})

describe("news poller step (pure)", () => {
  const article = (id: string, ms: number, title = "t"): NewsArticle => ({
    id,
    publisher: { name: "P", homepage_url: "h", logo_url: "l" },
    title,
    author: "a",
    published_utc: ms,
    article_url: "u",
    tickers: ["SPY"]
  })

  it("drops what it emitted, re-emits a changed version, forgets what left the window", () => {
    const s = { ...settings, revisitWindowMs: 1000 }
    const a = Poller.advance(
      Poller.initialCheckpoint(0),
      [article("b", 10), article("a", 10), article("c", 5)],
      s
    )
    expect(a.articles.map((x) => x.id)).toEqual(["c", "a", "b"])
    expect(a.checkpoint.latestMs).toBe(10)
    expect(Poller.windowStart(a.checkpoint, s)).toBe(0)
    const b = Poller.advance(a.checkpoint, [article("a", 10), article("b", 10, "new"), article("d", 2000)], s)
    expect(b.articles.map((x) => `${x.id}:${x.title}`)).toEqual(["b:new", "d:t"])
    expect(Object.keys(b.checkpoint.seen)).toEqual(["d"])
    expect(Poller.windowStart(b.checkpoint, s)).toBe(1000)
    // nothing before the start, even inside the window
    const c = Poller.advance(Poller.initialCheckpoint(100), [article("e", 50)], s)
    expect(c.articles).toEqual([])
  })
})
