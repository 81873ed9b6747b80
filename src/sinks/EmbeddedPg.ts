/**
 * The embedded SQL target: PGlite (Postgres compiled to WASM) with its data under
 * `<dataDir>/state/pg`, served on a loopback socket so the one `@effect/sql-pg` code path
 * serves both it and a real Postgres server. PGlite and the socket server run on a worker
 * thread (`embeddedPgWorker.mjs`): the database's CPU work then runs beside the event loop that
 * streams and writes Parquet, not on it (measured in bench/stream.ts and bench/backfill.ts).
 *
 * pglite-socket 0.2 does accept several connections (`maxConnections`, default 1) and queues
 * their protocol messages onto the single backend; while one connection has a transaction open
 * the others wait until it ends. Several connections therefore buy no parallelism, so clients
 * use `clientMaxConnections` (1); the server allows a few more so a pool that replaces an idle
 * connection is never refused.
 *
 * PGlite itself does not stop a second process from opening the same folder (doing so corrupts
 * it, measured), so the folder is guarded by `<dataDir>/state/pg.lock` holding the owner's pid.
 */
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { Worker } from "node:worker_threads"
import { Effect, type Scope } from "effect"
import { StorageError } from "../domain/errors.js"
import { describeCause, fileAction, storageErrorOf, systemCauseOf } from "../domain/systemCause.js"
import { mkdirs } from "./atomicFile.js"

export interface EmbeddedPgServer {
  readonly host: string
  readonly port: number
  /** The folder holding the database files. */
  readonly path: string
}

type WorkerMessage =
  | { readonly type: "ready"; readonly port: number }
  | {
      readonly type: "failed"
      readonly stage: "open" | "serve"
      readonly message: string
      /** The thrown value's name, code, errno and message (PGlite throws Emscripten ErrnoErrors). */
      readonly cause?: unknown
    }
  | { readonly type: "stopped" }

/** Connections a client pool should open to the embedded server. */
export const clientMaxConnections = 1
/** Connections the socket server accepts (slack for a pool replacing a connection). */
const serverMaxConnections = 4

const host = "127.0.0.1"

const starting = "cannot start the embedded database in"

/** Why PGlite could not open `dbPath`: a system cause with its action, else a damaged or foreign folder. */
const openFailure = (dbPath: string, message: string, cause: unknown): StorageError => {
  const system = systemCauseOf(cause)
  const action = system === undefined ? undefined : fileAction(system.code, dbPath)
  if (system !== undefined && action !== undefined)
    return new StorageError({
      path: dbPath,
      operation: starting,
      code: system.code,
      detail: system.message,
      action
    })
  return new StorageError({
    path: dbPath,
    operation: starting,
    detail: `${system === undefined ? message : `${system.code} (${system.message})`}; the folder may be damaged or written by another PGlite version`,
    action: `Move ${dbPath} away to start afresh`
  })
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (cause) {
    // EPERM: the process exists but belongs to someone else.
    return (cause as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Takes `<state>/pg.lock` for this process; a lock left by a process that died is taken over. */
const acquireLock = (lockPath: string, dbPath: string): Effect.Effect<void, StorageError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        for (let attempt = 0; attempt < 2; attempt++) {
          try {
            await Fs.writeFile(lockPath, `${process.pid}\n`, { flag: "wx" })
            return
          } catch (cause) {
            if ((cause as NodeJS.ErrnoException).code !== "EEXIST") throw cause
          }
          const owner = Number.parseInt(await Fs.readFile(lockPath, "utf8").catch(() => ""), 10)
          if (Number.isSafeInteger(owner) && owner > 0 && isAlive(owner)) {
            throw owner === process.pid
              ? new StorageError({
                  path: dbPath,
                  operation: "cannot open the embedded database",
                  detail: "it is already open in this process"
                })
              : new StorageError({
                  path: dbPath,
                  operation: "cannot open the embedded database",
                  detail: `it is in use by another tapehouse process (pid ${owner}, lock file ${lockPath})`,
                  action: `Stop that process or wait for it to finish, or set sinks.sql.url to a Postgres server to share one database`
                })
          }
          // Stale: its owner is gone.
          await Fs.rm(lockPath, { force: true })
        }
        throw new Error(`could not take the lock file ${lockPath}`)
      },
      catch: storageErrorOf(lockPath, "cannot create the lock file")
    }),
    () => Effect.promise(() => Fs.rm(lockPath, { force: true }).catch(() => undefined))
  )

/**
 * Opens the embedded database under `<dataDir>/state/pg` and serves it on 127.0.0.1 at a port
 * the OS picks. Closing the scope stops the server and closes the database (no handle stays open).
 */
export const start = (dataDir: string): Effect.Effect<EmbeddedPgServer, StorageError, Scope.Scope> =>
  Effect.gen(function* () {
    const stateDir = Path.resolve(dataDir, "state")
    const dbPath = Path.join(stateDir, "pg")
    yield* Effect.tryPromise({
      try: async () => {
        await mkdirs(dbPath)
        await Fs.access(dbPath, Fs.constants.R_OK | Fs.constants.W_OK)
      },
      catch: storageErrorOf(dbPath)
    })
    yield* acquireLock(Path.join(stateDir, "pg.lock"), dbPath)

    // PGlite and its socket server live on their own thread (embeddedPgWorker.mjs).
    const port = yield* Effect.acquireRelease(
      Effect.async<{ readonly worker: Worker; readonly port: number }, StorageError>((resume) => {
        const worker = new Worker(new URL("./embeddedPgWorker.mjs", import.meta.url), {
          workerData: { dbPath, host, maxConnections: serverMaxConnections }
        })
        const fail = (detail: string) => resume(Effect.fail(new StorageError({ path: dbPath, detail })))
        worker.once("message", (m: WorkerMessage) => {
          if (m.type === "ready") resume(Effect.succeed({ worker, port: m.port }))
          else if (m.type === "failed")
            resume(
              Effect.fail(
                m.stage === "open"
                  ? openFailure(dbPath, m.message, m.cause)
                  : new StorageError({
                      path: dbPath,
                      detail: `cannot serve the embedded database on ${host} (${describeCause(m.cause ?? m.message)})`
                    })
              )
            )
        })
        worker.once("error", (cause) => fail(`the embedded database thread failed (${describeCause(cause)})`))
        worker.once("exit", (code) =>
          fail(`the embedded database thread exited (code ${code}) before serving`)
        )
      }),
      // Stop serving and close the database (its files complete), then the thread ends.
      ({ worker }) =>
        Effect.async<void>((resume) => {
          const done = () => resume(Effect.void)
          worker.once("exit", done)
          worker.postMessage("stop")
          // A thread that does not stop within 10 s is ended (nothing is in flight by then).
          const timer = setTimeout(() => void worker.terminate(), 10_000)
          timer.unref()
        })
    ).pipe(Effect.map(({ port }) => port))
    if (!Number.isSafeInteger(port) || port <= 0) {
      return yield* Effect.dieMessage(`the embedded database reported no port: ${port}`)
    }
    yield* Effect.annotateCurrentSpan({ "tapehouse.embedded_pg.port": port })
    return { host, port, path: dbPath }
  }).pipe(Effect.withSpan("EmbeddedPg.start"))
