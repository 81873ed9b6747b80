/**
 * The keeper's entry point (see embeddedPgKeeperRun.ts): the database thread starts first, so
 * that PGlite loads on it while this thread compiles its WASM; when the arguments tell which
 * database to keep, it is locked and opened on that thread at once, and served before the keeper
 * and its configuration load (keeperEarlyOpen.ts).
 */
import { setFlagsFromString } from "node:v8"
import { prewarm } from "./embeddedPgThread.js"
import { announceEarlyOpen, holdSignals, openEarly } from "./keeperEarlyOpen.js"

// Postgres's WASM functions stay on V8's baseline compiler (Liftoff) 100 times longer before the
// optimising one recompiles them: the keeper's work is short queries, for which the recompiling
// cost more CPU than it saved (opening, migration check and a count on the demo's lake: 0.45 s of
// CPU instead of 0.7 s; an aggregate over its 110k bars, repeated, as fast or faster; see
// bench/RESULTS.md). Hot loops of a long query are still optimised. An unknown flag (another V8)
// is ignored. Set before the database thread starts, whose isolate reads it.
setFlagsFromString("--wasm-tiering-budget=180000000")
holdSignals()
prewarm()
await openEarly(process.argv.slice(2))
// Effect and the configuration load after the database serves and the command has its answer: on
// two cores they would otherwise slow down Postgres's start, the command's loading and its query.
await announceEarlyOpen()
await import("./embeddedPgKeeperRun.js")
