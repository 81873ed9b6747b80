/**
 * `news` and `news_sentiment` from Massive (`/v2/reference/news`, spec §8): one listing of articles,
 * two datasets. A feed is built over a projection of the relevant articles into a dataset's records
 * (the article itself, or one row per insight), so the two datasets fetch and poll the same way.
 *
 * - REST (backfill, repair): the articles mentioning a ticker published in [from, to), ascending,
 *   every page; an article that does not decode goes to quarantine with its reason.
 * - Live (stream): a poller (newsPoller.ts) every `news.poll_interval_ms`, asking only for what is
 *   newer than its checkpoint (plus the trailing window where revisions appear). It is resumable:
 *   each poll's checkpoint follows its records as a `Position` event, which the runner stores after
 *   the sinks commit them and gives back at the next start. A failed poll is a `Disconnected` event,
 *   and the next one retries from the same checkpoint.
 * - Always open: a unit of work is a New York calendar day, weekends included.
 */
import { Clock, Effect, Schedule, Stream } from "effect"
import { AppConfig } from "../../config/AppConfig.js"
import type { Rejected } from "../../domain/Dataset.js"
import type { LiveCapableFeed } from "../../domain/datasets.js"
import { VendorAuthError } from "../../domain/errors.js"
import type { Feed, SourcePage, VendorError } from "../../runners/Feed.js"
import type { LiveConnection, LiveEvent, LiveFeed } from "../../runners/LiveFeed.js"
import { MassiveRest, type MassiveRestShape } from "./MassiveRest.js"
import { vendorClock } from "./massiveLive.js"
import { listPages, type NewsArticle } from "./news.js"
import { defaultPollSettings, initialCheckpoint, type NewsCheckpoint, pollOnce, polls } from "./newsPoller.js"
import { isRelevant, type NewsRelevance } from "./newsRecords.js"

/** How the articles kept become a dataset's records. */
export interface NewsProjection<A> {
  readonly dataset: Feed<A>["dataset"]
  readonly records: (article: NewsArticle) => ReadonlyArray<A>
  /** The ticker a record is about, for the live side's subject (news: its first ticker). */
  readonly subject: (a: A) => string
}

export interface NewsFeedSettings {
  readonly relevance: NewsRelevance
  readonly pollIntervalMs: number
  readonly pageLimit: number
}

const asRecord = (raw: unknown): Readonly<Record<string, unknown>> =>
  typeof raw === "object" && raw !== null && !Array.isArray(raw)
    ? (raw as Record<string, unknown>)
    : { value: raw }

/** Parses a stored poller checkpoint; undefined when it is not one (a fresh start follows). */
export const parseCheckpoint = (text: string): NewsCheckpoint | undefined => {
  try {
    const c = JSON.parse(text) as Partial<NewsCheckpoint>
    return typeof c.startMs === "number" &&
      typeof c.latestMs === "number" &&
      typeof c.seen === "object" &&
      c.seen !== null
      ? { startMs: c.startMs, latestMs: c.latestMs, seen: c.seen }
      : undefined
  } catch {
    return undefined
  }
}

/** Gives each poll's failure a reconnect-like schedule: capped exponential backoff, forever. */
const retrySchedule = Schedule.exponential("1 second").pipe(
  Schedule.jittered,
  Schedule.union(Schedule.spaced("5 minutes"))
)

