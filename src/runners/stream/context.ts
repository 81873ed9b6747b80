/**
 * What every stage of one dataset's stream shares: its feed, services, settings and session, the
 * live counters, the queue, and the bookkeeping of gaps and of the flush in progress. Built once by
 * the runner (`stream.ts`); the stages (`producer.ts`, `batch.ts`, `flushLoop.ts`, `closeOut.ts`)
 * read and update it.
 */
import type { TradingSession } from "../../calendar/MarketCalendar.js"
import type { AppConfigShape } from "../../config/AppConfig.js"
import type { ContinuityRow } from "../../domain/Continuity.js"
import type { Alerts } from "../../monitor/Alerts.js"
import type { PerformanceShape } from "../../monitor/Performance.js"
import type { DatasetMetrics } from "../../monitor/PipelineMetrics.js"
import type { StreamStats } from "../../monitor/StreamStats.js"
import type { Checkpoints } from "../../pipeline/Checkpoints.js"
import type { SpillQueue } from "../../pipeline/SpillQueue.js"
import type { Quarantine } from "../../sinks/Quarantine.js"
import type { Sinks } from "../../sinks/Sink.js"
import type { Feed } from "../Feed.js"
import type { FlushPlanner } from "../flushPlanner.js"
import type { Gap, GapTracker } from "../gaps.js"
import type { LiveConnection, LiveFeed } from "../LiveFeed.js"
import type { MarketTime } from "../marketTime.js"
import type { Arrival } from "../spillCodec.js"

export interface StreamContext<A> {
  readonly feed: Feed<A> & { readonly live: LiveFeed<A> }
  /** Names the heartbeat, spill folder, pid file and the ledger's rows, e.g. "massive-stocks". */
  readonly source: string
  readonly config: AppConfigShape
  readonly sinks: Sinks["Type"]
  readonly quarantine: Quarantine["Type"]
  readonly alerts: Alerts["Type"]
  readonly checkpoints: Checkpoints["Type"]
  /** Times commits and registers flushes (see Performance.ts). */
  readonly performance: PerformanceShape
  readonly metrics: DatasetMetrics
  /** When this stream started (Clock, epoch ms). */
  readonly startedAt: number
  readonly session: TradingSession
  readonly clock: MarketTime
  readonly stats: StreamStats
  readonly instruments: ReadonlyArray<string>
  /** What the connections carry (`LiveFeed.subjectsFor`; the instruments themselves by default). */
  readonly subjects: ReadonlyArray<string>
  readonly connections: ReadonlyArray<LiveConnection<A>>
  /** One per connection, in the same order: each connection has its own gaps. */
  readonly gaps: ReadonlyArray<GapTracker>
  readonly queue: SpillQueue<Arrival<A>>
  readonly planner: FlushPlanner
  /** Gaps closed by data and waiting for their repair (after the flush that found them). */
  readonly pendingGaps: Array<Gap>
  /** The ledger rows of this run (each also committed as soon as it is known). */
  readonly continuity: Array<ContinuityRow>
  /** Events taken from the queue and not committed yet (see `flushLoop.ts`). */
  pending: Array<Arrival<A>>
  /** Flushes so far: names each flush's quarantine scope. */
  flushSeq: number
  /** Records per queued event, as seen so far: sizes each take from the queue. */
  recordsPerEvent: number
  /** Event types already reported as schema drift. */
  readonly driftReported: Set<string>
  /** The connection limit was reported (one alert per stream, however many connections it refused). */
  limitAlerted: boolean
}

/** What a queued event weighs against the queue's bound: its records (a frame's events before decoding). */
export const weightOf = <A>(a: Arrival<A>): number => {
  const e = a.event
  return e._tag === "Records" ? Math.max(1, e.records.length) : e._tag === "Frame" ? Math.max(1, e.count) : 1
}

/** Records (or undecoded frames' events) in `arrivals`. */
export const countRecords = <A>(arrivals: ReadonlyArray<Arrival<A>>): number => {
  let n = 0
  for (const a of arrivals) if (a.event._tag === "Records" || a.event._tag === "Frame") n += weightOf(a)
  return n
}
