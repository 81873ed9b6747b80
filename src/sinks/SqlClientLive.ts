/**
 * The `PgClient`/`SqlClient` the SQL sink writes through: a Postgres server when
 * `sinks.sql.url` is set, else the embedded PGlite under `<dataDir>/state/pg`, served on a
 * loopback socket (see EmbeddedPg). The same @effect/sql-pg code path serves both.
 *
 * A process that opens the embedded database also runs its housekeeping (EmbeddedPgMaintenance).
 * A reader (`tapehouse sql`) asks for `joinRunning`: when another tapehouse process holds the
 * embedded database, it connects to the socket that process serves instead of opening the folder.
 */
import type { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { PgClient } from "@effect/sql-pg"
import { Duration, Effect, Layer, Option, Redacted } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { type SinkError, StorageError } from "../domain/errors.js"
import * as EmbeddedPg from "./EmbeddedPg.js"
import * as EmbeddedPgAddress from "./EmbeddedPgAddress.js"
import * as EmbeddedPgMaintenance from "./EmbeddedPgMaintenance.js"
import { connectError, serverOf } from "./sqlConnectError.js"
import { describeSqlError, Migrations } from "./sqlSchema.js"

export interface SqlTarget {
  /** Root of the data dir; the embedded database lives in `<dataDir>/state/pg`. */
  readonly dataDir: string
  /** A Postgres server (`postgres://user:password@host:port/db`); None = embedded PGlite. */
  readonly url: Option.Option<Redacted.Redacted<string>>
}

/** node-postgres' type parsers: how a column's text from the server becomes a JavaScript value. */
export interface TypeParsers {
  readonly getTypeParser: (oid: number, format?: "text" | "binary") => (value: string) => unknown
}

export interface ClientOptions {
  /** Type parsers for this pool instead of node-postgres' defaults (`tapehouse sql` prints text). */
  readonly types?: TypeParsers
  /**
   * Embedded target only: when another process already serves the embedded database, connect to
   * it rather than fail on its lock. For readers; a writer keeps the lock, so that one process
   * owns the writes and the housekeeping.
   */
  readonly joinRunning?: boolean
  /**
   * Run the migrations (when behind) where this process opens the database or uses a server. A
   * database another process serves was migrated by that process when it opened it.
   */
  readonly migrate?: boolean
  /** Embedded target: server settings when this process opens it (`EmbeddedPg.briefSessionSettings`). */
  readonly settings?: ReadonlyArray<string>
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

const embeddedConnectError =
  (path: string, operation = "cannot connect to the embedded database in") =>
  (error: SqlError) =>
    new StorageError({
      path,
      operation,
      detail: describeSqlError(error)
    })

/**
 * How long connecting to a server may take. Without it node-postgres waits forever on a server
 * that accepts but never answers, and @effect/sql-pg's own 5 s timeout cannot interrupt that wait.
 */
const connectTimeout = Duration.seconds(10)

type Client = Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, StorageError | SinkError>

const migrated = (client: Client, options: ClientOptions): Client =>
  options.migrate === true ? Migrations.pipe(Layer.provideMerge(client)) : client

const server = (url: Redacted.Redacted<string>, options: ClientOptions): Client =>
  migrated(
    PgClient.layer({ url, applicationName: "tapehouse", connectTimeout, types: options.types }).pipe(
      Layer.mapError(connectError(serverOf(url)))
    ),
    options
  )

/** Opens the embedded database in this process, serves it, and keeps house while it is open. */
const embeddedOwned = (dataDir: string, options: ClientOptions): Client =>
  Layer.unwrapScoped(
    Effect.map(
      // A reader does not take the database from a keeper (it joins it); a writer does.
      EmbeddedPg.start(dataDir, {
        settings: options.settings ?? [],
        takeOverKeeper: options.joinRunning !== true
      }),
      ({ host, path, port }) =>
        migrated(
          EmbeddedPgMaintenance.layer().pipe(
            Layer.provideMerge(
              PgClient.layer({
                host,
                port,
                database: "postgres",
                username: "postgres",
                applicationName: "tapehouse",
                maxConnections: EmbeddedPg.clientMaxConnections,
                types: options.types
              }).pipe(Layer.mapError(embeddedConnectError(path)))
            )
          ),
          options
        )
    )
  )

/** A connection to the embedded database another process serves (one connection: it has one backend). */
const embeddedServed = (address: EmbeddedPgAddress.Address, options: ClientOptions): Client =>
  PgClient.layer({
    host: address.host,
    port: address.port,
    database: address.database,
    username: address.user,
    applicationName: "tapehouse",
    maxConnections: 1,
    types: options.types
  }).pipe(
    Layer.mapError(
      embeddedConnectError(
        `${address.host}:${address.port}`,
        `cannot connect to the embedded database served by pid ${address.pid} at`
      )
    )
  )

/**
 * The served database when there is one, else this process opens it. A server that stops between
 * reading its address and connecting is looked up once more (its successor, or nobody).
 */
const embeddedJoined = (dataDir: string, options: ClientOptions, lookups = 2): Client =>
  Layer.unwrapEffect(
    Effect.map(EmbeddedPgAddress.findServed(dataDir), (served) =>
      Option.match(served, {
        onNone: () => embeddedOwned(dataDir, options),
        onSome: (address) =>
          lookups <= 1
            ? embeddedServed(address, options)
            : embeddedServed(address, options).pipe(
                Layer.catchAll(() => embeddedJoined(dataDir, options, lookups - 1))
              )
      })
    )
  )

/**
 * Builds the client layer for an explicit target (tests, benchmarks). Each call opens its own
 * pool (and embedded database): call it once and share the result.
 */
export const layerFrom = (target: SqlTarget, options: ClientOptions = {}): Client =>
  Option.match(target.url, {
    onNone: () =>
      options.joinRunning === true
        ? embeddedJoined(target.dataDir, options)
        : embeddedOwned(target.dataDir, options),
    onSome: (url) => server(url, options)
  })

/** The client for the configured target (`sql.url`, else embedded under the data dir). */
export const layer: Layer.Layer<
  PgClient.PgClient | SqlClient.SqlClient,
  StorageError | SinkError,
  AppConfig
> = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) => layerFrom({ dataDir: config.dataDir, url: config.sql.url }))
)
