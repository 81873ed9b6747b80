/**
 * `stream --datasets stock_bars_1s,option_bars_1s,index_bars_1s` through the CLI against a replay
 * of a stored day whose `/options` cluster refuses the key (a plan without options: `auth_failed`
 * there, as Massive answers), while `/stocks` and `/indices` accept it. The options feed raises one
 * alert and stops alone; the stock and index days land whole, equal to their backfill in every
 * column the WebSocket carries; the command exits with the refused feed's error (1); `status`
 * shows the alert. The replay runs at full speed, started once both entitled clusters subscribe;
 * `/options` is a late cluster (its chain is drawn from the first second's `op`), so the replay holds
 * after that second until the options client is refused.
 */
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { AppConfig, type AppConfigShape } from "../../src/config/AppConfig.js"
import { IndexBars1s } from "../../src/domain/IndexBar.js"
import { OptionBars1s } from "../../src/domain/OptionBar.js"
import { type StockBar, StockBars1s } from "../../src/domain/StockBar.js"
import { alertsFile } from "../../src/monitor/Alerts.js"
import * as Backfill from "../../src/runners/backfill.js"
import { serveStoredDay } from "../../src/sim/lakeBars.js"
import * as MassiveSim from "../../src/sim/MassiveSim.js"
import { optionsMarket, registerOptionContracts } from "../../src/sim/options/optionsSim.js"
import { readPartition } from "../../src/sinks/ParquetSink.js"
import * as IndexBarsFeed from "../../src/sources/massive/indexBarsFeed.js"
import * as OptionBarsFeed from "../../src/sources/massive/optionBarsFeed.js"
import * as StockBarsFeed from "../../src/sources/massive/stockBarsFeed.js"
import { collect, makeConfigDir, runCli, start } from "../support/cli.js"
import { backfillStack, tempDir, testConfig } from "../support/fixtures.js"

const DATE = "2024-03-04"
const KEY = "k-no-options-plan"
const range = { from: DATE, to: DATE, overwrite: false, concurrency: 1 }

/** The vendor's day: SPY, I:VIX and SPY's contracts expiring that day, backfilled in process. */
const vendorDay = Effect.gen(function* () {
  const sim = yield* MassiveSim.make({ markets: [...MassiveSim.SYNTHETIC_MARKETS, optionsMarket] })
  registerOptionContracts(sim)
  const dataDir = yield* tempDir("tapehouse-entitle-vendor-")
  const base = testConfig(dataDir, sim.url)
  const config: AppConfigShape = { ...base, options: { ...base.options, maxDte: 0 } }
  const stack = Layer.merge(backfillStack(config), Layer.succeed(AppConfig, config))
  yield* Effect.flatMap(StockBarsFeed.make, (feed) =>
    Backfill.run(feed, { ...range, symbols: ["SPY"] })
  ).pipe(Effect.provide(stack))
  yield* Effect.flatMap(IndexBarsFeed.make, (feed) =>
    Backfill.run(feed, { ...range, symbols: ["I:VIX"] })
  ).pipe(Effect.provide(stack))
  yield* Effect.flatMap(OptionBarsFeed.make, (feed) =>
    Backfill.run(feed, { ...range, symbols: ["SPY"] })
  ).pipe(Effect.provide(stack))
  return dataDir
})

/** Polls on real time. */
const waitFor = <A>(what: string, probe: () => A | undefined, timeoutMs = 90_000) =>
  Effect.promise(async () => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = probe()
      if (found !== undefined) return found
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  })

/** Every column the WebSocket carries (no trade counts live). */
const wsColumns = (b: StockBar) => [b.symbol, b.ts, b.open, b.high, b.low, b.close, b.volume, b.vwap]
const indexColumns = (b: {
  symbol: string
  ts: number
  open: number
  high: number
  low: number
  close: number
}) => [b.symbol, b.ts, b.open, b.high, b.low, b.close]
const byKey = <B extends { symbol: string; ts: number }>(a: B, b: B) =>
  a.symbol === b.symbol ? a.ts - b.ts : a.symbol < b.symbol ? -1 : 1

