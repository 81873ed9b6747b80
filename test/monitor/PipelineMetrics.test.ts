import { describe, expect, it } from "@effect/vitest"
import { Effect, Metric, MetricLabel } from "effect"
import * as PipelineMetrics from "../../src/monitor/PipelineMetrics.js"
import { dropConnection, makeStreamStats, setConnectionOf } from "../../src/monitor/StreamStats.js"

const labels = (pairs: Record<string, string>) =>
  Object.entries(pairs).map(([k, v]) => MetricLabel.make(k, v))

const gauge = (metric: typeof PipelineMetrics.heartbeatAge, pairs: Record<string, string>) =>
  Effect.map(Metric.value(Metric.taggedWithLabels(metric, labels(pairs))), (s) => s.value)

describe("PipelineMetrics", () => {
  it.effect("counts batches by dataset and samples each connection's age and state", () =>
    Effect.gen(function* () {
      const metrics = PipelineMetrics.forDataset("pm_bars")
      metrics.batch({ received: 12, committed: 10, quarantined: 2 })
      metrics.batch({ received: 5, committed: 5, quarantined: 0 })
      const count = (metric: typeof PipelineMetrics.received) =>
        Effect.map(
          Metric.value(Metric.taggedWithLabels(metric, labels({ dataset: "pm_bars" }))),
          (s) => s.count
        )
      expect(yield* count(PipelineMetrics.received)).toBe(17)
      expect(yield* count(PipelineMetrics.quarantined)).toBe(2)

      const stats = makeStreamStats("pm-source")
      setConnectionOf(stats, "c1", "connected")
      setConnectionOf(stats, "c2", "disconnected")
      stats.lastMessageAtByConnection.set("c1", 9_000)
      metrics.sampleStream(10_000, stats, { depth: 3, spillBytes: 0 }, 4_000)
      const c1 = { dataset: "pm_bars", connection: "c1" }
      const c2 = { dataset: "pm_bars", connection: "c2" }
      expect(yield* gauge(PipelineMetrics.heartbeatAge, c1)).toBe(1)
      // No data yet: counted from the stream's start.
      expect(yield* gauge(PipelineMetrics.heartbeatAge, c2)).toBe(6)
      expect(yield* gauge(PipelineMetrics.connectionState, { ...c1, state: "connected" })).toBe(1)
      expect(yield* gauge(PipelineMetrics.connectionState, { ...c1, state: "disconnected" })).toBe(0)
      expect(yield* gauge(PipelineMetrics.connectionState, { ...c2, state: "disconnected" })).toBe(1)

      // Gone for good: its series stays, closed.
      dropConnection(stats, "c2")
      metrics.sampleStream(11_000, stats, { depth: 0, spillBytes: 0 }, 4_000)
      expect(yield* gauge(PipelineMetrics.connectionState, { ...c2, state: "disconnected" })).toBe(0)
      expect(yield* gauge(PipelineMetrics.connectionState, { ...c2, state: "closed" })).toBe(1)
    })
  )
})
