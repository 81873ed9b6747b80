/**
 * The round trip for option_bars_1s: backfill D (SPY's tracked chain, and SPY's bars beside it),
 * `simulate` D at full speed (every stored dataset on its cluster: the contracts on `/options`), and a stream of
 * the chain without reconciliation. At the open the stream discovers the contracts (no stocks feed
 * in this process: through REST), shards them over connections of at most
 * `options.contracts_per_connection`, and subscribes each exactly once. The live capture equals the
 * backfill row for row in every column the WebSocket carries (no trade counts live). When the
 * vendor holds the account to fewer connections (`max_connections`), the refused connection's
 * contracts go on the others: fewer connections, each contract still subscribed once, nothing lost.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import { AppConfig, type AppConfigShape } from "../../src/config/AppConfig.js"
import { type OptionBar, OptionBars1s } from "../../src/domain/OptionBar.js"
import * as Alerts from "../../src/monitor/Alerts.js"
import * as Backfill from "../../src/runners/backfill.js"
import * as StreamRunner from "../../src/runners/stream.js"
import { serveStoredDay } from "../../src/sim/lakeBars.js"
import * as MassiveSim from "../../src/sim/MassiveSim.js"
import { optionsMarket, registerOptionContracts } from "../../src/sim/options/optionsSim.js"
import { readPartition } from "../../src/sinks/ParquetSink.js"
import * as OptionBarsFeed from "../../src/sources/massive/optionBarsFeed.js"
import * as StockBarsFeed from "../../src/sources/massive/stockBarsFeed.js"
import { backfillStack, streamStack, tempDir, testConfig } from "../support/fixtures.js"
import { makeTempDir, removeTempDirs } from "../support/tempDirs.js"

const DATE = "2024-03-04"
const range = { from: DATE, to: DATE, overwrite: false, concurrency: 1 }
/** Contracts expiring on the day itself: a chain of a couple dozen, kept small for the test. */
const withChain = (config: AppConfigShape, contractsPerConnection: number): AppConfigShape => ({
  ...config,
  options: { ...config.options, maxDte: 0, contractsPerConnection }
})

const backfillDay = (dataDir: string) =>
  Effect.gen(function* () {
    const sim = yield* MassiveSim.make({ markets: [optionsMarket] })
    registerOptionContracts(sim)
    const config = withChain(testConfig(dataDir, sim.url), 100)
    const stack = Layer.merge(backfillStack(config), Layer.succeed(AppConfig, config))
    yield* Effect.flatMap(StockBarsFeed.make, (feed) =>
      Backfill.run(feed, { ...range, symbols: ["SPY"] })
    ).pipe(Effect.provide(stack))
    yield* Effect.flatMap(OptionBarsFeed.make, (feed) =>
      Backfill.run(feed, { ...range, symbols: ["SPY"] })
    ).pipe(Effect.provide(stack))
  }).pipe(Effect.scoped)

/** D backfilled once for the file: the tests only read it (each stream writes its own data dir). */
let backfillDir = ""
beforeAll(async () => {
  backfillDir = makeTempDir("tapehouse-ort-a-")
  await Effect.runPromise(backfillDay(backfillDir))
}, 120_000)
afterAll(removeTempDirs)
const backfilledDay = Effect.sync(() => backfillDir)

const without = (b: OptionBar) => ({ ...b, trades: null })

