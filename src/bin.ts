#!/usr/bin/env node
/**
 * Entry point. `tapehouse sql` starts the process that opens the embedded database first, so it
 * opens while the CLI loads (cli/earlyKeeper.ts); then the CLI runs (cli/main.ts).
 */
import { startEarlyKeeper } from "./cli/earlyKeeper.js"

startEarlyKeeper(process.argv)
await import("./cli/main.js")
