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

/** The Postgres message inside a SqlError (node-postgres puts it in `cause`), else the SqlError's own. */
export const describeSqlError = (error: SqlError.SqlError): string => {
  const cause = error.cause
  if (cause instanceof Error && cause.message.length > 0) {
    const code = (cause as { code?: unknown }).code
    return typeof code === "string" && code.length > 0 ? `${cause.message} (SQLSTATE ${code})` : cause.message
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
 * Runs the migrations of `tables` (default: every SQL dataset) when built. Fails with a
 * SinkError naming the migration and the Postgres message. A database already at the latest
 * migration is left alone after one read (the migrator takes a table lock and a transaction).
 */
export const migrationsLayer = (
  tables: ReadonlyArray<TableSpec> = sqlDatasets
): Layer.Layer<never, SinkError, PgClient | SqlClient.SqlClient> => {
  const migrator = runMigrator(tables)
  return Layer.unwrapEffect(
    appliedMigration.pipe(
      Effect.map((applied) => (applied >= tables.length ? Layer.empty : migrator)),
      // The migrator reports whatever stopped the read.
      Effect.orElseSucceed(() => migrator)
    )
  )
}

const runMigrator = (
  tables: ReadonlyArray<TableSpec>
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