describe("round trip for option_bars_1s: backfill D → simulate D → stream", () => {
  it.scopedLive(
    "discovered at the open, sharded at contracts_per_connection (each contract subscribed once), equal to the backfill",
    () =>
      Effect.gen(function* () {
        const backfillDir = yield* backfilledDay
        const expected = yield* readPartition(backfillDir, OptionBars1s, DATE)
        const contracts = [...new Set(expected.map((b) => b.symbol))].sort()
        expect(contracts.length).toBeGreaterThan(12)

        // The replay starts once the three connections are subscribed, and goes as fast as they read.
        const served = yield* serveStoredDay({
          dataDir: backfillDir,
          date: DATE,
          speed: "max",
          start: "manual"
        })
        expect(served.served.map((s) => s.dataset)).toEqual(["stock_bars_1s", "option_bars_1s"])
        const dataDir = yield* tempDir("tapehouse-ort-b-")
        const base = testConfig(dataDir, served.restUrl)
        const perConnection = Math.ceil(contracts.length / 3)
        const config = withChain(
          {
            ...base,
            massive: { ...base.massive, wsUrl: served.wsUrl },
            stream: { ...base.stream, flushIntervalMs: 200 }
          },
          perConnection
        )
        const layer = streamStack(config)
        const fiber = yield* Effect.flatMap(OptionBarsFeed.makeLive, (feed) =>
          StreamRunner.run(feed, { instruments: ["SPY"], source: "massive-options", reconcile: false })
        ).pipe(Effect.scoped, Effect.provide(layer), Effect.fork)
        const optionConnections = () =>
          served.socket
            .stats()
            .connections.filter((c) => c.cluster === "options" && c.subscriptions.length > 0)
        for (let i = 0; i < 600 && optionConnections().length < 3; i++) yield* Effect.sleep("50 millis")
        yield* served.socket.start
        const report = yield* Fiber.join(fiber)
        expect(report.stats.rejected).toBe(0)

        // Three connections, every contract on exactly one of them.
        const subscriptions = optionConnections().map((c) => c.subscriptions)
        expect(subscriptions).toHaveLength(3)
        for (const s of subscriptions) expect(s.length).toBeLessThanOrEqual(perConnection)
        expect(subscriptions.flat().sort()).toEqual(contracts.map((c) => `A.${c}`))

        const live = yield* readPartition(dataDir, OptionBars1s, DATE)
        expect(live.map(without)).toEqual(expected.map(without))
      }),
    300_000
  )

  it.scopedLive(
    "max_connections: the refused connection's contracts go on the others, each subscribed once, one alert, nothing lost",
    () =>
      Effect.gen(function* () {
        const backfillDir = yield* backfilledDay
        const expected = yield* readPartition(backfillDir, OptionBars1s, DATE)
        const contracts = [...new Set(expected.map((b) => b.symbol))].sort()
        expect(contracts.length).toBeGreaterThan(12)

        // Three groups of contracts, but the account may hold two connections on /options.
        const served = yield* serveStoredDay({
          dataDir: backfillDir,
          date: DATE,
          speed: "max",
          start: "manual",
          maxConnectionsPerCluster: 2
        })
        const dataDir = yield* tempDir("tapehouse-ort-c-")
        const base = testConfig(dataDir, served.restUrl)
        const perConnection = Math.ceil(contracts.length / 3)
        const config = withChain(
          {
            ...base,
            massive: { ...base.massive, wsUrl: served.wsUrl },
            stream: { ...base.stream, flushIntervalMs: 200 }
          },
          perConnection
        )
        const fiber = yield* Effect.flatMap(OptionBarsFeed.makeLive, (feed) =>
          Effect.zip(
            StreamRunner.run(feed, { instruments: ["SPY"], source: "massive-options", reconcile: false }),
            Alerts.collected
          )
        ).pipe(Effect.scoped, Effect.provide(streamStack(config)), Effect.fork)
        const options = () => served.socket.stats().connections.filter((c) => c.cluster === "options")
        const carried = () =>
          options()
            .filter((c) => c.open)
            .flatMap((c) => c.subscriptions)
        // The replay starts once the open connections carry every contract.
        for (let i = 0; i < 600 && carried().length < contracts.length; i++) yield* Effect.sleep("50 millis")
        yield* served.socket.start
        const [report, alerts] = yield* Fiber.join(fiber)
        expect(report.stats.rejected).toBe(0)

        // Three attempts, one refused and not retried (no flapping); two connections carry every
        // contract exactly once.
        const opened = options()
        expect(opened).toHaveLength(3)
        expect(opened.filter((c) => c.faults.includes("max-connections"))).toHaveLength(1)
        const survivors = opened.filter((c) => !c.faults.includes("max-connections"))
        expect(survivors).toHaveLength(2)
        const subscriptions = survivors.flatMap((c) => c.subscriptions)
        expect(subscriptions.sort()).toEqual(contracts.map((c) => `A.${c}`))

        // The stats show the two live connections, and the move was no reconnect.
        expect([...report.stats.connections.keys()]).toHaveLength(2)
        expect(report.stats.reconnects).toBe(0)

        // One alert, naming the setting to change.
        const limit = alerts.filter((a) => a.kind === "max-connections")
        expect(limit).toHaveLength(1)
        expect(limit[0]!.message).toContain("options.contracts_per_connection")
        // What the moved contracts missed until their new connection delivered them: repaired.
        for (const g of report.continuity.filter((c) => c.kind === "gap")) expect(g.status).toBe("repaired")

        const live = yield* readPartition(dataDir, OptionBars1s, DATE)
        expect(live.map(without)).toEqual(expected.map(without))
      }),
    300_000
  )
})
