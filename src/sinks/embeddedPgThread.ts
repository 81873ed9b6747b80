/**
 * The embedded database's thread (embeddedPgWorker.mjs), started before the database is opened:
 * it loads PGlite and compiles its WASM at once, which needs no data dir, while its owner takes
 * the lock (EmbeddedPg.start). Plain Node, so that the keeper can start one before it loads
 * anything else (`prewarm`).
 */
import { Worker } from "node:worker_threads"

/** How a thread ended: it threw, or it exited. */
export type ThreadEnd =
  | { readonly kind: "error"; readonly cause: unknown }
  | { readonly kind: "exit"; readonly code: number }

/** A database thread; `ended` is set once it has ended, and `onEnd` is told then. */
export interface Thread {
  readonly worker: Worker
  readonly thread: { ended: ThreadEnd | undefined; onEnd: (end: ThreadEnd) => void }
}

const newThread = (): Thread => {
  const worker = new Worker(new URL("./embeddedPgWorker.mjs", import.meta.url))
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

let spare: Thread | undefined

/** Starts a database thread now, for the next `takeThread` in this process (the keeper's first step). */
export const prewarm = (): void => {
  spare ??= newThread()
}

/** Ends the thread `prewarm` started, when nothing is going to open the database. */
export const dropPrewarmed = (): Promise<void> => {
  const thread = spare
  spare = undefined
  return thread === undefined ? Promise.resolve() : thread.worker.terminate().then(() => undefined)
}

/** The thread `prewarm` started, if it is still alive, else a new one. */
export const takeThread = (): Thread => {
  const thread = spare?.thread.ended === undefined ? spare : undefined
  spare = undefined
  return thread ?? newThread()
}
