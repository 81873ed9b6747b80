/**
 * The embedded database's housekeeping: PGlite has no checkpointer and no autovacuum, so without
 * it the WAL and the rows replaced days leave dead only grow.
 */
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Option } from "effect"
import { type StockBar, StockBars1s } from "../../src/domain/StockBar.js"
import * as EmbeddedPg from "../../src/sinks/EmbeddedPg.js"
import * as EmbeddedPgMaintenance from "../../src/sinks/EmbeddedPgMaintenance.js"
import * as SqlClientLive from "../../src/sinks/SqlClientLive.js"
import * as SqlSink from "../../src/sinks/SqlSink.js"
import { Migrations } from "../../src/sinks/sqlSchema.js"
import { dataDirWithEmptyDb } from "../support/pgTemplate.js"
import { removeTempDirs } from "../support/tempDirs.js"

afterAll(removeTempDirs)

const emptyDb = Effect.promise(() => dataDirWithEmptyDb())

/** Bytes a folder takes on disk (allocated blocks, as `du` counts them). */
const diskBytes = async (dir: string): Promise<number> => {
  let total = 0
  for (const e of await NodeFs.readdir(dir, { withFileTypes: true })) {
    const p = Path.join(dir, e.name)
    total += e.isDirectory() ? await diskBytes(p) : (await NodeFs.stat(p)).blocks * 512
  }
  return total
}

const bars = (date: string, n: number, price: number): Array<StockBar> => {
  const open = StockBars1s.partitionRange(date).startMs + (9 * 60 + 30) * 60_000
  return Array.from({ length: n }, (_, i) => ({
    symbol: "SPY",
    ts: open + i * 1000,
    open: price,
    high: price + 0.05,
    low: price - 0.05,
    close: price + 0.01,
    volume: 100 + i,
    vwap: price + 0.005,
    trades: i
  }))
}

/** What the user tables and their indexes take, as Postgres reports it. */
const tableBytes = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<{ bytes: number }>`
    SELECT coalesce(sum(pg_total_relation_size(relid)), 0)::float8 AS bytes FROM pg_stat_user_tables`.pipe(
    Effect.map((rows) => rows[0]?.bytes ?? 0)
  )
)

const segment = 16 * 1024 * 1024

