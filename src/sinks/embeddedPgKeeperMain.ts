/**
 * The keeper's entry point (see embeddedPgKeeperRun.ts): the database thread starts first, so
 * that PGlite loads and compiles on it; when the arguments tell which database to keep, it is
 * locked and opened on that thread at once, and served before the keeper and its configuration
 * load (keeperEarlyOpen.ts).
 */
import { prewarm } from "./embeddedPgThread.js"
import { announceEarlyOpen, holdSignals, openEarly } from "./keeperEarlyOpen.js"

holdSignals()
prewarm()
await openEarly(process.argv.slice(2))
// Effect and the configuration load after the database serves: on two cores they would otherwise
// slow down Postgres's start and the command's own loading.
await announceEarlyOpen()
await import("./embeddedPgKeeperRun.js")
