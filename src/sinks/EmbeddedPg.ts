/**
 * The embedded SQL target: PGlite (Postgres compiled to WASM) with its data under
 * `<dataDir>/state/pg`, served on a loopback socket so the one `@effect/sql-pg` code path
 * serves both it and a real Postgres server. PGlite and the socket server run on a worker
 * thread (`embeddedPgWorker.mjs`): the database's CPU work then runs beside the event loop that
 * streams and writes Parquet, not on it (measured in bench/stream.ts and bench/backfill.ts).
 *
 * pglite-socket 0.2 accepts several connections (`maxConnections`) and queues their protocol
 * messages onto the single backend; a connection that has a transaction or a protocol exchange
 * open is served alone until it ends (`embeddedPgProtocolGuard.mjs`). Several connections
 * therefore buy no parallelism, so this process's pool opens `clientMaxConnections` (1); the
 * server accepts more, for other processes reading through it (`tapehouse sql`, psql, DuckDB)
 * and for a pool replacing an idle connection. While it serves, the address is recorded in
 * `<dataDir>/state/pg.json` (EmbeddedPgAddress).
 *
 * PGlite itself does not stop a second process from opening the same folder (doing so corrupts
 * it, measured), so the folder is guarded by `<dataDir>/state/pg.lock` holding the owner's pid.
 * The keeper `tapehouse sql` leaves serving the database (EmbeddedPgKeeper) marks its lock
 * `keeper`: a process that opens the database to write asks it to close the database and waits
 * for the lock to be released before taking it (`takeOverKeeper`).
 */
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { Effect, type Scope } from "effect"
import { StorageError } from "../domain/errors.js"
import { describeCause, fileAction, storageErrorOf, systemCauseOf } from "../domain/systemCause.js"
import { mkdirs } from "./atomicFile.js"
import * as EmbeddedPgAddress from "./EmbeddedPgAddress.js"
import { createLockFile, isAlive, lockText, readLock } from "./embeddedPgLock.js"
import { host, type OpenAnswer, openOn, takeThread } from "./embeddedPgThread.js"

export { type LockRecord, lockText, parseLock } from "./embeddedPgLock.js"

export interface EmbeddedPgServer {
  readonly host: string
  readonly port: number
  /** The folder holding the database files. */
  readonly path: string
}

/** Connections a client pool should open to the embedded server. */
export const clientMaxConnections = 1

export { briefSessionSettings, serverMaxConnections, serverSettings } from "./embeddedPgThread.js"

export interface StartOptions {
  /** Settings added to `serverSettings` (a later one wins). */
  readonly settings?: ReadonlyArray<string>
  /**
   * When a keeper (see LockRecord) holds the database, ask it to close it and wait, then open it
   * (default true: writers). Readers pass false: they join the keeper through its socket instead.
   */
  readonly takeOverKeeper?: boolean
  /** This process is a keeper: its lock says so, and other processes may take the database over. */
  readonly keeper?: boolean
  /** Called once when no client has been connected to the server for `idleMs`. */
  readonly onIdle?: { readonly idleMs: number; readonly run: () => void }
}

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

/**
 * Whether `pid` runs the keeper's script. On Linux its command line says so, and a pid that an
 * unrelated program took over after a keeper died is not signalled; elsewhere (no /proc) the
 * lock's word is taken.
 */
const runsKeeper = async (pid: number): Promise<boolean> => {
  const cmdline = await Fs.readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => undefined)
  if (cmdline !== undefined) return cmdline.includes(keeperScriptName)
  return !(await Fs.access("/proc/self/cmdline").then(
    () => true,
    () => false
  ))
}

/** The file name the keeper runs as (EmbeddedPgKeeper starts it), which `runsKeeper` looks for. */
export const keeperScriptName = "embeddedPgKeeper"

/** How long a writer waits for a keeper it asked to stop to close the database. */
const handOverTimeoutMs = 30_000

