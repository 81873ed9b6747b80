/**
 * How many stock bars a second the embedded database can take at all, against what tapehouse's SQL
 * sink gets from it. The stream target (250k msgs/s) is met to Parquet; to Parquet + PGlite the
 * stream reaches about 20k msgs/s (bench/stream.ts). This tells whether that gap is ours or PGlite's.
 *
 * The same rows (1,000 symbols × `seconds` seconds, the table of `stock_bars_1s` with its primary
 * key, created from the Dataset as the migrations do) are loaded four ways, each into a fresh
 * database on disk, one transaction:
 * - PGlite in this thread, `INSERT … SELECT * FROM unnest(…) ON CONFLICT … DO UPDATE` in batches of
 *   10,000: what the SQL sink sends, without the socket;
 * - PGlite in this thread, `COPY … FROM '/dev/blob'` (CSV) straight into the table: the fastest
 *   load PGlite has, no upsert (a correction would fail on the key);
 * - PGlite in this thread, COPY into a temporary table, then one `INSERT … SELECT … ON CONFLICT`:
 *   the fastest keyed upsert;
 * - the SQL sink itself (`SqlSink.commit`, append mode) over `@effect/sql-pg` to the embedded
 *   database on its own thread and loopback socket: the production path.
 *
 *   node bin/run-ts.mjs bench/pglite-ceiling.ts [seconds=200]
 */
import * as NodeFs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { PGlite } from "@electric-sql/pglite"
import { Effect, Layer, Logger, LogLevel } from "effect"
import { AppConfig } from "../src/config/AppConfig.js"
import { type StockBar, StockBars1s } from "../src/domain/StockBar.js"
import { newYorkTimeToEpochMs } from "../src/domain/time.js"
import { SqlReady } from "../src/sinks/SinksLive.js"
import * as SqlSink from "../src/sinks/SqlSink.js"
import { createTableSql, quoteIdent } from "../src/sinks/sqlSchema.js"
import { benchConfig, scratchDir } from "./benchConfig.js"

const seconds = Number(process.argv[2] ?? 200)
const SYMBOLS = 1000
const BATCH = 10_000
const DATE = "2024-03-04"
const OPEN_MS = newYorkTimeToEpochMs(DATE, 9, 30)

const rows: Array<StockBar> = []
for (let s = 0; s < seconds; s++)
  for (let i = 0; i < SYMBOLS; i++) {
    const base = 20 + ((i * 37) % 480)
    rows.push({
      symbol: `S${String(i).padStart(4, "0")}`,
      ts: OPEN_MS + s * 1000,
      open: base,
      high: base + 0.05,
      low: base - 0.05,
      close: base + 0.01,
      volume: 100 + ((s * 7 + i) % 5000),
      vwap: base + 0.002,
      trades: null
    })
  }

// The statements and parameters the SQL sink itself sends.
const plan = SqlSink.planOf(StockBars1s)
const table = plan.table
const names = plan.columns.map((c) => quoteIdent(c.name)).join(", ")
const csv = () => {
  const columns = SqlSink.columnArrays(plan, rows, 0, rows.length)
  const lines = rows.map((_, r) => columns.map((values) => String(values[r] ?? "")).join(","))
  return new Blob([lines.join("\n")])
}

const withDatabase = async (f: (db: PGlite) => Promise<void>): Promise<number> => {
  const dir = await NodeFs.mkdtemp(Path.join(Os.tmpdir(), "tapehouse-bench-pglite-"))
  try {
    const db = await PGlite.create(Path.join(dir, "db"))
    await db.exec(createTableSql(StockBars1s))
    const started = performance.now()
    await f(db)
    const ms = performance.now() - started
    const count = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)
    if (count.rows[0]?.n !== rows.length) throw new Error(`loaded ${count.rows[0]?.n} of ${rows.length} rows`)
    await db.close()
    return ms
  } finally {
    await NodeFs.rm(dir, { recursive: true, force: true })
  }
}

const unnestUpsert = () =>
  withDatabase((db) =>
    db.transaction(async (tx) => {
      for (let from = 0; from < rows.length; from += BATCH)
        await tx.query(
          plan.unnestInsert,
          SqlSink.columnArrays(plan, rows, from, Math.min(rows.length, from + BATCH))
        )
    })
  )

const copyPlain = () =>
  withDatabase(async (db) => {
    await db.query(`COPY ${table} (${names}) FROM '/dev/blob' WITH (FORMAT csv)`, [], { blob: csv() })
  })

const copyThenUpsert = () =>
  withDatabase((db) =>
    db.transaction(async (tx) => {
      await tx.exec(`CREATE TEMP TABLE stage (LIKE ${table}) ON COMMIT DROP`)
      await tx.query(`COPY stage (${names}) FROM '/dev/blob' WITH (FORMAT csv)`, [], { blob: csv() })
      await tx.exec(`INSERT INTO ${table} (${names}) SELECT ${names} FROM stage${plan.onConflict}`)
    })
  )

/** The production path: the SQL sink over @effect/sql-pg to the embedded database (its own thread, loopback socket). */
const sqlSink = Effect.gen(function* () {
  const dataDir = yield* scratchDir("tapehouse-bench-pglite-")
  const config = benchConfig({ dataDir, restUrl: "http://127.0.0.1:1", parquet: false, sql: true })
  const context = yield* Layer.build(SqlReady.pipe(Layer.provide(Layer.succeed(AppConfig, config))))
  const sink = yield* SqlSink.make({ batchSize: BATCH }).pipe(Effect.provide(context))
  const started = performance.now()
  yield* sink.commit({
    dataset: StockBars1s,
    date: DATE,
    instruments: [...new Set(rows.map((r) => r.symbol))],
    rows,
    mode: "append"
  })
  return performance.now() - started
}).pipe(Effect.scoped)

const main = Effect.gen(function* () {
  const results: Array<readonly [string, number]> = []
  results.push(["PGlite, this thread: unnest upsert, batches of 10,000", yield* Effect.promise(unnestUpsert)])
  results.push(["PGlite, this thread: COPY (CSV), no upsert", yield* Effect.promise(copyPlain)])
  results.push([
    "PGlite, this thread: COPY to a temp table, then one upsert",
    yield* Effect.promise(copyThenUpsert)
  ])
  results.push([
    "SqlSink.commit over @effect/sql-pg to the embedded database (production path)",
    yield* sqlSink
  ])
  console.log(
    `\`node bin/run-ts.mjs bench/pglite-ceiling.ts ${seconds}\` — ${rows.length.toLocaleString("en-US")} rows (${SYMBOLS} symbols × ${seconds} s) into stock_bars_1s, one transaction, a fresh database on disk each; Node ${process.version}, ${Os.cpus().length} cores`
  )
  console.log("")
  console.log("| load | seconds | rows/s |")
  console.log("|---|---|---|")
  for (const [label, ms] of results)
    console.log(
      `| ${label} | ${(ms / 1000).toFixed(2)} | ${Math.round((rows.length / ms) * 1000).toLocaleString("en-US")} |`
    )
})

Effect.runPromise(main.pipe(Logger.withMinimumLogLevel(LogLevel.Warning))).then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
