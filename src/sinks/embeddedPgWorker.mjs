// The embedded database's thread (see EmbeddedPg.ts): PGlite and its loopback socket server run
// here, so the WASM backend's work (parsing, planning, inserting) does not take the event loop of
// the thread that streams and writes Parquet. Plain JavaScript: it needs no TypeScript loader.
//
// It starts warming up at once (loading PGlite while the parent compiles its WASM and reads its
// file bundle: a few hundred ms that need no data dir), while the parent takes the lock; then it
// opens the database when told. Messages from the parent:
//   { type: "artifacts", pgliteWasmModule?, fsBundle? } (first, always: the compiled module and the
//   bundle's bytes, or nothing when the parent could not read them)
//   | { type: "open", dbPath, host, maxConnections, settings, migrationsTable? } (settings:
//   "name=value" server settings given at start, as `postgres -c`; migrationsTable: report the
//   highest migration id applied, 0 for none, with "ready")
//   | { type: "watchIdle", idleMs } (report once no client has been connected for that long; sent
//   at any time: a keeper opens the database before its configuration has said how long to wait)
//   | { type: "watchFirstClient" } (once serving: report when the first client has come and gone)
//   | "stop" (stop serving, close the database, then exit), also while it is opening or before.
// Messages to the parent:
//   { type: "ready", port, migration? } | { type: "failed", stage: "open" | "serve", message }
//   | { type: "idle" } | { type: "firstClientGone" } | { type: "stopped" }
import { parentPort } from "node:worker_threads"
import { guardProtocol } from "./embeddedPgProtocolGuard.mjs"

/**
 * PGlite as this thread uses it: it only serves the socket, whose clients get Postgres's own wire
 * protocol, so the array parsers of PGlite's JavaScript `query` are not loaded. Loading them is a
 * catalog query PGlite runs while it opens, a quarter of the open's time (~0.1 s of `tapehouse
 * sql`'s first call, bench/RESULTS.md); the thread's own queries (the migration level) read no arrays.
 */
const servedPGlite = (PGlite) =>
  class ServedPGlite extends PGlite {
    async _initArrayTypes() {}
    /** `PGlite.create` builds a plain PGlite whatever class it is called on. */
    static async create(dataDir, options) {
      const db = new ServedPGlite(dataDir, options)
      await db.waitReady
      return db
    }
  }

/**
 * PGlite's compiled WASM module and file bundle, which PGlite.create takes ready-made: the parent
 * reads and compiles them while this thread starts (embeddedPgThread.ts) and sends them as its
 * first message, empty when it could not (PGlite then finds the files itself).
 */
let receiveArtifacts
const artifacts = new Promise((resolve) => {
  receiveArtifacts = ({ pgliteWasmModule, fsBundle }) =>
    resolve(pgliteWasmModule === undefined ? {} : { pgliteWasmModule, fsBundle: new Blob([fsBundle]) })
})

/** PGlite and its socket server, loaded at once, with the artifacts. */
const warm = (async () => {
  const [{ PGlite }, { PGLiteSocketServer }] = await Promise.all([
    import("@electric-sql/pglite"),
    import("@electric-sql/pglite-socket")
  ])
  return { PGlite: servedPGlite(PGlite), PGLiteSocketServer, artifacts: await artifacts }
})()
// Awaited when the database opens; a thread stopped before that has nothing to report.
warm.catch(() => undefined)

// A "stop" may come while PGlite is still opening (a writer takes over a starting reader): the
// database is then closed as soon as it is open, never left to a forced end of the thread. Before
// "open", there is nothing to close.
let opening = false
let stopRequested = false
/** The server once it serves, and the idle wait asked for (watched from then on). */
let serving
let idleMs = 0
let stop = () => {
  stopRequested = true
  if (!opening) process.exit(0)
}
parentPort.on("message", (message) => {
  if (message === "stop") stop()
  else if (message?.type === "artifacts") receiveArtifacts(message)
  else if (message?.type === "open" && !opening) {
    opening = true
    void serve(message)
  } else if (message?.type === "watchFirstClient") {
    if (serving !== undefined) watchFirstClient(serving)
  } else if (message?.type === "watchIdle" && idleMs === 0 && message.idleMs > 0) {
    idleMs = message.idleMs
    if (serving !== undefined) watchIdle(serving, idleMs)
  }
})
// PGlite throws Emscripten ErrnoErrors ({ name: "ErrnoError", errno }: no message) for file system
// failures; the parent classifies the fields posted here (domain/systemCause.ts).
const describe = (cause) => {
  if (cause instanceof Error)
    return cause.code === undefined ? cause.message : `${cause.code}: ${cause.message}`
  if (typeof cause?.errno === "number") return `${cause.name ?? "error"} errno ${cause.errno}`
  return String(cause)
}
const fieldsOf = (cause) =>
  typeof cause === "object" && cause !== null
    ? { name: cause.name, code: cause.code, errno: cause.errno, message: cause.message }
    : { message: String(cause) }

