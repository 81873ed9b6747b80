/**
 * `tapehouse sql` on a database nobody holds waits for Postgres to start in WASM, about a second
 * of CPU. The entry point calls `startEarlyKeeper` before it loads the CLI, so that the keeper
 * (EmbeddedPgKeeper) opens the database on the other core while this process loads and resolves
 * its configuration; the command then joins it (sqlCommand.ts). Plain Node: nothing here may load
 * Effect or the CLI, which is what it runs beside.
 */
import { readFileSync } from "node:fs"
import { getPriority, setPriority } from "node:os"
import * as Path from "node:path"
import { isAlive, parseLock } from "../sinks/embeddedPgLock.js"
import { type KeeperMessage, spawnKeeper } from "../sinks/keeperProcess.js"

/** The global options that come before a command, with a value each. */
const valued = new Set(["--data-dir", "--config-dir"])

/** Words after `sql` that make it print something other than a query's answer. */
const notAQuery = new Set(["--help", "-h", "--version", "--wizard", "--completions"])

/**
 * The `--config-dir` and `--data-dir` of a command line whose command is `sql` with a query (the
 * keeper resolves the rest of the configuration as the command does); undefined for any other
 * command line, or one this reading is not sure of (an option it does not know before `sql`).
 */
export const sqlCommandLine = (
  args: ReadonlyArray<string>
): { readonly configDir: string; readonly dataDir: string | undefined } | undefined => {
  let configDir = "./config"
  let dataDir: string | undefined
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? ""
    const eq = arg.indexOf("=")
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg
    if (valued.has(name)) {
      const value = name === arg ? args[++i] : arg.slice(eq + 1)
      if (value === undefined) return undefined
      if (name === "--data-dir") dataDir = value
      else configDir = value
      continue
    }
    if (arg !== "sql") return undefined
    const rest = args.slice(i + 1)
    return rest.length > 0 && !rest.some((a) => notAQuery.has(a)) ? { configDir, dataDir } : undefined
  }
  return undefined
}

let early: Promise<KeeperMessage> | undefined

/**
 * Whether a live process holds the embedded database of `dataDir` (its `state/pg.lock`, as
 * EmbeddedPgAddress reads it): the command joins that process, and no keeper is needed.
 */
const isHeld = (dataDir: string): boolean => {
  let text: string
  try {
    text = readFileSync(Path.resolve(dataDir, "state", "pg.lock"), "utf8")
  } catch {
    return false
  }
  const owner = parseLock(text)
  return owner !== undefined && isAlive(owner.pid)
}

/** Starts the keeper for `tapehouse sql` (argv as `process.argv`); any other command line does nothing. */
export const startEarlyKeeper = (argv: ReadonlyArray<string>): void => {
  const line = sqlCommandLine(argv.slice(2))
  if (line === undefined || process.env.TAPEHOUSE_SQL_KEEP_OPEN_MS === "0") return
  // A data dir named here (else settings.yaml's, unknown until the configuration loads) that a
  // process already serves needs no keeper: the common case of a call after the first.
  const named = line.dataDir ?? process.env.TAPEHOUSE_DATA_DIR
  if (named !== undefined && named !== "" && isHeld(named)) return
  early = spawnKeeper(["--cli", line.configDir, ...(line.dataDir === undefined ? [] : [line.dataDir])])
  // Postgres's start in the keeper is the longest part of this call, and this process's own
  // start (loading the CLI) is shorter and has time to spare: on two cores it yields to it.
  try {
    setPriority(Math.min(getPriority() + 5, 19))
  } catch {
    // Not allowed: it loads at the usual priority.
  }
}

/** The keeper's first word when the entry point started one for this command line. */
export const earlyKeeper = (): Promise<KeeperMessage> | undefined => early
