/**
 * The SQL sink against (a) the embedded PGlite served on a loopback socket, in a temporary data
 * dir, and (b) a real PostgreSQL when TAPEHOUSE_TEST_PG_URL is set
 * (`eval "$(bash .ci/start-postgres.sh)"`), each run in a fresh schema dropped afterwards.
 */
import { SqlClient } from "@effect/sql"
import { afterAll, describe, expect, it, layer } from "@effect/vitest"
import { Effect, Layer, Option, Redacted } from "effect"
import type { Dataset } from "../../src/domain/Dataset.js"
import { type OptionGreek, OptionGreeks1m } from "../../src/domain/OptionGreek.js"
import type { StockBar } from "../../src/domain/StockBar.js"
import { StockBars1s } from "../../src/domain/StockBar.js"
import type { PartitionWrite, WriteMode } from "../../src/sinks/Sink.js"
import * as SqlClientLive from "../../src/sinks/SqlClientLive.js"
import * as SqlSink from "../../src/sinks/SqlSink.js"
import { migrationsLayer } from "../../src/sinks/sqlSchema.js"
import { AllTypes, type AllTypesRow, allTypesRows } from "../support/allTypes.js"
import { makeTempDir, removeTempDirs } from "../support/tempDirs.js"

const DAY = "2024-03-05"
const NEXT_DAY = "2024-03-06"

/** `n` valid one-second bars from 09:30 New York time, with a millisecond offset to test exactness. */
const bars = (symbol: string, date: string, n: number, options: { price?: number; ms?: number } = {}) => {
  const open = StockBars1s.partitionRange(date).startMs + (9 * 60 + 30) * 60_000 + (options.ms ?? 0)
  const price = options.price ?? 100
  const out: Array<StockBar> = []
  for (let i = 0; i < n; i++) {
    const p = price + (i % 100) / 100
    out.push({
      symbol,
      ts: open + i * 1000,
      open: p,
      high: p + 0.05,
      low: p - 0.05,
      close: p + 0.01,
      volume: 100 + i,
      vwap: i % 3 === 0 ? null : p + 0.005,
      trades: i % 4 === 0 ? null : i
    })
  }
  return out
}

const write = (
  rows: ReadonlyArray<StockBar>,
  mode: WriteMode,
  date = DAY,
  instruments: ReadonlyArray<string> = [...new Set(rows.map((r) => r.symbol))]
): PartitionWrite<StockBar> => ({ dataset: StockBars1s, date, instruments, rows, mode })