describe("stream --datasets with one cluster refusing the key", () => {
  it.scopedLive(
    "an options auth_failed raises one alert and stops alone; stocks and indices capture the day whole; exit 1",
    () =>
      Effect.gen(function* () {
        const vendorDir = yield* vendorDay
        const stocks = [...(yield* readPartition(vendorDir, StockBars1s, DATE))].sort(byKey)
        const indices = [...(yield* readPartition(vendorDir, IndexBars1s, DATE))].sort(byKey)
        expect((yield* readPartition(vendorDir, OptionBars1s, DATE)).length).toBeGreaterThan(0)

        const served = yield* serveStoredDay({
          dataDir: vendorDir,
          date: DATE,
          speed: "max",
          start: "manual",
          lateClusters: ["options"],
          entitlements: { [KEY]: ["stocks", "indices"] }
        })
        expect(served.served.map((s) => s.dataset).sort()).toEqual([
          "index_bars_1s",
          "option_bars_1s",
          "stock_bars_1s"
        ])

        const dir = yield* tempDir("tapehouse-entitle-")
        const configDir = yield* makeConfigDir(dir, {
          sql: false,
          replace: [["settings.yaml", /max_dte: 7/, "max_dte: 0"]]
        })
        const dataDir = Path.join(dir, "data")
        const env = {
          TAPEHOUSE_MASSIVE_URL: served.restUrl,
          TAPEHOUSE_MASSIVE_WS_URL: served.wsUrl,
          MASSIVE_API_KEY: KEY,
          TAPEHOUSE_DATA_DIR: dataDir
        }
        const child = start(
          [
            ...["--config-dir", configDir, "stream"],
            ...["--datasets", "stock_bars_1s,option_bars_1s,index_bars_1s", "--no-reconcile"]
          ],
          { env }
        )
        const done = collect(child, 240_000)

        // The replay starts once stocks and indices subscribe; the options chain is drawn from the `op`
        // of its first second, and the options connection is refused while the replay holds for it.
        const connections = () => served.socket.stats().connections
        yield* waitFor("stocks and indices subscribed", () => {
          const subscribed = (cluster: string) =>
            connections().some((c) => c.cluster === cluster && c.open && c.subscriptions.length > 0)
          return subscribed("stocks") && subscribed("indices") ? true : undefined
        })
        yield* served.socket.start
        const result = yield* Effect.promise(() => done)

        // The refused feed's error is the exit code: a rejected key or entitlement is 1.
        expect(result.code, result.stderr).toBe(1)
        expect(result.stdout).toMatch(/^option_bars_1s SPY: stopped early: .*auth_failed/m)
        expect(result.stdout).toMatch(/^stock_bars_1s SPY session 2024-03-04: /m)
        expect(result.stdout).toMatch(/^index_bars_1s I:VIX session 2024-03-04: /m)
        const optionsConnections = connections().filter((c) => c.cluster === "options")
        expect(optionsConnections.length).toBeGreaterThan(0)
        expect(optionsConnections.every((c) => !c.authenticated)).toBe(true)
        // The chain was drawn from the live stocks feed's `op`, not after a wait for it.
        expect(result.stderr).toContain("(op of the live stocks feed)")

        // One alert, naming the options feed and the cause.
        const alerts = (yield* Effect.promise(() => NodeFs.readFile(alertsFile(dataDir), "utf8")))
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line) as { level: string; source: string; message: string })
          .filter((a) => a.level === "error")
        expect(alerts).toHaveLength(1)
        expect(alerts[0]!.message).toMatch(/^option_bars_1s stopped: /)
        expect(alerts[0]!.message).toContain("not entitled to the /options cluster")
        expect(alerts[0]!.message).toMatch(/keep capturing$/)

        // The stock and index days are whole: equal to the backfill in every column the WebSocket carries.
        const lakeStocks = [...(yield* readPartition(dataDir, StockBars1s, DATE))].sort(byKey)
        expect(lakeStocks.map(wsColumns)).toEqual(stocks.map(wsColumns))
        const lakeIndices = [...(yield* readPartition(dataDir, IndexBars1s, DATE))].sort(byKey)
        expect(lakeIndices.map(indexColumns)).toEqual(indices.map(indexColumns))
        expect(yield* readPartition(dataDir, OptionBars1s, DATE)).toEqual([])

        // Status shows the options feed failed (its alert).
        const status = yield* runCli(["--config-dir", configDir, "status", "--json"], { env })
        expect(status.code, status.stderr).toBe(0)
        const report = JSON.parse(status.stdout) as {
          alerts: Array<{ level: string; source: string; message: string }>
        }
        expect(report.alerts.filter((a) => a.level === "error").map((a) => a.message)).toEqual([
          alerts[0]!.message
        ])
      }),
    300_000
  )
})
