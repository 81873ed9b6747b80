/**
 * Stage 4 of a stream: one flush's events through the pipeline. Records go through late data,
 * validation and dedupe and are appended to every sink; rejects go to quarantine; the events that
 * are not records (statuses, disconnects, unknown event types) raise their alerts; gaps the records
 * close (a reconnect, a restart, a stall) are repaired through REST after the commit, each written
 * to the continuity ledger at once. A connection whose instruments moved to another hands its gaps
 * over to that one.
 */
import { Clock, Effect } from "effect"
import { Continuity, type ContinuityRow } from "../../domain/Continuity.js"
import type { Rejected } from "../../domain/Dataset.js"
import type { Gap } from "../gaps.js"
import { repairGap } from "../repair.js"
import type { Arrival } from "../spillCodec.js"
import type { StreamContext } from "./context.js"
import * as Positions from "./positions.js"

/** The pipeline's stages for one dataset, built once. */
export interface Stages<A> {
  readonly lateData: (records: ReadonlyArray<A>) => {
    readonly accepted: ReadonlyArray<A>
    readonly rejected: ReadonlyArray<Rejected>
  }
  readonly validate: (
    records: ReadonlyArray<A>,
    window: { readonly date: string; readonly startMs: number; readonly endMs: number }
  ) => { readonly valid: ReadonlyArray<A>; readonly rejected: ReadonlyArray<Rejected> }
  readonly dedupe: (records: ReadonlyArray<A>) => { readonly rows: ReadonlyArray<A> }
}

/** Writes a ledger row as soon as it is known, so a stream stopped later keeps it. */
export const recordLedger = <A>(ctx: StreamContext<A>, row: ContinuityRow) =>
  Effect.zipRight(
    Effect.sync(() => ctx.continuity.push(row)),
    ctx.sinks.commit({
      dataset: Continuity,
      date: ctx.session.date,
      instruments: [ctx.source],
      rows: [row],
      mode: "upsert"
    })
  )

/** Repairs one gap through REST, records it in the ledger and says so in an alert (see below). */
export const repair = <A>(ctx: StreamContext<A>, gap: Gap) =>
  Effect.gen(function* () {
    const { session } = ctx
    // Nothing was missed (a restart after data the lake already holds, such as a backfilled day).
    if (Math.min(gap.end, session.closeMs) <= Math.max(gap.start, session.openMs)) return
    const repaired = yield* repairGap(
      { feed: ctx.feed, sinks: ctx.sinks, quarantine: ctx.quarantine, source: ctx.source },
      session,
      gap.symbols,
      gap.start,
      gap.end,
      gap.cause,
      `repair-${ctx.source}-${gap.start}`
    )
    yield* recordLedger(ctx, repaired)
    // A late start repaired whole is the capture working as designed (an option chain subscribes
    // only once its underlying has opened; a stream started late on purpose): the ledger and
    // `status` record it, and an alert at every session would only teach users to ignore alerts.
    if (gap.cause === "late-start" && repaired.status === "repaired") return
    yield* ctx.alerts.raise({
      kind: "gap",
      source: ctx.source,
      message: `${gap.cause} gap ${new Date(gap.start).toISOString()}–${new Date(gap.end).toISOString()} ${repaired.status} through REST: ${repaired.rows} rows`
    })
  })

/** The event time of the first record among `records` of one of `subjects`, if any. */
const firstOf = <A>(
  ctx: StreamContext<A>,
  records: ReadonlyArray<A>,
  subjects: ReadonlySet<string>
): number | undefined => {
  const { subject } = ctx.feed.live
  const eventTime = ctx.feed.dataset.eventTime
  let first: number | undefined
  for (const r of records)
    if (subjects.has(subject(r))) {
      const t = eventTime(r)
      if (first === undefined || t < first) first = t
    }
  return first
}

/** The vendor's connection limit, reported once per stream (not at every refused attempt). */
const alertLimit = <A>(ctx: StreamContext<A>, message: string) =>
  Effect.suspend(() => {
    if (ctx.limitAlerted) return Effect.void
    ctx.limitAlerted = true
    return ctx.alerts.raise({ kind: "max-connections", source: ctx.source, message })
  })

/**
 * Processes decoded events (no `Frame`) of one flush; `dueAt`: when the flush was due, for the
 * flush planner.
 */
