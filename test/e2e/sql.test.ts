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
import * as SqlClientLive from "../../src/sinks/SqlClientLive.js"
import * as SqlSink from "../../src/sinks/SqlSink.js"
import { Migrations } from "../../src/sinks/sqlSchema.js"
import { runCli } from "../support/cli.js"
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
            const [result, status] = yield* Effect.all(
              [runCli(["sql", query], { env }), runCli(["status"], { env })],
              { concurrency: 2 }
            )
            // The owner still holds the lock and its address: the command went through its socket.
            expect(Fs.readFileSync(Path.join(state, "pg.lock"), "utf8").trim()).toBe(String(process.pid))
            const address = JSON.parse(Fs.readFileSync(Path.join(state, "pg.json"), "utf8"))
            expect(address.pid).toBe(process.pid)
            expect(status.code, status.stderr).toBe(0)
            expect(status.stdout).toContain(
              `served by pid ${process.pid} since ${address.startedAt}: psql "host=127.0.0.1 port=${address.port} user=postgres dbname=postgres"`
            )
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
})
