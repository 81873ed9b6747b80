/**
 * The round trip for index_bars_1s, as for stock bars: backfill D (I:VIX, and SPY beside it), then
 * `simulate` D, which replays every dataset stored for D on its own cluster, and `stream
 * --dataset index_bars_1s` on `/indices` without reconciliation. The live capture equals the
 * backfill row for row in every column (indices lack nothing live), including after a forced
 * disconnect repaired through REST. Real HTTP and WebSocket on loopback, real Parquet.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { IndexBars1s } from "../../src/domain/IndexBar.js"
import { StockBars1s } from "../../src/domain/StockBar.js"
import * as Backfill from "../../src/runners/backfill.js"
import * as StreamRunner from "../../src/runners/stream.js"
import { serveStoredDay } from "../../src/sim/lakeBars.js"
import * as MassiveSim from "../../src/sim/MassiveSim.js"
import { readPartition } from "../../src/sinks/ParquetSink.js"
import * as IndexBarsFeed from "../../src/sources/massive/indexBarsFeed.js"
import * as StockBarsFeed from "../../src/sources/massive/stockBarsFeed.js"
import { backfillStack, streamStack, tempDir, testConfig } from "../support/fixtures.js"

const DATE = "2024-03-04"
const range = { from: DATE, to: DATE, overwrite: false, concurrency: 1 }

/** Backfills D from the synthetic market: I:VIX into index_bars_1s, SPY into stock_bars_1s. */
const backfilledDay = Effect.gen(function* () {
  const sim = yield* MassiveSim.make()
  const dataDir = yield* tempDir("tapehouse-irt-a-")
  const stack = backfillStack(testConfig(dataDir, sim.url))
  yield* Effect.flatMap(IndexBarsFeed.make, (feed) =>
    Backfill.run(feed, { ...range, symbols: ["I:VIX"] })
  ).pipe(Effect.provide(stack))
  yield* Effect.flatMap(StockBarsFeed.make, (feed) =>
    Backfill.run(feed, { ...range, symbols: ["SPY"] })
  ).pipe(Effect.provide(stack))
  return dataDir
})

const streamIndices = (restUrl: string, wsUrl: string) =>
  Effect.gen(function* () {
    const dataDir = yield* tempDir("tapehouse-irt-b-")
    const base = testConfig(dataDir, restUrl)
    const config = {
      ...base,
      massive: { ...base.massive, wsUrl },
      stream: { ...base.stream, flushIntervalMs: 200 }
    }
    const layer = streamStack(config)
    const report = yield* Effect.flatMap(IndexBarsFeed.makeLive, (feed) =>
      StreamRunner.run(feed, { instruments: ["I:VIX"], source: "massive-indices", reconcile: false })
    ).pipe(Effect.scoped, Effect.provide(layer))
    return { dataDir, report }
  })

describe("round trip for index_bars_1s: backfill D → simulate D → stream", () => {
  it.scopedLive(
    "the streamed index bars equal the backfill in every column, after a forced disconnect repaired through REST",
    () =>
      Effect.gen(function* () {
        const backfillDir = yield* backfilledDay
        const expected = yield* readPartition(backfillDir, IndexBars1s, DATE)
        // One value per second of the session, no volume column.
        expect(expected).toHaveLength(23_400)
        expect(Object.keys(expected[0]!).sort()).toEqual(["close", "high", "low", "open", "symbol", "ts"])

        // Paced (2000x): the replay goes on while the client is disconnected, so bars are really missed.
        const served = yield* serveStoredDay({
          dataDir: backfillDir,
          date: DATE,
          speed: 2000,
          dataset: "index_bars_1s"
        })
        // Every dataset stored for D, each on its own cluster.
        expect(served.served.map((s) => [s.dataset, s.live.cluster, s.day.symbols])).toEqual([
          ["stock_bars_1s", "stocks", ["SPY"]],
          ["index_bars_1s", "indices", ["I:VIX"]]
        ])
        served.socket.faults.inject({ kind: "drop", afterFrames: 3000 })
        const { dataDir, report } = yield* streamIndices(served.restUrl, served.wsUrl)
        expect(report.stats.reconnects).toBe(1)
        const gaps = report.continuity.filter((c) => c.kind === "gap")
        expect(gaps.map((g) => g.status)).toEqual(["repaired"])
        expect(gaps[0]!.rows).toBeGreaterThan(0)
        expect(report.stats.rejected).toBe(0)

        expect(yield* readPartition(dataDir, IndexBars1s, DATE)).toEqual(expected)
        // Only the subscribed cluster was captured: no stock bars in the streamed lake.
        expect(yield* readPartition(dataDir, StockBars1s, DATE)).toEqual([])
        const stats = served.socket.stats()
        expect(stats.connections.every((c) => c.cluster === "indices")).toBe(true)
      }),
    240_000
  )
})