const sinkSuite = (sqlLayer: Layer.Layer<SqlClient.SqlClient, unknown>) =>
  layer(sqlLayer, { excludeTestServices: true })((it) => {
    it.effect("migrations create the table with the dataset's column types and primary key", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const columns = yield* sql<{ column_name: string; data_type: string; is_nullable: string }>`
          SELECT column_name, data_type, is_nullable FROM information_schema.columns
          WHERE table_schema = current_schema() AND table_name = 'stock_bars_1s' ORDER BY ordinal_position`
        expect(columns.map((c) => [c.column_name, c.data_type, c.is_nullable])).toEqual([
          ["symbol", "text", "NO"],
          ["ts", "timestamp with time zone", "NO"],
          ["open", "double precision", "NO"],
          ["high", "double precision", "NO"],
          ["low", "double precision", "NO"],
          ["close", "double precision", "NO"],
          ["volume", "double precision", "NO"],
          ["vwap", "double precision", "YES"],
          ["trades", "bigint", "YES"]
        ])
        const key = yield* sql<{ column_name: string }>`
          SELECT k.column_name FROM information_schema.table_constraints c
          JOIN information_schema.key_column_usage k
            ON k.constraint_name = c.constraint_name AND k.table_schema = c.table_schema
          WHERE c.table_schema = current_schema() AND c.table_name = 'stock_bars_1s'
            AND c.constraint_type = 'PRIMARY KEY'
          ORDER BY k.ordinal_position`
        expect(key.map((k) => k.column_name)).toEqual(["symbol", "ts"])
        const applied = yield* sql<{
          name: string
        }>`SELECT name FROM effect_sql_migrations ORDER BY migration_id`
        expect(applied.map((m) => m.name)).toEqual([
          "stock_bars_1s",
          "continuity",
          "continuity_add_cause",
          "index_bars_1s",
          "option_contracts",
          "option_bars_1s",
          "news",
          "news_sentiment",
          "schema_drift",
          "options_enriched_1s",
          "underlying_features_1s",
          "consolidated_1s_view",
          "option_greeks_1m"
        ])
      })
    )

    it.effect("upsert is idempotent and updates changed values", () =>
      Effect.gen(function* () {
        const sink = yield* SqlSink.make({ batchSize: 100 })
        const rows = bars("UPS", DAY, 250)
        const first = yield* sink.commit(write(rows, "upsert"))
        expect(first).toEqual({ sink: "sql", rows: 250 })
        yield* sink.commit(write(rows, "upsert"))
        expect(yield* SqlSink.countRows(StockBars1s, { date: DAY, instruments: ["UPS"] })).toBe(250)

        const changed = rows.map((r, i) => (i < 10 ? { ...r, close: r.close + 1, vwap: 7.5, trades: 99 } : r))
        yield* sink.commit(write(changed.slice(0, 10), "upsert"))
        expect(yield* SqlSink.countRows(StockBars1s, { date: DAY, instruments: ["UPS"] })).toBe(250)
        expect(yield* SqlSink.readRows(StockBars1s, { date: DAY, instruments: ["UPS"] })).toEqual(changed)
      })
    )

    it.effect("append is a keyed upsert: a correction replaces the older row at once", () =>
      Effect.gen(function* () {
        const sink = yield* SqlSink.make()
        const rows = bars("APP", DAY, 20)
        const other = bars("APQ", DAY, 5)
        yield* sink.commit(write([...rows.slice(0, 10), ...other], "append"))
        const flush = yield* sink.commit(write(rows.slice(10), "append"))
        expect(flush).toEqual({ sink: "sql", rows: 10 })
        // A later flush corrects two earlier rows: no second version, no other row touched.
        const corrected = rows.map((r, i) =>
          i === 3 || i === 15 ? { ...r, close: r.close + 5, trades: 7 } : r
        )
        yield* sink.commit(write([corrected[3]!, corrected[15]!], "append", DAY, ["APP", "APQ"]))
        expect(yield* SqlSink.countRows(StockBars1s, { date: DAY, instruments: ["APP"] })).toBe(20)
        expect(yield* SqlSink.readRows(StockBars1s, { date: DAY, instruments: ["APP"] })).toEqual(corrected)
        // Unlike replace, an append naming an instrument with no rows removes nothing.
        expect(yield* SqlSink.readRows(StockBars1s, { date: DAY, instruments: ["APQ"] })).toEqual(other)
      })
    )

    it.effect("replace rewrites the in-scope instruments of that day only", () =>
      Effect.gen(function* () {
        const sink = yield* SqlSink.make()
        const spy = bars("RA", DAY, 300)
        const qqq = bars("RB", DAY, 200)
        const spyNext = bars("RA", NEXT_DAY, 50)
        yield* sink.commit(write([...spy, ...qqq], "upsert"))
        yield* sink.commit(write(spyNext, "upsert", NEXT_DAY))

        const corrected = bars("RA", DAY, 120, { price: 200 })
        const result = yield* sink.commit(write(corrected, "replace"))
        expect(result.rows).toBe(120)
        expect(yield* SqlSink.readRows(StockBars1s, { date: DAY, instruments: ["RA"] })).toEqual(corrected)
        expect(yield* SqlSink.readRows(StockBars1s, { date: DAY, instruments: ["RB"] })).toEqual(qqq)
        expect(yield* SqlSink.readRows(StockBars1s, { date: NEXT_DAY, instruments: ["RA"] })).toEqual(spyNext)

        // An empty replace (the vendor has nothing for RA that day) empties RA's day.
        yield* sink.commit(write([], "replace", DAY, ["RA"]))
        expect(yield* SqlSink.countRows(StockBars1s, { date: DAY, instruments: ["RA"] })).toBe(0)
        expect(yield* SqlSink.countRows(StockBars1s, { date: DAY, instruments: ["RB"] })).toBe(200)
      })
    )

    it.effect(
      "below a second partition column, replace rewrites that value's rows only (option greeks)",
      () =>
        Effect.gen(function* () {
          const sink = yield* SqlSink.make()
          const open = OptionGreeks1m.partitionRange(DAY).startMs + (9 * 60 + 30) * 60_000
          const greeks = (expiration: string, n: number, delta: number): Array<OptionGreek> =>
            Array.from({ length: n }, (_, i) => ({
              symbol: "SPXW",
              expiration,
              strike: 5_100_000 + 5_000 * (i % 3) + 125,
              right: "call",
              ts: open + 60_000 * Math.floor(i / 3),
              bid: 1.5,
              ask: 1.6,
              delta,
              theta: -0.1,
              vega: 0.2,
              rho: 0.01,
              epsilon: -0.01,
              lambda: 10,
              implied_vol: 0.15,
              iv_error: 0,
              underlying_ts: open,
              underlying_price: 5100.25
            }))
          const unit = (
            expiration: string,
            rows: ReadonlyArray<OptionGreek>
          ): PartitionWrite<OptionGreek> => ({
            dataset: OptionGreeks1m,
            date: DAY,
            subPartition: expiration,
            instruments: ["SPXW"],
            rows,
            mode: "replace"
          })
          yield* sink.commit(unit("2024-03-05", greeks("2024-03-05", 9, 0.5)))
          yield* sink.commit(unit("2024-03-08", greeks("2024-03-08", 6, 0.4)))
          yield* sink.commit(unit("2024-03-05", greeks("2024-03-05", 3, 0.6)))
          const sql = yield* SqlClient.SqlClient
          const rows = yield* sql<{ expiration: string; n: string; delta: number; strike: string }>`
          SELECT expiration::text AS expiration, count(*) AS n, max(delta) AS delta, min(strike)::text AS strike
          FROM option_greeks_1m GROUP BY expiration ORDER BY expiration`
          expect(rows.map((r) => [r.expiration, Number(r.n), r.delta, r.strike])).toEqual([
            ["2024-03-05", 3, 0.6, "5100.125"],
            ["2024-03-08", 6, 0.4, "5100.125"]
          ])
        })
    )

    it.effect("timestamps round trip to the exact millisecond and nulls stay null", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const sink = yield* SqlSink.make()
        const rows = [1, 123, 499, 500, 501, 999].map((ms, i) => ({
          ...bars("MS", DAY, 1, { ms })[0]!,
          ts: bars("MS", DAY, 1, { ms })[0]!.ts + i * 1000,
          vwap: null,
          trades: null
        }))
        yield* sink.commit(write(rows, "upsert"))
        const back = yield* SqlSink.readRows(StockBars1s, { instruments: ["MS"] })
        expect(back).toEqual(rows)
        // Postgres itself holds the exact instant (not only the JS round trip).
        const text = yield* sql<{ t: string; vwap: number | null; trades: string | null }>`
          SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS t, vwap, trades
          FROM stock_bars_1s WHERE symbol = 'MS' ORDER BY ts`
        expect(text.map((r) => r.t)).toEqual(
          rows.map((r) => new Date(r.ts).toISOString().replace("Z", "000"))
        )
        expect(text.every((r) => r.vwap === null && r.trades === null)).toBe(true)
      })
    )

    it.effect("a large batch (50,000 rows) commits with either insert method", () =>
      Effect.gen(function* () {
        const rows = bars("BIG", DAY, 50_000)
        const unnest = yield* SqlSink.make({ batchSize: 10_000 })
        expect((yield* unnest.commit(write(rows, "replace"))).rows).toBe(50_000)
        expect(yield* SqlSink.countRows(StockBars1s, { date: DAY, instruments: ["BIG"] })).toBe(50_000)

        // `values` is capped at 65,535 parameters per statement whatever the batch size asked.
        const values = yield* SqlSink.make({ batchSize: 10_000, method: "values" })
        const other = bars("BIG2", DAY, 20_000)
        expect((yield* values.commit(write(other, "replace"))).rows).toBe(20_000)
        expect(yield* SqlSink.readRows(StockBars1s, { date: DAY, instruments: ["BIG2"] })).toEqual(other)
        expect(yield* SqlSink.countRows(StockBars1s, { date: DAY, instruments: ["BIG"] })).toBe(50_000)
      })
    )

    it.effect("a failing batch rolls the whole commit back", () =>
      Effect.gen(function* () {
        const sink = yield* SqlSink.make({ batchSize: 10 })
        const rows = bars("ATOM", DAY, 40)
        yield* sink.commit(write(rows, "upsert"))
        // The 4th batch has a NULL in a NOT NULL column: the delete and the first batches are undone.
        const bad = bars("ATOM", DAY, 40, { price: 300 }).map((r, i) =>
          i === 35 ? ({ ...r, open: null } as unknown as StockBar) : r
        )
        const error = yield* Effect.flip(sink.commit(write(bad, "replace")))
        expect(error._tag).toBe("SinkError")
        expect(error.detail).toContain("inserting rows 30..39 of 40")
        expect(error.detail).toContain("null value")
        expect(yield* SqlSink.readRows(StockBars1s, { date: DAY, instruments: ["ATOM"] })).toEqual(rows)
      })
    )

    it.effect("a missing table becomes a SinkError naming the dataset, partition and cause", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const gone: Dataset<StockBar> = { ...StockBars1s, name: "stock_bars_1s_gone" }
        yield* sql`CREATE TABLE stock_bars_1s_gone (LIKE stock_bars_1s INCLUDING ALL)`
        yield* sql`DROP TABLE stock_bars_1s_gone`
        const sink = yield* SqlSink.make()
        const error = yield* Effect.flip(
          sink.commit({ ...write(bars("GONE", DAY, 5), "replace"), dataset: gone })
        )
        expect(error._tag).toBe("SinkError")
        expect(error.sink).toBe("sql")
        expect(error.dataset).toBe("stock_bars_1s_gone")
        expect(error.partition).toBe(`date=${DAY}`)
        expect(error.detail).toContain('relation "stock_bars_1s_gone" does not exist')
        expect(error.message).toContain("sql sink could not commit stock_bars_1s_gone date=2024-03-05")
        const readError = yield* Effect.flip(SqlSink.countRows(gone))
        expect(readError.detail).toContain("does not exist")
      })
    )
  })