export const process = <A>(
  ctx: StreamContext<A>,
  stages: Stages<A>,
  arrivals: ReadonlyArray<Arrival<A>>,
  dueAt: number
) =>
  Effect.gen(function* () {
    const { stats, feed, session } = ctx
    const eventTime = feed.dataset.eventTime
    const records: Array<A> = []
    const rejected: Array<Rejected> = []
    /** The last position of a resumable feed in this flush: stored once the flush is committed. */
    let position: string | undefined
    /** When the flush's oldest record was received (Clock, epoch ms). */
    let firstReceivedAt = Number.POSITIVE_INFINITY
    let received = 0
    for (const { conn, event: e } of arrivals) {
      if ((e._tag === "Records" || e._tag === "Rejected") && e.receivedAt < firstReceivedAt)
        firstReceivedAt = e.receivedAt
      switch (e._tag) {
        case "Position":
          position = e.position
          break
        case "Records": {
          if (e.records.length === 0) break
          let first = Number.POSITIVE_INFINITY
          let last = Number.NEGATIVE_INFINITY
          for (const r of e.records) {
            records.push(r)
            const t = eventTime(r)
            ctx.clock.observe(t)
            if (t < first) first = t
            if (t > last) last = t
          }
          if (stats.lastEventTime === undefined || last > stats.lastEventTime) stats.lastEventTime = last
          stats.messages += e.records.length
          received += e.records.length
          // Open gaps close at the first new record; a long silence is a stall gap.
          const tracker = ctx.gaps[conn]!
          const awaited = tracker.awaited()
          const firstAwaited = awaited === undefined ? undefined : firstOf(ctx, e.records, awaited)
          for (const g of tracker.data(first, last, e.receivedAt, firstAwaited)) ctx.pendingGaps.push(g)
          break
        }
        case "Rejected":
          for (const r of e.rejected) rejected.push(r)
          received += e.rejected.length
          break
        case "Unknown":
          stats.unknownEvents += e.count
          if (!ctx.driftReported.has(e.ev)) {
            ctx.driftReported.add(e.ev)
            yield* ctx.alerts.raise({
              kind: "schema-drift",
              source: ctx.source,
              message: `unknown event type ${JSON.stringify(e.ev)} on the feed: counted and skipped`,
              details: { sample: e.sample }
            })
          }
          break
        case "Moved": {
          // A move an earlier run left in the spill: this run's connection of that id is still open.
          if (ctx.stats.connections.has(ctx.connections[conn]?.id ?? "")) break
          // Its gaps, and the window until the new connection delivers its instruments, go with them.
          const from = ctx.gaps[conn]!
          from.disconnected()
          const to = ctx.connections.findIndex((c) => c.id === e.to)
          if (to >= 0) ctx.gaps[to]!.adopt(e.instruments, from.handOver())
          yield* Effect.logWarning(
            `${ctx.connections[conn]?.id ?? "a connection"} closed for good: its ${e.instruments.length} instrument(s) go on ${e.to}`
          )
          yield* alertLimit(ctx, e.message)
          break
        }
        case "Status":
          if (e.status === "max_connections")
            yield* alertLimit(
              ctx,
              `server status ${e.status} on ${ctx.connections[conn]?.id ?? "the connection"}: ${e.message}`
            )
          else if (e.status === "slow_consumer")
            yield* ctx.alerts.raise({
              kind: "slow-consumer",
              source: ctx.source,
              message: `server status ${e.status} on ${ctx.connections[conn]?.id ?? "the connection"}: ${e.message}`
            })
          break
        case "Disconnected":
          ctx.gaps[conn]!.disconnected()
          yield* ctx.alerts.raise({
            kind: "disconnect",
            source: ctx.source,
            message: `connection ${ctx.connections[conn]?.id ?? ""} lost: ${e.reason}; reconnecting`
          })
          break
      }
    }
    const late = stages.lateData(records)
    for (const r of late.rejected) rejected.push(r)
    const checked = stages.validate(late.accepted, {
      date: session.date,
      startMs: session.openMs,
      endMs: session.closeMs
    })
    for (const r of checked.rejected) rejected.push(r)
    stats.rejected += rejected.length
    const { rows } = stages.dedupe(checked.valid)
    ctx.flushSeq++
    const commitStartedAt = yield* Clock.currentTimeMillis
    if (rows.length > 0) {
      yield* ctx.sinks.commit({
        dataset: feed.dataset,
        date: session.date,
        instruments: ctx.instruments,
        rows,
        mode: "append"
      })
      stats.committed += rows.length
    }
    if (rejected.length > 0)
      yield* ctx.quarantine.write(
        feed.dataset,
        session.date,
        `stream-${ctx.source}-${ctx.flushSeq}`,
        rejected
      )
    // Everything before the position is committed (rows and rejects): the feed may resume after it.
    if (position !== undefined) yield* Positions.write(ctx.config.dataDir, ctx.source, position)
    ctx.metrics.batch({ received, committed: rows.length, quarantined: rejected.length })
    if (rows.length > 0 || rejected.length > 0)
      yield* ctx.performance.commitDone({
        source: ctx.source,
        dataset: feed.dataset.name,
        unit: `flush ${ctx.flushSeq}`,
        firstRecordAt: Math.min(firstReceivedAt, commitStartedAt),
        commitStartedAt,
        durableAt: yield* Clock.currentTimeMillis,
        rows: rows.length
      })
    // Gap repairs below go to REST and are not part of what a flush costs.
    if (records.length > 0) ctx.planner.record(dueAt, yield* Clock.currentTimeMillis)
    while (ctx.pendingGaps.length > 0) yield* repair(ctx, ctx.pendingGaps.shift()!)
  })
