import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Fiber, Layer, Metric, MetricLabel, Schedule, TestClock } from "effect"
import * as Alerts from "../../src/monitor/Alerts.js"
import * as Performance from "../../src/monitor/Performance.js"
import * as PipelineMetrics from "../../src/monitor/PipelineMetrics.js"
import * as Backfill from "../../src/runners/backfill.js"
import * as MassiveSim from "../../src/sim/MassiveSim.js"
import * as StockBarsFeed from "../../src/sources/massive/stockBarsFeed.js"
import { backfillStack, tempDir, testConfig } from "../support/fixtures.js"

const COMMIT_ALERT_MS = 300_000
const STALE_MS = 600_000
const TICK = Performance.tickIntervalMs(STALE_MS)

const layer = Performance.layer({ commitAlertMs: COMMIT_ALERT_MS, staleAfterMs: STALE_MS }).pipe(
  Layer.provideMerge(Alerts.Test)
)

const byKind = (alerts: ReadonlyArray<Alerts.AlertRecord>, kind: Alerts.AlertKind) =>
  alerts.filter((a) => a.kind === kind)

/** A commit of `dataset` whose first record arrived `waitedMs` before now, its commit taking `commitMs`. */
const commit = (dataset: string, waitedMs: number, commitMs: number, unit = "flush 1") =>
  Effect.gen(function* () {
    const performance = yield* Performance.Performance
    const now = yield* Clock.currentTimeMillis
    yield* performance.commitDone({
      source: "massive-stocks",
      dataset,
      unit,
      firstRecordAt: now - waitedMs,
      commitStartedAt: now - commitMs,
      durableAt: now,
      rows: 10
    })
  })

describe("Performance", () => {
  it.scoped("raises one slow-commit per episode, then recovered when a commit is back within the bound", () =>
    Effect.gen(function* () {
      yield* commit("perf_a", 1000, 200)
      expect(yield* Alerts.collected).toEqual([])
      yield* commit("perf_a", COMMIT_ALERT_MS + 1, 5000, "flush 2")
      yield* commit("perf_a", COMMIT_ALERT_MS + 5000, 5000, "flush 3")
      const slow = byKind(yield* Alerts.collected, "slow-commit")
      expect(slow).toHaveLength(1)
      expect(slow[0]).toMatchObject({
        source: "massive-stocks",
        level: "warning",
        details: {
          dataset: "perf_a",
          unit: "flush 2",
          arrivalToDurableMs: COMMIT_ALERT_MS + 1,
          commitMs: 5000
        }
      })
      yield* commit("perf_a", 800, 100, "flush 4")
      const recovered = byKind(yield* Alerts.collected, "recovered")
      expect(recovered).toHaveLength(1)
      expect(recovered[0]!.details).toMatchObject({ resolves: "slow-commit", slowCommits: 2 })
    }).pipe(Effect.provide(layer))
  )

  it.scoped("feeds the latency histograms in seconds, by dataset", () =>
    Effect.gen(function* () {
      yield* commit("perf_b", 2500, 500)
      const tags = [MetricLabel.make("dataset", "perf_b")]
      const arrival = yield* Metric.value(
        Metric.taggedWithLabels(PipelineMetrics.arrivalToDurableSeconds, tags)
      )
      const commitTime = yield* Metric.value(Metric.taggedWithLabels(PipelineMetrics.commitSeconds, tags))
      expect(commitTime.sum).toBeCloseTo(0.5)
      expect(arrival.count).toBe(1)
      expect(arrival.sum).toBeCloseTo(2.5)
    }).pipe(Effect.provide(layer))
  )

  it.scoped("alerts once when an operation outlives stale_after_ms, and recovers when it ends", () =>
    Effect.gen(function* () {
      const performance = yield* Performance.Performance
      const day = yield* Effect.sleep(STALE_MS * 2).pipe(
        performance.track("backfill-day", "backfill", "stock_bars_1s 2024-03-05"),
        Effect.fork
      )
      const quick = yield* Effect.sleep(TICK).pipe(
        performance.track("fetch", "massive-rest", "GET /v2/aggs/x"),
        Effect.fork
      )
      yield* TestClock.adjust(0)
      expect(performance.inProgress().map((o) => o.kind)).toEqual(["backfill-day", "fetch"])
      yield* TestClock.adjust(STALE_MS - TICK)
      expect(yield* Alerts.collected).toEqual([])
      expect(performance.inProgress().map((o) => o.kind)).toEqual(["backfill-day"])
      yield* TestClock.adjust(TICK)
      const stale = byKind(yield* Alerts.collected, "stale-operation")
      expect(stale).toHaveLength(1)
      expect(stale[0]).toMatchObject({
        source: "backfill",
        details: {
          kind: "backfill-day",
          label: "stock_bars_1s 2024-03-05",
          ageMs: STALE_MS,
          staleAfterMs: STALE_MS
        }
      })
      // Still running: no second alert.
      yield* TestClock.adjust(STALE_MS / 2)
      expect(byKind(yield* Alerts.collected, "stale-operation")).toHaveLength(1)
      yield* TestClock.adjust(STALE_MS / 2 + TICK)
      yield* Fiber.join(day)
      yield* Fiber.join(quick)
      const recovered = byKind(yield* Alerts.collected, "recovered")
      expect(recovered).toHaveLength(1)
      expect(recovered[0]).toMatchObject({
        source: "backfill",
        details: { resolves: "stale-operation", kind: "backfill-day" }
      })
      expect(performance.inProgress()).toEqual([])
    }).pipe(Effect.provide(layer))
  )

  it.effect("untracked: runs the effect as it is and tracks nothing", () =>
    Effect.gen(function* () {
      const performance = yield* Performance.current
      expect(performance).toBe(Performance.untracked)
      expect(yield* Effect.succeed(7).pipe(performance.track("flush", "s", "flush 1"))).toBe(7)
      expect(performance.inProgress()).toEqual([])
    })
  )
})

describe("Performance in a backfill", () => {
  it.scopedLive("tracks the day and its requests while they run, and times the day's commit", () =>
    Effect.gen(function* () {
      const sim = yield* MassiveSim.make()
      const dataDir = yield* tempDir("tapehouse-perf-")
      // Every commit is "slow" at 1 ms: the day's alert says the runner timed it.
      const performance = Performance.layer({ commitAlertMs: 1, staleAfterMs: 60_000 }).pipe(
        Layer.provideMerge(Alerts.Test)
      )
      const seen = new Set<string>()
      yield* Effect.gen(function* () {
        const tracked = yield* Performance.Performance
        yield* Effect.sync(() => {
          for (const op of tracked.inProgress()) seen.add(`${op.kind} ${op.source}`)
        }).pipe(Effect.repeat(Schedule.spaced("1 millis")), Effect.forkScoped)
        const source = yield* StockBarsFeed.make
        const report = yield* Backfill.run(source, {
          symbols: ["SPY"],
          from: "2024-03-04",
          to: "2024-03-04",
          overwrite: false,
          concurrency: 1
        })
        expect(tracked.inProgress()).toEqual([])
        const slow = byKind(yield* Alerts.collected, "slow-commit")
        expect(slow).toHaveLength(1)
        expect(slow[0]).toMatchObject({
          source: "backfill",
          details: { dataset: "stock_bars_1s", unit: "2024-03-04", rows: report.rows }
        })
      }).pipe(
        Effect.provide(backfillStack(testConfig(dataDir, sim.url)).pipe(Layer.provideMerge(performance)))
      )
      expect([...seen].sort()).toEqual(["backfill-day backfill", "fetch massive-rest"])
    })
  )
})
