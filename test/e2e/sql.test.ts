/**
 * `tapehouse sql` as a user runs it: while another process holds the embedded database (a
 * backfill, a stream; here this test process), the query goes through the socket it serves and
 * `status` says how to connect to it; with nobody serving, a stale address record is ignored and
 * the command opens the database itself.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { type StockBar, StockBars1s } from "../../src/domain/StockBar.js"
import * as MassiveSim from "../../src/sim/MassiveSim.js"
import { secondBars } from "../../src/sim/syntheticMarket.js"
import * as EmbeddedPg from "../../src/sinks/EmbeddedPg.js"
import * as EmbeddedPgAddress from "../../src/sinks/EmbeddedPgAddress.js"
import * as SqlClientLive from "../../src/sinks/SqlClientLive.js"
import * as SqlSink from "../../src/sinks/SqlSink.js"
import { Migrations } from "../../src/sinks/sqlSchema.js"
import { backfillArgs, makeConfigDir, runCli } from "../support/cli.js"
import { tempDir } from "../support/fixtures.js"
import { dataDirWithEmptyDb } from "../support/pgTemplate.js"
import { removeTempDirs } from "../support/tempDirs.js"

afterAll(removeTempDirs)

const bar = (date: string, second: number): StockBar => {
  const ts = StockBars1s.partitionRange(date).startMs + (9 * 60 + 30) * 60_000 + second * 1000
  return {
    symbol: "SPY",
    ts,
    open: 500,
    high: 500.5,
    low: 499.5,
    close: 500.25,
    volume: 10,
    vwap: null,
    trades: 1
  }
}

const query =
  "SELECT symbol, (ts AT TIME ZONE 'America/New_York')::date AS day, count(*) AS bars, min(ts) AS first FROM stock_bars_1s GROUP BY 1, 2 ORDER BY 2"

const expected = [
  "symbol  day         bars  first",
  "------  ----------  ----  ------------------------",
  "SPY     2024-03-04  3     2024-03-04T14:30:00.000Z",
  "SPY     2024-03-05  1     2024-03-05T14:30:00.000Z",
  "(2 rows)"
].join("\n")

describe("tapehouse sql", () => {
  it.live(
    "answers through the socket of the process holding the embedded database, then alone once it stopped",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* Effect.promise(() => dataDirWithEmptyDb())
        const state = Path.join(dataDir, "state")
        const env = { TAPEHOUSE_DATA_DIR: dataDir }

        const served = yield* Effect.scoped(
          Effect.gen(function* () {
            // The owner: this process opens the database, serves it and writes through it.
            const owner = yield* Layer.build(
              Migrations.pipe(Layer.provideMerge(SqlClientLive.layerFrom({ dataDir, url: Option.none() })))
            )
            const sink = yield* SqlSink.make().pipe(Effect.provide(owner))
            for (const [date, seconds] of [
              ["2024-03-04", [0, 1, 2]],
              ["2024-03-05", [0]]
            ] as const)
              yield* sink.commit({
                dataset: StockBars1s,
                date,
                instruments: ["SPY"],
                rows: seconds.map((s) => bar(date, s)),
                mode: "replace"
              })
            const [result, status, json] = yield* Effect.all(
              [
                runCli(["sql", query], { env }),
                runCli(["status"], { env }),
                runCli(["status", "--json"], { env })
              ],
              { concurrency: 3 }
            )
            // The owner still holds the lock and its address: the command went through its socket.
            expect(Fs.readFileSync(Path.join(state, "pg.lock"), "utf8").trim()).toBe(String(process.pid))
            const address = JSON.parse(Fs.readFileSync(Path.join(state, "pg.json"), "utf8"))
            expect(address.pid).toBe(process.pid)
            expect(status.code, status.stderr).toBe(0)
            expect(status.stdout).toContain(
              `served by pid ${process.pid} since ${address.startedAt}: psql "host=127.0.0.1 port=${address.port} user=postgres dbname=postgres"`
            )
            // The JSON holds the same.
            expect(json.code, json.stderr).toBe(0)
            expect(JSON.parse(json.stdout).sql).toMatchObject({
              target: "embedded",
              path: Path.join(state, "pg"),
              servedBy: {
                pid: process.pid,
                since: address.startedAt,
                connection: `host=127.0.0.1 port=${address.port} user=postgres dbname=postgres`
              }
            })
            return result
          })
        )
        expect(served.code, served.stderr).toBe(0)
        expect(served.stdout.trim()).toBe(expected)

        // The owner is gone; a record and a lock left by a process that died are ignored.
        const dead = 999_999_999
        Fs.writeFileSync(
          Path.join(state, "pg.json"),
          JSON.stringify({
            host: "127.0.0.1",
            port: 1,
            pid: dead,
            startedAt: "2024-03-04T00:00:00.000Z",
            database: "postgres",
            user: "postgres",
            url: "postgres://postgres@127.0.0.1:1/postgres"
          })
        )
        Fs.writeFileSync(Path.join(state, "pg.lock"), `${dead}\n`)
        const alone = yield* runCli(["sql", query], { env })
        expect(alone.code, alone.stderr).toBe(0)
        expect(alone.stdout.trim()).toBe(expected)
        expect(Fs.existsSync(Path.join(state, "pg.json"))).toBe(false)
        expect(Fs.existsSync(Path.join(state, "pg.lock"))).toBe(false)
      }),
    300_000
  )

  it.scopedLive(
    "with keep_open_ms, the first call leaves a keeper that later calls join; a backfill takes the database over from it",
    () =>
      Effect.gen(function* () {
        const sim = yield* MassiveSim.make()
        const configDir = yield* makeConfigDir(yield* tempDir())
        const dataDir = yield* Effect.promise(() => dataDirWithEmptyDb())
        const env = {
          TAPEHOUSE_MASSIVE_URL: sim.url,
          MASSIVE_API_KEY: "k-keeper-1234",
          TAPEHOUSE_DATA_DIR: dataDir,
          TAPEHOUSE_SQL_KEEP_OPEN_MS: "600000"
        }
        const lock = () => EmbeddedPg.parseLock(Fs.readFileSync(EmbeddedPgAddress.lockPath(dataDir), "utf8"))
        const servedBy = () => JSON.parse(Fs.readFileSync(EmbeddedPgAddress.recordPath(dataDir), "utf8")).pid
        const ends = (pid: number) =>
          Effect.gen(function* () {
            for (let i = 0; i < 600 && EmbeddedPgAddress.isAlive(pid); i++) yield* Effect.sleep("50 millis")
            return !EmbeddedPgAddress.isAlive(pid)
          })
        // No keeper outlives the test, whatever happens in it.
        const keepers: Array<number> = []
        yield* Effect.addFinalizer(() =>
          Effect.forEach(
            keepers.filter((pid) => pid > 0),
            (pid) =>
              Effect.sync(() => EmbeddedPgAddress.isAlive(pid) && process.kill(pid, "SIGTERM")).pipe(
                Effect.zipRight(ends(pid))
              )
          )
        )
        const count = ["--config-dir", configDir, "sql", "SELECT count(*) AS bars FROM stock_bars_1s"]
        const answer = (n: number) => `bars\n${"-".repeat(Math.max(4, String(n).length))}\n${n}\n(1 row)`

        const first = yield* runCli(count, { env })
        expect(first.code, first.stderr).toBe(0)
        expect(first.stdout.trim()).toBe(answer(0))
        // The command ended; the keeper it started holds the database and serves it.
        const keeper = lock()?.pid ?? 0
        keepers.push(keeper)
        expect(lock()?.keeper).toBe(true)
        expect(servedBy()).toBe(keeper)

        const second = yield* runCli(count, { env })
        expect(second.code, second.stderr).toBe(0)
        expect(second.stdout.trim()).toBe(answer(0))
        expect(servedBy()).toBe(keeper)

        // A writer asks the keeper to close the database, then opens it.
        const backfill = yield* runCli(backfillArgs(configDir, "SPY", "2024-03-04", "2024-03-04"), { env })
        expect(backfill.code, backfill.stderr).toBe(0)
        expect(yield* ends(keeper)).toBe(true)
        expect(Fs.existsSync(EmbeddedPgAddress.lockPath(dataDir))).toBe(false)

        const third = yield* runCli(count, { env })
        expect(third.code, third.stderr).toBe(0)
        expect(third.stdout.trim()).toBe(answer(secondBars("SPY", "2024-03-04").length))
        keepers.push(lock()?.pid ?? 0)
      }),
    300_000
  )
})
