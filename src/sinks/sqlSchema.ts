/**
 * SQL tables derived from `Dataset`s, and the migrations that create them. Generic: nothing
 * here knows a particular dataset. Each dataset gets one migration, numbered by its place in
 * `sqlDatasets`, so that list is append-only: a new dataset goes at the end.
 */
import { NodeContext } from "@effect/platform-node"
import { SqlClient, type SqlError } from "@effect/sql"
import type { PgClient } from "@effect/sql-pg/PgClient"
import * as PgMigrator from "@effect/sql-pg/PgMigrator"
import { Cause, Effect, Layer, Option } from "effect"
import { Continuity } from "../domain/Continuity.js"
import type { ColumnType } from "../domain/Dataset.js"
import { SinkError } from "../domain/errors.js"
import { StockBars1s } from "../domain/StockBar.js"
import { systemCauseOf } from "../domain/systemCause.js"

/** What the SQL side needs of a `Dataset` (every `Dataset<A>` is one). */
export interface TableSpec {
  readonly name: string
  readonly columns: ReadonlyArray<{
    readonly name: string
    readonly type: ColumnType
    readonly nullable: boolean
  }>
  readonly key: ReadonlyArray<string>
}

/** Every dataset with a SQL table, in migration order. Append only: the index is the migration id. */
export const sqlDatasets: ReadonlyArray<TableSpec> = [StockBars1s, Continuity]

/** Table holding the applied migrations (the migrator's default). */
export const migrationsTable = "effect_sql_migrations"

export const sqlType = (type: ColumnType): string => {
  switch (type) {
    case "string":
      return "text"
    case "timestamp_ms":
      return "timestamptz"
    case "double":
      return "double precision"
    case "int64":
      return "bigint"
  }
}

/** Quotes an identifier for Postgres (`"a""b"`). */
export const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`

export const createTableSql = (table: TableSpec): string => {
  const columns = table.columns.map(
    (c) => `  ${quoteIdent(c.name)} ${sqlType(c.type)}${c.nullable ? "" : " NOT NULL"}`
  )
  const key = table.key.map(quoteIdent).join(", ")
  return `CREATE TABLE ${quoteIdent(table.name)} (\n${columns.join(",\n")},\n  PRIMARY KEY (${key})\n)`
}

/** `0001_stock_bars_1s` for the first dataset. */
export const migrationName = (index: number, table: TableSpec): string =>
  `${String(index + 1).padStart(4, "0")}_${table.name}`

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

const createTable = (table: TableSpec, name: string): Effect.Effect<void, SinkError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(createTableSql(table))).pipe(
    Effect.asVoid,
    Effect.mapError(
      (error) =>
        new SinkError({
          sink: "sql",
          dataset: table.name,
          partition: `migration ${name}`,
          detail: describeSqlError(error)
        })
    )
  )

/** One `CREATE TABLE` migration per dataset, keyed `NNNN_<name>` for `PgMigrator.fromRecord`. */
export const migrations = (
  tables: ReadonlyArray<TableSpec>
): Record<string, Effect.Effect<void, SinkError, SqlClient.SqlClient>> => {
  const out: Record<string, Effect.Effect<void, SinkError, SqlClient.SqlClient>> = {}
  tables.forEach((table, i) => {
    const name = migrationName(i, table)
    out[name] = createTable(table, name)
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

/**
 * Runs the migrations of `tables` (default: every SQL dataset) when built. Fails with a
 * SinkError naming the migration and the Postgres message.
 */
export const migrationsLayer = (
  tables: ReadonlyArray<TableSpec> = sqlDatasets
): Layer.Layer<never, SinkError, PgClient | SqlClient.SqlClient> =>
  PgMigrator.layer({ loader: PgMigrator.fromRecord(migrations(tables)), table: migrationsTable }).pipe(
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
