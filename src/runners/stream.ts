/**
 * The stream runner: capture one dataset's live feed during its session, for any feed. Its stages,
 * in the order a record meets them:
 *
 *   1. sessionClock.ts  the session, market time (a replay's clock), the wait for the open;
 *   2. producer.ts      every connection of the feed → the dataset's bounded queue (spills, never drops);
 *   3. flushLoop.ts     flushes planned so a message is durable within flush_interval;
 *   4. batch.ts         late data → validate → dedupe → sinks (append); gaps repaired through REST;
 *   5. closeOut.ts      at the close: reconcile the session through REST, or compact the day.
 *
 * A stream started inside the session repairs what an earlier capture of the day missed (or what
 * came before its first record) as gaps. Interrupting it (Ctrl-C, SIGTERM, `tapehouse stop`) drains
 * what was received and flushes every sink before returning. Every schedule runs on Effect's Clock.
 */
import * as Path from "node:path"
import { Clock, Effect, Fiber } from "effect"
import { MarketCalendar } from "../calendar/MarketCalendar.js"
import { calendarOf } from "../calendar/sessionPolicy.js"
import { AppConfig } from "../config/AppConfig.js"
import type { ContinuityRow } from "../domain/Continuity.js"
import { Alerts } from "../monitor/Alerts.js"
import * as Heartbeat from "../monitor/Heartbeat.js"
import * as Performance from "../monitor/Performance.js"
import * as PipelineMetrics from "../monitor/PipelineMetrics.js"
import * as StallMonitor from "../monitor/StallMonitor.js"
import { makeStreamStats, type StreamStats, setConnection } from "../monitor/StreamStats.js"
import { Checkpoints, type DayEntry, dayKey } from "../pipeline/Checkpoints.js"
import { makeDeduplicator } from "../pipeline/dedupe.js"
import { makeLateDataFilter } from "../pipeline/lateData.js"
import * as SpillQueue from "../pipeline/SpillQueue.js"
import { recoverStaged } from "../pipeline/stagedCommit.js"
import { makeValidator } from "../pipeline/validate.js"
import { readPartition } from "../sinks/compact.js"
import { Quarantine } from "../sinks/Quarantine.js"
import { Sinks } from "../sinks/Sink.js"
import type { Feed, VendorError } from "./Feed.js"
import * as FlushPlanner from "./flushPlanner.js"
import { gapsAtStart, makeGapTracker, noGaps } from "./gaps.js"
import type { LiveFeed } from "./LiveFeed.js"
import * as MarketTime from "./marketTime.js"
import * as SpillCodec from "./spillCodec.js"
import * as Batch from "./stream/batch.js"
import * as CloseOut from "./stream/closeOut.js"
import { type StreamContext, weightOf } from "./stream/context.js"
import * as FlushLoop from "./stream/flushLoop.js"
import * as Frames from "./stream/frames.js"
import * as Positions from "./stream/positions.js"
import * as Producer from "./stream/producer.js"
import { awaitSession } from "./stream/sessionClock.js"

export { CLOSE_GRACE_MS, currentOrNextSession } from "./stream/sessionClock.js"

export interface StreamRequest {
  /** The instruments to capture (values of the dataset's subject: SPY, I:VIX, O:…). */
  readonly instruments: ReadonlyArray<string>
  /** Names the heartbeat, spill folder and pid file. */
  readonly source: string
  /** Fetch the session through REST at the close and replace the day with it (default true). */
  readonly reconcile: boolean
  /** Opens the spill queue's segment files; default the real file system (tests inject a full disk). */
  readonly openSpillFile?: SpillQueue.OpenSpillFile
}

export interface StreamReport {
  readonly session: string
  readonly stats: StreamStats
  readonly continuity: ReadonlyArray<ContinuityRow>
  /** Why it stopped: the close (an interruption ends the effect instead, after flushing). */
  readonly stoppedBy: "close"
  /** Market time when capture stopped, epoch ms. */
  readonly stoppedAt: number
}

const VENDOR_ERRORS: ReadonlySet<string> = new Set([
  "VendorAuthError",
  "VendorRequestError",
  "VendorDecodeError"
])
const isVendorError = (e: { readonly _tag: string }): e is VendorError => VENDOR_ERRORS.has(e._tag)

/** How long a shutdown drains the queue before leaving the rest in the spill (it must exit within 10 s). */
const DRAIN_TIME_MS = 8000

/** A few names, then how many more: an option chain's gap names a hundred contracts. */
const briefList = (names: ReadonlyArray<string>, shown = 4): string =>
  names.length <= shown
    ? names.join(",")
    : `${names.slice(0, shown).join(",")} and ${names.length - shown} more (${names.length})`

