/**
 * The description of one kind of record. Everything generic (validation, dedup, Parquet
 * columns, SQL table, partitioning, quarantine, simulator replay) is driven from it, so a new
 * dataset is a new `Dataset` value and no sink or processor changes.
 */
import type { Schema } from "effect"

/**
 * Storage type of a column; Parquet and SQL types are derived from it (README "Column types").
 * In memory (what records hold):
 */
export type ColumnType =
  | "string" // a string; Parquet BYTE_ARRAY STRING, SQL text
  | "boolean" // a boolean; Parquet BOOLEAN, SQL boolean
  | "int64" // a safe integer; Parquet INT64, SQL bigint
  | "double" // a number; Parquet DOUBLE, SQL double precision
  | "decimal" // a safe integer of value × 10^scale; Parquet INT64 DECIMAL(18, scale), SQL numeric(18, scale)
  | "date" // a "YYYY-MM-DD" string; Parquet INT32 DATE, SQL date
  | "timestamp_ms" // epoch milliseconds (a safe integer); Parquet TIMESTAMP(MILLIS, UTC), SQL timestamptz
  | "timestamp_ns" // epoch nanoseconds (a bigint); Parquet TIMESTAMP(NANOS, UTC), SQL bigint
  | "string_list" // a ReadonlyArray<string>; Parquet LIST<STRING> (3-level), SQL text[]

/** The largest scale of a `decimal` column: its values have at most 18 digits (DECIMAL(18, scale)). */
export const MAX_DECIMAL_SCALE = 18

/**
 * A column's type, with what the type needs besides its name: a decimal's scale (digits after the
 * point, 0 to 18, fixed for the column). Switch on `type`; the `decimal` case then has `scale`.
 */
export type ColumnKind =
  | { readonly type: Exclude<ColumnType, "decimal"> }
  | { readonly type: "decimal"; readonly scale: number }

export type Column<A> = ColumnKind & {
  readonly name: keyof A & string
  readonly nullable: boolean
  /** One line for the README / `status`: what the column holds. */
  readonly doc: string
}

/** The window a record's event time must fall in (a trading day's regular session). */
export interface EventWindow {
  readonly date: string
  readonly startMs: number
  readonly endMs: number
}

export interface Dataset<A> {
  /** Folder and table name. */
  readonly name: string
  /** Canonical record; `Schema.Type` is what flows through the pipeline. */
  readonly schema: Schema.Schema<A, A>
  /** Column order for Parquet and SQL. Every field of A appears exactly once. */
  readonly columns: ReadonlyArray<Column<A>>
  /** Identity for dedupe and upsert; the SQL primary key. */
  readonly key: ReadonlyArray<keyof A & string>
  /** The column a partition write is scoped by: rewriting SPY's day leaves QQQ's rows alone. */
  readonly instrument: keyof A & string
  /**
   * A second Hive partition column below the date, when a day is split into units written on their
   * own (option_greeks_1m: `expiration`, so `date=D/expiration=E/`). Every row of a partition write
   * then has the write's `subPartition` value in this column. Absent: one folder per date.
   */
  readonly subPartition?: keyof A & string
  /**
   * The column holding the event time: a `timestamp_ms` column, or a `date` column for records that
   * describe a whole day (reference data such as a day's option chain). The SQL sink deletes and
   * reads a partition by it.
   */
  readonly timeColumn: keyof A & string
  /** Event time, epoch ms. */
  readonly eventTime: (a: A) => number
  /**
   * What a backfilled day's records must fall in: the day's regular `session` (the default; bars),
   * or the whole partition `date` (records of the day as such, e.g. the contracts tracked that day).
   */
  readonly dayWindow?: "session" | "date"
  /** YYYY-MM-DD partition (New York trading date for US markets). */
  readonly partitionDate: (a: A) => string
  /** The event-time range [startMs, endMs) a partition date covers (New York midnight to midnight). */
  readonly partitionRange: (date: string) => { readonly startMs: number; readonly endMs: number }
  /**
   * Dataset-specific rules beyond the generic ones (finite numbers, nulls, event window).
   * Each returns the reason a record is invalid, or undefined when it passes.
   */
  readonly rules: ReadonlyArray<(a: A) => string | undefined>
  /** What a typical instrument-day weighs, for the estimate a long backfill prints before it starts. */
  readonly sizing?: DatasetSizing
}

/** Measured figures of a typical instrument-day (bench/RESULTS.md says where they come from). */
export interface DatasetSizing {
  /** Rows of a liquid instrument on a full trading day. */
  readonly rowsPerInstrumentDay: number
  /** Parquet bytes per row, compressed as configured by default (snappy). */
  readonly parquetBytesPerRow: number
  /** Postgres bytes per row: heap and primary-key index. */
  readonly sqlBytesPerRow: number
}

/** A record that failed validation or decoding, on its way to quarantine. */
export interface Rejected {
  /** The record as far as it could be read (canonical fields when decoding succeeded). */
  readonly record: Readonly<Record<string, unknown>>
  readonly reason: string
}

/** Builds the dedupe key of a record: the key columns joined with a separator that cannot occur in them. */
export const keyOf =
  <A>(dataset: Dataset<A>) =>
  (a: A): string => {
    const key = dataset.key
    if (key.length === 1) return String(a[key[0]!])
    let out = String(a[key[0]!])
    for (let i = 1; i < key.length; i++) out += "\u0000" + String(a[key[i]!])
    return out
  }

/** Compares two records by their key columns (strings lexically, numbers numerically). */
export const compareByKey = <A>(dataset: Dataset<A>) => {
  const key = dataset.key
  const n = key.length
  return (x: A, y: A): number => {
    for (let i = 0; i < n; i++) {
      const k = key[i]!
      const a = x[k] as unknown
      const b = y[k] as unknown
      if (a === b) continue
      if (typeof a === "number" && typeof b === "number") return a - b
      if (typeof a === "string" && typeof b === "string") return a < b ? -1 : 1
      return String(a) < String(b) ? -1 : 1
    }
    return 0
  }
}

/**
 * The instruments a record belongs to: its `instrument` value, or each entry when that column is a
 * `string_list` (an article belongs to every ticker it mentions). A write scoped to instruments
 * covers the records that belong to one of them.
 */
export const instrumentsOf = <A>(dataset: Dataset<A>): ((a: A) => ReadonlyArray<string>) => {
  const column = dataset.instrument
  return dataset.columns.find((c) => c.name === column)?.type === "string_list"
    ? (a) => a[column] as ReadonlyArray<string>
    : (a) => [String(a[column])]
}
