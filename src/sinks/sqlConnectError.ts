/**
 * Why the SQL client could not connect, as a `StorageError` naming the server (host:port, never
 * the password), the cause (a system code such as ECONNREFUSED, or the server's SQLSTATE) and the
 * one action that fits it.
 */
import type { SqlError } from "@effect/sql/SqlError"
import { Redacted } from "effect"
import { StorageError } from "../domain/errors.js"
import { networkAction, type SystemCause, systemCauseOf } from "../domain/systemCause.js"
import { describeSqlError } from "./sqlSchema.js"

/** The server a connection goes to, as messages name it. */
export interface SqlServer {
  /** `host:port`. */
  readonly address: string
  readonly database: string
  /** The setting the address comes from, for the action. */
  readonly setting: string
}

const urlSetting = "sinks.sql.url / TAPEHOUSE_PG_URL"

/** The server a `postgres://user:password@host:port/db` URL points at (5432 and the user's name by default). */
export const serverOf = (url: Redacted.Redacted<string>): SqlServer => {
  try {
    const parsed = new URL(Redacted.value(url))
    const host = parsed.hostname === "" ? "localhost" : parsed.hostname
    const user = decodeURIComponent(parsed.username)
    const database = decodeURIComponent(parsed.pathname.replace(/^\//, ""))
    return {
      address: `${host}:${parsed.port === "" ? "5432" : parsed.port}`,
      database: database === "" ? user : database,
      setting: urlSetting
    }
  } catch {
    return { address: "sinks.sql.url (not a valid URL)", database: "", setting: urlSetting }
  }
}

/** The action for a SQLSTATE the server answers a connection with. */
const serverAction = (sqlState: string, server: SqlServer): string | undefined => {
  switch (sqlState) {
    case "28P01":
    case "28000":
      return "The server refused the user or password: fix them in TAPEHOUSE_PG_URL"
    case "3D000":
      return `Create the database ${server.database} on ${server.address} (createdb ${server.database}) or fix its name in ${server.setting}`
    case "57P03":
      return "The server is starting up or shutting down: wait for it, then rerun"
    case "53300":
      return "The server has no free connection slots: close other clients or raise its max_connections"
    default:
      return undefined
  }
}

/**
 * A connect timeout carries no system code: node-postgres's client and pool, and @effect/sql-pg,
 * each say it in their own words (whichever timer fires first); all read as the system's ETIMEDOUT.
 */
const timeoutMessages = new Set([
  "Connection terminated due to connection timeout",
  "timeout exceeded when trying to connect",
  "Connection timed out"
])

const connectTimeoutOf = (error: SqlError): SystemCause | undefined => {
  const message = error.cause instanceof Error ? error.cause.message : error.message
  return timeoutMessages.has(message) || error.message === "PgClient: Connection timed out"
    ? { code: "ETIMEDOUT", message: "connection timed out" }
    : undefined
}

const sqlStateOf = (cause: unknown): string | undefined => {
  const code = typeof cause === "object" && cause !== null ? (cause as { code?: unknown }).code : undefined
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined
}

/** Maps a failed connection to `server` to a `StorageError` naming it, the cause and the action. */
export const connectError =
  (server: SqlServer) =>
  (error: SqlError): StorageError => {
    const operation = "cannot connect to Postgres at"
    const system = systemCauseOf(error.cause) ?? connectTimeoutOf(error)
    if (system !== undefined) {
      const action = networkAction(system.code, server.address, server.setting)
      return new StorageError({
        path: server.address,
        operation,
        code: system.code,
        detail: system.message,
        ...(action === undefined ? {} : { action })
      })
    }
    const sqlState = sqlStateOf(error.cause)
    if (sqlState !== undefined) {
      const action = serverAction(sqlState, server)
      return new StorageError({
        path: server.address,
        operation,
        code: sqlState,
        detail: error.cause instanceof Error ? error.cause.message : error.message,
        ...(action === undefined ? {} : { action })
      })
    }
    return new StorageError({ path: server.address, operation, detail: describeSqlError(error) })
  }