describe("EmbeddedPgMaintenance", () => {
  it.live(
    "many replace-commits of the same days: the database stays within 1.5× its tables plus a fixed allowance",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* emptyDb
        const pgDir = Path.join(dataDir, "state", "pg")
        // The fixed part: the catalogs of an empty database (template0, template1, postgres) and
        // one WAL segment, measured; plus the WAL a checkpoint waits for, and up to two segments
        // of rounding and of WAL written between two rounds of housekeeping.
        const empty = yield* Effect.promise(() => diskBytes(pgDir))
        const allowance = empty + EmbeddedPgMaintenance.defaultPolicy.checkpointWalBytes + 2 * segment
        const walBound = EmbeddedPgMaintenance.defaultPolicy.checkpointWalBytes + 2 * segment

        const samples = yield* Effect.scoped(
          Effect.gen(function* () {
            const context = yield* Layer.build(
              Migrations.pipe(Layer.provideMerge(SqlClientLive.layerFrom({ dataDir, url: Option.none() })))
            )
            const sink = yield* SqlSink.make({ batchSize: 10_000 }).pipe(Effect.provide(context))
            const out: Array<{ tables: number; disk: number; wal: number }> = []
            // 3 days of 4,000 bars, replaced 20 times: about 80 MB of WAL and 240,000 dead rows.
            for (let round = 0; round < 20; round++) {
              for (const date of ["2024-03-04", "2024-03-05", "2024-03-06"])
                yield* sink.commit({
                  dataset: StockBars1s,
                  date,
                  instruments: ["SPY"],
                  rows: bars(date, 4_000, 100 + round),
                  mode: "replace"
                })
              out.push({
                tables: yield* tableBytes.pipe(Effect.provide(context)),
                disk: yield* Effect.promise(() => diskBytes(pgDir)),
                wal: yield* Effect.promise(() => diskBytes(Path.join(pgDir, "pg_wal")))
              })
            }
            const sql = Context.get(context, SqlClient.SqlClient)
            expect(yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM stock_bars_1s`).toEqual([
              { n: 12_000 }
            ])
            return out
          })
        )
        const first = samples[0]!
        for (const s of samples) {
          expect(s.disk).toBeLessThanOrEqual(1.5 * s.tables + allowance)
          expect(s.wal).toBeLessThanOrEqual(walBound)
          // Dead rows are vacuumed and their space reused: the tables stop growing (at about 3× the
          // live rows here, as 1–3 rounds of 12,000 dead rows fall between two vacuums; 20× without).
          expect(s.tables).toBeLessThanOrEqual(6 * first.tables)
        }
        // Closed: the shutdown checkpoint leaves one WAL segment.
        expect(yield* Effect.promise(() => diskBytes(Path.join(pgDir, "pg_wal")))).toBeLessThanOrEqual(
          segment
        )
      }),
    300_000
  )

  it.live("a round vacuums the tables with many dead rows and checkpoints past the WAL threshold", () =>
    Effect.gen(function* () {
      const dataDir = yield* emptyDb
      const result = yield* Effect.scoped(
        Effect.gen(function* () {
          // A client without the periodic rounds, so that only this test's rounds run.
          const server = yield* EmbeddedPg.start(dataDir)
          const context = yield* Layer.build(
            PgClient.layer({
              host: server.host,
              port: server.port,
              database: "postgres",
              username: "postgres"
            })
          )
          const sql = Context.get(context, SqlClient.SqlClient)
          yield* sql`CREATE TABLE churned (n int PRIMARY KEY, pad text)`
          yield* sql`CREATE TABLE steady (n int PRIMARY KEY)`
          yield* sql`INSERT INTO churned SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g`
          yield* sql`INSERT INTO steady SELECT g FROM generate_series(1, 20000) g`
          yield* sql`DELETE FROM churned WHERE n > 5000`
          const policy = { ...EmbeddedPgMaintenance.defaultPolicy, checkpointWalBytes: 1024 * 1024 }
          const round = yield* EmbeddedPgMaintenance.pass(policy).pipe(Effect.provide(context))
          const dead = yield* sql<{ dead: number }>`
            SELECT n_dead_tup::int AS dead FROM pg_stat_user_tables WHERE relname = 'churned'`
          const again = yield* EmbeddedPgMaintenance.pass(policy).pipe(Effect.provide(context))
          return { round, dead, again }
        })
      )
      expect(result.round.vacuumed).toEqual(["churned"])
      // 20,000 rows inserted since the last analysis (none): analyzed for the planner.
      expect(result.round.analyzed).toEqual(["steady"])
      expect(result.round.checkpointed).toBe(true)
      expect(result.dead).toEqual([{ dead: 0 }])
      expect(result.again).toMatchObject({ vacuumed: [], analyzed: [], checkpointed: false, workMillis: 0 })
    })
  )

  it.live("rounds wait for WAL: an idle database or a few changed rows run none, more writes run one", () =>
    Effect.gen(function* () {
      const dataDir = yield* emptyDb
      yield* Effect.scoped(
        Effect.gen(function* () {
          const server = yield* EmbeddedPg.start(dataDir)
          const client = yield* Layer.build(
            PgClient.layer({
              host: server.host,
              port: server.port,
              database: "postgres",
              username: "postgres"
            })
          )
          const sql = Context.get(client, SqlClient.SqlClient)
          const dead = Effect.zipRight(
            sql`SELECT pg_stat_force_next_flush()`,
            Effect.map(
              sql<{
                dead: number
              }>`SELECT n_dead_tup::int AS dead FROM pg_stat_user_tables WHERE relname = 'churned'`,
              (rows) => rows[0]?.dead ?? -1
            )
          )
          const vacuumed = Effect.gen(function* () {
            for (let i = 0; i < 200; i++) {
              if ((yield* dead) === 0) return true
              yield* Effect.sleep("50 millis")
            }
            return false
          })
          yield* sql`CREATE TABLE churned (n int PRIMARY KEY, pad text)`
          yield* sql`INSERT INTO churned SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g`
          yield* sql`DELETE FROM churned WHERE n > 5000`
          const policy = { ...EmbeddedPgMaintenance.defaultPolicy, interval: "100 millis" as const }
          yield* Layer.build(
            EmbeddedPgMaintenance.layer(policy).pipe(Layer.provide(Layer.succeedContext(client)))
          )
          // Megabytes of WAL before the first round: it vacuums.
          expect(yield* vacuumed).toBe(true)
          // 3,000 dead rows of 5,000 (past 1,000 + 20 %) in far less than `passWalBytes` of WAL:
          // ten intervals later they are still there (a round every interval would have vacuumed).
          yield* sql`DELETE FROM churned WHERE n > 2000`
          yield* Effect.sleep("1 second")
          expect(yield* dead).toBe(3000)
          // A megabyte and more of other writes: the next round vacuums them.
          yield* sql`CREATE TABLE other (n int PRIMARY KEY, pad text)`
          yield* sql`INSERT INTO other SELECT g, repeat('y', 200) FROM generate_series(1, 10000) g`
          expect(yield* vacuumed).toBe(true)
        })
      )
    })
  )
})
