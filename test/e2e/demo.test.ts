/**
 * `npm start` (`tapehouse demo`) end to end, as a newcomer runs it: the shipped config, the
 * embedded Postgres, the built-in simulator. It backfills five days, streams a replay of the last
 * one through the live WebSocket path and reconciles it; a second run fetches nothing and leaves
 * the lake as it was.
 */
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { IndexBars1s } from "../../src/domain/IndexBar.js"
import { StockBars1s } from "../../src/domain/StockBar.js"
import { indexSecondBars } from "../../src/sim/syntheticIndices.js"
import { secondBars } from "../../src/sim/syntheticMarket.js"
import { makeConfigDir, runCli } from "../support/cli.js"
import { lakeSnapshot, readLake, tempDir } from "../support/fixtures.js"

const DAYS = ["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08"]
const occurrences = (text: string, part: string) => text.split(part).length - 1

describe("tapehouse demo (npm start)", () => {
  it.scopedLive(
    "backfills, streams the replay of the last day through the live path, reconciles it; logs each line once; a rerun changes nothing",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir()
        const configDir = yield* makeConfigDir(dir)
        const dataDir = Path.join(dir, "data")
        const args = ["--config-dir", configDir, "--data-dir", dataDir, "demo"]
        const first = yield* runCli(args, { timeoutMs: 180_000 })
        expect(first.code, first.stderr).toBe(0)
        const streamedBars = secondBars("SPY", "2024-03-08").length
        expect(first.stdout).toMatch(/this run {5}5 day\(s\) fetched, [\d,]+ rows/)
        expect(first.stdout).toContain(
          `stream       replay of 2024-03-08: ${streamedBars.toLocaleString("en-US")} bars over WebSocket`
        )
        expect(first.stdout).toContain("reconciled through REST: verified")
        expect(first.stdout).toContain("dataset      index_bars_1s I:VIX")
        // The tracked contracts and the news are backfilled for the week too.
        expect(first.stdout).toMatch(
          /dataset {6}option_contracts SPY\nthis run {5}5 day\(s\) fetched, [1-9][\d,]* rows/
        )
        expect(first.stdout).toMatch(/dataset {6}news SPY\nthis run {5}5 day\(s\) fetched, [1-9][\d,]* rows/)
        expect(first.stdout).toContain(
          `stream       replay of 2024-03-08: ${indexSecondBars("I:VIX", "2024-03-08").length.toLocaleString("en-US")} bars over WebSocket`
        )
        // One logger for the whole demo: the stream's lines are not written twice.
        // Each of the two datasets' streams reads the vendor's clock once.
        expect(occurrences(first.stderr, "the vendor's clock is a replay of 2024-03-08")).toBe(2)
        expect(occurrences(first.stderr, "streaming stock_bars_1s SPY for the 2024-03-08 session")).toBe(1)
        expect(occurrences(first.stderr, "stock_bars_1s 2024-03-08 committed")).toBe(1)
        // The follow-ups it prints run on the same data dir and config.
        const tapehouse = `npx tapehouse --data-dir ${dataDir} --config-dir ${configDir}`
        expect(first.stdout).toContain(`  ${tapehouse} sql "SELECT symbol,`)
        expect(first.stdout).toContain(`State of every day: ${tapehouse} status`)

        const lake = yield* readLake(dataDir, StockBars1s)
        expect(lake).toHaveLength(DAYS.reduce((n, d) => n + secondBars("SPY", d).length, 0))
        const vix = yield* readLake(dataDir, IndexBars1s)
        expect(vix).toHaveLength(DAYS.reduce((n, d) => n + indexSecondBars("I:VIX", d).length, 0))
        const before = yield* lakeSnapshot(dataDir)

        const second = yield* runCli(args, { timeoutMs: 180_000 })
        expect(second.code, second.stderr).toBe(0)
        expect(second.stdout).toContain(
          `nothing fetched: all 5 day(s) were already done (${DAYS.join(", ")})`
        )
        expect(second.stdout).toContain("reconciled through REST: verified")
        expect(yield* lakeSnapshot(dataDir)).toEqual(before)
      }),
    240_000
  )
})