export const newsFeed = <A>(
  rest: MassiveRestShape,
  settings: NewsFeedSettings,
  projection: NewsProjection<A>
): LiveCapableFeed<A> => {
  const { relevance } = settings
  const project = (articles: ReadonlyArray<NewsArticle>, tickers: ReadonlyArray<string>): Array<A> => {
    const kept: Array<A> = []
    for (const a of articles)
      if (isRelevant(a, { tickers, requireInsight: relevance.requireInsight }))
        for (const r of projection.records(a)) kept.push(r)
    return kept
  }
  const between = (ticker: string, fromMs: number, toMs: number): Stream.Stream<SourcePage<A>, VendorError> =>
    listPages(rest, {
      ticker,
      since: fromMs,
      inclusive: true,
      until: toMs,
      limit: settings.pageLimit
    }).pipe(
      Stream.map((page): SourcePage<A> => {
        const inWindow = page.articles.filter((a) => a.published_utc >= fromMs && a.published_utc < toMs)
        const rejected: Array<Rejected> = page.rejected.map((r) => ({
          record: asRecord(r.raw),
          reason: `malformed article: ${r.reason}`
        }))
        return { records: project(inWindow, [ticker]), rejected }
      })
    )

  const connection = (
    subjects: ReadonlyArray<string>,
    resume:
      | {
          readonly session: { readonly openMs: number; readonly closeMs: number }
          readonly position: string | undefined
        }
      | undefined
  ): LiveConnection<A> => {
    const pollSettings = {
      ...defaultPollSettings,
      tickers: subjects,
      pollIntervalMs: settings.pollIntervalMs,
      pageLimit: settings.pageLimit
    }
    /** Where to start from `position` (a stored checkpoint), else from the session's open (or now). */
    const startFrom = (position: string | undefined) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const stored = position === undefined ? undefined : parseCheckpoint(position)
        return stored ?? initialCheckpoint(resume?.session.openMs ?? now)
      })
    const events = Stream.unwrap(
      Effect.gen(function* () {
        let checkpoint = yield* startFrom(resume?.position)
        let attempt = 0
        // One run of polls from the latest checkpoint; a failure ends it with a `Disconnected`.
        const run = Stream.suspend(() => {
          attempt++
          const connected: LiveEvent<A> = { _tag: "Connected", at: Date.now(), attempt }
          return Stream.concat(
            Stream.make(connected),
            // The session's end bounds every poll: the next day's articles are the next capture's.
            polls(rest, pollSettings, checkpoint, resume?.session.closeMs).pipe(
              Stream.mapConcat((poll): ReadonlyArray<LiveEvent<A>> => {
                checkpoint = poll.checkpoint
                const position: LiveEvent<A> = { _tag: "Position", position: JSON.stringify(poll.checkpoint) }
                const records = project(poll.articles, subjects)
                return records.length === 0
                  ? [position]
                  : [{ _tag: "Records", records, receivedAt: Date.now() }, position]
              }),
              // A refused key fails for good; anything else is retried from the same checkpoint.
              Stream.catchAll((error) =>
                error instanceof VendorAuthError
                  ? Stream.fail(error)
                  : Stream.succeed<LiveEvent<A>>({
                      _tag: "Disconnected",
                      at: Date.now(),
                      reason: error.message
                    })
              )
            )
          )
        })
        return run.pipe(
          // A run ends only after a failed poll: poll again after a backoff, from where it stood.
          Stream.repeat(retrySchedule)
        )
      })
    )
    const closingPoll = (position: string | undefined) =>
      Effect.gen(function* () {
        const poll = yield* pollOnce(rest, pollSettings, yield* startFrom(position), resume?.session.closeMs)
        const records = project(poll.articles, subjects)
        const out: Array<LiveEvent<A>> = []
        if (records.length > 0) out.push({ _tag: "Records", records, receivedAt: Date.now() })
        out.push({ _tag: "Position", position: JSON.stringify(poll.checkpoint) })
        return out
      })
    return { id: "news", instruments: subjects, events, closingPoll }
  }

  const live: LiveFeed<A> = {
    resumable: true,
    connect: (subjects, resume) => [connection(subjects, resume)],
    decodeFrames: () => [],
    warmUp: () => Promise.resolve(),
    subject: projection.subject,
    vendorClock: vendorClock(rest)
  }
  return {
    dataset: projection.dataset,
    vendor: "Massive",
    sessionPolicy: "always-open",
    fetchDay: (ticker, session) => between(ticker, session.openMs, session.closeMs),
    fetchWindow: (tickers, _session, fromMs, toMs) =>
      Stream.fromIterable(tickers).pipe(Stream.flatMap((ticker) => between(ticker, fromMs, toMs))),
    live
  }
}

/** The feed of `projection` with the configured relevance and poll interval. */
export const makeFor = <A>(
  projection: NewsProjection<A>
): Effect.Effect<LiveCapableFeed<A>, never, MassiveRest | AppConfig> =>
  Effect.gen(function* () {
    const rest = yield* MassiveRest
    const config = yield* AppConfig
    return newsFeed(
      rest,
      {
        relevance: { tickers: config.news.tickers, requireInsight: config.news.requireInsight },
        pollIntervalMs: config.news.pollIntervalMs,
        pageLimit: Math.min(1000, config.massive.pageLimit)
      },
      projection
    )
  })
