/**
 * Performance: how long commits take, and operations that do not end.
 *
 * - `commitDone` times every commit, from its batch's first record received to durable (a backfill
 *   day: first page → sinks and checkpoint; a stream flush: oldest event of the flush → sinks), into
 *   the latency histograms of PipelineMetrics.ts. A commit slower than `commitAlertMs`
 *   (`monitoring.commit_alert_ms`) raises one `slow-commit` alert per episode and source; the next
 *   commit within the bound ends the episode with a `recovered` alert (details `resolves`).
 * - `track` registers an operation (a backfill day, a REST request with its retries, a stream
 *   flush) while it runs. A watchdog fiber checks the registry every `tickIntervalMs` on the Clock
 *   and raises one `stale-operation` alert per operation in progress for longer than `staleAfterMs`
 *   (`monitoring.stale_after_ms`), and a `recovered` alert once that operation has ended.
 *
 * Runners and sources take the service with `current`: where it is not provided (unit tests of a
 * runner) commits still feed the histograms, and nothing is tracked or alerted.
 */
import { Clock, Context, Duration, Effect, Layer, Option, Schedule, type Scope } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { Alerts } from "./Alerts.js"
import * as PipelineMetrics from "./PipelineMetrics.js"

export type OperationKind = "backfill-day" | "fetch" | "flush"

/** One operation in progress. */
export interface Operation {
  readonly id: number
  readonly kind: OperationKind
  /** Who runs it: a stream source ("massive-stocks"), "backfill", "massive-rest". */
  readonly source: string
  /** What it is, for people: "stock_bars_1s 2024-03-05", "GET /v2/aggs/…". */
  readonly label: string
  /** Clock time it started, epoch ms. */
  readonly startedAt: number
}

/** One commit's times (Clock, epoch ms). */
export interface CommitTiming {
  readonly source: string
  readonly dataset: string
  /** What was committed: "2024-03-05", "flush 12". */
  readonly unit: string
  /** When the batch's first record was received. */
  readonly firstRecordAt: number
  /** When the commit began (sinks, checkpoint). */
  readonly commitStartedAt: number
  /** When the batch was durable. */
  readonly durableAt: number
  readonly rows: number
}

export interface PerformanceShape {
  /** Records a commit's latencies; raises `slow-commit` when its batch waited too long (see module). */
  readonly commitDone: (timing: CommitTiming) => Effect.Effect<void>
  /** Runs `self` registered as an operation in progress. */
  readonly track: (
    kind: OperationKind,
    source: string,
    label: string
  ) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** The operations in progress, oldest first. */
  readonly inProgress: () => ReadonlyArray<Operation>
}

export class Performance extends Context.Tag("tapehouse/Performance")<Performance, PerformanceShape>() {}

export interface PerformanceOptions {
  readonly commitAlertMs: number
  readonly staleAfterMs: number
}

const recordLatencies = (t: CommitTiming): void =>
  PipelineMetrics.forDataset(t.dataset).commit(t.durableAt - t.commitStartedAt, t.durableAt - t.firstRecordAt)

/** Histograms only: no registry, no alerts (where the service is not provided). */
export const untracked: PerformanceShape = Performance.of({
  commitDone: (timing) => Effect.sync(() => recordLatencies(timing)),
  track: () => (self) => self,
  inProgress: () => []
})

/** The service in the context, or `untracked`. */
export const current: Effect.Effect<PerformanceShape> = Effect.map(
  Effect.serviceOption(Performance),
  Option.getOrElse(() => untracked)
)

/** The watchdog's period: a quarter of `staleAfterMs`, at most 60 s (at least 1 ms). */
export const tickIntervalMs = (staleAfterMs: number): number =>
  Math.max(1, Math.min(Math.floor(staleAfterMs / 4), 60_000))

const formatMs = (ms: number): string =>
  ms < 120_000 ? `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s` : `${Math.round(ms / 60_000)} min`

