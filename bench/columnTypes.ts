/**
 * The column types (issue 10): Parquet encoding of a table with every type, our flat writer
 * against hyparquet-writer's public API (`parquetWriteBuffer`), time and bytes; and the SQL insert
 * of a `text[]` column: `unnest` with each row's list as an array literal cast back per row (what
 * SqlSink does), `unnest` with JSON, and one parameter per value (`values`), against the same
 * table without its list columns.
 *
 *   node bin/run-ts.mjs bench/columnTypes.ts parquet [rows]       # default 100,000 rows
 *   node bin/run-ts.mjs bench/columnTypes.ts sql [rows] [pg-url]  # PGlite, or a server
 */
import { SqlClient } from "@effect/sql"
import { Effect, Layer, Option, Redacted } from "effect"
import type { SchemaElement } from "hyparquet"
import { parquetWriteBuffer } from "hyparquet-writer"
import { daysOfDate, decimalText } from "../src/domain/columnValues.js"
import type { Column, Dataset } from "../src/domain/Dataset.js"
import { flatSchema } from "../src/sinks/flatParquetWriter.js"
import { decodeTable, encodeTable } from "../src/sinks/parquetCodec.js"
import * as SqlClientLive from "../src/sinks/SqlClientLive.js"
import * as SqlSink from "../src/sinks/SqlSink.js"
import { migrationsLayer, quoteIdent } from "../src/sinks/sqlSchema.js"
import { makeTempDir, removeTempDirs } from "../test/support/tempDirs.js"

/** An order-book-like and news-like row: every column type. */
interface Row {
  readonly id: string
  readonly symbol: string
  readonly at: number
  readonly eventNs: bigint
  readonly day: string
  readonly isBid: boolean
  readonly price: number
  readonly size: number
  readonly level: number
  readonly ratio: number
  readonly tickers: ReadonlyArray<string> | null
  readonly note: string | null
}

const columns: Dataset<Row>["columns"] = [
  { name: "id", type: "string", nullable: false, doc: "" },
  { name: "symbol", type: "string", nullable: false, doc: "" },
  { name: "at", type: "timestamp_ms", nullable: false, doc: "" },
  { name: "eventNs", type: "timestamp_ns", nullable: false, doc: "" },
  { name: "day", type: "date", nullable: false, doc: "" },
  { name: "isBid", type: "boolean", nullable: false, doc: "" },
  { name: "price", type: "decimal", scale: 2, nullable: false, doc: "" },
  { name: "size", type: "decimal", scale: 8, nullable: false, doc: "" },
  { name: "level", type: "int64", nullable: false, doc: "" },
  { name: "ratio", type: "double", nullable: false, doc: "" },
  { name: "tickers", type: "string_list", nullable: true, doc: "" },
  { name: "note", type: "string", nullable: true, doc: "" }
]

const SYMBOLS = ["BTCUSDT", "ETHUSDT", "SPXW", "SPY", "QQQ"]
const TICKERS = ["AAPL", "MSFT", "NVDA", "AMZN", "META", "GOOGL", "TSLA", "SPY"]

const makeRows = (n: number): Array<Row> => {
  let seed = 7
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
    return seed / 2_147_483_648
  }
  const rows: Array<Row> = []
  let ns = 1_704_205_800_000_000_000n
  for (let i = 0; i < n; i++) {
    ns += BigInt(Math.floor(random() * 2_000_000))
    const k = Math.floor(random() * 4)
    rows.push({
      id: `u${i}`,
      symbol: SYMBOLS[i % SYMBOLS.length]!,
      at: Number(ns / 1_000_000n),
      eventNs: ns,
      day: i < n / 2 ? "2024-01-02" : "2024-01-03",
      isBid: random() < 0.5,
      price: 4_700_000 + Math.floor(random() * 1000),
      size: Math.floor(random() * 1e10),
      level: Math.floor(random() * 20),
      ratio: random(),
      tickers:
        random() < 0.1
          ? null
          : Array.from({ length: k }, () => TICKERS[Math.floor(random() * TICKERS.length)]!),
      note: random() < 0.5 ? null : `note ${Math.floor(random() * 100)}`
    })
  }
  return rows
}