export const run = <A>(
  feed: Feed<A> & { readonly live: LiveFeed<A> },
  request: StreamRequest,
  onTick: (stats: StreamStats) => void = () => {}
) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    const calendar = calendarOf(feed.sessionPolicy, yield* MarketCalendar)
    const sinks = yield* Sinks
    const quarantine = yield* Quarantine
    const alerts = yield* Alerts
    const checkpoints = yield* Checkpoints
    const { dataset, live } = feed
    const startedAt = yield* Clock.currentTimeMillis
    const stats = makeStreamStats(request.source)
    const instruments = request.instruments
    // The frame decoder starts now (it takes about a second), while the session is looked up.
    const decoderReady = live.warmUp()

    // 1. The session.
    const { clock, session, stopAt, openedAt } = yield* awaitSession(calendar, live.vendorClock, () =>
      setConnection(stats, "waiting-for-open")
    )
    // A day an earlier run left staged (it stopped between its checkpoint and the publish) is published.
    yield* recoverStaged(sinks, checkpoints, dataset)
    const earlier = yield* checkpoints.days(dataset.name)
    yield* checkpoints.record(
      instruments
        .filter((instrument) => earlier.get(dayKey(instrument, session.date))?.status !== "done")
        .map(
          (instrument): DayEntry => ({
            kind: "day",
            dataset: dataset.name,
            symbol: instrument,
            date: session.date,
            status: "streaming",
            reason: `captured by the stream ${request.source}; part files until the close`,
            at: new Date(startedAt).toISOString()
          })
        )
    )
    yield* Effect.logInfo(
      `streaming ${dataset.name} ${instruments.join(",")} for the ${session.date} session until ${new Date(session.closeMs).toISOString()}${session.earlyClose ? " (early close)" : ""}`
    )

    const subjects =
      live.subjectsFor === undefined ? instruments : yield* live.subjectsFor(instruments, session)
    if (subjects !== instruments)
      yield* Effect.logInfo(
        `${dataset.name} ${instruments.join(",")}: ${subjects.length} subject(s) in this session`
      )

    // Started inside the session, after its first records could have gone out: what came before
    // is a gap on each connection (from where an earlier capture of the day stopped, or the open).
    // A resumable feed (a poller) starts from its stored position and has no gaps to repair.
    const resumable = live.resumable === true
    const connections = resumable
      ? live.connect(subjects, { session, position: yield* Positions.read(config.dataDir, request.source) })
      : live.connect(subjects)
    const gaps = connections.map((c) =>
      resumable
        ? noGaps
        : makeGapTracker({
            symbols: c.instruments,
            openMs: session.openMs,
            stallAfterMs: config.stream.stallAfterMs
          })
    )
    if (!resumable && openedAt > session.openMs + MarketTime.PUBLISH_DELAY_MS) {
      const lastBySubject = new Map<string, number>()
      for (const r of yield* readPartition(config.dataDir, dataset, session.date)) {
        const subject = live.subject(r)
        const t = dataset.eventTime(r)
        if (t > (lastBySubject.get(subject) ?? Number.NEGATIVE_INFINITY)) lastBySubject.set(subject, t)
      }
      connections.forEach((c, i) => {
        const atStart = gapsAtStart({
          symbols: c.instruments,
          lastBySymbol: lastBySubject,
          openMs: session.openMs
        })
        gaps[i]!.openGaps(atStart)
      })
    } else if (!resumable && subjects !== instruments) {
      // Subjects drawn at the open (an option chain from its underlying's first aggregate) are
      // subscribed after their session's first records went out: from the open to each connection's
      // first record is repaired through REST.
      for (const [i, c] of connections.entries())
        gaps[i]!.openGaps([
          { start: session.openMs, symbols: c.instruments, cause: "late-start", liveOnly: true }
        ])
    }
    for (const g of gaps.flatMap((t) => t.open())) {
      const names = briefList(g.symbols)
      yield* Effect.logInfo(
        `${g.cause === "restart" ? `an earlier capture of ${names} stopped at` : `started after the open; ${names} missed from`} ${new Date(g.start).toISOString()}: repaired through REST once the feed's first record arrives`
      )
    }

    // Monitors beside the pipeline.
    yield* Heartbeat.run({
      stats,
      intervalMs: config.stream.heartbeatIntervalMs,
      dataDir: config.dataDir,
      marketTime: clock.now
    }).pipe(Effect.forkScoped)
    // A poller's subjects can be quiet for hours; its failed polls are reported as disconnects.
    if (!resumable)
      yield* StallMonitor.run({
        stats,
        symbols: subjects,
        stallAfterMs: config.stream.stallAfterMs,
        marketTime: clock.now
      }).pipe(Effect.forkScoped)

    const frames = yield* Effect.sync(() => Frames.make(live, stats))
    const queue = yield* SpillQueue.make<SpillCodec.Arrival<A>>({
      dir: Path.join(config.dataDir, "state", "spill", request.source),
      capacity: config.stream.queueCapacity,
      // The bound is in records: a frame of a thousand symbols weighs a thousand.
      weight: weightOf,
      ...(request.openSpillFile === undefined ? {} : { openFile: request.openSpillFile }),
      encode: SpillCodec.encode,
      // Frames read back from the spill start decoding on the worker at once, while the queue reads
      // on and the pipeline processes what came before; reads are large for that reason.
      decode: (line) => {
        const a = SpillCodec.decode<A>(line)
        if (a.event._tag === "Frame") frames.predecode([a])
        return a
      },
      readBytes: 16 * 1024 * 1024
    })
    const ctx: StreamContext<A> = {
      feed,
      source: request.source,
      config,
      sinks,
      quarantine,
      alerts,
      checkpoints,
      performance: yield* Performance.current,
      metrics: PipelineMetrics.forDataset(dataset.name),
      startedAt,
      session,
      clock,
      stats,
      instruments,
      subjects,
      connections,
      gaps,
      queue,
      planner: FlushPlanner.make(config.stream.flushIntervalMs),
      pendingGaps: [],
      continuity: [],
      pending: [],
      flushSeq: 0,
      recordsPerEvent: 1,
      driftReported: new Set(),
      limitAlerted: false
    }
    const stages: Batch.Stages<A> = {
      lateData: makeLateDataFilter(dataset, session.date, config.stream.lateDataDays),
      validate: makeValidator(dataset),
      dedupe: makeDeduplicator(dataset)
    }

    // 2. Subscribe once the decoder is up, not with the feed's first frames waiting behind its start
    // (bounded: without it, frames are decoded on this thread).
    yield* Effect.promise(() => decoderReady).pipe(Effect.timeoutOption("10 seconds"))
    setConnection(stats, "connecting")
    const producer = yield* Producer.run(ctx, frames).pipe(Effect.forkScoped)

    // 3 and 4. Flush until the close, or until interrupted.
    const flusher = FlushLoop.make(ctx, stages, frames)
    /**
     * Stops the socket and drains what was received. At the close, gaps still open (no record came
     * after them) are repaired up to the close; a stop (`untilMs`, its drain deadline) leaves them to
     * the next start, which repairs from where this capture stopped (a REST repair could outlast the
     * time a stop has).
     */
    const finish = (untilMs?: number) =>
      Effect.gen(function* () {
        yield* Fiber.interrupt(producer)
        setConnection(stats, "closed")
        yield* flusher.drain(untilMs)
        if (untilMs === undefined) {
          for (const g of gaps.flatMap((t) => t.closeAll(session.closeMs))) yield* Batch.repair(ctx, g)
          yield* closingPolls
        }
      })
    /**
     * At the close, a poller polls once more from the position it stored (everything before it is
     * committed): what it had not delivered yet is committed like any flush. A failure leaves it to
     * the reconciliation (or the next start).
     */
    const closingPolls = Effect.forEach(connections, (c, conn) =>
      c.closingPoll === undefined
        ? Effect.void
        : Effect.flatMap(Positions.read(config.dataDir, request.source), c.closingPoll).pipe(
            Effect.flatMap((events) => {
              for (const event of events) ctx.pending.push({ conn, event })
              return flusher.flushPending()
            }),
            // Storage and sink failures stop the stream as in any flush; only the vendor's are left.
            Effect.catchIf(isVendorError, (e) =>
              Effect.logWarning(
                `${dataset.name}: the last poll at the close failed (${e.message}); the reconciliation through REST, or the next start, fetches what it missed`
              )
            )
          )
    )
    const stoppedBy = yield* FlushLoop.run(ctx, flusher, producer, stopAt, onTick).pipe(
      Effect.onInterrupt(() =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => finish(now + DRAIN_TIME_MS)).pipe(
          Effect.catchAll((e) => Effect.logError(`could not drain the queue before stopping: ${String(e)}`)),
          Effect.zipRight(
            Effect.suspend(() => {
              const left = queue.size()
              return Effect.logInfo(
                `stopped: ${stats.messages} records received, ${stats.committed} committed; ` +
                  (left === 0
                    ? "everything received was flushed"
                    : `the ${left} events still queued are kept in ${Path.join("state", "spill", request.source)} and come first at the next start`)
              )
            })
          )
        )
      )
    )
    const stoppedAt = yield* clock.now
    yield* finish()

    // 5. The close.
    yield* CloseOut.run(ctx, request.reconcile)
    const report: StreamReport = {
      session: session.date,
      stats,
      continuity: ctx.continuity,
      stoppedBy,
      stoppedAt
    }
    return report
  })
