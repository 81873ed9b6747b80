/**
 * The option datasets end to end, as a user runs them: `discover` and `backfill --dataset
 * option_bars_1s` against the Massive simulator's synthetic option chain on loopback, the lake read
 * back (and by DuckDB), the embedded Postgres queried through `tapehouse sql`.
 */
import { createHash } from "node:crypto"
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { type OptionBar, OptionBars1s } from "../../src/domain/OptionBar.js"
import { OptionContracts } from "../../src/domain/OptionContract.js"
import { addDays } from "../../src/domain/time.js"
import * as MassiveSim from "../../src/sim/MassiveSim.js"
import { contractsListed, optionSecondBars, underlyingOpen } from "../../src/sim/options/optionsChain.js"
import { optionsMarket, registerOptionContracts } from "../../src/sim/options/optionsSim.js"
import { sessionOf } from "../../src/sim/syntheticMarket.js"
import { collect, makeConfigDir, runCli, start } from "../support/cli.js"
import { duckdb, duckdbInstalled } from "../support/duckdb.js"
import { filesUnder, lakeSnapshot, readLake, tempDir } from "../support/fixtures.js"
import { dataDirWithEmptyDb, WARM_UP_TIMEOUT_MS, warmUpTemplate } from "../support/pgTemplate.js"
import { removeTempDirs } from "../support/tempDirs.js"

beforeAll(warmUpTemplate, WARM_UP_TIMEOUT_MS)
afterAll(removeTempDirs)

/**
 * A data dir for a run with SQL: an empty embedded database copied from a template, so each test
 * does not pay for an initdb (the CLI creating a database is covered by the demo test).
 */
const dataDirWithDb = Effect.promise(() => dataDirWithEmptyDb("tapehouse-options-"))

const KEY = "sk-test-options"
const DAY = "2024-03-05"

/** The simulator with the synthetic option chain: `O:` aggregates and the contracts reference. */
const optionsSim = (options: MassiveSim.MassiveSimOptions = {}) =>
  Effect.gen(function* () {
    const sim = yield* MassiveSim.make({ ...options, markets: [optionsMarket] })
    registerOptionContracts(sim)
    return sim
  })

const env = (sim: MassiveSim.MassiveSimServer, dataDir: string) => ({
  TAPEHOUSE_MASSIVE_URL: sim.url,
  MASSIVE_API_KEY: KEY,
  TAPEHOUSE_DATA_DIR: dataDir
})

/** A config dir with `options.max_dte` set (and SQL on or off). */
const configWith = (dir: string, maxDte: number, sql: boolean) =>
  makeConfigDir(dir, { sql, replace: [["settings.yaml", /max_dte: 7/, `max_dte: ${maxDte}`]] })

/**
 * What discovery must select, computed here from the simulator's chain and open: calls and puts
 * with strike within ±1 % of the open (bounds included), expiring from the day to max_dte later.
 */
const expectedContracts = (underlying: string, date: string, maxDte: number) => {
  const open = underlyingOpen(underlying, date)!
  return contractsListed(underlying, date, date, addDays(date, maxDte))
    .filter((c) => {
      const strike = c.strikeMilli / 1000
      return strike >= open * 0.99 && strike <= open * 1.01
    })
    .map((c) => c.ticker)
    .sort()
}

/** What the simulator serves for the tracked contracts of a day, in the session, as option bars. */
const expectedBars = (underlying: string, date: string, maxDte: number) => {
  const session = sessionOf(date)
  if (session._tag !== "open") throw new Error(`${date} is not a session`)
  return expectedContracts(underlying, date, maxDte).flatMap((ticker) =>
    optionSecondBars(ticker, date)
      .filter((b) => b.ts >= session.openMs && b.ts < session.closeMs)
      .map((b) => [ticker, b.ts, b.open, b.high, b.low, b.close, b.volume, b.vwap, b.trades])
  )
}

const barTuple = (b: OptionBar) => [
  b.symbol,
  b.ts,
  b.open,
  b.high,
  b.low,
  b.close,
  b.volume,
  b.vwap,
  b.trades
]

const backfill = (configDir: string, from: string, to: string, ...rest: ReadonlyArray<string>) => [
  "--config-dir",
  configDir,
  "backfill",
  "--dataset",
  "option_bars_1s",
  "--underlying",
  "SPY",
  "--from",
  from,
  "--to",
  to,
  ...rest
]

