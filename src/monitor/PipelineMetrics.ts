/**
 * The pipeline's metrics, on Effect's `Metric` API (its global registry). Runners record them once
 * per batch (a flush, a backfill day), never per record: counters grow by a batch's size, gauges are
 * sampled once per flush-loop tick. `--metrics-port` exports the registry as Prometheus text
 * (MetricsServer.ts); without it they cost a few map updates per batch and go nowhere.
 *
 * Names follow Prometheus conventions (seconds, bytes; the exporter adds `_total` to counters).
 */
import { Metric, MetricBoundaries, MetricLabel } from "effect"
import type { ConnectionState, StreamStats } from "./StreamStats.js"

export const received = Metric.counter("tapehouse_records_received", {
  description: "Records received from the vendor (valid or not), by dataset.",
  incremental: true
})
const committed = Metric.counter("tapehouse_records_committed", {
  description: "Records committed to every sink, by dataset.",
  incremental: true
})
export const quarantined = Metric.counter("tapehouse_records_quarantined", {
  description: "Records sent to quarantine (malformed, invalid or late), by dataset.",
  incremental: true
})
const queueDepth = Metric.gauge("tapehouse_queue_depth", {
  description: "Events waiting in a stream's queue (memory and spill), by dataset."
})
const spillBytes = Metric.gauge("tapehouse_spill_bytes", {
  description: "Bytes of a stream's spill files not read back yet, by dataset."
})
export const heartbeatAge = Metric.gauge("tapehouse_heartbeat_age_seconds", {
  description:
    "Seconds since a stream connection last delivered data (since the stream started, before its first), by dataset and connection."
})
export const connectionState = Metric.gauge("tapehouse_connection_state", {
  description:
    "1 for the state a stream connection is in, 0 for the others, by dataset, connection and state."
})

/** 5 ms to 20 min: a flush takes milliseconds, a backfill day seconds to minutes. */
const latencyBuckets = MetricBoundaries.fromIterable([
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200
])
export const commitSeconds = Metric.histogram(
  "tapehouse_commit_seconds",
  latencyBuckets,
  "Time one commit takes: sinks (and, in backfill, the checkpoint) from its start to durable, by dataset."
)
export const arrivalToDurableSeconds = Metric.histogram(
  "tapehouse_arrival_to_durable_seconds",
  latencyBuckets,
  "Time from a batch's first record received to the batch durable, by dataset."
)

const CONNECTION_STATES: ReadonlyArray<ConnectionState> = [
  "waiting-for-open",
  "connecting",
  "connected",
  "disconnected",
  "closed"
]

/** The label lists of one dataset, built once: recording allocates nothing per batch. */
export interface DatasetMetrics {
  /** Counts a batch: records received, committed and quarantined. */
  readonly batch: (counts: {
    readonly received: number
    readonly committed: number
    readonly quarantined: number
  }) => void
  /** Observes one commit: its own duration and its first record's wait to durable. */
  readonly commit: (commitMs: number, arrivalToDurableMs: number) => void
  /** Samples a stream's queue and connections at `nowMs` (Clock time). */
  readonly sampleStream: (
    nowMs: number,
    stats: StreamStats,
    queue: { readonly depth: number; readonly spillBytes: number },
    /** Before a connection's first data, its age counts from here. */
    startedAt: number
  ) => void
}

const byDataset = new Map<string, DatasetMetrics>()

/** The metrics of `dataset` (built once per dataset and process). */
export const forDataset = (dataset: string): DatasetMetrics => {
  let metrics = byDataset.get(dataset)
  if (metrics === undefined) {
    metrics = makeDatasetMetrics(dataset)
    byDataset.set(dataset, metrics)
  }
  return metrics
}

const makeDatasetMetrics = (dataset: string): DatasetMetrics => {
  const tags = [MetricLabel.make("dataset", dataset)]
  const connectionTags = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()
  const stateTags = new Map<string, ReadonlyArray<ReadonlyArray<MetricLabel.MetricLabel>>>()
  const tagsOf = (connection: string) => {
    let t = connectionTags.get(connection)
    if (t === undefined) {
      t = [...tags, MetricLabel.make("connection", connection)]
      connectionTags.set(connection, t)
    }
    return t
  }
  const stateTagsOf = (connection: string) => {
    let t = stateTags.get(connection)
    if (t === undefined) {
      const base = tagsOf(connection)
      t = CONNECTION_STATES.map((state) => [...base, MetricLabel.make("state", state)])
      stateTags.set(connection, t)
    }
    return t
  }
  const setState = (connection: string, state: ConnectionState) => {
    const perState = stateTagsOf(connection)
    for (let i = 0; i < CONNECTION_STATES.length; i++)
      connectionState.unsafeUpdate(CONNECTION_STATES[i] === state ? 1 : 0, perState[i]!)
  }
  return {
    batch: (counts) => {
      if (counts.received > 0) received.unsafeUpdate(counts.received, tags)
      if (counts.committed > 0) committed.unsafeUpdate(counts.committed, tags)
      if (counts.quarantined > 0) quarantined.unsafeUpdate(counts.quarantined, tags)
    },
    commit: (commitMs, arrivalToDurableMs) => {
      commitSeconds.unsafeUpdate(Math.max(0, commitMs) / 1000, tags)
      arrivalToDurableSeconds.unsafeUpdate(Math.max(0, arrivalToDurableMs) / 1000, tags)
    },
    sampleStream: (nowMs, stats, queue, startedAt) => {
      queueDepth.unsafeUpdate(queue.depth, tags)
      spillBytes.unsafeUpdate(queue.spillBytes, tags)
      for (const [connection, state] of stats.connections) {
        const last = stats.lastMessageAtByConnection.get(connection) ?? startedAt
        heartbeatAge.unsafeUpdate(Math.max(0, nowMs - last) / 1000, tagsOf(connection))
        setState(connection, state)
      }
      // A connection closed for good (its instruments moved to another) keeps its series, closed.
      for (const connection of stateTags.keys())
        if (!stats.connections.has(connection)) setState(connection, "closed")
    }
  }
}
