/**
 * The SQL sink: one table per dataset (see sqlSchema), keyed upsert, and partition replace as
 * delete-then-insert, each commit in one transaction. Works on any `SqlClient` speaking
 * Postgres: the embedded PGlite or a real server. `append` is the keyed upsert too: a table
 * needs no compaction, so a correction replaces the older row at once. A commit that is a single
 * INSERT (no delete, rows within one batch: every streaming flush) runs without BEGIN/COMMIT, as
 * the statement's own implicit transaction, which is as atomic and one round trip instead of three.
 *
 * Rows are sent column-wise by default: `INSERT … SELECT * FROM unnest($1::text[], …)` takes one
 * array parameter per column whatever the batch size, so a batch is one short statement with no
 * 65,535-parameter ceiling. `sql.insert(rows)` (one parameter per value) is kept as `"values"`
 * for comparison. Measured on 100k stock bars, 2 cores, noisy (batch 1k/5k/20k, two runs each):
 * PGlite 7–16k rows/s with `values` against 9–32k with `unnest`; PostgreSQL 15 18–37k against
 * 27–69k. `unnest` was never clearly slower, so it is the default.
 *
 * Timestamps travel as ISO-8601 strings with milliseconds, so Postgres stores the exact
 * millisecond (no float rounding as with `to_timestamp(ms / 1000.0)`); decimals as their decimal
 * text and nanosecond timestamps as integer text, so neither goes through a float. A `text[]`
 * column cannot be an `unnest` argument (unnest of a 2-D array flattens it, and every row's list
 * would need the same length), so each row's list travels as an array literal (`{"a","b"}`) in a
 * `text[]` parameter and is cast back to `text[]` per row (bench/RESULTS.md "Column types").
 */
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"

/** A parameter value node-postgres sends as it is. */
type Primitive = string | number | boolean | null

import { Effect } from "effect"
import { decimalText, scaledOfDecimalText } from "../domain/columnValues.js"
import type { Column, ColumnKind, Dataset } from "../domain/Dataset.js"
import { SinkError } from "../domain/errors.js"
import { addDays } from "../domain/time.js"
import type { CommitResult, PartitionWrite, Sink, WriteMode } from "./Sink.js"
import { describeSqlError, quoteIdent, sqlType } from "./sqlSchema.js"

/** `unnest`: one array parameter per column; `values`: `sql.insert(rows)`, one parameter per value. */
export type InsertMethod = "unnest" | "values"

export interface Options {
  /** Rows per INSERT statement (default 5,000). `values` is also capped by Postgres' 65,535 parameters. */
  readonly batchSize?: number
  /** Default `unnest` (the faster, measured). */
  readonly method?: InsertMethod
}

export const defaultBatchSize = 5_000
const maxParameters = 65_535

/** Statement texts for one dataset, built once (bench/pglite-ceiling.ts loads with them too). */
export interface Plan {
  readonly table: string
  readonly columns: ReadonlyArray<ColumnKind & { readonly name: string }>
  readonly unnestInsert: string
  /** ` ON CONFLICT (key) DO UPDATE SET …` */
  readonly onConflict: string
  /** `$1` instruments, `[$2, $3)` the date's bounds, `$4` the `subPartition` value when the dataset has one. */
  readonly deleteRange: string
  /** The SQL type the time column's bounds are cast to. */
  readonly timeType: "date" | "timestamptz"
  /** The bounds of a partition date in the time column's type: `[$2, $3)` of `deleteRange`. */
  readonly rangeOf: (date: string) => readonly [string, string]
}

const plans = new WeakMap<object, Plan>()

