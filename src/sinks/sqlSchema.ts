/**
 * SQL tables derived from `Dataset`s, and the migrations that create and evolve them. Generic:
 * nothing here knows a particular dataset. The migrations are one append-only list: the migrator
 * runs only ids above the last one applied, so a new table or column always goes at the end.
 */
import { NodeContext } from "@effect/platform-node"
import { SqlClient, type SqlError } from "@effect/sql"
import type { PgClient } from "@effect/sql-pg/PgClient"
import * as PgMigrator from "@effect/sql-pg/PgMigrator"
import { Cause, Effect, Layer, Option } from "effect"
import type { ColumnKind } from "../domain/Dataset.js"
import { sqlSchemaChanges } from "../domain/datasets.js"
import { SinkError } from "../domain/errors.js"
import { systemCauseOf } from "../domain/systemCause.js"
import { migrationsTable } from "./migrationLevel.js"

/** What the SQL side needs of a `Dataset` (every `Dataset<A>` is one). */
export interface TableSpec {
  readonly name: string
  readonly columns: ReadonlyArray<ColumnKind & { readonly name: string; readonly nullable: boolean }>
  readonly key: ReadonlyArray<string>
}

/**
 * One schema change: a dataset's table (created with its current columns), or a nullable column
 * added to a table created before the column existed (a no-op on a table created with it).
 */
export type MigrationStep =
  | { readonly _tag: "table"; readonly table: TableSpec }
  | { readonly _tag: "addColumn"; readonly table: TableSpec; readonly column: string }
  | { readonly _tag: "view"; readonly name: string; readonly sql: string }

/** Every schema change, in order: the registry's list (append only: the position is the migration id). */
export const migrationSteps: ReadonlyArray<MigrationStep> = sqlSchemaChanges

/** Every dataset with a SQL table. */
export const sqlDatasets: ReadonlyArray<TableSpec> = migrationSteps.flatMap((s) =>
  s._tag === "table" ? [s.table] : []
)

export { migrationsTable } from "./migrationLevel.js"

/**
 * The Postgres type of a column. Postgres keeps timestamps to the microsecond only, so a
 * `timestamp_ns` column is a `bigint` of epoch nanoseconds: exact, ordered, and the same range as
 * Parquet's INT64 nanoseconds (README "Column types" shows how to read it as a timestamp).
 */
export const sqlType = (column: ColumnKind): string => {
  switch (column.type) {
    case "string":
      return "text"
    case "timestamp_ms":
      return "timestamptz"
    case "double":
      return "double precision"
    case "int64":
    case "timestamp_ns":
      return "bigint"
    case "boolean":
      return "boolean"
    case "date":
      return "date"
    case "decimal":
      return `numeric(18, ${column.scale})`
    case "string_list":
      return "text[]"
  }
}

