/**
 * The `PgClient`/`SqlClient` the SQL sink writes through: a Postgres server when
 * `sinks.sql.url` is set, else the embedded PGlite under `<dataDir>/state/pg`, served on a
 * loopback socket (see EmbeddedPg). The same @effect/sql-pg code path serves both.
 */
import type { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { PgClient } from "@effect/sql-pg"
import { Duration, Effect, Layer, Option, Redacted } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { StorageError } from "../domain/errors.js"
import * as EmbeddedPg from "./EmbeddedPg.js"
import { connectError, serverOf } from "./sqlConnectError.js"
import { describeSqlError } from "./sqlSchema.js"

export interface SqlTarget {
  /** Root of the data dir; the embedded database lives in `<dataDir>/state/pg`. */
  readonly dataDir: string
  /** A Postgres server (`postgres://user:password@host:port/db`); None = embedded PGlite. */
  readonly url: Option.Option<Redacted.Redacted<string>>
}

/** The server URL without its password, for messages and logs. */
export const maskUrl = (url: Redacted.Redacted<string>): string => {
  try {
    const parsed = new URL(Redacted.value(url))
    if (parsed.password !== "") parsed.password = "***"
    parsed.search = ""
    return parsed.toString()
  } catch {
    return "sinks.sql.url (not a valid URL)"
  }
}

const embeddedConnectError = (path: string) => (error: SqlError) =>
  new StorageError({
    path,
    operation: "cannot connect to the embedded database in",
    detail: describeSqlError(error)
  })

/**
 * How long connecting to a server may take. Without it node-postgres waits forever on a server
 * that accepts but never answers, and @effect/sql-pg's own 5 s timeout cannot interrupt that wait.
 */
const connectTimeout = Duration.seconds(10)

const server = (
  url: Redacted.Redacted<string>
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, StorageError> =>
  PgClient.layer({ url, applicationName: "tapehouse", connectTimeout }).pipe(
    Layer.mapError(connectError(serverOf(url)))
  )

const embedded = (dataDir: string): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, StorageError> =>
  Layer.unwrapScoped(
    Effect.map(EmbeddedPg.start(dataDir), ({ host, path, port }) =>
      PgClient.layer({
        host,
        port,
        database: "postgres",
        username: "postgres",
        applicationName: "tapehouse",
        maxConnections: EmbeddedPg.clientMaxConnections
      }).pipe(Layer.mapError(embeddedConnectError(path)))
    )
  )

/**
 * Builds the client layer for an explicit target (tests, benchmarks). Each call opens its own
 * pool (and embedded database): call it once and share the result.
 */
export const layerFrom = (
  target: SqlTarget
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, StorageError> =>
  Option.match(target.url, {
    onNone: () => embedded(target.dataDir),
    onSome: server
  })

/** The client for the configured target (`sql.url`, else embedded under the data dir). */
export const layer: Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, StorageError, AppConfig> =
  Layer.unwrapEffect(
    Effect.map(AppConfig, (config) => layerFrom({ dataDir: config.dataDir, url: config.sql.url }))
  )
