/**
 * Quarantine: rejected records kept as Parquet beside the lake, one file per (dataset, date, scope):
 * `<dataDir>/quarantine/<dataset>/date=YYYY-MM-DD/rejects-<scope>.parquet`. Every dataset column is
 * OPTIONAL (a value of the wrong type is written as null), plus `reason` and `raw` (the record as
 * received, as JSON). Writing is deterministic and replaces that scope's file atomically.
 */
import * as path from "node:path"
import { Context, Effect, Layer, Option, Ref } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { isDate, isInt64, isStringList } from "../domain/columnValues.js"
import type { Dataset, Rejected } from "../domain/Dataset.js"
import { SinkError, type StorageError } from "../domain/errors.js"
import { ErrorLog, type NewError } from "../monitor/ErrorLog.js"
import { makeDir, removeFileAndEmptyDir, removeStaleTemps, writeFileAtomic } from "./atomicFile.js"
import { encodeTable, ParquetCodecError, type TableColumn } from "./parquetCodec.js"

export interface QuarantineResult {
  /** The scope's file afterwards, relative to the data dir; absent when there were no rejects. */
  readonly file?: string
  readonly rows: number
}

export interface QuarantineShape {
  /** Replaces the rejects of `scope` (e.g. `SPY`, `SPY+QQQ`) for `dataset` on `date`; none removes the file. */
  readonly write: <A>(
    dataset: Dataset<A>,
    date: string,
    scope: string,
    rejected: ReadonlyArray<Rejected>
  ) => Effect.Effect<QuarantineResult, SinkError>
}

export class Quarantine extends Context.Tag("tapehouse/Quarantine")<Quarantine, QuarantineShape>() {}

const SINK_NAME = "quarantine"
export const REASON_COLUMN = "reason"
export const RAW_COLUMN = "raw"

/** `scope` reduced to `[A-Za-z0-9_+.-]` (other characters become `_`), never empty or a dot name. */
export const sanitizeScope = (scope: string): string => {
  const cleaned = scope.replace(/[^A-Za-z0-9_+.-]/g, "_").slice(0, 120)
  return cleaned.length === 0 || /^\.+$/.test(cleaned) ? "_" : cleaned
}

/** The quarantine file of a scope, relative to the data dir. */
export const quarantineFile = (datasetName: string, date: string, scope: string): string =>
  path.join("quarantine", datasetName, `date=${date}`, `rejects-${sanitizeScope(scope)}.parquet`)

/** JSON of a record as received; bigints as strings, and never throws. */
const rawJson = (record: unknown): string => {
  try {
    return (
      JSON.stringify(record, (_key, value: unknown) => (typeof value === "bigint" ? String(value) : value)) ??
      "null"
    )
  } catch (cause) {
    return JSON.stringify({ unserializable: cause instanceof Error ? cause.message : String(cause) })
  }
}

/** The value if it has the column's type (it can be written to the column), else null. */
const typedOrNull = (column: TableColumn, value: unknown): unknown => {
  switch (column.type) {
    case "string":
      return typeof value === "string" ? value : null
    case "double":
      return typeof value === "number" ? value : null
    case "boolean":
      return typeof value === "boolean" ? value : null
    case "timestamp_ms":
    case "int64":
      if (typeof value === "number") return Number.isSafeInteger(value) ? value : null
      return isInt64(value) ? value : null
    case "decimal":
      return typeof value === "number" && Number.isSafeInteger(value) ? value : null
    case "date":
      return isDate(value) ? value : null
    case "timestamp_ns":
      return isInt64(value) ? value : null
    case "string_list":
      return isStringList(value) ? value : null
  }
}

/** Columns of a dataset's quarantine file: its own columns as OPTIONAL, then `reason` and `raw`. */
export const quarantineColumns = <A>(dataset: Dataset<A>): ReadonlyArray<TableColumn> => [
  ...dataset.columns.map(({ doc: _doc, ...column }): TableColumn => ({ ...column, nullable: true })),
  { name: REASON_COLUMN, type: "string", nullable: false },
  { name: RAW_COLUMN, type: "string", nullable: false }
]

/** Encodes rejects as a quarantine Parquet file; same rejects give the same bytes. */
export const encodeRejects = <A>(dataset: Dataset<A>, rejected: ReadonlyArray<Rejected>): Uint8Array => {
  const columns = quarantineColumns(dataset)
  const own = columns.slice(0, -2)
  const rows: Array<Record<string, unknown>> = new Array(rejected.length)
  for (let i = 0; i < rejected.length; i++) {
    const reject = rejected[i]!
    const row: Record<string, unknown> = {}
    for (const column of own) row[column.name] = typedOrNull(column, reject.record[column.name])
    row[REASON_COLUMN] = reject.reason
    row[RAW_COLUMN] = rawJson(reject.record)
    rows[i] = row
  }
  return encodeTable(
    { name: `${dataset.name}.quarantine`, columns, rows },
    { compression: "snappy", rowGroupSize: 100_000 }
  )
}

const datePattern = /^\d{4}-\d{2}-\d{2}$/

