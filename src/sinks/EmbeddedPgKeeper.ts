/**
 * Starts the keeper (`embeddedPgKeeperMain.ts`): a detached process that opens the embedded
 * database and serves it until no client has been connected for `keepOpenMs`, so that `tapehouse
 * sql` calls after the first join it in tens of milliseconds instead of starting Postgres in WASM
 * each time (about a second of CPU). Writers take the database over from it (EmbeddedPg).
 */
import { Effect } from "effect"
import { spawnKeeper } from "./keeperProcess.js"

/**
 * Starts a keeper for `dataDir` and waits until it serves (true) or failed or ended (false: the
 * caller then opens the database itself, or joins whoever holds it). The keeper outlives this
 * process; it is never waited for at exit.
 */
export const launch = (dataDir: string, keepOpenMs: number): Effect.Effect<boolean> =>
  Effect.promise(() => spawnKeeper([dataDir, String(keepOpenMs)])).pipe(
    Effect.map((message) => message.type === "ready"),
    Effect.withSpan("EmbeddedPgKeeper.launch")
  )