/** Every column type: the table's SQL types, and rows that come back as they went in. */
const typesSuite = (sqlLayer: Layer.Layer<SqlClient.SqlClient, unknown>) =>
  layer(sqlLayer, { excludeTestServices: true })((it) => {
    it.effect("migrations give each column type its SQL type", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const columns = yield* sql<{
          column_name: string
          data_type: string
          udt_name: string
          numeric_precision: number | null
          numeric_scale: number | null
          is_nullable: string
        }>`
          SELECT column_name, data_type, udt_name, numeric_precision, numeric_scale, is_nullable
          FROM information_schema.columns
          WHERE table_schema = current_schema() AND table_name = 'all_types' ORDER BY ordinal_position`
        const byName = new Map(columns.map((c) => [c.column_name, c]))
        expect(byName.get("flag")).toMatchObject({ data_type: "boolean", is_nullable: "NO" })
        expect(byName.get("maybeFlag")).toMatchObject({ data_type: "boolean", is_nullable: "YES" })
        expect(byName.get("day")).toMatchObject({ data_type: "date" })
        expect(byName.get("ns")).toMatchObject({ data_type: "bigint" })
        expect(byName.get("price")).toMatchObject({
          data_type: "numeric",
          numeric_precision: 18,
          numeric_scale: 2
        })
        expect(byName.get("qty")).toMatchObject({
          data_type: "numeric",
          numeric_precision: 18,
          numeric_scale: 8
        })
        expect(byName.get("whole")).toMatchObject({
          data_type: "numeric",
          numeric_precision: 18,
          numeric_scale: 0
        })
        expect(byName.get("tags")).toMatchObject({ data_type: "ARRAY", udt_name: "_text", is_nullable: "NO" })
        expect(byName.get("maybeTags")).toMatchObject({
          data_type: "ARRAY",
          udt_name: "_text",
          is_nullable: "YES"
        })
      })
    )

    for (const method of ["unnest", "values"] as const) {
      it.effect(`every type round trips exactly, with nulls and without (${method} insert)`, () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* sql`DELETE FROM all_types`
          const sink = yield* SqlSink.make({ batchSize: 40, method })
          const rows = [...allTypesRows(70, true), ...allTypesRows(140, false).slice(70)]
          const write = (batch: ReadonlyArray<AllTypesRow>): PartitionWrite<AllTypesRow> => ({
            dataset: AllTypes,
            date: "2024-01-02",
            instruments: [],
            rows: batch,
            mode: "upsert"
          })
          yield* sink.commit(write(rows))
          expect(yield* SqlSink.readRows(AllTypes)).toEqual(rows)
          // Postgres itself holds the exact values, not only the JS round trip.
          const text = yield* sql<Record<string, string | null>>`
            SELECT day::text AS day, ns::text AS ns, price::text AS price, qty::text AS qty, whole::text AS whole,
                   cardinality(tags)::text AS n, tags[1] AS first, "maybeTags" IS NULL AS "noTags"
            FROM all_types ORDER BY id LIMIT 7`
          expect(text.map((r) => r["day"])).toEqual(rows.slice(0, 7).map((r) => r.day))
          expect(text.map((r) => r["ns"])).toEqual(rows.slice(0, 7).map((r) => String(r.ns)))
          expect(text.slice(0, 3).map((r) => [r["price"], r["qty"], r["whole"]])).toEqual([
            ["123.45", "0.00000001", "0"],
            ["-0.05", "-0.00000001", "-9007199254740991"],
            ["0.00", "1.00000000", "9007199254740991"]
          ])
          expect(text.map((r) => [r["n"], r["first"]])).toEqual(
            rows.slice(0, 7).map((r) => [String(r.tags.length), r.tags[0] ?? null])
          )
          // A correction replaces lists and decimals in place.
          const changed = rows
            .slice(0, 3)
            .map((r) => ({ ...r, tags: ["changed", ""], maybeTags: null, price: -1 }))
          yield* sink.commit(write(changed))
          expect(yield* SqlSink.readRows(AllTypes)).toEqual([...changed, ...rows.slice(3)])
        })
      )
    }
  })

