/**
 * What the performance monitor and the pipeline metrics add to a stream, per unit of work, in
 * this process (no I/O): the cost of each piece, best of 3 rounds, against what it rides on.
 *
 * - per flush: `PipelineMetrics` batch counters + both latency histograms + one sample of the
 *   queue and 4 connections (gauges), and `Performance.commitDone` with the registry's `track`
 *   around an empty effect (what `flushPending` now runs inside);
 * - per chunk off the socket: the producer's `lastMessageAtByConnection.set`.
 *
 *   node bin/run-ts.mjs bench/metricsOverhead.ts [rounds=200000]
 */
import { Effect, Layer, Logger, LogLevel } from "effect"
import * as Alerts from "../src/monitor/Alerts.js"
import * as Performance from "../src/monitor/Performance.js"
import * as PipelineMetrics from "../src/monitor/PipelineMetrics.js"
import { makeStreamStats, setConnectionOf } from "../src/monitor/StreamStats.js"

const rounds = Number(process.argv[2] ?? 200_000)

const best = (label: string, run: () => void): number => {
  let bestNs = Number.POSITIVE_INFINITY
  for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint()
    run()
    bestNs = Math.min(bestNs, Number(process.hrtime.bigint() - t0) / rounds)
  }
  console.log(`${label.padEnd(58)} ${bestNs.toFixed(0).padStart(6)} ns`)
  return bestNs
}

const metrics = PipelineMetrics.forDataset("stock_bars_1s")
const stats = makeStreamStats("massive-stocks")
for (let c = 0; c < 4; c++) {
  setConnectionOf(stats, `stocks#${c}`, "connected")
  stats.lastMessageAtByConnection.set(`stocks#${c}`, Date.now())
}

best("flush: counters + histograms + gauges (4 connections)", () => {
  const now = Date.now()
  for (let i = 0; i < rounds; i++) {
    metrics.batch({ received: 1000, committed: 1000, quarantined: 0 })
    metrics.commit(12, 480)
    metrics.sampleStream(now, stats, { depth: 10, spillBytes: 0 }, now - 1000)
  }
})

best("chunk: lastMessageAtByConnection.set", () => {
  for (let i = 0; i < rounds; i++) stats.lastMessageAtByConnection.set("stocks#1", i)
})

const program = Effect.gen(function* () {
  const performance = yield* Performance.Performance
  const timing: Performance.CommitTiming = {
    source: "massive-stocks",
    dataset: "stock_bars_1s",
    unit: "flush 1",
    firstRecordAt: 0,
    commitStartedAt: 400,
    durableAt: 480,
    rows: 1000
  }
  const tracked = Effect.void.pipe(performance.track("flush", "massive-stocks", "stock_bars_1s flush 1"))
  const bare = Effect.void
  const loop = (effect: Effect.Effect<void>) => () =>
    Effect.runSync(
      Effect.gen(function* () {
        for (let i = 0; i < rounds; i++) yield* effect
      })
    )
  const withTrack = best("flush: Performance.track around an effect", loop(tracked))
  const withoutTrack = best("  (the same effect without it)", loop(bare))
  best("flush: Performance.commitDone (within the bound)", loop(performance.commitDone(timing)))
  console.log(`track adds ${(withTrack - withoutTrack).toFixed(0)} ns per flush or request`)
})

Effect.runPromise(
  program.pipe(
    Effect.provide(
      Performance.layer({ commitAlertMs: 300_000, staleAfterMs: 600_000 }).pipe(
        Layer.provide(Alerts.Test),
        Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
      )
    ),
    Effect.scoped
  )
)
