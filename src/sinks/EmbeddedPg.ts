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
import { type ThreadEnd, takeThread } from "./embeddedPgThread.js"

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
  | { readonly type: "idle" }
  | { readonly type: "stopped" }

/** Connections a client pool should open to the embedded server. */
export const clientMaxConnections = 1
/** Connections the socket server accepts: this process's pool, readers in other processes, slack. */
export const serverMaxConnections = 16

/**
 * Server settings PGlite starts with, beyond its own (`postgres -c`). PGlite runs Postgres as a
 * single-user backend: no checkpointer runs, so nothing checkpoints by itself and the WAL only
 * grows (545 MB after 100 days of one symbol); EmbeddedPgMaintenance checkpoints. These make a
 * checkpoint leave little behind:
 * - `wal_recycle=off`: segments the checkpoint no longer needs are deleted, not renamed into
 *   future segments (Postgres keeps up to `max_wal_size`, 1 GB, of those);
 * - `wal_init_zero=off`: a new 16 MB segment is not first written full of zeros (PGlite runs
 *   with fsync off, so the zeros buy no safety).
 */
export const serverSettings: ReadonlyArray<string> = ["wal_recycle=off", "wal_init_zero=off"]

/**
 * For a process that opens the database briefly to read (`tapehouse sql`): 16 MB of shared
 * buffers instead of 128 MB. Opening then took 10–15% less CPU and 120 MB less memory (2-core VM,
 * bench/RESULTS.md); the pages it reads come from the OS cache either way.
 */
export const briefSessionSettings: ReadonlyArray<string> = ["shared_buffers=16MB"]

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

/**
 * What `state/pg.lock` holds: the owner's pid on its first line and, for the process `tapehouse
 * sql` leaves serving the database (EmbeddedPgKeeper), `keeper` on the second: a keeper gives the
 * database up to any other process that needs to open it.
 */
export interface LockRecord {
  readonly pid: number
  readonly keeper: boolean
}

export const lockText = (record: LockRecord): string => `${record.pid}\n${record.keeper ? "keeper\n" : ""}`

export const parseLock = (text: string): LockRecord | undefined => {
  const [first = "", second = ""] = text.split("\n")
  const pid = Number.parseInt(first, 10)
  return Number.isSafeInteger(pid) && pid > 0 ? { pid, keeper: second.trim() === "keeper" } : undefined
}

/**
 * Creates the lock file with its content in one step (a hard link of a complete temporary file),
 * so that no other process ever reads it empty and takes it for a dead owner's. Fails with EEXIST.
 */
const createLockFile = async (lockPath: string, text: string): Promise<void> => {
  const temporary = `${lockPath}.${process.pid}.tmp`
  // A failure names the lock file, not its temporary twin.
  const named = (cause: unknown) =>
    cause instanceof Error ? Object.assign(cause, { path: lockPath }) : cause
  await Fs.writeFile(temporary, text).catch((cause) => {
    throw named(cause)
  })
  try {
    await Fs.link(temporary, lockPath)
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code
    // A file system without hard links: an exclusive create (its content follows at once).
    if (code === "EPERM" || code === "ENOTSUP" || code === "ENOSYS")
      await Fs.writeFile(lockPath, text, { flag: "wx" })
    else throw named(cause)
  } finally {
    await Fs.rm(temporary, { force: true }).catch(() => undefined)
  }
}

/** The lock file's record, undefined when it is missing or unreadable. */
const readLock = async (lockPath: string): Promise<LockRecord | undefined> =>
  parseLock(await Fs.readFile(lockPath, "utf8").catch(() => ""))

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
    const { worker, thread } = yield* Effect.acquireRelease(Effect.sync(takeThread), ({ worker, thread }) =>
      thread.ended === undefined ? Effect.promise(() => worker.terminate()) : Effect.void
    )
    yield* Effect.tryPromise({
      try: async () => {
        await mkdirs(dbPath)
        await Fs.access(dbPath, Fs.constants.R_OK | Fs.constants.W_OK)
      },
      catch: storageErrorOf(dbPath)
    })
    const tookOverFrom = yield* acquireLock(Path.join(stateDir, "pg.lock"), dbPath, {
      keeper: options.keeper ?? false,
      takeOverKeeper: options.takeOverKeeper ?? true
    })
    if (tookOverFrom !== undefined)
      yield* Effect.logInfo(
        `the embedded database was kept open for tapehouse sql by pid ${tookOverFrom}; it closed it for this process`
      )

    // PGlite and its socket server live on their own thread (embeddedPgWorker.mjs), which has been
    // warming up since the start.
    const port = yield* Effect.acquireRelease(
      Effect.async<number, StorageError>((resume) => {
        const fail = (detail: string) => resume(Effect.fail(new StorageError({ path: dbPath, detail })))
        const ended = (end: ThreadEnd) =>
          fail(
            end.kind === "error"
              ? `the embedded database thread failed (${describeCause(end.cause)})`
              : `the embedded database thread exited (code ${end.code}) before serving`
          )
        if (thread.ended !== undefined) return ended(thread.ended)
        const onMessage = (m: WorkerMessage) => {
          if (m.type === "ready") {
            worker.off("message", onMessage)
            thread.onEnd = () => undefined
            const onIdle = options.onIdle
            if (onIdle !== undefined)
              worker.on("message", (later: WorkerMessage) => {
                if (later.type === "idle") onIdle.run()
              })
            resume(Effect.succeed(m.port))
          } else if (m.type === "failed") {
            worker.off("message", onMessage)
            thread.onEnd = () => undefined
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
          }
        }
        worker.on("message", onMessage)
        thread.onEnd = ended
        worker.postMessage({
          type: "open",
          dbPath,
          host,
          maxConnections: serverMaxConnections,
          settings: [...serverSettings, ...(options.settings ?? [])],
          idleMs: options.onIdle?.idleMs ?? 0
        })
      }),
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
    if (!Number.isSafeInteger(port) || port <= 0) {
      return yield* Effect.dieMessage(`the embedded database reported no port: ${port}`)
    }
    yield* Effect.annotateCurrentSpan({ "tapehouse.embedded_pg.port": port })
    // Released first on close: no reader is sent to a server that is stopping.
    yield* EmbeddedPgAddress.publish(dataDir, { host, port })
    return { host, port, path: dbPath }
  }).pipe(Effect.withSpan("EmbeddedPg.start"))