export const planOf = <A>(dataset: Dataset<A>): Plan => {
  const cached = plans.get(dataset)
  if (cached !== undefined) return cached
  const table = quoteIdent(dataset.name)
  const columns = dataset.columns.map(({ doc: _doc, nullable: _nullable, ...kind }: Column<A>) => kind)
  const names = columns.map((c) => quoteIdent(c.name)).join(", ")
  const keys = new Set<string>(dataset.key)
  const updates = columns.filter((c) => !keys.has(c.name)).map((c) => quoteIdent(c.name))
  const onConflict =
    ` ON CONFLICT (${dataset.key.map(quoteIdent).join(", ")}) ` +
    (updates.length === 0
      ? "DO NOTHING"
      : `DO UPDATE SET ${updates.map((c) => `${c} = EXCLUDED.${c}`).join(", ")}`)
  // A list column's parameter is a text[] of array literals, cast per row in the projection.
  const arrays = columns
    .map((c, i) => `$${i + 1}::${c.type === "string_list" ? "text" : sqlType(c)}[]`)
    .join(", ")
  const lists = columns.some((c) => c.type === "string_list")
  const source = lists
    ? `SELECT ${columns.map((c, i) => `c${i}${c.type === "string_list" ? "::text[]" : ""}`).join(", ")} FROM unnest(${arrays}) AS u(${columns.map((_, i) => `c${i}`).join(", ")})`
    : `SELECT * FROM unnest(${arrays})`
  const instrument = dataset.columns.find((c) => c.name === dataset.instrument)
  const time = quoteIdent(dataset.timeColumn)
  // A day-keyed dataset's time column is a date: its partition is the date itself.
  const byDate = dataset.columns.find((c) => c.name === dataset.timeColumn)?.type === "date"
  const timeType = byDate ? "date" : "timestamptz"
  const sub = dataset.columns.find((c) => c.name === dataset.subPartition)
  const plan: Plan = {
    table,
    columns,
    onConflict,
    timeType,
    unnestInsert: `INSERT INTO ${table} (${names}) ${source}${onConflict}`,
    deleteRange:
      `DELETE FROM ${table} WHERE ${inScope(dataset, "$1", instrument)}` +
      ` AND ${time} >= $2::${timeType} AND ${time} < $3::${timeType}` +
      // Below a second partition column, a write replaces its own value's rows only: `$4`.
      (sub === undefined ? "" : ` AND ${quoteIdent(sub.name)} = $4::${sqlType(sub)}`),
    rangeOf: byDate
      ? (date) => [date, addDays(date, 1)]
      : (date) => {
          const range = dataset.partitionRange(date)
          return [toIso(range.startMs), toIso(range.endMs)]
        }
  }
  plans.set(dataset, plan)
  return plan
}

/**
 * The condition "the row belongs to one of the instruments in `param`": equality with one of them,
 * or, for a list column (news tickers), sharing one with them (`&&`).
 */
const inScope = <A>(
  dataset: Dataset<A>,
  param: string,
  column: ColumnKind | undefined = dataset.columns.find((c) => c.name === dataset.instrument)
): string =>
  column?.type === "string_list"
    ? `${quoteIdent(dataset.instrument)} && ${param}::text[]`
    : `${quoteIdent(dataset.instrument)} = ANY(${param}::${sqlType(column ?? { type: "string" })}[])`

const toIso = (ms: number): string => new Date(ms).toISOString()

/** Whether a write first deletes the in-scope instruments of its day; the rows are then upserted by key. */
const deletesFirst = (mode: WriteMode): boolean => {
  switch (mode) {
    case "replace":
      return true
    case "upsert":
    case "append":
      return false
  }
}

/** A Postgres array literal of strings: each quoted, `"` and `\` escaped (`{"a","b \"c\""}`). */
export const textArrayLiteral = (list: ReadonlyArray<string>): string => {
  let out = "{"
  for (let i = 0; i < list.length; i++) {
    if (i > 0) out += ","
    out += `"${list[i]!.replace(/["\\]/g, "\\$&")}"`
  }
  return `${out}}`
}

/**
 * The value sent for one cell: timestamps as ISO strings (exact ms), nanosecond timestamps as
 * integer text, decimals as decimal text, lists as array literals, the rest as they are.
 */
const cell = (column: ColumnKind, value: unknown): Primitive => {
  if (value === null || value === undefined) return null
  switch (column.type) {
    case "timestamp_ms":
      return toIso(value as number)
    case "timestamp_ns":
      return String(value as bigint)
    case "decimal":
      return decimalText(value as number, column.scale)
    case "string_list":
      return textArrayLiteral(value as ReadonlyArray<string>)
    case "string":
    case "double":
    case "int64":
    case "boolean":
    case "date":
      return value as Primitive
  }
}

