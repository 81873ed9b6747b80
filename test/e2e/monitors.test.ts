/**
 * The monitors through the CLI: a backfill meets a day that fails and a vendor that sends new
 * fields; it ends with the table of its errors, the drift is one alert per field and a row of
 * `schema_drift`, and `errors`, `status` and `health` (with its exit code) say so.
 */
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as MassiveSim from "../../src/sim/MassiveSim.js"
import { backfillArgs, makeConfigDir, runCli } from "../support/cli.js"
import { filesUnder, tempDir } from "../support/fixtures.js"

const dayPath = (symbol: string, date: string) =>
  new RegExp(`^/v2/aggs/ticker/${symbol}/range/1/second/[^/]+/${date}$`)

describe("monitors through the CLI", () => {
  it.scopedLive(
    "a failed day and new vendor fields: errors table, one drift alert per field, errors, status, health",
    () =>
      Effect.gen(function* () {
        // Three pages a day: the new fields arrive on each, and are reported once.
        const sim = yield* MassiveSim.make({ pageSize: 8000 })
        sim.faults.inject(
          { kind: "extra-keys", keys: { dv: "1.5", dav: "2.5" } },
          { times: 3, path: dayPath("SPY", "2024-03-04") }
        )
        sim.faults.inject({ kind: "status", status: 502 }, { times: 3, path: dayPath("SPY", "2024-03-05") })
        const dir = yield* tempDir()
        const configDir = yield* makeConfigDir(dir, { sql: false })
        const dataDir = Path.join(dir, "data")
        const env = {
          TAPEHOUSE_MASSIVE_URL: sim.url,
          MASSIVE_API_KEY: "k-monitors-1234",
          TAPEHOUSE_DATA_DIR: dataDir
        }
        const cli = (...args: ReadonlyArray<string>) => runCli(["--config-dir", configDir, ...args], { env })

        const healthyBefore = yield* cli("health")
        expect(healthyBefore.code, healthyBefore.stderr).toBe(0)
        expect(healthyBefore.stdout).toContain("tapehouse health: HEALTHY")

        const backfill = yield* runCli(backfillArgs(configDir, "SPY", "2024-03-04", "2024-03-05"), { env })
        expect(backfill.code).toBe(1)
        expect(backfill.stdout).toContain("errors of this run")
        expect(backfill.stdout).toMatch(
          /stock_bars_1s\s+backfill-day\s+1\s+.*SPY 2024-03-05: Massive request/
        )

        const alerts = (yield* Effect.promise(() =>
          NodeFs.readFile(Path.join(dataDir, "state", "alerts.jsonl"), "utf8")
        ))
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as { kind: string; source: string; details: { field?: string } })
        expect(
          alerts.filter((a) => a.kind === "schema-drift").map((a) => [a.source, a.details.field])
        ).toEqual([
          ["massive-aggregates", "dv"],
          ["massive-aggregates", "dav"]
        ])
        const lake = yield* filesUnder(Path.join(dataDir, "lake"))
        expect(lake.filter((f) => f.startsWith("schema_drift/"))).toHaveLength(1)
        expect(lake).toContain("stock_bars_1s/date=2024-03-04/part-0000.parquet")

        // The commands that only read, at once.
        const [errors, none, badSince, status, health, ignoring] = yield* Effect.all(
          [
            cli("errors", "--json"),
            cli("errors", "--since", "2099-01-01"),
            cli("errors", "--since", "soon"),
            cli("status"),
            cli("health"),
            cli("health", "--ignore", "schema-drift,backfill-day", "--json")
          ],
          { concurrency: 3 }
        )
        expect(errors.code, errors.stderr).toBe(0)
        const groups = JSON.parse(errors.stdout) as ReadonlyArray<{
          source: string
          kind: string
          count: number
        }>
        expect(groups.map((g) => [g.source, g.kind, g.count])).toEqual([["stock_bars_1s", "backfill-day", 1]])
        expect(groups[0]).toMatchObject({ example: expect.stringMatching(/^SPY 2024-03-05: .*HTTP 502/) })
        expect(none.stdout).toContain("no errors since 2099-01-01")
        expect(badSince.code).toBe(2)

        expect(status.stdout).toContain("schema drift (")
        expect(status.stdout).toContain("massive-aggregates new field dv (string)")
        expect(status.stdout).toContain("massive-aggregates new field dav (string)")

        expect(health.code).toBe(1)
        expect(health.stdout).toContain("UNHEALTHY (3 problem(s))")
        expect(health.stdout).toMatch(/stock_bars_1s\s+\d{4}-\d{2}-\d{2} [\d:]+ \(.* ago\)\s+[\d.]+ \w*B/)
        expect(health.stderr).toContain("unhealthy: 3 problem(s)")
        expect(ignoring.code, ignoring.stdout).toBe(0)
        expect(JSON.parse(ignoring.stdout)).toMatchObject({ healthy: true, problems: [] })
      })
  )
})