/** `tapehouse sql QUERY` output. */
const sql = (configDir: string, dataDir: string, query: string) =>
  runCli(["--config-dir", configDir, "sql", query], { env: { TAPEHOUSE_DATA_DIR: dataDir } })

describe("option datasets through the CLI", () => {
  it.scopedLive(
    "discover prints and stores exactly the contracts within ±1% of the open and max_dte; a rerun replaces them",
    () =>
      Effect.gen(function* () {
        const sim = yield* optionsSim()
        const dir = yield* tempDir()
        const configDir = yield* configWith(dir, 7, true)
        const dataDir = yield* dataDirWithDb
        const args = ["--config-dir", configDir, "discover", "--underlying", "SPY", "--date", DAY]
        const first = yield* runCli(args, { env: env(sim, dataDir) })
        expect(first.code, first.stderr).toBe(0)
        const expected = expectedContracts("SPY", DAY, 7)
        expect(expected.length).toBeGreaterThan(100)
        const printed = [...first.stdout.matchAll(/^(O:SPY\d{6}[CP]\d{8})\s/gm)].map((m) => m[1]).sort()
        expect(printed).toEqual(expected)
        expect(first.stdout).toContain(`SPY ${DAY}: open ${underlyingOpen("SPY", DAY)} (official open`)
        // The chain as of the day, paged with limit=1000, expired contracts included.
        const listing = sim.requests().filter((r) => r.path === "/v3/reference/options/contracts")
        expect(listing.length).toBeGreaterThan(0)
        expect(listing[0]!.query).toMatchObject({ as_of: DAY, expired: "true", limit: "1000" })

        const lake = yield* readLake(dataDir, OptionContracts)
        expect(lake.map((r) => r.ticker).sort()).toEqual(expected)
        const open = underlyingOpen("SPY", DAY)!
        for (const r of lake) {
          expect(r).toMatchObject({
            date: DAY,
            underlying: "SPY",
            underlying_open: open,
            shares_per_contract: 100
          })
          expect(r.expiration_date >= DAY && r.expiration_date <= addDays(DAY, 7)).toBe(true)
        }
        const journal = yield* Effect.promise(() =>
          NodeFs.readFile(Path.join(dataDir, "state", "checkpoints", "option_contracts.jsonl"), "utf8")
        )
        expect(journal).toMatch(
          new RegExp(`"symbol":"SPY","date":"${DAY}","status":"done","rows":${expected.length}`)
        )

        // A rerun with a narrower window replaces the day's contracts: none of the old ones is left.
        const narrow = yield* configWith(Path.join(dir, "narrow"), 0, true)
        const rerun = yield* runCli(["--config-dir", narrow, ...args.slice(2)], { env: env(sim, dataDir) })
        expect(rerun.code, rerun.stderr).toBe(0)
        const after = yield* readLake(dataDir, OptionContracts)
        expect(after.map((r) => r.ticker).sort()).toEqual(expectedContracts("SPY", DAY, 0))
        const count = yield* sql(
          narrow,
          dataDir,
          "SELECT count(*) AS n, count(DISTINCT ticker) AS tickers, min(expiration_date) AS first, max(expiration_date) AS last, pg_typeof(min(date)) AS t FROM option_contracts"
        )
        expect(count.code, count.stderr).toBe(0)
        const n = expectedContracts("SPY", DAY, 0).length
        expect(count.stdout).toMatch(new RegExp(`^\\s*${n}\\s+${n}\\s+${DAY}\\s+${DAY}\\s+date\\s*$`, "m"))
      }),
    240_000
  )

  it.scopedLive(
    "backfill option_bars_1s stores the day's contracts and bars equal to what the simulator serves, in the lake (DuckDB types) and in SQL",
    () =>
      Effect.gen(function* () {
        const sim = yield* optionsSim()
        const dir = yield* tempDir()
        const configDir = yield* configWith(dir, 0, true)
        const dataDir = yield* dataDirWithDb
        const result = yield* runCli(backfill(configDir, DAY, DAY), { env: env(sim, dataDir) })
        expect(result.code, result.stderr).toBe(0)
        expect(result.stdout).toMatch(
          /^option_contracts SPY 2024-03-05\.\.2024-03-05: 1 trading day\(s\), 1 committed/m
        )
        expect(result.stdout).toMatch(
          /^option_bars_1s SPY 2024-03-05\.\.2024-03-05: 1 trading day\(s\), 1 committed/m
        )

        const expected = expectedBars("SPY", DAY, 0)
        const lake = yield* readLake(dataDir, OptionBars1s)
        expect(lake.map(barTuple)).toEqual(expected)
        const contracts = new Map((yield* readLake(dataDir, OptionContracts)).map((c) => [c.ticker, c]))
        expect([...contracts.keys()].sort()).toEqual(expectedContracts("SPY", DAY, 0))
        for (const b of lake) {
          const c = contracts.get(b.symbol)!
          expect([b.underlying, b.expiration_date, b.strike_price, b.contract_type]).toEqual([
            c.underlying,
            c.expiration_date,
            c.strike_price,
            c.contract_type
          ])
        }

        // SQL holds the same rows: a digest of every row, computed by Postgres and here; and the
        // column types (one query: each `tapehouse sql` opens the database).
        const digest = yield* sql(
          configDir,
          dataDir,
          "SELECT count(*) AS n, md5(string_agg(concat_ws(',', symbol, (extract(epoch FROM ts) * 1000)::bigint, open, high, low, close, volume, vwap, trades), ';' ORDER BY symbol, ts)) AS digest, pg_typeof(min(ts)) AS ts, pg_typeof(min(expiration_date)) AS exp FROM option_bars_1s"
        )
        expect(digest.code, digest.stderr).toBe(0)
        const text = lake
          .map((b) =>
            barTuple(b)
              .map((v) => (v === null ? "" : String(v)))
              .join(",")
          )
          .join(";")
        const mine = createHash("md5").update(text).digest("hex")
        expect(digest.stdout).toMatch(
          new RegExp(`^\\s*${lake.length}\\s+${mine}\\s+timestamp with time zone\\s+date\\s*$`, "m")
        )

        if (duckdbInstalled) {
          const lakeDir = Path.join(dataDir, "lake").replaceAll("'", "''")
          const described = async (dataset: string) =>
            Object.fromEntries(
              (
                await duckdb(
                  `DESCRIBE SELECT * FROM read_parquet('${lakeDir}/${dataset}/*/*.parquet', hive_partitioning = false)`
                )
              ).map((c) => [c["column_name"], c["column_type"]])
            )
          const bars = yield* Effect.promise(() => described("option_bars_1s"))
          expect(bars).toMatchObject({
            symbol: "VARCHAR",
            underlying: "VARCHAR",
            expiration_date: "DATE",
            strike_price: "DOUBLE",
            ts: "TIMESTAMP WITH TIME ZONE",
            trades: "BIGINT"
          })
          const contractTypes = yield* Effect.promise(() => described("option_contracts"))
          expect(contractTypes).toMatchObject({
            date: "DATE",
            expiration_date: "DATE",
            discovered_at: "TIMESTAMP WITH TIME ZONE",
            shares_per_contract: "BIGINT"
          })
          const counted = yield* Effect.promise(() =>
            duckdb(
              `SELECT count(*)::INTEGER AS n FROM read_parquet('${lakeDir}/option_bars_1s/*/*.parquet', hive_partitioning = true) WHERE date = DATE '${DAY}'`
            )
          )
          expect(counted).toEqual([{ n: expected.length }])
        }
      }),
    240_000
  )

  it.scopedLive(
    "a re-backfill of a day whose chain changed leaves no stale contract, in the lake or in SQL",
    () =>
      Effect.gen(function* () {
        const sim = yield* optionsSim()
        const dir = yield* tempDir()
        const wide = yield* configWith(Path.join(dir, "wide"), 1, true)
        const narrow = yield* configWith(Path.join(dir, "narrow"), 0, true)
        const dataDir = yield* dataDirWithDb
        const first = yield* runCli(backfill(wide, DAY, DAY), { env: env(sim, dataDir) })
        expect(first.code, first.stderr).toBe(0)
        const wideTickers = expectedContracts("SPY", DAY, 1)
        expect(new Set((yield* readLake(dataDir, OptionBars1s)).map((b) => b.symbol)).size).toBe(
          wideTickers.length
        )

        const second = yield* runCli(backfill(narrow, DAY, DAY, "--overwrite"), { env: env(sim, dataDir) })
        expect(second.code, second.stderr).toBe(0)
        const narrowTickers = expectedContracts("SPY", DAY, 0)
        expect(narrowTickers.length).toBeLessThan(wideTickers.length)
        const lake = yield* readLake(dataDir, OptionBars1s)
        expect(lake.map(barTuple)).toEqual(expectedBars("SPY", DAY, 0))
        expect((yield* readLake(dataDir, OptionContracts)).map((c) => c.ticker).sort()).toEqual(narrowTickers)
        const counts = yield* sql(
          narrow,
          dataDir,
          "SELECT (SELECT count(DISTINCT symbol) FROM option_bars_1s) AS bar_contracts, (SELECT count(*) FROM option_bars_1s) AS bars, (SELECT count(*) FROM option_contracts) AS contracts"
        )
        expect(counts.code, counts.stderr).toBe(0)
        expect(counts.stdout).toMatch(
          new RegExp(`^\\s*${narrowTickers.length}\\s+${lake.length}\\s+${narrowTickers.length}\\s*$`, "m")
        )
      }),
    240_000
  )

  it.scopedLive(
    "kill -9 in the middle of an options backfill, then a rerun, gives the same lake as a clean run",
    () =>
      Effect.gen(function* () {
        const sim = yield* optionsSim()
        const dir = yield* tempDir()
        const configDir = yield* configWith(dir, 0, false)
        const dataDir = Path.join(dir, "data")
        const args = backfill(configDir, "2024-03-04", "2024-03-07")
        // Slow answers so that the kill lands while days are in flight.
        sim.faults.inject({ kind: "slow", delayMs: 150 }, { times: 100_000 })
        const child = start(args, { env: env(sim, dataDir) })
        const done = collect(child)
        const journal = Path.join(dataDir, "state", "checkpoints", "option_bars_1s.jsonl")
        yield* Effect.promise(async () => {
          for (;;) {
            const text = await NodeFs.readFile(journal, "utf8").catch(() => "")
            if (text.split("\n").some((l) => l.includes('"status":"done"'))) return
            await new Promise((r) => setTimeout(r, 50))
          }
        })
        child.kill("SIGKILL")
        expect((yield* Effect.promise(() => done)).signal).toBe("SIGKILL")
        const visible = (yield* filesUnder(Path.join(dataDir, "lake"))).filter((f) => f.endsWith(".parquet"))
        expect(visible.every((f) => /date=\d{4}-\d{2}-\d{2}\/part-0000\.parquet$/.test(f))).toBe(true)

        sim.faults.clear()
        const rerun = yield* runCli(args, { env: env(sim, dataDir) })
        expect(rerun.code, rerun.stderr).toBe(0)
        const cleanDir = Path.join(dir, "clean")
        const clean = yield* runCli(args, { env: env(sim, cleanDir) })
        expect(clean.code, clean.stderr).toBe(0)

        // Bars: the same bytes. Contracts: the same rows (discovered_at is when each run discovered).
        const bars = (snapshot: Record<string, string>) =>
          Object.fromEntries(Object.entries(snapshot).filter(([f]) => f.startsWith("option_bars_1s/")))
        const [afterKill, cleanRun] = [yield* lakeSnapshot(dataDir), yield* lakeSnapshot(cleanDir)]
        expect(Object.keys(bars(afterKill))).toHaveLength(4)
        expect(bars(afterKill)).toEqual(bars(cleanRun))
        const contracts = (d: string) =>
          Effect.map(readLake(d, OptionContracts), (rows) =>
            rows
              .map(({ discovered_at: _at, ...rest }) => rest)
              .sort((a, b) => (a.date + a.ticker < b.date + b.ticker ? -1 : 1))
          )
        expect(yield* contracts(dataDir)).toEqual(yield* contracts(cleanDir))
        const lake = yield* readLake(dataDir, OptionBars1s)
        expect(lake.length).toBe(
          ["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07"].reduce(
            (n, d) => n + expectedBars("SPY", d, 0).length,
            0
          )
        )
      }),
    240_000
  )
})
