/**
 * Polling Massive news: one poll step as an Effect, and a Stream of polls on a schedule.
 *
 * The API orders by `published_utc` and a revised article keeps its `published_utc`, so a revision
 * never shows up past a "newer than" mark. Each poll therefore re-reads a trailing window:
 * everything published at or after `latestMs - revisitWindowMs` (`published_utc.gte`, ascending,
 * every page), where `latestMs` is the latest `published_utc` seen. The checkpoint keeps, for each
 * article in that window, a fingerprint of the version last emitted; an article comes out when its
 * id is new or its content changed, and is dropped when it is the version already emitted. So:
 *
 * - overlapping reads repeat nothing: articles at exactly `latestMs` (several share a second) and
 *   the rest of the window are in `seen`; `gte` rather than `gt` means an article published in the
 *   same second as the mark but indexed after the previous poll is not lost;
 * - a revision made within `revisitWindowMs` of publication comes out again (the vendor's delay,
 *   and the simulator's `UPDATE_MAX_DELAY_MS` of 3 h, must stay below the window; 6 h by default).
 *   The same window also catches articles the vendor indexes late, up to that delay;
 * - restarting from a stored checkpoint (it is plain JSON) repeats nothing and loses nothing.
 *
 * The checkpoint a poll returns describes what it emitted: store it only after the sinks commit
 * that poll's records. Errors are the REST client's, after its own retries; the stream ends on one.
 */
import { createHash } from "node:crypto"
import { Duration, Effect, Schedule, Stream } from "effect"
import type { MassiveRestError, MassiveRestShape } from "./MassiveRest.js"
import { list, type NewsArticle } from "./news.js"

export interface NewsPollSettings {
  /** Tickers asked for, one listing each (`news.tickers`); an empty list asks for every article. */
  readonly tickers: ReadonlyArray<string>
  /** Time between polls (`news.poll_interval_ms`, default 300 000). */
  readonly pollIntervalMs: number
  /** The trailing window re-read each poll (default 6 h): longer than the vendor's revision delay. */
  readonly revisitWindowMs: number
  /** Articles per page, 1–1000 (default 1000). */
  readonly pageLimit: number
}

export const defaultPollSettings: NewsPollSettings = {
  tickers: ["SPY"],
  pollIntervalMs: 300_000,
  revisitWindowMs: 6 * 3_600_000,
  pageLimit: 1000
}

export interface SeenVersion {
  /** The article's `published_utc`, epoch ms. */
  readonly publishedMs: number
  /** Fingerprint of the version last emitted. */
  readonly fingerprint: string
}

/** Where polling stands; serialisable as JSON. */
export interface NewsCheckpoint {
  /** Nothing published before this instant (epoch ms) is asked for: where the capture starts. */
  readonly startMs: number
  /** The latest `published_utc` seen (epoch ms); `startMs` before any article. */
  readonly latestMs: number
  /**
   * The version emitted of every article published at or after `latestMs - revisitWindowMs`, by
   * id; this includes the ids seen at exactly `latestMs`.
   */
  readonly seen: Readonly<Record<string, SeenVersion>>
}

export const initialCheckpoint = (startMs: number): NewsCheckpoint => ({
  startMs,
  latestMs: startMs,
  seen: {}
})

export interface PollResult {
  /** New articles and new versions of known ones, ascending by (`published_utc`, `id`). */
  readonly articles: ReadonlyArray<NewsArticle>
  /** The checkpoint after this poll's articles. */
  readonly checkpoint: NewsCheckpoint
}

/** Identifies a version: a hash of the decoded article (members the schema does not know excluded). */
export const fingerprint = (article: NewsArticle): string =>
  createHash("sha256").update(JSON.stringify(article)).digest("base64url").slice(0, 22)

const byPublishedThenId = (a: NewsArticle, b: NewsArticle): number =>
  a.published_utc - b.published_utc || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/** The first instant a poll from `checkpoint` reads. */