/** Column arrays of rows [from, to), in one pass: the parameters of `unnestInsert`. */
export const columnArrays = <A>(
  plan: Plan,
  rows: ReadonlyArray<A>,
  from: number,
  to: number
): Array<Array<Primitive>> => {
  const out = plan.columns.map(() => new Array<Primitive>(to - from))
  for (let r = from; r < to; r++) {
    const row = rows[r] as Record<string, unknown>
    for (let c = 0; c < plan.columns.length; c++) {
      const column = plan.columns[c]!
      out[c]![r - from] = cell(column, row[column.name])
    }
  }
  return out
}

/** Row records of rows [from, to) for `sql.insert`, timestamps converted. */
const records = <A>(plan: Plan, rows: ReadonlyArray<A>, from: number, to: number) => {
  const out = new Array<Record<string, Primitive>>(to - from)
  for (let r = from; r < to; r++) {
    const row = rows[r] as Record<string, unknown>
    const rec: Record<string, Primitive> = {}
    for (const column of plan.columns) rec[column.name] = cell(column, row[column.name])
    out[r - from] = rec
  }
  return out
}

/** Builds the SQL sink over the `SqlClient` in context. */
export const make = (options: Options = {}): Effect.Effect<Sink, never, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const method = options.method ?? "unnest"
    const batchSize = Math.max(1, Math.floor(options.batchSize ?? defaultBatchSize))

    const insertBatch = <A>(plan: Plan, rows: ReadonlyArray<A>, from: number, to: number) =>
      method === "unnest"
        ? sql.unsafe(plan.unnestInsert, columnArrays(plan, rows, from, to))
        : sql`INSERT INTO ${sql.unsafe(plan.table)} ${sql.insert(records(plan, rows, from, to))}${sql.unsafe(plan.onConflict)}`

    const commit = <A>(write: PartitionWrite<A>): Effect.Effect<CommitResult, SinkError> => {
      const plan = planOf(write.dataset)
      const perStatement =
        method === "values" ? Math.min(batchSize, Math.floor(maxParameters / plan.columns.length)) : batchSize
      const rows = write.rows
      const fail = (what: string) => (error: SqlError) =>
        new SinkError({
          sink: "sql",
          dataset: write.dataset.name,
          partition: `date=${write.date}`,
          detail: `${what} failed: ${describeSqlError(error)}`
        })

      const replace = Effect.suspend(() => {
        if (!deletesFirst(write.mode) || write.instruments.length === 0) return Effect.void
        return sql
          .unsafe(plan.deleteRange, [
            write.instruments,
            ...plan.rangeOf(write.date),
            ...(write.subPartition === undefined ? [] : [write.subPartition])
          ])
          .pipe(
            Effect.mapError(
              fail(`deleting ${write.instruments.length} instrument(s) of the partition from ${plan.table}`)
            )
          )
      })

      const inserts = Effect.suspend(() => {
        const batches: Array<number> = []
        for (let from = 0; from < rows.length; from += perStatement) batches.push(from)
        return Effect.forEach(
          batches,
          (from) => {
            const to = Math.min(rows.length, from + perStatement)
            return insertBatch(plan, rows, from, to).pipe(
              Effect.mapError(fail(`inserting rows ${from}..${to - 1} of ${rows.length} into ${plan.table}`))
            )
          },
          { discard: true }
        )
      })

      // One statement is atomic by itself (Postgres runs it in its own transaction): a streaming
      // append of one batch skips BEGIN and COMMIT, two of its three round trips to the server.
      const oneStatement = !deletesFirst(write.mode) && rows.length <= perStatement
      return (oneStatement ? inserts : sql.withTransaction(Effect.zipRight(replace, inserts))).pipe(
        Effect.catchTag("SqlError", fail("the transaction")),
        Effect.as<CommitResult>({ sink: "sql", rows: rows.length }),
        Effect.withSpan("SqlSink.commit", {
          attributes: { dataset: write.dataset.name, date: write.date, mode: write.mode, rows: rows.length }
        })
      )
    }

    return { name: "sql", commit }
  })

/** Reads back rows of a dataset (tests, `status`): decoded to canonical values, ordered by key. */
export interface ReadOptions {
  /** Only this partition date. */
  readonly date?: string
  /** Only these instruments. */
  readonly instruments?: ReadonlyArray<string>
}

