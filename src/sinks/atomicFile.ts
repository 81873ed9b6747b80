/**
 * Crash-safe file replacement for the lake: a file is written under a temporary name in the
 * same folder (never ending in `.parquet`, so readers globbing `*.parquet` cannot see it),
 * fsynced, renamed over the target, and the folder fsynced. A crash leaves either the old file
 * or the new one, plus at worst a stale temporary that `removeStaleTemps` deletes.
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect } from "effect"
import type { StorageError } from "../domain/errors.js"
import { isAlive } from "../domain/processes.js"
import { describeCause, storageErrorOf } from "../domain/systemCause.js"

/** The marker every temporary name carries: `.<name>.tmp-<pid>-<random>`. */
export const TEMP_MARKER = ".tmp-"

const tempPattern = /\.tmp-(\d+)-[0-9a-f]+$/

/** True when `name` (a file name, not a path) is a temporary left by `writeFileAtomic`. */
export const isTempName = (name: string): boolean => tempPattern.test(name)

/** The temporary name `writeFileAtomic` uses for `target`, in the same folder. */
export const tempPathFor = (target: string): string =>
  path.join(
    path.dirname(target),
    `.${path.basename(target)}${TEMP_MARKER}${process.pid}-${randomBytes(6).toString("hex")}`
  )

interface NodeFsError {
  readonly code?: unknown
}

/** The errno code of a Node fs error (`ENOENT`, …), if it has one. */
export const errorCode = (cause: unknown): string | undefined => {
  const code = typeof cause === "object" && cause !== null ? (cause as NodeFsError).code : undefined
  return typeof code === "string" ? code : undefined
}

/** A short, specific reason for a failed fs call: "ENOSPC (no space left on device)", … */
export const describeFsError = (cause: unknown): string => describeCause(cause)

/**
 * Maps a failed fs call to a `StorageError` naming the path it failed on (or `fallbackPath`), the
 * system's cause and the action that fits it.
 */
export const toStorageError = (fallbackPath: string): ((cause: unknown) => StorageError) =>
  storageErrorOf(fallbackPath)

/**
 * `mkdir -p` that reports the real cause. Node's recursive mkdir reports a missing folder on a
 * read-only file system (and some other failures) as ENOENT (nodejs/node#47098); then the
 * missing folders are made one at a time, which fails with the system's own code (EROFS, …).
 */
export const mkdirs = async (dir: string): Promise<void> => {
  try {
    await fs.mkdir(dir, { recursive: true })
  } catch (cause) {
    if (errorCode(cause) !== "ENOENT") throw cause
    const missing: Array<string> = []
    for (let p = path.resolve(dir); ; p = path.dirname(p)) {
      const found = await fs.stat(p).then(
        () => true,
        (e: unknown) => {
          if (errorCode(e) === "ENOENT") return false
          throw e
        }
      )
      if (found) break
      if (path.dirname(p) === p) throw cause
      missing.push(p)
    }
    for (const p of missing.reverse()) {
      await fs.mkdir(p).catch((e: unknown) => {
        if (errorCode(e) !== "EEXIST") throw e
      })
    }
  }
}

/** Makes a folder's entries (a rename, a delete) durable; a no-op where the file system cannot. */
export const fsyncDir = async (dir: string): Promise<void> => {
  let handle: fs.FileHandle | undefined
  try {
    handle = await fs.open(dir, "r")
    await handle.sync()
  } catch (cause) {
    // Some file systems cannot fsync a folder; the rename is still atomic there.
    const code = errorCode(cause)
    if (code !== "EISDIR" && code !== "EINVAL" && code !== "ENOTSUP" && code !== "EPERM") throw cause
  } finally {
    await handle?.close()
  }
}

/** Writes `bytes` as `target`: a temporary beside it, fsync, rename, folder fsync (the promise behind writeFileAtomic). */
export const writeAtomic = async (target: string, bytes: Uint8Array): Promise<void> => {
  const dir = path.dirname(target)
  const temp = tempPathFor(target)
  let created = false
  try {
    const handle = await fs.open(temp, "wx", 0o644)
    created = true
    try {
      await handle.writeFile(bytes)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await fs.rename(temp, target)
    created = false
  } finally {
    if (created) await fs.rm(temp, { force: true }).catch(() => undefined)
  }
  await fsyncDir(dir)
}

/**
 * Replaces `target` with `bytes` atomically: temporary in the same folder, fsync, rename,
 * fsync of the folder. The folder must exist. On failure the target is unchanged and the
 * temporary removed.
 */
export const writeFileAtomic = (target: string, bytes: Uint8Array): Effect.Effect<void, StorageError> =>
  Effect.tryPromise({ try: () => writeAtomic(target, bytes), catch: toStorageError(target) })

/** The names in `dir`; none when it does not exist. */
export const readdirOrEmpty = async (dir: string): Promise<Array<string>> => {
  try {
    return await fs.readdir(dir)
  } catch (cause) {
    if (errorCode(cause) === "ENOENT") return []
    throw cause
  }
}

const removeTemps = async (dir: string): Promise<ReadonlyArray<string>> => {
  const removed: Array<string> = []
  for (const name of await readdirOrEmpty(dir)) {
    const match = tempPattern.exec(name)
    if (match === null) continue
    // A temporary of another running process may be a write in flight: leave it alone.
    const pid = Number(match[1])
    if (pid !== process.pid && isAlive(pid)) continue
    const full = path.join(dir, name)
    await fs.rm(full, { force: true })
    removed.push(full)
  }
  return removed
}

/**
 * Deletes temporaries left in `dir` by a crashed `writeFileAtomic` (those of another process
 * that is still running are kept). A missing folder is not an error. Returns the removed paths.
 */
export const removeStaleTemps = (dir: string): Effect.Effect<ReadonlyArray<string>, StorageError> =>
  Effect.tryPromise({ try: () => removeTemps(dir), catch: toStorageError(dir) })

/** Creates `dir` and its parents if missing. */
export const makeDir = (dir: string): Effect.Effect<void, StorageError> =>
  Effect.tryPromise({
    try: () => mkdirs(dir),
    catch: toStorageError(dir)
  })

/** Reads a whole file; `undefined` when it does not exist. */
export const readFileIfExists = (file: string): Effect.Effect<Uint8Array | undefined, StorageError> =>
  Effect.tryPromise({
    try: () =>
      fs.readFile(file).then(
        (buffer): Uint8Array | undefined => buffer,
        (cause: unknown) => {
          if (errorCode(cause) === "ENOENT") return undefined
          throw cause
        }
      ),
    catch: toStorageError(file)
  })

/**
 * Removes `file` if present, then its folder if that is left empty (a folder still holding
 * anything is kept). Returns whether the file existed.
 */
export const removeFileAndEmptyDir = (file: string): Effect.Effect<boolean, StorageError> =>
  Effect.tryPromise({
    try: async () => {
      let existed = true
      try {
        await fs.unlink(file)
      } catch (cause) {
        if (errorCode(cause) !== "ENOENT") throw cause
        existed = false
      }
      const dir = path.dirname(file)
      try {
        await fs.rmdir(dir)
        await fsyncDir(path.dirname(dir))
      } catch (cause) {
        const code = errorCode(cause)
        if (code !== "ENOTEMPTY" && code !== "EEXIST" && code !== "ENOENT") throw cause
        if (existed && code !== "ENOENT") await fsyncDir(dir)
      }
      return existed
    },
    catch: toStorageError(file)
  })