export const windowStart = (checkpoint: NewsCheckpoint, settings: NewsPollSettings): number =>
  Math.max(checkpoint.startMs, checkpoint.latestMs - settings.revisitWindowMs)

/** What a poll does with what it read: the versions not emitted yet, and the next checkpoint. Pure. */
export const advance = (
  checkpoint: NewsCheckpoint,
  read: ReadonlyArray<NewsArticle>,
  settings: NewsPollSettings
): PollResult => {
  const seen: Record<string, SeenVersion> = { ...checkpoint.seen }
  const articles: Array<NewsArticle> = []
  let latestMs = checkpoint.latestMs
  for (const article of [...read].sort(byPublishedThenId)) {
    if (article.published_utc < checkpoint.startMs) continue
    const print = fingerprint(article)
    if (seen[article.id]?.fingerprint === print) continue
    seen[article.id] = { publishedMs: article.published_utc, fingerprint: print }
    articles.push(article)
    if (article.published_utc > latestMs) latestMs = article.published_utc
  }
  const keepFrom = latestMs - settings.revisitWindowMs
  for (const id of Object.keys(seen)) if (seen[id]!.publishedMs < keepFrom) delete seen[id]
  return { articles, checkpoint: { startMs: checkpoint.startMs, latestMs, seen } }
}

/** Every article in the window, once per id (the last copy read wins), from one listing per ticker. */
const readWindow = (
  rest: MassiveRestShape,
  settings: NewsPollSettings,
  since: number
): Effect.Effect<ReadonlyArray<NewsArticle>, MassiveRestError> => {
  const tickers: ReadonlyArray<string | undefined> =
    settings.tickers.length === 0 ? [undefined] : settings.tickers
  return Effect.map(
    Effect.forEach(tickers, (ticker) =>
      Stream.runCollect(
        list(rest, {
          ...(ticker === undefined ? {} : { ticker }),
          since,
          inclusive: true,
          limit: settings.pageLimit
        })
      )
    ),
    (chunks) => {
      const byId = new Map<string, NewsArticle>()
      for (const chunk of chunks) for (const a of chunk) byId.set(a.id, a)
      return [...byId.values()]
    }
  )
}

/**
 * One poll: read the window from `checkpoint`, return what is new or revised and the next checkpoint.
 * With `untilMs`, articles published at or after it are left for a later capture (a session's last
 * poll: the next day's articles belong to the next day's capture).
 */
export const pollOnce = (
  rest: MassiveRestShape,
  settings: NewsPollSettings,
  checkpoint: NewsCheckpoint,
  untilMs?: number
): Effect.Effect<PollResult, MassiveRestError> =>
  Effect.map(readWindow(rest, settings, windowStart(checkpoint, settings)), (read) =>
    advance(
      checkpoint,
      untilMs === undefined ? read : read.filter((a) => a.published_utc < untilMs),
      settings
    )
  ).pipe(Effect.withSpan("MassiveNews.poll"))

/**
 * Polls now, then `pollIntervalMs` after the previous poll was consumed (a slow sink delays the next
 * poll rather than letting polls pile up), each from the checkpoint the previous one returned. One
 * element per poll, as soon as it ends (its articles may be empty). With `untilMs`, every poll leaves
 * articles published at or after it to a later capture, as `pollOnce` does: a poll that runs past
 * the session's end must not take the next day's articles (nor move the checkpoint past them).
 */
export const polls = (
  rest: MassiveRestShape,
  settings: NewsPollSettings,
  from: NewsCheckpoint,
  untilMs?: number
): Stream.Stream<PollResult, MassiveRestError> =>
  Stream.concat(
    Stream.make(0),
    Stream.fromSchedule(Schedule.spaced(Duration.millis(settings.pollIntervalMs)))
  ).pipe(
    Stream.mapAccumEffect(from, (checkpoint) =>
      Effect.map(
        pollOnce(rest, settings, checkpoint, untilMs),
        (result) => [result.checkpoint, result] as const
      )
    )
  )
