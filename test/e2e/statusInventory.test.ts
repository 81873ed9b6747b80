/**
 * `status --dataset` end to end: the per-day inventory of a backfilled day (files, SHA-256, when
 * written), `--verify` catching a file changed on disk (exit 1), and `--gaps` over a range with days
 * not done (exit 0).
 */
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as MassiveSim from "../../src/sim/MassiveSim.js"
import { backfillArgs, makeConfigDir, runCli } from "../support/cli.js"
import { tempDir } from "../support/fixtures.js"

const DAY = "2024-03-05"

interface InventoryJson {
  readonly from: string
  readonly to: string
  readonly days: ReadonlyArray<{
    readonly date: string
    readonly state: string
    readonly units: number
    readonly unitsDone: number
    readonly attempts: number | null
    readonly rows: number | null
    readonly bytes: number
    readonly files: ReadonlyArray<{
      file: string
      bytes: number
      sha256: string
      writtenAt: string
      verified: string
    }>
  }>
}

describe("status --dataset", () => {
  it.scopedLive(
    "shows each day's files and hashes, --verify finds a changed file, --gaps lists days not done",
    () =>
      Effect.gen(function* () {
        const sim = yield* MassiveSim.make()
        const dir = yield* tempDir()
        const configDir = yield* makeConfigDir(dir, { sql: false })
        const dataDir = Path.join(dir, "data")
        const env = {
          TAPEHOUSE_MASSIVE_URL: sim.url,
          MASSIVE_API_KEY: "k-status-1234",
          TAPEHOUSE_DATA_DIR: dataDir
        }
        const status = (...args: ReadonlyArray<string>) =>
          runCli(["--config-dir", configDir, "status", "--dataset", "stock_bars_1s", ...args], { env })
        const backfill = yield* runCli(backfillArgs(configDir, "SPY", DAY, DAY), { env })
        expect(backfill.code, backfill.stderr).toBe(0)

        const json = yield* status("--json", "--verify")
        expect(json.code, json.stderr).toBe(0)
        const inventory = (JSON.parse(json.stdout) as { inventory: InventoryJson }).inventory
        expect([inventory.from, inventory.to]).toEqual([DAY, DAY])
        const [day] = inventory.days
        expect(day).toMatchObject({ date: DAY, state: "done", units: 1, unitsDone: 1, attempts: 1 })
        expect(day!.rows).toBeGreaterThan(0)
        const file = day!.files[0]!
        expect(file.file).toBe(`lake/stock_bars_1s/date=${DAY}/part-0000.parquet`)
        expect(file.sha256).toMatch(/^[0-9a-f]{64}$/)
        expect(file.verified).toBe("ok")
        expect(file.bytes).toBe(
          (yield* Effect.promise(() => NodeFs.stat(Path.join(dataDir, file.file)))).size
        )
        expect(Number.isNaN(Date.parse(file.writtenAt))).toBe(false)

        // A byte changed on disk: --verify says which file and exits 1.
        yield* Effect.promise(() => NodeFs.appendFile(Path.join(dataDir, file.file), "x"))
        const changed = yield* status("--verify")
        expect(changed.code).toBe(1)
        expect(changed.stdout).toMatch(
          new RegExp(`^${DAY}\\s+done\\s+1/1\\s+1\\s.*${file.sha256}.*\\schanged\\s`, "m")
        )
        expect(changed.stdout).toContain(`verify: 1 file(s) changed or missing: ${file.file} changed`)
        expect(changed.stderr).toContain(`${DAY} ${file.file} changed`)

        // --gaps over a range around the day: the trading days not done, and exit 0.
        const gaps = yield* status("--gaps", "--from", "2024-03-01", "--to", "2024-03-06")
        expect(gaps.code, gaps.stderr).toBe(0)
        expect(gaps.stdout.trim().split("\n")).toEqual([
          "2024-03-01 queued",
          "2024-03-04 queued",
          "2024-03-06 queued",
          "stock_bars_1s 2024-03-01..2024-03-06: 4 NYSE trading days, 3 not done (1 done, 0 no data, 0 in progress, 3 queued, 0 failed)"
        ])
        const gapsJson = yield* status("--gaps", "--json", "--from", "2024-03-04", "--to", "2024-03-06")
        expect(gapsJson.code, gapsJson.stderr).toBe(0)
        const document = JSON.parse(gapsJson.stdout) as {
          gaps: ReadonlyArray<{ date: string; state: string }>
        }
        expect(document.gaps.map((g) => [g.date, g.state])).toEqual([
          ["2024-03-04", "queued"],
          ["2024-03-06", "queued"]
        ])

        const usage = yield* runCli(["--config-dir", configDir, "status", "--gaps"], { env })
        expect(usage.code).toBe(2)
        expect(usage.stderr).toContain("--dataset")
      })
  )
})
