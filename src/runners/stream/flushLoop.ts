/**
 * Stage 3 of a stream: flush scheduling. `flush_interval_ms` bounds how long a received message
 * waits to be durable: each flush collects events from the queue until the flush planner says the
 * commit must start (see flushPlanner.ts), then hands them to the pipeline (batch.ts). The loop also
 * raises spill alerts, follows a replay's clock, and ends once the session is over and the feed has
 * gone quiet. `drain` empties the queue at a stop or the close.
 */
import * as Path from "node:path"
import { Clock, Effect, Exit, Fiber } from "effect"
import type { StreamStats } from "../../monitor/StreamStats.js"
import type { Arrival } from "../spillCodec.js"
import * as Batch from "./batch.js"
import { countRecords, type StreamContext } from "./context.js"
import type { Frames } from "./frames.js"

const TAKE_MAX = 50_000
/** Records per flush at most: bounds the time one flush blocks the loop (and so the latency). */
export const FLUSH_MAX_RECORDS = 200_000
/** Spill alerts are raised at most this often (the spill count keeps growing in the heartbeat). */
const SPILL_ALERT_EVERY_MS = 60_000

/**
 * A flush's three moves over one dataset's queue. Events taken from the queue but not yet committed
 * live in `ctx.pending`, so an interruption between the take and the commit loses nothing: the
 * commit itself is uninterruptible and a stop flushes whatever is pending before draining.
 * - `flushPending(dueAt)` commits what is pending (`dueAt`: when the collect planned the flush);
 * - `collect` takes one flush's worth of events into `pending` and returns when the flush was due;
 * - `drain(untilMs)` processes everything still queued (memory and spill), in order, in atomic
 *   rounds (take + commit). With `untilMs` it stops between rounds once that time has passed: what
 *   is still queued stays in the spill queue, which writes it to a segment file when its scope
 *   closes and delivers it first at the next start. (A deadline checked here, not a timeout around
 *   the drain: a shutdown runs it as a finalizer, where a timeout cannot interrupt it.)
 */
export type Flusher<A> = ReturnType<typeof make<A>>

export const make = <A>(ctx: StreamContext<A>, stages: Batch.Stages<A>, frames: Frames<A>) => {
  const flushPending = (dueAt?: number) =>
    Effect.uninterruptible(
      Effect.suspend(() => {
        if (ctx.pending.length === 0) return Effect.void
        const arrivals = ctx.pending
        ctx.pending = []
        return Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.flatMap(frames.expand(arrivals), (decoded) =>
            Batch.process(ctx, stages, decoded, dueAt ?? now)
          )
        ).pipe(
          ctx.performance.track("flush", ctx.source, `${ctx.feed.dataset.name} flush ${ctx.flushSeq + 1}`)
        )
      })
    )

  /**
   * The collect ends early enough that the commit, taking as long as flushes have lately taken,
   * completes within the interval of the oldest message's arrival. When that moment has already
   * passed (a backlog in the queue or its spill) it takes what is ready without waiting, so a backlog
   * drains in full-size flushes. At most TAKE_MAX events and about FLUSH_MAX_RECORDS records.
   * Returns when the flush was due: the planned moment, or when the collect ended if that was earlier
   * (full) or it began after it (a backlog).
   */
  const collect = Effect.gen(function* () {
    const intervalMs = ctx.config.stream.flushIntervalMs
    const started = yield* Clock.currentTimeMillis
    let oldest: number | undefined
    const noteOldest = (arrivals: ReadonlyArray<Arrival<A>>) => {
      for (const { event: e } of arrivals)
        if (
          (e._tag === "Records" || e._tag === "Frame" || e._tag === "Rejected") &&
          (oldest === undefined || e.receivedAt < oldest)
        )
          oldest = e.receivedAt
    }
    noteOldest(ctx.pending)
    let records = countRecords(ctx.pending)
    // With nothing to flush yet, the loop wakes up once an interval (its monitoring and the close).
    const deadlineOf = () => (oldest === undefined ? started + intervalMs : ctx.planner.dueAt(oldest))
    let deadline = deadlineOf()
    while (ctx.pending.length < TAKE_MAX && records < FLUSH_MAX_RECORDS) {
      const now = yield* Clock.currentTimeMillis
      deadline = deadlineOf()
      // The queue bounds its own wait (a timeout around a take would discard what it removed) and
      // appends to `pending` in the same atomic step as the take: a shutdown lands before or after.
      // Events may carry one record or thousands (a frame per second of many symbols): size each
      // take from the records per event seen so far, so a flush stays near FLUSH_MAX_RECORDS.
      const room = Math.ceil((FLUSH_MAX_RECORDS - records) / ctx.recordsPerEvent)
      const taken = yield* ctx.queue.takeBatch(
        Math.max(1, Math.min(TAKE_MAX - ctx.pending.length, room)),
        Math.max(0, deadline - now),
        ctx.pending
      )
      // Nothing within the wait, or nothing ready once the moment has passed: flush now.
      if (taken.length === 0) break
      const takenRecords = countRecords(taken)
      records += takenRecords
      ctx.recordsPerEvent = Math.max(1, takenRecords / taken.length)
      noteOldest(taken)
    }
    return Math.min(yield* Clock.currentTimeMillis, Math.max(deadline, started))
  })

  const drain = (untilMs?: number) =>
    Effect.gen(function* () {
      yield* flushPending()
      for (;;) {
        if (ctx.queue.size() === 0) return
        if (untilMs !== undefined && (yield* Clock.currentTimeMillis) >= untilMs) return
        yield* Effect.uninterruptible(
          Effect.zipRight(
            ctx.queue.takeBatch(
              Math.max(1, Math.ceil(FLUSH_MAX_RECORDS / ctx.recordsPerEvent)),
              "100 millis",
              ctx.pending
            ),
            flushPending()
          )
        )
      }
    })

  return { flushPending, collect, drain }
}

