/**
 * The keeper's entry point (see embeddedPgKeeperRun.ts): the database thread starts first, so
 * that PGlite loads and compiles on it while this thread loads the keeper and its configuration.
 */
import { prewarm } from "./embeddedPgThread.js"

prewarm()
await import("./embeddedPgKeeperRun.js")
