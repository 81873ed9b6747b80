/**
 * The keeper's first step, before it loads Effect and its configuration (0.3–0.4 s on the 2-core
 * machine of bench/RESULTS.md): when it can tell which database the command reads, it takes that
 * database's lock and tells the prewarmed thread to open it, so that Postgres starts at once. A
 * database already at the schema's last migration is then served and announced to the command
 * before anything else loads (`announceEarlyOpen`). EmbeddedPg.start adopts the lock and the open
 * database. The keeper then checks the guess against the configuration (embeddedPgKeeperRun.ts)
 * and undoes it when the configuration says otherwise (`abandonEarlyOpen`).
 *
 * It guesses only where a wrong guess is harmless: the folder already holds a database (it never
 * creates one), nobody holds its lock, and neither the environment nor `.env` names a Postgres
 * server or turns keeping off. The data dir is found as loadConfig finds it: `--data-dir`, then
 * TAPEHOUSE_DATA_DIR from the environment, then from `.env`, then settings.yaml's `data_dir`, then
 * ./data. Plain Node: nothing here may load Effect.
 */
import { existsSync, readFileSync } from "node:fs"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { configDirFor } from "../config/configDir.js"
import { parseDotEnv } from "../config/dotEnv.js"
import { createLockFile, lockText, readLock } from "./embeddedPgLock.js"
import { lockPath, recordPath, writeRecord } from "./embeddedPgRecord.js"
import {
  briefSessionSettings,
  dropPrewarmed,
  host,
  type OpenAnswer,
  openOn,
  prewarm,
  type Thread,
  type WorkerMessage
} from "./embeddedPgThread.js"
import { tellParent } from "./keeperProcess.js"
import { latestMigration, migrationsTable } from "./migrationLevel.js"

const readText = (file: string): string | undefined => {
  try {
    return readFileSync(file, "utf8")
  } catch {
    return undefined
  }
}

/** An environment value as loadConfig reads it: the process's, else `.env`'s; empty counts as unset. */
const envValue = (
  name: string,
  env: Readonly<Record<string, string | undefined>>,
  dotEnv: ReadonlyMap<string, { readonly value: string }>
): string | undefined => {
  const direct = env[name]
  if (direct !== undefined && direct !== "") return direct
  const dotted = dotEnv.get(name)?.value
  return dotted === "" ? undefined : dotted
}

/**
 * settings.yaml's top-level `data_dir` (plain or quoted scalar, trailing comment allowed); a form
 * this line reading does not follow gives a wrong guess at worst, which the keeper undoes.
 */
export const settingsDataDir = (yaml: string): string | undefined => {
  const m = /^data_dir:[ \t]*(?:"([^"]*)"|'([^']*)'|([^#\r\n]*?))[ \t]*(?:#.*)?$/m.exec(yaml)
  const value = m === null ? undefined : (m[1] ?? m[2] ?? m[3])
  return value === undefined || value.trim() === "" ? undefined : value
}

/**
 * The data dir of the keeper's arguments (`<dataDir> <keepOpenMs>`, or `--cli <configDir>
 * [<dataDir>]` resolved from the working directory as the command will), or undefined when
 * keeping is off or a Postgres server is named.
 */
export const guessDataDir = (
  args: ReadonlyArray<string>,
  cwd: string,
  env: Readonly<Record<string, string | undefined>>
): string | undefined => {
  if (args[0] !== "--cli")
    return args[0] === undefined || args[0] === "" ? undefined : Path.resolve(cwd, args[0])
  const [, configDir = "", flag] = args
  const parsed = parseDotEnv(readText(Path.join(cwd, ".env")) ?? "")
  const dotEnv = parsed._tag === "Right" ? parsed.vars : new Map<string, { value: string }>()
  if (envValue("TAPEHOUSE_PG_URL", env, dotEnv) !== undefined) return undefined
  if (envValue("TAPEHOUSE_SQL_KEEP_OPEN_MS", env, dotEnv)?.trim() === "0") return undefined
  const fromYaml = () =>
    settingsDataDir(readText(Path.resolve(cwd, configDirFor(configDir), "settings.yaml")) ?? "")
  const chosen =
    (flag !== undefined && flag.trim() !== "" ? flag : undefined) ??
    envValue("TAPEHOUSE_DATA_DIR", env, dotEnv) ??
    fromYaml() ??
    "./data"
  return Path.resolve(cwd, chosen)
}

