/**
 * index_bars_1s end to end through the CLI, as a user runs it: `backfill --dataset index_bars_1s
 * --symbols i:vix` against the simulator on loopback, then the lake (Hive-partitioned Parquet, no
 * volume column), the quarantine, the SQL table (PGlite), `status` and `--help` read back.
 */
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { IndexBars1s } from "../../src/domain/IndexBar.js"
import * as MassiveSim from "../../src/sim/MassiveSim.js"
import { indexSecondBars } from "../../src/sim/syntheticIndices.js"
import { decodeTable, readMetadata } from "../../src/sinks/parquetCodec.js"
import { quarantineColumns } from "../../src/sinks/Quarantine.js"
import { makeConfigDir, runCli } from "../support/cli.js"
import { filesUnder, readLake, tempDir } from "../support/fixtures.js"
import { dataDirWithEmptyDb, WARM_UP_TIMEOUT_MS, warmUpTemplate } from "../support/pgTemplate.js"
import { removeTempDirs } from "../support/tempDirs.js"

beforeAll(warmUpTemplate, WARM_UP_TIMEOUT_MS)
afterAll(removeTempDirs)

const KEY = "sk-test-index-5d1e"
const DAYS = ["2024-03-04", "2024-03-05"]

describe("index_bars_1s through the CLI", () => {
  it.scopedLive(
    "backfill --dataset index_bars_1s --symbols i:vix fills the lake, quarantine and SQL; status and --help name it",
    () =>
      Effect.gen(function* () {
        const sim = yield* MassiveSim.make()
        // Two bars of the first page break the OHLC rule: they go to quarantine with the reason.
        sim.faults.inject({ kind: "ohlc-violation", count: 2 }, { path: /I:VIX.*2024-03-04$/ })
        const dir = yield* tempDir()
        const configDir = yield* makeConfigDir(dir, { sql: true })
        // An empty embedded database, copied from a template (no initdb in the run).
        const dataDir = yield* Effect.promise(() => dataDirWithEmptyDb("tapehouse-index-"))
        const env = { TAPEHOUSE_MASSIVE_URL: sim.url, MASSIVE_API_KEY: KEY, TAPEHOUSE_DATA_DIR: dataDir }
        const args = ["--config-dir", configDir]
        const run = yield* runCli(
          [
            ...args,
            "backfill",
            "--dataset",
            "index_bars_1s",
            "--symbols",
            "i:vix",
            "--from",
            DAYS[0]!,
            "--to",
            DAYS[1]!
          ],
          { env }
        )
        expect(run.code, run.stderr).toBe(0)

        // The ticker keeps its prefix; indices take no `adjusted`.
        const asked = sim.requests().filter((r) => r.path.startsWith("/v2/aggs/"))
        expect(asked.map((r) => r.path).sort()).toEqual(
          DAYS.map((d) => `/v2/aggs/ticker/I:VIX/range/1/second/${d}/${d}`)
        )
        expect(asked.every((r) => !("adjusted" in r.query))).toBe(true)

        // The lake: one Hive partition per day, six columns, no volume.
        const lake = yield* filesUnder(Path.join(dataDir, "lake"))
        expect(lake).toEqual(DAYS.map((d) => `index_bars_1s/date=${d}/part-0000.parquet`))
        const bytes = yield* Effect.promise(() => NodeFs.readFile(Path.join(dataDir, "lake", lake[0]!)))
        expect(
          readMetadata(bytes)
            .schema.slice(1)
            .map((c) => c.name)
        ).toEqual(["symbol", "ts", "open", "high", "low", "close"])
        const rows = yield* readLake(dataDir, IndexBars1s)
        const synthetic = DAYS.flatMap((d) => indexSecondBars("I:VIX", d))
        expect(rows.length).toBe(synthetic.length - 2)
        const byTs = new Map(synthetic.map((b) => [b.ts, b]))
        expect(
          rows.every((r) => {
            const b = byTs.get(r.ts)!
            return (
              r.symbol === "I:VIX" &&
              r.open === b.open &&
              r.high === b.high &&
              r.low === b.low &&
              r.close === b.close
            )
          })
        ).toBe(true)

        // The quarantine: the two broken bars, with the reason.
        const quarantined = (yield* filesUnder(Path.join(dataDir, "quarantine"))).filter((f) =>
          f.endsWith(".parquet")
        )
        expect(quarantined.every((f) => f.startsWith(`index_bars_1s/date=${DAYS[0]}/`))).toBe(true)
        const rejects = yield* Effect.promise(async () => {
          const out: Array<Record<string, unknown>> = []
          for (const f of quarantined)
            out.push(
              ...(await decodeTable(
                quarantineColumns(IndexBars1s),
                await NodeFs.readFile(Path.join(dataDir, "quarantine", f))
              ))
            )
          return out
        })
        expect(rejects).toHaveLength(2)
        expect(rejects.every((r) => /^low [\d.]+ is above high [\d.]+$/.test(String(r.reason)))).toBe(true)

        // SQL: its own table, primary key (symbol, ts), no volume column, the lake's rows. One query
        // (each `tapehouse sql` opens the database): the columns in order, the key, rows per symbol.
        const described = yield* runCli(
          [
            ...args,
            "sql",
            "SELECT (SELECT string_agg(column_name, '|' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 'index_bars_1s') AS columns, " +
              "(SELECT string_agg(a.attname, '|' ORDER BY a.attname) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'index_bars_1s'::regclass AND i.indisprimary) AS key, " +
              "(SELECT string_agg(concat_ws('/', symbol, n, d), '|' ORDER BY symbol) FROM (SELECT symbol, count(*) AS n, count(DISTINCT ts) AS d FROM index_bars_1s GROUP BY symbol) s) AS counts"
          ],
          { env }
        )
        expect(described.code, described.stderr).toBe(0)
        const [columns = "", key = "", counts = ""] =
          /^\s*(\S*symbol\S*)\s+(\S+)\s+(\S+)\s*$/m.exec(described.stdout)?.slice(1) ?? []
        expect(
          columns
            .split("|")
            .filter((c) => ["symbol", "ts", "open", "high", "low", "close", "volume"].includes(c))
        ).toEqual(["symbol", "ts", "open", "high", "low", "close"])
        expect(key.split("|")).toEqual(["symbol", "ts"])
        expect(counts).toBe(`I:VIX/${rows.length}/${rows.length}`)

        // status and --help name the dataset.
        const status = yield* runCli([...args, "status", "--dataset", "index_bars_1s"], { env })
        expect(status.code, status.stderr).toBe(0)
        expect(status.stdout).toMatch(/^index_bars_1s: 2 done, 0 failed/m)
        expect(status.stdout).toContain("I:VIX")
        const help = yield* runCli(["backfill", "--help"])
        expect(help.stdout).toContain("index_bars_1s")

        // A rerun skips the days done.
        sim.clearRequests()
        const again = yield* runCli(
          [
            ...args,
            "backfill",
            "--dataset",
            "index_bars_1s",
            "--symbols",
            "I:VIX",
            "--from",
            DAYS[0]!,
            "--to",
            DAYS[1]!
          ],
          { env }
        )
        expect(again.code, again.stderr).toBe(0)
        expect(sim.requests().filter((r) => r.path.startsWith("/v2/aggs/"))).toEqual([])
      }),
    240_000
  )
})