/** Asks the keeper `pid` to close the database (SIGTERM) and waits until its lock is gone. */
const takeOver = async (lockPath: string, dbPath: string, pid: number): Promise<void> => {
  try {
    process.kill(pid, "SIGTERM")
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== "ESRCH") throw cause
  }
  const deadline = Date.now() + handOverTimeoutMs
  while ((await readLock(lockPath))?.pid === pid && isAlive(pid)) {
    if (Date.now() >= deadline)
      throw new StorageError({
        path: dbPath,
        operation: "cannot open the embedded database",
        detail: `the process keeping it open for \`tapehouse sql\` (pid ${pid}) did not close it within ${handOverTimeoutMs / 1000} s of being asked`,
        action: `Stop that process (kill ${pid}) and retry`
      })
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/**
 * Takes `<state>/pg.lock` for this process; a lock left by a process that died is taken over, and
 * a keeper (`tapehouse sql`'s idle reader) is asked to close the database first when `takeOverKeeper`.
 * Succeeds with the keeper's pid when it took over from one.
 */
const acquireLock = (
  lockPath: string,
  dbPath: string,
  options: { readonly keeper: boolean; readonly takeOverKeeper: boolean }
): Effect.Effect<number | undefined, StorageError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        let tookOverFrom: number | undefined
        for (let attempt = 0; attempt < 3; attempt++) {
          try {
            await createLockFile(lockPath, lockText({ pid: process.pid, keeper: options.keeper }))
            return tookOverFrom
          } catch (cause) {
            if ((cause as NodeJS.ErrnoException).code !== "EEXIST") throw cause
          }
          const owner = await readLock(lockPath)
          if (owner !== undefined && isAlive(owner.pid)) {
            if (owner.pid === process.pid)
              throw new StorageError({
                path: dbPath,
                operation: "cannot open the embedded database",
                detail: "it is already open in this process"
              })
            if (options.takeOverKeeper && owner.keeper && (await runsKeeper(owner.pid))) {
              await takeOver(lockPath, dbPath, owner.pid)
              tookOverFrom = owner.pid
              continue
            }
            throw new StorageError({
              path: dbPath,
              operation: "cannot open the embedded database",
              detail: `it is in use by another tapehouse process (pid ${owner.pid}, lock file ${lockPath})`,
              action: `Stop that process or wait for it to finish, or set sinks.sql.url to a Postgres server to share one database`
            })
          }
          // Stale: its owner is gone (a keeper that was asked to stop and did removes it itself).
          if (owner === undefined || !isAlive(owner.pid)) await Fs.rm(lockPath, { force: true })
        }
        throw new Error(`could not take the lock file ${lockPath}`)
      },
      catch: storageErrorOf(lockPath, "cannot create the lock file")
    }),
    () => Effect.promise(() => Fs.rm(lockPath, { force: true }).catch(() => undefined))
  )

/**
 * The lock this process took before it loaded this module (keeperEarlyOpen.ts), released with the
 * scope like one `acquireLock` takes.
 */
const adoptLock = (lockPath: string, dbPath: string): Effect.Effect<undefined, StorageError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.flatMap(
      Effect.promise(() => readLock(lockPath)),
      (owner) =>
        owner?.pid === process.pid
          ? Effect.succeed(undefined)
          : Effect.fail(
              new StorageError({
                path: dbPath,
                operation: "cannot open the embedded database",
                detail: `its lock file ${lockPath} no longer names this process (pid ${process.pid})`
              })
            )
    ),
    () => Effect.promise(() => Fs.rm(lockPath, { force: true }).catch(() => undefined))
  )

/**
 * Opens the embedded database under `<dataDir>/state/pg` and serves it on 127.0.0.1 at a port
 * the OS picks. Closing the scope stops the server and closes the database (no handle stays open).
 */
