/**
 * `<dataDir>/state/pg.lock`, which guards the embedded database's folder (see EmbeddedPg.ts). Plain
 * Node (no Effect): the keeper takes it before it loads anything else (keeperEarlyOpen.ts).
 */
import * as Fs from "node:fs/promises"

export { isAlive } from "../domain/processes.js"

/**
 * What `state/pg.lock` holds: the owner's pid on its first line and, for the process `tapehouse
 * sql` leaves serving the database (EmbeddedPgKeeper), `keeper` on the second: a keeper gives the
 * database up to any other process that needs to open it.
 */
export interface LockRecord {
  readonly pid: number
  readonly keeper: boolean
}

export const lockText = (record: LockRecord): string => `${record.pid}\n${record.keeper ? "keeper\n" : ""}`

export const parseLock = (text: string): LockRecord | undefined => {
  const [first = "", second = ""] = text.split("\n")
  const pid = Number.parseInt(first, 10)
  return Number.isSafeInteger(pid) && pid > 0 ? { pid, keeper: second.trim() === "keeper" } : undefined
}

/**
 * Creates the lock file with its content in one step (a hard link of a complete temporary file),
 * so that no other process ever reads it empty and takes it for a dead owner's. Fails with EEXIST.
 */
export const createLockFile = async (lockPath: string, text: string): Promise<void> => {
  const temporary = `${lockPath}.${process.pid}.tmp`
  // A failure names the lock file, not its temporary twin.
  const named = (cause: unknown) =>
    cause instanceof Error ? Object.assign(cause, { path: lockPath }) : cause
  await Fs.writeFile(temporary, text).catch((cause) => {
    throw named(cause)
  })
  try {
    await Fs.link(temporary, lockPath)
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code
    // A file system without hard links: an exclusive create (its content follows at once).
    if (code === "EPERM" || code === "ENOTSUP" || code === "ENOSYS")
      await Fs.writeFile(lockPath, text, { flag: "wx" })
    else throw named(cause)
  } finally {
    await Fs.rm(temporary, { force: true }).catch(() => undefined)
  }
}

/** The lock file's record, undefined when it is missing or unreadable. */
export const readLock = async (lockPath: string): Promise<LockRecord | undefined> =>
  parseLock(await Fs.readFile(lockPath, "utf8").catch(() => ""))
