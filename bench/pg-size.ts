/**
 * How big the embedded database grows against what its tables hold, and against Parquet: a year
 * (252 trading days from 2024-01-02) of one symbol's per-second bars from the synthetic market,
 * committed day by day the way a backfill commits them (`replace`: delete the day, insert it, one
 * transaction), to the SQL sink over the embedded database (its own thread, loopback socket; the
 * production path) and to the Parquet sink. Every month it prints what `du` says of `state/pg`
 * and of its WAL, and the sum of `pg_total_relation_size` over the user tables; at the end, the
 * same after the database is closed, bytes per row on disk for both sinks, and how many
 * checkpoints and vacuums the housekeeping made and how long they took (its debug log lines).
 *
 *   node bin/run-ts.mjs bench/pg-size.ts [days=252] [symbol=SPY]
 */
import * as NodeFs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { SqlClient } from "@effect/sql"
import { Effect, HashMap, Layer, Logger, LogLevel, Option } from "effect"
import { AppConfig } from "../src/config/AppConfig.js"
import { StockBars1s } from "../src/domain/StockBar.js"
import { secondBars } from "../src/sim/syntheticMarket.js"
import * as ParquetSink from "../src/sinks/ParquetSink.js"
import { SqlReady } from "../src/sinks/SinksLive.js"
import * as SqlSink from "../src/sinks/SqlSink.js"
import { benchConfig, scratchDir } from "./benchConfig.js"

const days = Number(process.argv[2] ?? 252)
const symbol = process.argv[3] ?? "SPY"

/** Bytes a folder takes on disk (allocated blocks, as `du` counts them). */
const diskBytes = async (dir: string): Promise<number> => {
  let total = 0
  const entries = await NodeFs.readdir(dir, { withFileTypes: true }).catch(() => [])
  for (const e of entries) {
    const p = Path.join(dir, e.name)
    if (e.isDirectory()) total += await diskBytes(p)
    else
      total += await NodeFs.stat(p).then(
        (s) => s.blocks * 512,
        () => 0
      )
  }
  return total
}

const tradingDays = (count: number): Array<string> => {
  const out: Array<string> = []
  for (let t = Date.UTC(2024, 0, 2); out.length < count; t += 86_400_000) {
    const date = new Date(t).toISOString().slice(0, 10)
    if (secondBars(symbol, date).length > 0) out.push(date)
    if (t > Date.UTC(2035, 0, 1)) break
  }
  return out
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1)

/** Counts EmbeddedPgMaintenance's debug lines (one per action); prints warnings and errors as they come. */
const housekeeping = new Map<string, { count: number; ms: number; maxMs: number }>()
const benchLogger = Logger.make(({ logLevel, message, annotations }) => {
  const text = (Array.isArray(message) ? message : [message]).map(String).join(" ")
  if (text === "embedded database housekeeping") {
    const action = String(Option.getOrUndefined(HashMap.get(annotations, "action")))
    const ms = Number(Option.getOrUndefined(HashMap.get(annotations, "ms")) ?? 0)
    const seen = housekeeping.get(action) ?? { count: 0, ms: 0, maxMs: 0 }
    housekeeping.set(action, { count: seen.count + 1, ms: seen.ms + ms, maxMs: Math.max(seen.maxMs, ms) })
  } else if (LogLevel.greaterThanEqual(logLevel, LogLevel.Warning)) console.error(`${logLevel.label} ${text}`)
})

const program = Effect.gen(function* () {
  const dataDir = yield* scratchDir("tapehouse-bench-pgsize-")
  const config = benchConfig({ dataDir, restUrl: "http://127.0.0.1:1", parquet: true, sql: true })
  const pgDir = Path.join(dataDir, "state", "pg")
  const dates = tradingDays(days)
  const parquet = yield* ParquetSink.make({ dataDir, compression: "snappy", rowGroupSize: 100_000 })

  let rows = 0
  const lines: Array<string> = []
  const started = performance.now()
  yield* Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const sink = yield* SqlSink.make({ batchSize: config.sql.batchSize })
    const tableBytes = sql<{ bytes: number }>`
      SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::float8 AS bytes
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname NOT LIKE 'pg_toast%'`.pipe(Effect.map((r) => r[0]?.bytes ?? 0))
    const sample = (label: string) =>
      Effect.gen(function* () {
        const tables = yield* tableBytes
        const disk = yield* Effect.promise(() => diskBytes(pgDir))
        const wal = yield* Effect.promise(() => diskBytes(Path.join(pgDir, "pg_wal")))
        lines.push(
          `| ${label} | ${rows.toLocaleString("en-US")} | ${mb(tables)} | ${mb(disk)} | ${mb(wal)} | ${(disk / tables).toFixed(2)} | ${((performance.now() - started) / 1000).toFixed(0)} |`
        )
      })
    for (const [i, date] of dates.entries()) {
      const bars = secondBars(symbol, date)
      const write = {
        dataset: StockBars1s,
        date,
        instruments: [symbol],
        rows: bars,
        mode: "replace" as const
      }
      yield* sink.commit(write)
      yield* parquet.commit(write)
      rows += bars.length
      if ((i + 1) % 21 === 0 || i === dates.length - 1) yield* sample(`${i + 1} days`)
    }
  }).pipe(Effect.provide(SqlReady.pipe(Layer.provide(Layer.succeed(AppConfig, config)))))

  // The database is closed now (the layer's scope ended).
  const closedDisk = yield* Effect.promise(() => diskBytes(pgDir))
  const closedWal = yield* Effect.promise(() => diskBytes(Path.join(pgDir, "pg_wal")))
  const lakeBytes = yield* Effect.promise(() => diskBytes(Path.join(dataDir, "lake", StockBars1s.name)))

  console.log(
    `\`node bin/run-ts.mjs bench/pg-size.ts ${days} ${symbol}\`: ${dates.length} trading days (${dates[0]}..${dates.at(-1)}) of ${symbol} per-second bars, one replace commit a day; Node ${process.version}, ${Os.cpus().length} cores`
  )
  console.log("")
  console.log(
    "| after | rows | tables (MB) | state/pg on disk (MB) | of which WAL (MB) | disk / tables | seconds |"
  )
  console.log("|---|---|---|---|---|---|---|")
  for (const line of lines) console.log(line)
  console.log(`| closed | ${rows.toLocaleString("en-US")} | | ${mb(closedDisk)} | ${mb(closedWal)} | | |`)
  console.log("")
  const actions = [...housekeeping.entries()].map(
    ([action, h]) =>
      `${h.count} × ${action} (${(h.ms / 1000).toFixed(1)} s in all, the longest ${Math.round(h.maxMs)} ms)`
  )
  console.log(`Housekeeping: ${actions.length === 0 ? "none" : actions.join(", ")}.`)
  console.log(
    `Bytes per row on disk: embedded Postgres ${(closedDisk / rows).toFixed(0)} (closed), Parquet (snappy, one file a day) ${(lakeBytes / rows).toFixed(1)}; Parquet ${mb(lakeBytes)} MB in all.`
  )
})

Effect.runPromise(
  program.pipe(
    Effect.scoped,
    Effect.provide(Logger.replace(Logger.defaultLogger, benchLogger)),
    Logger.withMinimumLogLevel(LogLevel.Debug)
  )
).then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
