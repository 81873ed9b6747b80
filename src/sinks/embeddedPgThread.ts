/**
 * The embedded database's thread (embeddedPgWorker.mjs), started before the database is opened:
 * it loads PGlite and compiles its WASM at once, which needs no data dir, while its owner takes
 * the lock (EmbeddedPg.start). Plain Node, so that the keeper can start one, and open the
 * database on it, before it loads anything else (`prewarm`, keeperEarlyOpen.ts).
 */
import { readFile } from "node:fs/promises"
import { createRequire } from "node:module"
import * as Path from "node:path"
import { Worker } from "node:worker_threads"

/** How a thread ended: it threw, or it exited. */
export type ThreadEnd =
  | { readonly kind: "error"; readonly cause: unknown }
  | { readonly kind: "exit"; readonly code: number }

/** What the thread says (see embeddedPgWorker.mjs). */
export type WorkerMessage =
  | {
      readonly type: "ready"
      readonly port: number
      /** The highest migration id applied, when the open asked (`migrationsTable`). */
      readonly migration?: number
    }
  | {
      readonly type: "failed"
      readonly stage: "open" | "serve"
      readonly message: string
      /** The thrown value's name, code, errno and message (PGlite throws Emscripten ErrnoErrors). */
      readonly cause?: unknown
    }
  | { readonly type: "idle" }
  | { readonly type: "firstClientGone" }
  | { readonly type: "stopped" }

/** How an open ended: served, failed, or the thread ended first. */
export type OpenAnswer =
  | Extract<WorkerMessage, { readonly type: "ready" | "failed" }>
  | { readonly type: "ended"; readonly end: ThreadEnd }

/** The host the server listens on: loopback only. */
export const host = "127.0.0.1"

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
 * For a process that opens the database briefly to read (`tapehouse sql`, its keeper): 16 MB of
 * shared buffers instead of 128 MB. Opening then took 10–15% less CPU and 120 MB less memory
 * (2-core VM, bench/RESULTS.md); the pages it reads come from the OS cache either way.
 */
export const briefSessionSettings: ReadonlyArray<string> = ["shared_buffers=16MB"]

/** A database thread; `ended` is set once it has ended, and `onEnd` is told then. */
export interface Thread {
  readonly worker: Worker
  readonly thread: { ended: ThreadEnd | undefined; onEnd: (end: ThreadEnd) => void }
  /** Set once the thread was told to open a database: which one, and how that ended. */
  opened?: { readonly dbPath: string; readonly answer: Promise<OpenAnswer> }
}

/** A file of PGlite's package, found where the thread's own import of PGlite finds it. */
const pgliteFile = (name: string): string =>
  Path.join(Path.dirname(createRequire(import.meta.url).resolve("@electric-sql/pglite")), name)

/** WebAssembly's compile, which the ES2023 and Node type libraries this project uses do not declare. */
const { WebAssembly: wasm } = globalThis as unknown as {
  readonly WebAssembly: { readonly compile: (bytes: Uint8Array) => Promise<object> }
}

/** An ArrayBuffer holding exactly `bytes`, to transfer (a Buffer may be a view into a larger one). */
const ownBuffer = (bytes: Uint8Array): ArrayBuffer =>
  bytes.byteOffset === 0 &&
  bytes.byteLength === bytes.buffer.byteLength &&
  bytes.buffer instanceof ArrayBuffer
    ? bytes.buffer
    : new Uint8Array(bytes).buffer

/**
 * Reads and compiles PGlite's WASM module, and reads its file bundle, here while the new thread
 * starts, then hands both to it (embeddedPgWorker.mjs waits for them): the thread's start and the
 * compile, about 0.1 s each on `tapehouse sql`'s first call, overlap instead of following each
 * other. The compile itself runs on V8's compiler threads. When the files cannot be read, the
 * message comes empty and PGlite looks for them itself.
 */
const sendArtifacts = async (worker: Worker): Promise<void> => {
  const read = await Promise.all([
    readFile(pgliteFile("pglite.wasm")).then((bytes) => wasm.compile(bytes)),
    readFile(pgliteFile("pglite.data"))
  ]).catch(() => undefined)
  const fsBundle = read === undefined ? undefined : ownBuffer(read[1])
  try {
    if (read === undefined || fsBundle === undefined) worker.postMessage({ type: "artifacts" })
    else worker.postMessage({ type: "artifacts", pgliteWasmModule: read[0], fsBundle }, [fsBundle])
  } catch {
    // The thread has ended already (terminated before it was needed): nobody waits for them.
  }
}

const newThread = (): Thread => {
  const worker = new Worker(new URL("./embeddedPgWorker.mjs", import.meta.url))
  void sendArtifacts(worker)
  const thread: Thread["thread"] = { ended: undefined, onEnd: () => undefined }
  const end = (ended: ThreadEnd) => {
    if (thread.ended !== undefined) return
    thread.ended = ended
    thread.onEnd(ended)
  }
  worker.once("error", (cause) => end({ kind: "error", cause }))
  worker.once("exit", (code) => end({ kind: "exit", code }))
  return { worker, thread }
}

/**
 * Tells the thread to open and serve the database at `dbPath` (with `serverSettings` and then
 * `settings`); the answer is the thread's first word after that, or its end. With
 * `migrationsTable`, "ready" says how far the database is migrated. Only once a thread.
 */
export const openOn = (
  t: Thread,
  dbPath: string,
  settings: ReadonlyArray<string>,
  migrationsTable?: string
): Promise<OpenAnswer> => {
  const { worker, thread } = t
  const answer = new Promise<OpenAnswer>((resolve) => {
    if (thread.ended !== undefined) return resolve({ type: "ended", end: thread.ended })
    const settle = (a: OpenAnswer) => {
      worker.off("message", onMessage)
      thread.onEnd = () => undefined
      resolve(a)
    }
    const onMessage = (m: WorkerMessage) => {
      if (m.type === "ready" || m.type === "failed") settle(m)
    }
    worker.on("message", onMessage)
    thread.onEnd = (end) => settle({ type: "ended", end })
    worker.postMessage({
      type: "open",
      dbPath,
      host,
      maxConnections: serverMaxConnections,
      settings: [...serverSettings, ...settings],
      ...(migrationsTable === undefined ? {} : { migrationsTable })
    })
  })
  t.opened = { dbPath, answer }
  return answer
}

let spare: Thread | undefined

/** Starts a database thread now, for the next `takeThread` in this process (the keeper's first step). */
export const prewarm = (): Thread => {
  spare ??= newThread()
  return spare
}

/**
 * Ends the thread `prewarm` started, when nothing is going to open the database. One told to open
 * a database is asked to stop, so that it closes the database once open, and is waited for.
 */
export const dropPrewarmed = (): Promise<void> => {
  const t = spare
  spare = undefined
  if (t === undefined || t.thread.ended !== undefined) return Promise.resolve()
  if (t.opened === undefined) return t.worker.terminate().then(() => undefined)
  return new Promise((resolve) => {
    t.worker.once("exit", () => resolve())
    t.worker.postMessage("stop")
    // A thread that does not stop within 10 s is ended (nothing is in flight by then).
    setTimeout(() => void t.worker.terminate(), 10_000).unref()
  })
}

/** The thread `prewarm` started, if it is still alive, else a new one. */
export const takeThread = (): Thread => {
  const t = spare?.thread.ended === undefined ? spare : undefined
  spare = undefined
  return t ?? newThread()
}