/** Posts why the database could not be served; closing the port (not process.exit) lets the message reach the parent before the thread ends. */
const failed = (stage, cause) => {
  parentPort.postMessage({ type: "failed", stage, message: describe(cause), cause: fieldsOf(cause) })
  parentPort.close()
}

/** Posts "idle" once no client has been connected for `idleMs` (checked every second or sooner). */
const watchIdle = (server, idleMs) => {
  let busyAt = Date.now()
  server.addEventListener("connection", () => {
    busyAt = Date.now()
  })
  const timer = setInterval(
    () => {
      if (server.getStats().activeConnections > 0) busyAt = Date.now()
      else if (Date.now() - busyAt >= idleMs) {
        clearInterval(timer)
        parentPort.postMessage({ type: "idle" })
      }
    },
    Math.min(1000, idleMs)
  )
}

/**
 * Posts "firstClientGone" once a client has connected and no client is connected any more: the
 * command a keeper answered early has its answer (checked every 10 ms, until then only).
 */
const watchFirstClient = (server) => {
  let seen = server.getStats().activeConnections > 0
  server.addEventListener("connection", () => {
    seen = true
  })
  const timer = setInterval(() => {
    if (seen && server.getStats().activeConnections === 0) {
      clearInterval(timer)
      parentPort.postMessage({ type: "firstClientGone" })
    }
  }, 10)
}

/** The highest migration id applied to `db`, 0 when it has no migrations table (sqlSchema.ts reads it alike). */
const appliedMigration = async (db, table) => {
  const present = await db.query("SELECT to_regclass($1) IS NOT NULL AS present", [table])
  if (present.rows[0]?.present !== true) return 0
  const latest = await db.query(`SELECT coalesce(max(migration_id), 0)::int AS id FROM "${table}"`)
  return latest.rows[0]?.id ?? 0
}

const serve = async ({ dbPath, host, maxConnections, settings, migrationsTable }) => {
  let db
  let PGLiteSocketServer
  try {
    const warmed = await warm
    const { PGlite, artifacts } = warmed
    PGLiteSocketServer = warmed.PGLiteSocketServer
    db = await PGlite.create(dbPath, {
      ...artifacts,
      startParams: [...PGlite.defaultStartParams, ...settings.flatMap((setting) => ["-c", setting])]
    })
  } catch (cause) {
    return failed("open", cause)
  }
  let migration
  if (migrationsTable !== undefined)
    migration = await appliedMigration(db, migrationsTable).catch(() => undefined)
  const close = async (server) => {
    await server?.stop().catch(() => undefined)
    if (!db.closed) await db.close().catch(() => undefined)
    parentPort.postMessage({ type: "stopped" })
    process.exit(0)
  }
  if (stopRequested) return close(undefined)
  let server
  try {
    server = new PGLiteSocketServer({ db: guardProtocol(db), host, port: 0, maxConnections })
    await server.start()
  } catch (cause) {
    await db.close().catch(() => undefined)
    return failed("serve", cause)
  }
  stop = () => void close(server)
  if (stopRequested) return close(server)
  serving = server
  if (idleMs > 0) watchIdle(server, idleMs)
  // `getServerConn()` is "host:port" once listening, with the port the OS picked.
  parentPort.postMessage({
    type: "ready",
    port: Number(server.getServerConn().split(":").pop()),
    ...(migration === undefined ? {} : { migration })
  })
}
