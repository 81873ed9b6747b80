/**
 * `tapehouse stream`, `status` and `stop` as a user runs them: the stream is a child process fed
 * by a stored day served on loopback (`serveStoredDay`, what `tapehouse simulate` runs).
 */
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { StockBars1s } from "../../src/domain/StockBar.js"
import * as Backfill from "../../src/runners/backfill.js"
import { serveStoredDay } from "../../src/sim/lakeBars.js"
import * as MassiveSim from "../../src/sim/MassiveSim.js"
import * as StockBarsFeed from "../../src/sources/massive/stockBarsFeed.js"
import { collect, makeConfigDir, runCli, start } from "../support/cli.js"
import { backfillStack, readLake, tempDir, testConfig } from "../support/fixtures.js"

const DATE = "2024-03-04"

const backfilledDay = Effect.gen(function* () {
  const sim = yield* MassiveSim.make()
  const dataDir = yield* tempDir("tapehouse-e2e-a-")
  yield* Effect.flatMap(StockBarsFeed.make, (source) =>
    Backfill.run(source, { symbols: ["SPY"], from: DATE, to: DATE, overwrite: false, concurrency: 1 })
  ).pipe(Effect.provide(backfillStack(testConfig(dataDir, sim.url))))
  return dataDir
})

const waitFor = <A>(what: string, probe: () => Promise<A | undefined>, timeoutMs = 60_000) =>
  Effect.promise(async () => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = await probe()
      if (found !== undefined) return found
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  })

describe("tapehouse stream", () => {
  it.scopedLive(
    "status lists the running stream with its heartbeat; stop ends it cleanly within 10 s with everything received committed",
    () =>
      Effect.gen(function* () {
        const backfillDir = yield* backfilledDay
        // 20x: the session would take 20 minutes, so the stream is surely running when stopped.
        const served = yield* serveStoredDay({ dataDir: backfillDir, date: DATE, speed: 20 })
        const dir = yield* tempDir()
        const configDir = yield* makeConfigDir(dir, {
          sql: false,
          replace: [["settings.yaml", /heartbeat_interval_ms: \d+/, "heartbeat_interval_ms: 1000"]]
        })
        const dataDir = Path.join(dir, "data")
        const env = {
          TAPEHOUSE_MASSIVE_URL: served.restUrl,
          TAPEHOUSE_MASSIVE_WS_URL: served.wsUrl,
          MASSIVE_API_KEY: "k-e2e-1234",
          TAPEHOUSE_DATA_DIR: dataDir
        }
        const child = start(
          ["--config-dir", configDir, "stream", "--dataset", "stock_bars_1s", "--symbols", "SPY"],
          { env }
        )
        const done = collect(child, 120_000)
        const partition = Path.join(dataDir, "lake", "stock_bars_1s", `date=${DATE}`)
        yield* waitFor("a committed part file", async () => {
          const files = await NodeFs.readdir(partition).catch(() => [] as Array<string>)
          return files.filter((f) => f.endsWith(".parquet")).length >= 2 ? true : undefined
        })

        const status = yield* runCli(["--config-dir", configDir, "status"], { env })
        expect(status.code, status.stderr).toBe(0)
        expect(status.stdout).toMatch(
          /stream massive-stocks running \(pid \d+, SPY, since .*\); heartbeat .* ago: (connected|connecting)/
        )

        const stoppedAt = Date.now()
        const stop = yield* runCli(["--config-dir", configDir, "stop"], { env })
        expect(stop.code, stop.stderr).toBe(0)
        expect(stop.stdout).toMatch(/stopped massive-stocks \(pid \d+, SPY\)/)
        const result = yield* Effect.promise(() => done)
        expect(result.code).toBe(0)
        expect(Date.now() - stoppedAt).toBeLessThan(10_000 + 5_000)
        // Everything received was committed: the count it logged equals the rows in the lake.
        const m = /stopped: (\d+) records received, (\d+) committed/.exec(result.stderr)
        expect(m, result.stderr).not.toBeNull()
        const [received, committed] = [Number(m![1]), Number(m![2])]
        expect(committed).toBe(received)
        const lake = yield* readLake(dataDir, StockBars1s)
        expect(lake.length).toBe(committed)
        expect(new Set(lake.map((b) => b.ts)).size).toBe(lake.length)
        // The pid file is gone: status no longer lists it.
        const after = yield* runCli(["--config-dir", configDir, "status"], { env })
        expect(after.stdout).not.toContain("running (pid")
      }),
    180_000
  )

  it.scopedLive("a refused API key exits 1 at once with a clear message", () =>
    Effect.gen(function* () {
      const backfillDir = yield* backfilledDay
      const served = yield* serveStoredDay({
        dataDir: backfillDir,
        date: DATE,
        speed: 20,
        apiKeys: ["the-right-key"]
      })
      const dir = yield* tempDir()
      const configDir = yield* makeConfigDir(dir, { sql: false })
      const result = yield* runCli(
        ["--config-dir", configDir, "stream", "--dataset", "stock_bars_1s", "--symbols", "SPY"],
        {
          env: {
            TAPEHOUSE_MASSIVE_URL: served.restUrl,
            TAPEHOUSE_MASSIVE_WS_URL: served.wsUrl,
            MASSIVE_API_KEY: "a-wrong-key-5678",
            TAPEHOUSE_DATA_DIR: Path.join(dir, "data")
          },
          timeoutMs: 60_000
        }
      )
      expect(result.code).toBe(1)
      expect(result.stderr).toContain("rejected the API key")
      expect(result.stderr).not.toContain("a-wrong-key-5678")
    })
  )
})