const median = (xs: Array<number>): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const time = (runs: number, f: () => unknown): number => {
  for (let i = 0; i < 2; i++) f() // warm up
  const ms: Array<number> = []
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    f()
    ms.push(performance.now() - t0)
  }
  return median(ms)
}

/** hyparquet-writer's public API with our schema: the rows become its column arrays first. */
const viaHyparquetWriter = (rows: ReadonlyArray<Row>, statistics: boolean): Uint8Array => {
  const pick = <T>(f: (r: Row) => T): Array<T> => rows.map(f)
  const columnData = [
    { name: "id", data: pick((r) => r.id) },
    { name: "symbol", data: pick((r) => r.symbol) },
    { name: "at", data: pick((r) => BigInt(r.at)) },
    { name: "eventNs", data: pick((r) => r.eventNs) },
    { name: "day", data: pick((r) => daysOfDate(r.day)!) },
    { name: "isBid", data: pick((r) => r.isBid) },
    // A bigint is taken as the already-scaled value: no float on the way.
    { name: "price", data: pick((r) => BigInt(r.price)) },
    { name: "size", data: pick((r) => BigInt(r.size)) },
    { name: "level", data: pick((r) => BigInt(r.level)) },
    { name: "ratio", data: pick((r) => r.ratio) },
    { name: "tickers", data: pick((r) => r.tickers) },
    { name: "note", data: pick((r) => r.note) }
  ]
  const schema: Array<SchemaElement> = flatSchema(columns)
  const buffer = parquetWriteBuffer({
    columnData,
    schema,
    codec: "SNAPPY",
    statistics,
    rowGroupSize: 100_000,
    createdBy: "bench"
  })
  return new Uint8Array(buffer)
}

const parquet = async (n: number) => {
  const rows = makeRows(n)
  const table = { name: "bench", columns, rows: rows as unknown as ReadonlyArray<Record<string, unknown>> }
  const options = { compression: "snappy", rowGroupSize: 100_000 } as const
  const ours = encodeTable(table, options)
  const oursKeyStats = encodeTable({ ...table, statisticsFor: new Set(["id", "at"]) }, options)
  const theirs = viaHyparquetWriter(rows, true)
  // Both files read back to the same values.
  const back = await decodeTable(columns, theirs)
  const ourBack = await decodeTable(columns, ours)
  const same = JSON.stringify(back, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))
  const ourSame = JSON.stringify(ourBack, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))
  if (same !== ourSame) throw new Error("hyparquet-writer's file reads back differently")
  const runs = 7
  const results: Array<[string, number, number]> = [
    [
      "flat writer (encodeTable, statistics on every column)",
      time(runs, () => encodeTable(table, options)),
      ours.length
    ],
    [
      "flat writer (statistics on key and time, as encodeParquet)",
      time(runs, () => encodeTable({ ...table, statisticsFor: new Set(["id", "at"]) }, options)),
      oursKeyStats.length
    ],
    [
      "hyparquet-writer parquetWriteBuffer (statistics on)",
      time(runs, () => viaHyparquetWriter(rows, true)),
      theirs.length
    ],
    [
      "hyparquet-writer parquetWriteBuffer (statistics off)",
      time(runs, () => viaHyparquetWriter(rows, false)),
      viaHyparquetWriter(rows, false).length
    ]
  ]
  console.log(
    `${n.toLocaleString("en-US")} rows, ${columns.length} columns (every type), snappy, one row group; median of ${runs}`
  )
  console.log("| writer | ms | rows/s | bytes |")
  console.log("|---|---|---|---|")
  for (const [name, ms, bytes] of results)
    console.log(
      `| ${name} | ${ms.toFixed(1)} | ${Math.round((n / ms) * 1000).toLocaleString("en-US")} | ${bytes.toLocaleString("en-US")} |`
    )
}

// --- SQL ---------------------------------------------------------------------------------

const dataset = (name: string, cols: ReadonlyArray<Column<Row>>): Dataset<Row> => ({
  name,
  schema: undefined as never,
  columns: cols,
  key: ["id"],
  instrument: "symbol",
  timeColumn: "at",
  eventTime: (r) => r.at,
  partitionDate: (r) => r.day,
  partitionRange: () => ({ startMs: 0, endMs: 2 ** 52 }),
  rules: []
})

const withLists = dataset("bench_lists", columns)
const withoutLists = dataset(
  "bench_no_lists",
  columns.filter((c) => c.type !== "string_list")
)