/**
 * A signal (a writer's SIGTERM asking the keeper to give the database up, a Ctrl-C) that came
 * before the keeper's runtime listened: Node's default would end the process at once, leaving
 * PGlite open mid-write and the lock behind. `holdSignals` notes it instead, and the keeper closes
 * what it opened when it starts (`signalledEarly`).
 */
let holding = false
let signalled = false
/** Told when a held signal comes (`commandAnswered` stops waiting). */
let onSignal: () => void = () => undefined

export const holdSignals = (): void => {
  holding = true
  const note = () => {
    if (!holding) return
    signalled = true
    onSignal()
  }
  process.on("SIGTERM", note)
  process.on("SIGINT", note)
}

/** Whether a signal came before the runtime listened; from now on the runtime handles them. */
export const signalledEarly = (): boolean => {
  holding = false
  return signalled
}

let opened:
  | { readonly dataDir: string; readonly lockPath: string; readonly answer: Promise<OpenAnswer> }
  | undefined

/**
 * Takes the lock of the database the arguments point at and starts opening it on the prewarmed
 * thread; does nothing when it cannot tell, there is no database there yet, or the lock is held.
 */
export const openEarly = async (args: ReadonlyArray<string>): Promise<void> => {
  const dataDir = guessDataDir(args, process.cwd(), process.env)
  if (dataDir === undefined) return
  const dbPath = Path.join(dataDir, "state", "pg")
  if (!existsSync(Path.join(dbPath, "PG_VERSION"))) return
  const lock = lockPath(dataDir)
  try {
    await createLockFile(lock, lockText({ pid: process.pid, keeper: true }))
  } catch {
    // Held (or not writable): the usual path decides, with its own messages.
    return
  }
  opened = {
    dataDir,
    lockPath: lock,
    answer: openOn(prewarm(), dbPath, briefSessionSettings, migrationsTable)
  }
}

/**
 * Once the database `openEarly` opened serves, and is migrated as far as this build's schema goes:
 * records its address and tells the command, which then queries it while this process loads the
 * rest. The command reads the address of the data dir its own configuration names, so a wrong
 * guess never answers its query. A database to migrate, or a failure to open, is left to the
 * usual path (EmbeddedPg.start adopts the answer; the keeper migrates, then tells).
 */
export const announceEarlyOpen = async (): Promise<void> => {
  if (opened === undefined) return
  const answer = await opened.answer
  if (answer.type !== "ready" || (answer.migration ?? 0) < latestMigration) return
  const answered = commandAnswered(prewarm(), commandWaitMs)
  await writeRecord(opened.dataDir, { host, port: answer.port })
  await tellParent({ type: "ready", port: answer.port })
  await answered
}

/** The longest the keeper waits for the command's query before it loads the rest. */
const commandWaitMs = 2000

/**
 * Resolves once the database thread has seen its first client come and go (the command has its
 * answer), a held signal came, the thread ended, or after `maxMs`. Until then the keeper loads
 * nothing more: its load of Effect and the configuration (0.3–0.4 s of CPU) would run beside the
 * command's connection and query, and the thread answering it, on two cores.
 */
const commandAnswered = (t: Thread, maxMs: number): Promise<void> =>
  new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      t.worker.off("message", onMessage)
      t.worker.off("exit", done)
      onSignal = () => undefined
      resolve()
    }
    const onMessage = (m: WorkerMessage) => {
      if (m.type === "firstClientGone") done()
    }
    const timer = setTimeout(done, maxMs)
    if (signalled || t.thread.ended !== undefined) return done()
    onSignal = done
    t.worker.on("message", onMessage)
    t.worker.once("exit", done)
    t.worker.postMessage({ type: "watchFirstClient" })
  })

/** The data dir `openEarly` opened, if it did. */
export const earlyOpened = (): string | undefined => opened?.dataDir

/** Closes what `openEarly` opened and releases its record and lock (the configuration chose otherwise). */
export const abandonEarlyOpen = async (): Promise<void> => {
  const early = opened
  opened = undefined
  if (early === undefined) return
  const record = recordPath(early.dataDir)
  const owner = await Fs.readFile(record, "utf8").then(
    (text) => (JSON.parse(text) as { readonly pid?: unknown }).pid,
    () => undefined
  )
  if (owner === process.pid) await Fs.rm(record, { force: true })
  await dropPrewarmed()
  if ((await readLock(early.lockPath))?.pid === process.pid) await Fs.rm(early.lockPath, { force: true })
}
