/**
 * Starts the keeper's process (embeddedPgKeeperMain.ts) and waits for its first word. Plain Node,
 * without Effect: `tapehouse sql` starts it from the entry point, before the CLI has loaded
 * (cli/earlyKeeper.ts), as well as from EmbeddedPgKeeper.launch.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

/** What the keeper says once, through the IPC channel. */
export type KeeperMessage =
  | { readonly type: "ready"; readonly port: number }
  | { readonly type: "failed"; readonly message: string }
  /** Nothing to keep: the configuration names a Postgres server, keeping is off, or another process serves it. */
  | { readonly type: "declined"; readonly reason: string }

/** How long to wait for the keeper to serve before going on without it. */
const startTimeoutMs = 60_000

/**
 * Runs the keeper with `args` (see embeddedPgKeeperRun.ts) detached, so that it outlives this
 * process, and resolves with its first message; a keeper that ends, fails to start or stays
 * silent for a minute resolves as `failed`. The keeper is never waited for at exit.
 */
export const spawnKeeper = (args: ReadonlyArray<string>): Promise<KeeperMessage> =>
  new Promise((resolve) => {
    const script = fileURLToPath(new URL("./embeddedPgKeeper.mjs", import.meta.url))
    const child = spawn(process.execPath, [script, ...args], {
      detached: true,
      stdio: ["ignore", "ignore", "ignore", "ipc"]
    })
    let done = false
    const finish = (message: KeeperMessage) => {
      if (done) return
      done = true
      clearTimeout(timer)
      child.removeAllListeners()
      if (child.connected) child.disconnect()
      child.unref()
      resolve(message)
    }
    const timer = setTimeout(
      () =>
        finish({ type: "failed", message: `the keeper did not answer within ${startTimeoutMs / 1000} s` }),
      startTimeoutMs
    )
    child.on("message", (m: KeeperMessage) => finish(m))
    child.once("exit", (code) => finish({ type: "failed", message: `the keeper exited (code ${code})` }))
    child.once("error", (cause) => finish({ type: "failed", message: cause.message }))
  })

/**
 * The keeper's side: says `message` to the process that started it, then stops listening to it
 * (the keeper says one thing); nothing when nobody listens any more.
 */
export const tellParent = (message: KeeperMessage): Promise<void> =>
  new Promise((resolve) => {
    if (process.send === undefined || !process.connected) return resolve()
    process.send(message, undefined, undefined, () => {
      if (process.connected) process.disconnect()
      resolve()
    })
  })