export const start = (
  dataDir: string,
  options: StartOptions = {}
): Effect.Effect<EmbeddedPgServer, StorageError, Scope.Scope> =>
  Effect.gen(function* () {
    const stateDir = Path.resolve(dataDir, "state")
    const dbPath = Path.join(stateDir, "pg")
    // The thread starts first: it loads PGlite while the lock is taken. It is ended when the
    // database was never opened (its own release below stops it otherwise, before the lock goes).
    const t = yield* Effect.acquireRelease(Effect.sync(takeThread), ({ worker, thread }) =>
      thread.ended === undefined ? Effect.promise(() => worker.terminate()) : Effect.void
    )
    const { worker, thread } = t
    yield* Effect.tryPromise({
      try: async () => {
        await mkdirs(dbPath)
        await Fs.access(dbPath, Fs.constants.R_OK | Fs.constants.W_OK)
      },
      catch: storageErrorOf(dbPath)
    })
    const lockPath = Path.join(stateDir, "pg.lock")
    // The keeper may have taken the lock and told its thread to open this database before it
    // loaded this module (keeperEarlyOpen.ts): it adopts both.
    const early = t.opened?.dbPath === dbPath ? t.opened.answer : undefined
    const tookOverFrom =
      early === undefined
        ? yield* acquireLock(lockPath, dbPath, {
            keeper: options.keeper ?? false,
            takeOverKeeper: options.takeOverKeeper ?? true
          })
        : yield* adoptLock(lockPath, dbPath)
    if (tookOverFrom !== undefined)
      yield* Effect.logInfo(
        `the embedded database was kept open for tapehouse sql by pid ${tookOverFrom}; it closed it for this process`
      )

    // PGlite and its socket server live on their own thread (embeddedPgWorker.mjs), which has been
    // warming up since the start.
    const port = yield* Effect.acquireRelease(
      Effect.flatMap(
        Effect.promise(() => early ?? openOn(t, dbPath, options.settings ?? [])),
        (answer: OpenAnswer) => {
          if (answer.type === "ready") return Effect.succeed(answer.port)
          if (answer.type === "ended")
            return Effect.fail(
              new StorageError({
                path: dbPath,
                detail:
                  answer.end.kind === "error"
                    ? `the embedded database thread failed (${describeCause(answer.end.cause)})`
                    : `the embedded database thread exited (code ${answer.end.code}) before serving`
              })
            )
          return Effect.fail(
            answer.stage === "open"
              ? openFailure(dbPath, answer.message, answer.cause)
              : new StorageError({
                  path: dbPath,
                  detail: `cannot serve the embedded database on ${host} (${describeCause(answer.cause ?? answer.message)})`
                })
          )
        }
      ),
      // Stop serving and close the database (its files complete), then the thread ends.
      () =>
        Effect.async<void>((resume) => {
          const done = () => resume(Effect.void)
          if (thread.ended !== undefined) return done()
          worker.once("exit", done)
          worker.postMessage("stop")
          // A thread that does not stop within 10 s is ended (nothing is in flight by then).
          const timer = setTimeout(() => void worker.terminate(), 10_000)
          timer.unref()
        })
    )
    const onIdle = options.onIdle
    if (onIdle !== undefined) {
      worker.on("message", (later: { readonly type: string }) => {
        if (later.type === "idle") onIdle.run()
      })
      worker.postMessage({ type: "watchIdle", idleMs: onIdle.idleMs })
    }
    if (!Number.isSafeInteger(port) || port <= 0) {
      return yield* Effect.dieMessage(`the embedded database reported no port: ${port}`)
    }
    yield* Effect.annotateCurrentSpan({ "tapehouse.embedded_pg.port": port })
    // Released first on close: no reader is sent to a server that is stopping.
    yield* EmbeddedPgAddress.publish(dataDir, { host, port })
    return { host, port, path: dbPath }
  }).pipe(Effect.withSpan("EmbeddedPg.start"))
