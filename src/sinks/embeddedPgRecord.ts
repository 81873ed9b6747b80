/**
 * The record `<dataDir>/state/pg.json` that says where the embedded database is served (read and
 * published through EmbeddedPgAddress). Plain Node: the keeper writes it before it loads Effect
 * when it opened the database early (keeperEarlyOpen.ts).
 */
import * as Fs from "node:fs/promises"
import * as Path from "node:path"

export const recordPath = (dataDir: string): string => Path.resolve(dataDir, "state", "pg.json")
export const lockPath = (dataDir: string): string => Path.resolve(dataDir, "state", "pg.lock")

const database = "postgres"
const user = "postgres"

/** The fields of the record for this process serving on `server`. */
export const recordFields = (server: { readonly host: string; readonly port: number }) => ({
  host: server.host,
  port: server.port,
  pid: process.pid,
  startedAt: new Date().toISOString(),
  database,
  user,
  /** The same as a libpq URL, for psql and other clients (no password: the server trusts loopback). */
  url: `postgres://${user}@${server.host}:${server.port}/${database}`
})

/** The libpq connection string for a server, as psql and DuckDB's `ATTACH … (TYPE postgres)` take it. */
export const connectionString = (host: string, port: number): string =>
  `host=${host} port=${port} user=${user} dbname=${database}`

/**
 * Writes the record under a temporary name and renames it into place, so that no reader sees it
 * half written. Not fsynced: the record lives as long as its process, and one a crash leaves is
 * stale anyway (readers check its pid).
 */
export const writeRecord = async (
  dataDir: string,
  server: { readonly host: string; readonly port: number }
) => {
  const target = recordPath(dataDir)
  const temporary = `${target}.${process.pid}.tmp`
  await Fs.writeFile(temporary, `${JSON.stringify(recordFields(server), null, 2)}\n`)
  await Fs.rename(temporary, target)
}