/** The file-backed quarantine under `dataDir`. */
export const make = (
  dataDir: string,
  /** Told of each write's rejects, one entry per distinct reason (the error log's `rejected`). */
  onRejected?: (errors: ReadonlyArray<NewError>) => Effect.Effect<void>
): Effect.Effect<QuarantineShape> =>
  Effect.sync(() => {
    const root = path.resolve(dataDir)
    const write = Effect.fn("Quarantine.write")(function* <A>(
      dataset: Dataset<A>,
      date: string,
      scope: string,
      rejected: ReadonlyArray<Rejected>
    ) {
      const partition = `date=${date}`
      const fail = (detail: string) =>
        new SinkError({ sink: SINK_NAME, dataset: dataset.name, partition, detail })
      if (!datePattern.test(date)) return yield* fail(`partition date ${date} is not YYYY-MM-DD`)
      const clash = dataset.columns.find((c) => c.name === REASON_COLUMN || c.name === RAW_COLUMN)
      if (clash !== undefined) {
        return yield* fail(`dataset column ${clash.name} clashes with the quarantine's own column`)
      }
      const relative = quarantineFile(dataset.name, date, scope)
      const file = path.join(root, relative)
      const storage = (e: StorageError) => fail(e.reason)
      yield* removeStaleTemps(path.dirname(file)).pipe(Effect.mapError(storage))
      if (rejected.length === 0) {
        yield* removeFileAndEmptyDir(file).pipe(Effect.mapError(storage))
        const none: QuarantineResult = { rows: 0 }
        return none
      }
      const bytes = yield* Effect.try({
        try: () => encodeRejects(dataset, rejected),
        catch: (cause) =>
          fail(`cannot encode rejects: ${cause instanceof ParquetCodecError ? cause.detail : String(cause)}`)
      })
      yield* makeDir(path.dirname(file)).pipe(Effect.mapError(storage))
      yield* writeFileAtomic(file, bytes).pipe(Effect.mapError(storage))
      if (onRejected !== undefined) yield* onRejected(rejectedErrors(dataset.name, rejected))
      const result: QuarantineResult = { file: relative, rows: rejected.length }
      return result
    })
    return Quarantine.of({ write })
  })

const DIGITS = /\d+/g

/**
 * One error-log entry per reason among `rejected`, its numbers aside (one cheap pass per reject:
 * the error log's own grouping takes out the rest), with its count.
 */
export const rejectedErrors = (
  source: string,
  rejected: ReadonlyArray<Rejected>
): ReadonlyArray<NewError> => {
  const byReason = new Map<string, { message: string; count: number }>()
  for (const r of rejected) {
    const key = r.reason.replace(DIGITS, "#")
    const seen = byReason.get(key)
    if (seen === undefined) byReason.set(key, { message: r.reason, count: 1 })
    else seen.count++
  }
  return [...byReason.values()].map(({ message, count }) => ({ source, kind: "rejected", message, count }))
}

/** The file-backed quarantine under the configured data dir; rejects go to the `ErrorLog` when there is one. */
export const fromConfig: Effect.Effect<QuarantineShape, never, AppConfig> = Effect.gen(function* () {
  const config = yield* AppConfig
  const errors = yield* Effect.serviceOption(ErrorLog)
  return yield* make(config.dataDir, Option.isSome(errors) ? errors.value.record : undefined)
})

export const Live: Layer.Layer<Quarantine, never, AppConfig> = Layer.effect(Quarantine, fromConfig)

/** What the in-memory quarantine holds for one (dataset, date, scope). */
export interface QuarantineEntry {
  readonly dataset: string
  readonly date: string
  readonly scope: string
  readonly rejected: ReadonlyArray<Rejected>
}

/** The entries written to the `Test` quarantine, in first-write order (a rewrite replaces in place). */
export class Written extends Context.Tag("tapehouse/Quarantine/Written")<
  Written,
  Ref.Ref<ReadonlyArray<QuarantineEntry>>
>() {}

/** An in-memory quarantine with the same replace/remove semantics; `Written` exposes its contents. */
export const Test: Layer.Layer<Quarantine | Written> = Layer.effectContext(
  Effect.gen(function* () {
    const written = yield* Ref.make<ReadonlyArray<QuarantineEntry>>([])
    const service = Quarantine.of({
      write: (dataset, date, scope, rejected) =>
        Ref.update(written, (entries) => {
          const s = sanitizeScope(scope)
          const same = (e: QuarantineEntry) => e.dataset === dataset.name && e.date === date && e.scope === s
          if (rejected.length === 0) return entries.filter((e) => !same(e))
          const entry: QuarantineEntry = { dataset: dataset.name, date, scope: s, rejected: rejected.slice() }
          const at = entries.findIndex(same)
          return at < 0 ? [...entries, entry] : entries.map((e, i) => (i === at ? entry : e))
        }).pipe(
          Effect.as<QuarantineResult>(
            rejected.length === 0
              ? { rows: 0 }
              : { file: quarantineFile(dataset.name, date, scope), rows: rejected.length }
          )
        )
    })
    return Context.make(Quarantine, service).pipe(Context.add(Written, written))
  })
)
