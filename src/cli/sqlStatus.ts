/**
 * The SQL part of `tapehouse status`: where the SQL target is, whether a running process serves
 * the embedded database (and how to connect to it meanwhile), and how much disk it takes. Reads
 * files only: it neither opens nor connects to the database.
 */
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { Effect, Option } from "effect"
import type { AppConfigShape } from "../config/AppConfig.js"
import * as EmbeddedPgAddress from "../sinks/EmbeddedPgAddress.js"
import { maskUrl } from "../sinks/SqlClientLive.js"
import { formatBytes } from "./display.js"

/** Bytes a folder takes on disk (allocated blocks, as `du` counts them); 0 when it is missing. */
export const diskUsage = async (dir: string): Promise<number> => {
  const entries = await NodeFs.readdir(dir, { withFileTypes: true }).catch(() => [])
  let total = 0
  for (const e of entries) {
    const path = Path.join(dir, e.name)
    total += e.isDirectory()
      ? await diskUsage(path)
      : await NodeFs.lstat(path).then(
          (s) => s.blocks * 512,
          () => 0
        )
  }
  return total
}

/** The SQL target as `status` reports it (its JSON's `sql`). */
export type SqlStatus =
  | { readonly target: "server"; readonly url: string }
  | {
      readonly target: "embedded"
      readonly path: string
      readonly diskBytes: number
      readonly walBytes: number
      /** The process serving it now, and how to connect; null when nobody holds it. */
      readonly servedBy: {
        readonly pid: number
        readonly since: string
        readonly connection: string
        readonly url: string
      } | null
    }

/** The SQL target; null when SQL is off or the embedded database was never created. */
export const sqlStatus = (config: AppConfigShape): Effect.Effect<SqlStatus | null> =>
  Effect.gen(function* () {
    if (!config.sql.enabled) return null
    if (Option.isSome(config.sql.url)) return { target: "server", url: maskUrl(config.sql.url.value) }
    const dbPath = Path.join(config.dataDir, "state", "pg")
    const [disk, wal] = yield* Effect.promise(() =>
      Promise.all([diskUsage(dbPath), diskUsage(Path.join(dbPath, "pg_wal"))])
    )
    if (disk === 0) return null
    const served = yield* EmbeddedPgAddress.findServed(config.dataDir, "0 millis")
    return {
      target: "embedded",
      path: dbPath,
      diskBytes: disk,
      walBytes: wal,
      servedBy: Option.match(served, {
        onNone: () => null,
        onSome: (a) => ({
          pid: a.pid,
          since: a.startedAt,
          connection: EmbeddedPgAddress.connectionString(a.host, a.port),
          url: a.url
        })
      })
    }
  })

/** The text view's line. */
export const sqlStatusLine = (status: SqlStatus): string => {
  if (status.target === "server") return `sql: Postgres server ${status.url}`
  const size = `${formatBytes(status.diskBytes)} on disk (WAL ${formatBytes(status.walBytes)})`
  return status.servedBy === null
    ? `sql: embedded Postgres in ${status.path}, ${size}; not open (tapehouse sql opens it)`
    : `sql: embedded Postgres in ${status.path}, ${size}; served by pid ${status.servedBy.pid} since ${status.servedBy.since}: psql "${status.servedBy.connection}"`
}