const tempDir = () => makeTempDir("tapehouse-sql-")

afterAll(removeTempDirs)

describe("SqlSink on embedded PGlite (loopback socket)", () => {
  const client = SqlClientLive.layerFrom({ dataDir: tempDir(), url: Option.none() })
  sinkSuite(Layer.provideMerge(migrationsLayer(), client))
})

const pgUrl = process.env["TAPEHOUSE_TEST_PG_URL"]

const allTypesMigrations = migrationsLayer([{ _tag: "table", table: AllTypes }])

describe("SqlSink column types on embedded PGlite", () => {
  const client = SqlClientLive.layerFrom({ dataDir: tempDir(), url: Option.none() })
  typesSuite(Layer.provideMerge(allTypesMigrations, client))
})

describe("SqlSink on a real PostgreSQL", () => {
  if (pgUrl === undefined || pgUrl === "") {
    it.skip('needs TAPEHOUSE_TEST_PG_URL (run: eval "$(bash .ci/start-postgres.sh)")', () => {})
    return
  }
  // A fresh schema per run, made the connections' search_path, dropped at the end.
  const schema = `tapehouse_test_${process.pid}_${Date.now()}`
  const url = new URL(pgUrl)
  url.searchParams.set("options", `-c search_path=${schema}`)
  const client = SqlClientLive.layerFrom({
    dataDir: tempDir(),
    url: Option.some(Redacted.make(url.toString()))
  })
  const freshSchema = Layer.scopedDiscard(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* Effect.acquireRelease(sql.unsafe(`CREATE SCHEMA "${schema}"`), () =>
        sql.unsafe(`DROP SCHEMA "${schema}" CASCADE`).pipe(Effect.orDie)
      )
    })
  )
  sinkSuite(Layer.provideMerge(migrationsLayer(), Layer.provideMerge(freshSchema, client)))
})

describe("SqlSink column types on a real PostgreSQL", () => {
  if (pgUrl === undefined || pgUrl === "") {
    it.skip('needs TAPEHOUSE_TEST_PG_URL (run: eval "$(bash .ci/start-postgres.sh)")', () => {})
    return
  }
  const schema = `tapehouse_types_${process.pid}_${Date.now()}`
  const url = new URL(pgUrl)
  url.searchParams.set("options", `-c search_path=${schema}`)
  const client = SqlClientLive.layerFrom({
    dataDir: tempDir(),
    url: Option.some(Redacted.make(url.toString()))
  })
  const freshSchema = Layer.scopedDiscard(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* Effect.acquireRelease(sql.unsafe(`CREATE SCHEMA "${schema}"`), () =>
        sql.unsafe(`DROP SCHEMA "${schema}" CASCADE`).pipe(Effect.orDie)
      )
    })
  )
  typesSuite(Layer.provideMerge(allTypesMigrations, Layer.provideMerge(freshSchema, client)))
})