/** The service, with its watchdog forked in the current scope. */
export const make = (
  options: PerformanceOptions
): Effect.Effect<PerformanceShape, never, Alerts | Scope.Scope> =>
  Effect.gen(function* () {
    const alerts = yield* Alerts
    const running = new Map<number, Operation>()
    let nextId = 0
    /** Sources in a slow-commit episode: how many slow commits so far, and since when. */
    const slow = new Map<string, { count: number; since: number }>()

    const commitDone = (t: CommitTiming) =>
      Effect.suspend(() => {
        recordLatencies(t)
        const waitedMs = t.durableAt - t.firstRecordAt
        const episode = slow.get(t.source)
        const details = {
          dataset: t.dataset,
          unit: t.unit,
          rows: t.rows,
          arrivalToDurableMs: waitedMs,
          commitMs: t.durableAt - t.commitStartedAt,
          commitAlertMs: options.commitAlertMs
        }
        if (waitedMs > options.commitAlertMs) {
          if (episode !== undefined) {
            episode.count++
            return Effect.void
          }
          slow.set(t.source, { count: 1, since: t.durableAt })
          return alerts.raise({
            kind: "slow-commit",
            source: t.source,
            message: `${t.dataset} ${t.unit} took ${formatMs(waitedMs)} from its first record to durable (the bound is ${formatMs(options.commitAlertMs)}; the commit itself ${formatMs(details.commitMs)})`,
            details
          })
        }
        if (episode === undefined) return Effect.void
        slow.delete(t.source)
        return alerts.raise({
          kind: "recovered",
          source: t.source,
          message: `${t.dataset} commits are within ${formatMs(options.commitAlertMs)} again (${episode.count} slow commit(s) since ${new Date(episode.since).toISOString()})`,
          details: { ...details, resolves: "slow-commit", slowCommits: episode.count }
        })
      })

    const track =
      (kind: OperationKind, source: string, label: string) =>
      <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
        Effect.acquireUseRelease(
          Effect.map(Clock.currentTimeMillis, (startedAt) => {
            const op: Operation = { id: nextId++, kind, source, label, startedAt }
            running.set(op.id, op)
            return op
          }),
          () => self,
          (op) => Effect.sync(() => running.delete(op.id))
        )

    /** Operations alerted as stale and not yet seen ended. */
    const stale = new Map<number, Operation>()
    const tick = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      for (const [id, op] of stale) {
        if (running.has(id)) continue
        stale.delete(id)
        yield* alerts.raise({
          kind: "recovered",
          source: op.source,
          message: `${op.kind} ${op.label} ended after ${formatMs(now - op.startedAt)} or less`,
          details: { resolves: "stale-operation", kind: op.kind, label: op.label }
        })
      }
      for (const op of running.values()) {
        const ageMs = now - op.startedAt
        if (ageMs < options.staleAfterMs || stale.has(op.id)) continue
        stale.set(op.id, op)
        yield* alerts.raise({
          kind: "stale-operation",
          source: op.source,
          message: `${op.kind} ${op.label} has been in progress for ${formatMs(ageMs)} (the bound is ${formatMs(options.staleAfterMs)})`,
          details: {
            kind: op.kind,
            label: op.label,
            startedAt: new Date(op.startedAt).toISOString(),
            ageMs,
            staleAfterMs: options.staleAfterMs
          }
        })
      }
    }).pipe(
      Effect.catchAllDefect((defect) => Effect.logError("stale-operation watchdog tick failed", defect))
    )

    yield* tick.pipe(
      Effect.repeat(Schedule.spaced(Duration.millis(tickIntervalMs(options.staleAfterMs)))),
      Effect.annotateLogs({ monitor: "stale-operation" }),
      Effect.forkScoped
    )

    return Performance.of({
      commitDone,
      track,
      inProgress: () => [...running.values()]
    })
  })

/** The service and its watchdog, for the life of the layer. */
export const layer = (options: PerformanceOptions): Layer.Layer<Performance, never, Alerts> =>
  Layer.scoped(Performance, make(options))

/** `layer` with `monitoring.commit_alert_ms` and `monitoring.stale_after_ms` of `AppConfig`. */
export const Live: Layer.Layer<Performance, never, Alerts | AppConfig> = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) => layer(config.monitoring))
)
