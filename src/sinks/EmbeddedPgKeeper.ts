/**
 * Starts the keeper (`embeddedPgKeeperMain.ts`): a detached process that opens the embedded
 * database and serves it until no client has been connected for `keepOpenMs`, so that `tapehouse
 * sql` calls after the first join it in tens of milliseconds instead of starting Postgres in WASM
 * each time (about a second of CPU). Writers take the database over from it (EmbeddedPg).
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import type { KeeperMessage } from "./embeddedPgKeeperMain.js"

/** How long to wait for the keeper to serve before going on without it. */
const startTimeoutMs = 60_000

/**
 * Starts a keeper for `dataDir` and waits until it serves (true) or failed or ended (false: the
 * caller then opens the database itself, or joins whoever holds it). The keeper outlives this
 * process; it is never waited for at exit.
 */
export const launch = (dataDir: string, keepOpenMs: number): Effect.Effect<boolean> =>
  Effect.async<boolean>((resume) => {
    const script = fileURLToPath(new URL("./embeddedPgKeeper.mjs", import.meta.url))
    const child = spawn(process.execPath, [script, dataDir, String(keepOpenMs)], {
      detached: true,
      stdio: ["ignore", "ignore", "ignore", "ipc"]
    })
    let done = false
    const finish = (ready: boolean) => {
      if (done) return
      done = true
      clearTimeout(timer)
      child.removeAllListeners()
      if (child.connected) child.disconnect()
      child.unref()
      resume(Effect.succeed(ready))
    }
    const timer = setTimeout(() => finish(false), startTimeoutMs)
    child.on("message", (m: KeeperMessage) => finish(m.type === "ready"))
    child.once("exit", () => finish(false))
    child.once("error", () => finish(false))
  }).pipe(Effect.withSpan("EmbeddedPgKeeper.launch"))
