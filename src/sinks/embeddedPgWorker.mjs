// The embedded database's thread (see EmbeddedPg.ts): PGlite and its loopback socket server run
// here, so the WASM backend's work (parsing, planning, inserting) does not take the event loop of
// the thread that streams and writes Parquet. Plain JavaScript: it needs no TypeScript loader.
//
// workerData: { dbPath, host, maxConnections, settings, idleMs } (settings: "name=value" server
// settings given at start, as `postgres -c`; idleMs: when set, report once no client has been
// connected for that long). Messages to the parent:
//   { type: "ready", port } | { type: "failed", stage: "open" | "serve", message }
//   | { type: "idle" } | { type: "stopped" }
// From the parent: "stop" (stop serving, close the database, then exit), also while it is opening.
import { parentPort, workerData } from "node:worker_threads"
import { PGlite } from "@electric-sql/pglite"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"
import { guardProtocol } from "./embeddedPgProtocolGuard.mjs"

const { dbPath, host, maxConnections, settings, idleMs } = workerData

// A "stop" may come while PGlite is still opening (a writer takes over a starting reader): the
// database is then closed as soon as it is open, never left to a forced end of the thread.
let stopRequested = false
let stop = () => {
  stopRequested = true
}
parentPort.on("message", (message) => {
  if (message === "stop") stop()
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

const serve = async () => {
  let db
  try {
    db = await PGlite.create(dbPath, {
      startParams: [...PGlite.defaultStartParams, ...settings.flatMap((setting) => ["-c", setting])]
    })
  } catch (cause) {
    return failed("open", cause)
  }
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
  if (idleMs > 0) watchIdle(server, idleMs)
  // `getServerConn()` is "host:port" once listening, with the port the OS picked.
  parentPort.postMessage({ type: "ready", port: Number(server.getServerConn().split(":").pop()) })
}

await serve()