/**
 * Flushes until the session is over (market time past `stopAt`) and the feed has gone quiet: a
 * replay faster than real time, or a backlog in the queue, may still be delivering the session's
 * last records. A poller stops at `stopAt`: what it has queued is drained, then it polls once more. Stops with the producer's error when the socket side failed for good (everything
 * taken is committed first).
 */
export const run = <A, E>(
  ctx: StreamContext<A>,
  flusher: Flusher<A>,
  producer: Fiber.Fiber<void, E>,
  stopAt: number,
  onTick: (stats: StreamStats) => void
) =>
  Effect.gen(function* () {
    const { stats, queue, clock } = ctx
    let lastResync = yield* Clock.currentTimeMillis
    let framesAtLastTick = -1
    let spillAlerted = false
    let spilledAtLastTick = 0
    let lastSpillAlertAt = Number.NEGATIVE_INFINITY
    for (;;) {
      const dueAt = yield* flusher.collect
      yield* flusher.flushPending(dueAt)
      const producerExit = yield* Fiber.poll(producer)
      if (producerExit._tag === "Some" && Exit.isFailure(producerExit.value)) {
        yield* flusher.drain()
        return yield* Effect.failCause(producerExit.value.cause)
      }
      const queued = queue.stats()
      stats.spilled = queued.spilledTotal
      // One alert per episode (the pipeline fell behind the feed and the overflow went to disk; an
      // episode may begin and end between two ticks: the spill count tells), and at most one a
      // minute: a pipeline at the edge of its speed spills in short bursts.
      const spilledNow = queued.spilledTotal > spilledAtLastTick
      spilledAtLastTick = queued.spilledTotal
      const nowMs = yield* Clock.currentTimeMillis
      ctx.metrics.sampleStream(
        nowMs,
        stats,
        { depth: queue.size(), spillBytes: queued.spillBytes },
        ctx.startedAt
      )
      if (
        (queued.spilling || spilledNow) &&
        !spillAlerted &&
        nowMs - lastSpillAlertAt >= SPILL_ALERT_EVERY_MS
      ) {
        spillAlerted = true
        lastSpillAlertAt = nowMs
        yield* ctx.alerts.raise({
          kind: "spill",
          source: ctx.source,
          message: `the pipeline is behind the feed: ${queued.spilledTotal} messages spilled so far to ${Path.join("state", "spill", ctx.source)} (drained in order, nothing dropped)`,
          details: { ...queued }
        })
      } else if (!queued.spilling && !spilledNow) spillAlerted = false
      onTick(stats)
      if (clock.isReplay() && nowMs - lastResync >= 1000) {
        yield* clock.resync
        lastResync = nowMs
      }
      // A poller is never quiet (each poll is an event), and needs not be: its last poll at the
      // close (`LiveConnection.closingPoll`) fetches what it has not delivered.
      const quiet =
        ctx.feed.live.resumable === true ||
        (stats.frames === framesAtLastTick && queue.size() === 0 && ctx.pending.length === 0)
      framesAtLastTick = stats.frames
      if ((yield* clock.now) >= stopAt && quiet) return "close" as const
    }
  })
