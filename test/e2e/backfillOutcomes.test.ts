/**
 * What a backfill tells its user, end to end through the CLI: tickers as typed, days that have no
 * history yet, instrument-days the vendor has nothing for, and an interrupted run.
 */
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { StockBars1s } from "../../src/domain/StockBar.js"
import { addDays, newYorkDate } from "../../src/domain/time.js"
import * as MassiveSim from "../../src/sim/MassiveSim.js"
import { secondBars } from "../../src/sim/syntheticMarket.js"
import { backfillArgs, collect, makeConfigDir, runCli, start } from "../support/cli.js"
import { filesUnder, readLake, tempDir } from "../support/fixtures.js"

const env = (sim: MassiveSim.MassiveSimServer, dataDir: string) => ({
  TAPEHOUSE_MASSIVE_URL: sim.url,
  MASSIVE_API_KEY: "k-outcomes-1234",
  TAPEHOUSE_DATA_DIR: dataDir
})

describe("backfill outcomes", () => {
  it.scopedLive("lower-case tickers are the vendor's upper-case ones (spy is SPY, i:vix is I:VIX)", () =>
    Effect.gen(function* () {
      const sim = yield* MassiveSim.make()
      const dir = yield* tempDir()
      const configDir = yield* makeConfigDir(dir, { sql: false })
      const dataDir = Path.join(dir, "data")
      const result = yield* runCli(backfillArgs(configDir, "spy, i:vix", "2024-03-04", "2024-03-04"), {
        env: env(sim, dataDir)
      })
      expect(result.code, result.stderr).toBe(0)
      expect(result.stdout).toContain("stock_bars_1s SPY,I:VIX 2024-03-04..2024-03-04")
      const asked = sim.requests().map((r) => r.path)
      expect(asked.some((p) => p.startsWith("/v2/aggs/ticker/SPY/"))).toBe(true)
      expect(asked.some((p) => p.startsWith("/v2/aggs/ticker/I:VIX/"))).toBe(true)
      expect(asked.some((p) => /ticker\/(spy|i:vix)\//.test(p))).toBe(false)
      expect((yield* readLake(dataDir, StockBars1s)).length).toBe(secondBars("SPY", "2024-03-04").length)
    })
  )

  it.scopedLive("a day in the future, or today before the close, is refused with exit 2 naming it", () =>
    Effect.gen(function* () {
      const sim = yield* MassiveSim.make()
      const dir = yield* tempDir()
      const configDir = yield* makeConfigDir(dir, { sql: false })
      const dataDir = Path.join(dir, "data")
      const today = newYorkDate(Date.now())
      const future = yield* runCli(backfillArgs(configDir, "SPY", "2030-03-04", "2030-03-08"), {
        env: env(sim, dataDir)
      })
      expect(future.code).toBe(2)
      expect(future.stderr).toContain("2030-03-04")
      expect(future.stderr).toContain("in the future")
      const spanning = yield* runCli(backfillArgs(configDir, "SPY", addDays(today, -10), addDays(today, 3)), {
        env: env(sim, dataDir)
      })
      expect(spanning.code).toBe(2)
      expect(spanning.stderr).toMatch(/closed sessions only/)
      // Nothing was fetched, nothing was recorded.
      expect(sim.requests().filter((r) => r.path.startsWith("/v2/aggs/"))).toEqual([])
      expect(yield* filesUnder(Path.join(dataDir, "state", "checkpoints"))).toEqual([])
    })
  )

  it.scopedLive(
    "an unknown ticker is recorded empty with a warning naming it; the next run retries it; --accept-empty stops that",
    () =>
      Effect.gen(function* () {
        const sim = yield* MassiveSim.make()
        const dir = yield* tempDir()
        const configDir = yield* makeConfigDir(dir, { sql: false })
        const dataDir = Path.join(dir, "data")
        const args = backfillArgs(configDir, "SPY,ZZZZ", "2024-03-04", "2024-03-05")
        const first = yield* runCli(args, { env: env(sim, dataDir) })
        expect(first.code, first.stderr).toBe(0)
        expect(first.stdout).toContain("0 failed, 2 empty")
        expect(first.stdout).toContain("2 empty")
        expect(first.stdout).toMatch(
          /warning: stock_bars_1s ZZZZ: the vendor returned no rows for 2 trading day\(s\) \(2024-03-04, 2024-03-05\); recorded as empty, not done/
        )
        const status = yield* runCli(["--config-dir", configDir, "status"], { env: env(sim, dataDir) })
        expect(status.stdout).toContain("stock_bars_1s: 2 done, 0 failed, 0 pending, 2 empty")
        expect(status.stdout).toMatch(/ZZZZ\s+2024-03-04\s+empty/)

        sim.clearRequests()
        const second = yield* runCli(args, { env: env(sim, dataDir) })
        expect(second.code, second.stderr).toBe(0)
        const retried = sim.requests().filter((r) => r.path.startsWith("/v2/aggs/"))
        expect(retried.length).toBe(2)
        expect(retried.every((r) => r.path.startsWith("/v2/aggs/ticker/ZZZZ/"))).toBe(true)

        sim.clearRequests()
        const accepted = yield* runCli([...args, "--accept-empty"], { env: env(sim, dataDir) })
        expect(accepted.code, accepted.stderr).toBe(0)
        expect(accepted.stdout).toContain("already done; nothing fetched")
        expect(sim.requests().filter((r) => r.path.startsWith("/v2/aggs/"))).toEqual([])
      }),
    120_000
  )

  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143]
  ] as const)
    it.scopedLive(
      `${signal} stops a backfill with exit ${code}, saying what it kept and how to resume; the resume finishes it`,
      () =>
        Effect.gen(function* () {
          const sim = yield* MassiveSim.make({ pageSize: 6000 })
          const dir = yield* tempDir()
          const configDir = yield* makeConfigDir(dir, {
            sql: false,
            replace: [["settings.yaml", /concurrency: \d+/, "concurrency: 1"]]
          })
          const dataDir = Path.join(dir, "data")
          const args = backfillArgs(configDir, "SPY", "2024-03-04", "2024-03-08")
          sim.faults.inject({ kind: "slow", delayMs: 300 }, { times: 1000 })
          const child = start(args, { env: env(sim, dataDir) })
          const done = collect(child)
          const journal = Path.join(dataDir, "state", "checkpoints", "stock_bars_1s.jsonl")
          yield* Effect.promise(async () => {
            for (;;) {
              const text = await NodeFs.readFile(journal, "utf8").catch(() => "")
              if (text.includes('"status":"done"')) return
              await new Promise((r) => setTimeout(r, 50))
            }
          })
          child.kill(signal)
          const result = yield* Effect.promise(() => done)
          expect(result.code, result.stderr).toBe(code)
          expect(result.stderr).toMatch(
            new RegExp(
              `stock_bars_1s: interrupted by ${signal}: [1-4] of 5 trading day\\(s\\) committed \\(2024-03-04.*\\); .* not started`
            )
          )
          expect(result.stderr).toContain(
            `To resume (days done are skipped): npx tapehouse --config-dir ${configDir} backfill --dataset stock_bars_1s --symbols SPY --from 2024-03-04 --to 2024-03-08`
          )

          sim.faults.clear()
          const resumed = yield* runCli(args, { env: env(sim, dataDir) })
          expect(resumed.code, resumed.stderr).toBe(0)
          expect((yield* readLake(dataDir, StockBars1s)).length).toBe(
            ["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08"].reduce(
              (n, d) => n + secondBars("SPY", d).length,
              0
            )
          )
        }),
      120_000
    )
})
