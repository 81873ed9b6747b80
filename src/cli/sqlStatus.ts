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

/** One line, or none when SQL is off or the embedded database was never created. */
export const sqlStatusLines = (config: AppConfigShape): Effect.Effect<ReadonlyArray<string>> =>
  Effect.gen(function* () {
    if (!config.sql.enabled) return []
    if (Option.isSome(config.sql.url)) return [`sql: Postgres server ${maskUrl(config.sql.url.value)}`]
    const dbPath = Path.join(config.dataDir, "state", "pg")
    const [disk, wal] = yield* Effect.promise(() =>
      Promise.all([diskUsage(dbPath), diskUsage(Path.join(dbPath, "pg_wal"))])
    )
    if (disk === 0) return []
    const size = `${formatBytes(disk)} on disk (WAL ${formatBytes(wal)})`
    const served = yield* EmbeddedPgAddress.findServed(config.dataDir, "0 millis")
    return [
      Option.match(served, {
        onNone: () => `sql: embedded Postgres in ${dbPath}, ${size}; not open (tapehouse sql opens it)`,
        onSome: (a) =>
          `sql: embedded Postgres in ${dbPath}, ${size}; served by pid ${a.pid} since ${a.startedAt}: psql "${EmbeddedPgAddress.connectionString(a.host, a.port)}"`
      })
    ]
  })