const whereOf = <A>(dataset: Dataset<A>, options: ReadOptions): { text: string; params: Array<unknown> } => {
  const clauses: Array<string> = []
  const params: Array<unknown> = []
  if (options.date !== undefined) {
    const plan = planOf(dataset)
    const time = quoteIdent(dataset.timeColumn)
    const type = plan.timeType
    params.push(...plan.rangeOf(options.date))
    clauses.push(`${time} >= $${params.length - 1}::${type} AND ${time} < $${params.length}::${type}`)
  }
  if (options.instruments !== undefined) {
    params.push(options.instruments)
    clauses.push(inScope(dataset, `$${params.length}`))
  }
  return { text: clauses.length === 0 ? "" : ` WHERE ${clauses.join(" AND ")}`, params }
}

const readError =
  <A>(dataset: Dataset<A>, options: ReadOptions) =>
  (error: SqlError) =>
    new SinkError({
      sink: "sql",
      dataset: dataset.name,
      partition: options.date === undefined ? "all dates" : `date=${options.date}`,
      detail: `reading failed: ${describeSqlError(error)}`
    })

/** Rows of a dataset, optionally of one partition date. */
export const countRows = <A>(
  dataset: Dataset<A>,
  options: ReadOptions = {}
): Effect.Effect<number, SinkError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const where = whereOf(dataset, options)
    return sql
      .unsafe<{ readonly n: string }>(
        `SELECT count(*)::text AS n FROM ${quoteIdent(dataset.name)}${where.text}`,
        where.params
      )
      .pipe(
        Effect.map((rows) => Number(rows[0]?.n ?? 0)),
        Effect.mapError(readError(dataset, options))
      )
  })

/** A value read back that does not fit its column's in-memory form. */
class CellError extends Error {}

const decodeCell = (column: ColumnKind & { readonly name: string }, value: unknown): unknown => {
  if (value === null || value === undefined) return null
  switch (column.type) {
    case "timestamp_ms":
      return value instanceof Date ? value.getTime() : new Date(String(value)).getTime()
    case "int64":
    case "double":
      // node-postgres returns int8 as a string.
      return typeof value === "number" ? value : Number(value)
    case "timestamp_ns":
      return BigInt(String(value))
    case "decimal": {
      // numeric comes back as its exact text.
      const scaled = scaledOfDecimalText(String(value), column.scale)
      if (scaled === undefined)
        throw new CellError(
          `${column.name} ${String(value)} does not fit a safe integer at scale ${column.scale}`
        )
      return scaled
    }
    case "boolean":
      return typeof value === "boolean" ? value : value === "t" || value === "true"
    case "string_list":
      return Array.from(value as ReadonlyArray<string>)
    case "string":
    case "date": // selected as text: node-postgres would make a local-midnight Date of it
      return value
  }
}

/** The select list of a dataset's columns: dates as their `YYYY-MM-DD` text. */
const selectList = <A>(dataset: Dataset<A>): string =>
  dataset.columns
    .map((c) =>
      c.type === "date" ? `${quoteIdent(c.name)}::text AS ${quoteIdent(c.name)}` : quoteIdent(c.name)
    )
    .join(", ")

/**
 * The rows of a dataset as canonical records (epoch ms timestamps, numbers), ordered by key.
 * Not for the hot path: it loads every matching row.
 */
export const readRows = <A>(
  dataset: Dataset<A>,
  options: ReadOptions = {}
): Effect.Effect<ReadonlyArray<A>, SinkError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const where = whereOf(dataset, options)
    const names = selectList(dataset)
    const order = dataset.key.map(quoteIdent).join(", ")
    return sql
      .unsafe<Record<string, unknown>>(
        `SELECT ${names} FROM ${quoteIdent(dataset.name)}${where.text} ORDER BY ${order}`,
        where.params
      )
      .pipe(
        Effect.mapError(readError(dataset, options)),
        Effect.flatMap((rows) =>
          Effect.try({
            try: () =>
              rows.map((row) => {
                const out: Record<string, unknown> = {}
                for (const c of dataset.columns) out[c.name] = decodeCell(c, row[c.name])
                return out as A
              }),
            catch: (cause) =>
              new SinkError({
                sink: "sql",
                dataset: dataset.name,
                partition: options.date === undefined ? "all dates" : `date=${options.date}`,
                detail: `reading failed: ${cause instanceof Error ? cause.message : String(cause)}`
              })
          })
        )
      )
  })