/** Quotes an identifier for Postgres (`"a""b"`). */
export const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`

export const createTableSql = (table: TableSpec): string => {
  const columns = table.columns.map(
    (c) => `  ${quoteIdent(c.name)} ${sqlType(c)}${c.nullable ? "" : " NOT NULL"}`
  )
  const key = table.key.map(quoteIdent).join(", ")
  return `CREATE TABLE ${quoteIdent(table.name)} (\n${columns.join(",\n")},\n  PRIMARY KEY (${key})\n)`
}

/** `0001_stock_bars_1s`, `0003_continuity_add_cause`. */
export const migrationName = (index: number, step: MigrationStep): string =>
  `${String(index + 1).padStart(4, "0")}_${step._tag === "view" ? `${step.name}_view` : step.table.name}${step._tag === "addColumn" ? `_add_${step.column}` : ""}`

/** The statement of a step. */
const stepSql = (step: MigrationStep): string =>
  step._tag === "table"
    ? createTableSql(step.table)
    : step._tag === "addColumn"
      ? addColumnSql(step.table, step.column)
      : step.sql

/** `ALTER TABLE … ADD COLUMN IF NOT EXISTS …` for a column of the table's spec. */
export const addColumnSql = (table: TableSpec, column: string): string => {
  const spec = table.columns.find((c) => c.name === column)
  if (spec === undefined) throw new Error(`${table.name} has no column ${column}`)
  if (!spec.nullable)
    throw new Error(`${table.name}.${column} is added to existing rows, so it must be nullable`)
  return `ALTER TABLE ${quoteIdent(table.name)} ADD COLUMN IF NOT EXISTS ${quoteIdent(column)} ${sqlType(spec)}`
}

/** What to do about a SQLSTATE met while reading or writing, where one action fits. */
const sqlStateActions: Readonly<Record<string, string>> = {
  "53100":
    "Free space on the database's disk (for the embedded database, the disk holding the data dir) and rerun: everything committed is kept",
  "53300": "The server has no free connection slots: close other clients or raise its max_connections"
}

/**
 * The Postgres message inside a SqlError (node-postgres puts it in `cause`) with its SQLSTATE and
 * the action that fits it, a system cause ("ECONNRESET (connection reset by peer)"), else the
 * SqlError's own message.
 */
export const describeSqlError = (error: SqlError.SqlError): string => {
  const cause = error.cause
  if (cause instanceof Error && cause.message.length > 0) {
    const code = (cause as { code?: unknown }).code
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) {
      const action = sqlStateActions[code]
      return `${cause.message} (SQLSTATE ${code})${action === undefined ? "" : `. ${action}`}`
    }
    const system = systemCauseOf(cause)
    return system === undefined ? cause.message : `${system.code} (${cause.message})`
  }
  return error.message
}

const runStep = (step: MigrationStep, name: string): Effect.Effect<void, SinkError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(stepSql(step))).pipe(
    Effect.asVoid,
    Effect.mapError(
      (error) =>
        new SinkError({
          sink: "sql",
          dataset: step._tag === "view" ? step.name : step.table.name,
          partition: `migration ${name}`,
          detail: describeSqlError(error)
        })
    )
  )

/** One migration per step, keyed `NNNN_<name>` for `PgMigrator.fromRecord`. */
export const migrations = (
  steps: ReadonlyArray<MigrationStep>
): Record<string, Effect.Effect<void, SinkError, SqlClient.SqlClient>> => {
  const out: Record<string, Effect.Effect<void, SinkError, SqlClient.SqlClient>> = {}
  steps.forEach((step, i) => {
    const name = migrationName(i, step)
    out[name] = runStep(step, name)
  })
  return out
}

/** The migrator dies with a MigrationError whose cause is our SinkError when a migration fails. */
const fromMigratorCause = (cause: Cause.Cause<unknown>): Option.Option<SinkError> =>
  Cause.find(cause, (reason) => {
    const value = reason._tag === "Die" ? reason.defect : reason._tag === "Fail" ? reason.error : undefined
    if (value instanceof SinkError) return Option.some(value)
    if (value instanceof PgMigrator.MigrationError) {
      if (value.cause instanceof SinkError) return Option.some(value.cause)
      return Option.some(
        new SinkError({ sink: "sql", dataset: "*", partition: "migrations", detail: value.message })
      )
    }
    if (typeof value === "object" && value !== null && "_tag" in value && value._tag === "SqlError") {
      return Option.some(
        new SinkError({
          sink: "sql",
          dataset: "*",
          partition: "migrations",
          detail: describeSqlError(value as SqlError.SqlError)
        })
      )
    }
    return Option.none()
  })

/** The highest migration id the database has applied; 0 when it has none (no migrations table). */
export const appliedMigration: Effect.Effect<number, SqlError.SqlError, SqlClient.SqlClient> = Effect.gen(
  function* () {
    const sql = yield* SqlClient.SqlClient
    const present = yield* sql<{ readonly present: boolean }>`
      SELECT to_regclass(${migrationsTable}) IS NOT NULL AS present`
    if (present[0]?.present !== true) return 0
    const latest = yield* sql<{ readonly id: number | null }>`
      SELECT max(migration_id)::int AS id FROM ${sql(migrationsTable)}`
    return latest[0]?.id ?? 0
  }
)

/**
 * Runs the migrations of `steps` (default: every one) when built. Fails with a SinkError naming
 * the migration and the Postgres message. A database already at the latest migration is left
 * alone after one read (the migrator takes a table lock and a transaction).
 */
export const migrationsLayer = (
  steps: ReadonlyArray<MigrationStep> = migrationSteps
): Layer.Layer<never, SinkError, PgClient | SqlClient.SqlClient> => {
  const migrator = runMigrator(steps)
  return Layer.unwrapEffect(
    appliedMigration.pipe(
      Effect.map((applied) => (applied >= steps.length ? Layer.empty : migrator)),
      // The migrator reports whatever stopped the read.
      Effect.orElseSucceed(() => migrator)
    )
  )
}

const runMigrator = (
  steps: ReadonlyArray<MigrationStep>
): Layer.Layer<never, SinkError, PgClient | SqlClient.SqlClient> =>
  PgMigrator.layer({ loader: PgMigrator.fromRecord(migrations(steps)), table: migrationsTable }).pipe(
    // Only used to dump the schema when `schemaDirectory` is set (it is not).
    Layer.provide(NodeContext.layer),
    Layer.catchAllCause((cause) =>
      Option.match(fromMigratorCause(cause), {
        // Every failure (MigrationError, SqlError) is matched above: what is left is a defect or
        // an interruption.
        onNone: () => Layer.failCause(cause as Cause.Cause<never>),
        onSome: (error) => Layer.fail(error)
      })
    )
  )

/** The migrations layer for every SQL dataset; define once, share by reference. */
export const Migrations = migrationsLayer()