const sql = (n: number, url: string | undefined) =>
  Effect.gen(function* () {
    const client = yield* SqlClient.SqlClient
    const rows = makeRows(n)
    const batch = 5000
    const run = (label: string, insert: (from: number, to: number) => Effect.Effect<unknown, unknown>) =>
      Effect.gen(function* () {
        const t0 = performance.now()
        for (let from = 0; from < n; from += batch) yield* insert(from, Math.min(n, from + batch))
        const ms = performance.now() - t0
        console.log(
          `| ${label} | ${(ms / 1000).toFixed(2)} | ${Math.round((n / ms) * 1000).toLocaleString("en-US")} |`
        )
      })
    const fresh = (table: string) => client.unsafe(`TRUNCATE ${quoteIdent(table)}`)
    const sinkInsert = (target: Dataset<Row>, method: SqlSink.InsertMethod) =>
      Effect.gen(function* () {
        const sink = yield* SqlSink.make({ batchSize: batch, method })
        return (from: number, to: number) =>
          sink.commit({
            dataset: target,
            date: "2024-01-02",
            instruments: [],
            rows: rows.slice(from, to),
            mode: "upsert"
          })
      })
    // unnest with each list as JSON text, expanded per row by a subquery.
    const plan = SqlSink.planOf(withLists)
    const jsonInsert = plan.unnestInsert.replace(
      `c10::text[]`,
      `ARRAY(SELECT jsonb_array_elements_text(c10::jsonb))`
    )
    const jsonArrays = (from: number, to: number) => {
      const arrays = SqlSink.columnArrays(plan, rows, from, to)
      arrays[10] = rows.slice(from, to).map((r) => (r.tickers === null ? null : JSON.stringify(r.tickers)))
      return arrays
    }
    console.log(
      `${n.toLocaleString("en-US")} rows in batches of ${batch} (one transaction each), ${url === undefined ? "PGlite" : "PostgreSQL"}`
    )
    console.log("| insert | seconds | rows/s |")
    console.log("|---|---|---|")
    for (let round = 0; round < 2; round++) {
      yield* fresh("bench_no_lists")
      yield* run("unnest, no list column (baseline)", yield* sinkInsert(withoutLists, "unnest"))
      yield* fresh("bench_lists")
      yield* run(
        "unnest, lists as array literals cast per row (SqlSink)",
        yield* sinkInsert(withLists, "unnest")
      )
      yield* fresh("bench_lists")
      yield* run("unnest, lists as JSON expanded per row", (from, to) =>
        client.withTransaction(client.unsafe(jsonInsert, jsonArrays(from, to)))
      )
      yield* fresh("bench_lists")
      yield* run("values (one parameter per value)", yield* sinkInsert(withLists, "values"))
    }
    const count = yield* client.unsafe<{ n: string }>(`SELECT count(*)::text AS n FROM bench_lists`)
    if (Number(count[0]?.n) !== n) throw new Error(`expected ${n} rows, found ${count[0]?.n}`)
    const check = yield* SqlSink.readRows(withLists)
    for (let i = 0; i < 50; i++) {
      const row = check.find((r) => r.id === rows[i]!.id)!
      if (JSON.stringify(row.tickers) !== JSON.stringify(rows[i]!.tickers)) throw new Error("lists differ")
      if (decimalText(row.size, 8) !== decimalText(rows[i]!.size, 8)) throw new Error("decimals differ")
    }
  })

const [mode = "parquet", rowsArg, url] = process.argv.slice(2)
const n = Number(rowsArg ?? (mode === "sql" ? 20_000 : 100_000))
if (mode === "parquet") {
  await parquet(n)
} else {
  const client = SqlClientLive.layerFrom({
    dataDir: makeTempDir("tapehouse-bench-sql-"),
    url: url === undefined ? Option.none() : Option.some(Redacted.make(url))
  })
  const tables = migrationsLayer([
    { _tag: "table", table: withLists },
    { _tag: "table", table: withoutLists }
  ])
  await Effect.runPromise(
    Effect.scoped(
      Layer.build(Layer.provideMerge(tables, client)).pipe(
        Effect.flatMap((context) => sql(n, url).pipe(Effect.provide(context)))
      )
    )
  )
  removeTempDirs()
}
