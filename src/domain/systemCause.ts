/**
 * The one classifier for failures the system reports: which cause it is (ENOSPC, EROFS, EACCES,
 * ECONNREFUSED, ETIMEDOUT, …), the system's own words for it, and the one action that fits.
 *
 * It reads Node's errors (their `code`), PGlite's Emscripten `ErrnoError` (only an `errno`
 * number, no message: printed as-is it is "[object Object]"), and plain `{ code, message }`
 * objects that crossed a worker thread. A Postgres server's SQLSTATE is read in sqlSchema.ts.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { getSystemErrorMap } from "node:util"
import { StorageError } from "./errors.js"

/** A failure the system reported. */
export interface SystemCause {
  /** Its errno name: ENOSPC, EROFS, ECONNREFUSED, … */
  readonly code: string
  /** The system's message for it: "no space left on device". */
  readonly message: string
}

/**
 * Emscripten's errno numbers (WASI numbering, PGlite's `ERRNO_CODES`) for the causes storage meets.
 * They are not Linux's: ENOSPC is 51 here (28, Linux's ENOSPC, is EINVAL), EROFS 69, EACCES 2.
 */
const emscriptenCodes: Readonly<Record<number, string>> = {
  2: "EACCES",
  10: "EBUSY",
  19: "EDQUOT",
  20: "EEXIST",
  22: "EFBIG",
  28: "EINVAL",
  29: "EIO",
  31: "EISDIR",
  33: "EMFILE",
  37: "ENAMETOOLONG",
  41: "ENFILE",
  44: "ENOENT",
  48: "ENOMEM",
  51: "ENOSPC",
  54: "ENOTDIR",
  55: "ENOTEMPTY",
  63: "EPERM",
  69: "EROFS"
}

/** Causes libuv has no message for. */
const extraMessages: Readonly<Record<string, string>> = {
  EDQUOT: "disk quota exceeded",
  ENOTFOUND: "host name not found",
  ESERVFAIL: "DNS server failure"
}

let systemMessages: ReadonlyMap<string, string> | undefined

/** The system's message for an errno name ("ENOSPC" → "no space left on device"). */
const systemMessage = (code: string): string | undefined => {
  if (systemMessages === undefined) {
    const byName = new Map<string, string>()
    for (const [name, message] of getSystemErrorMap().values()) byName.set(name, message)
    systemMessages = byName
  }
  return systemMessages.get(code) ?? extraMessages[code]
}

const errnoName = /^E[A-Z0-9_]+$/

export interface ErrorShape {
  readonly code?: unknown
  readonly errno?: unknown
  readonly name?: unknown
  readonly message?: unknown
  readonly errors?: unknown
}

/**
 * The first error in `error`, its `cause` chain and the errors it gathers (an AggregateError from a
 * connection tried on several addresses), outermost first, for which `pick` gives a value. Clients
 * wrap the system's error: undici puts Node's error in `cause`, `fetch` wraps that once more.
 */
export const findInCauses = <A>(error: unknown, pick: (e: ErrorShape) => A | undefined): A | undefined => {
  const seen = new Set<unknown>()
  const visit = (e: unknown, depth: number): A | undefined => {
    if (typeof e !== "object" || e === null || seen.has(e) || depth > 6) return undefined
    seen.add(e)
    const shape = e as ErrorShape & { readonly cause?: unknown }
    const own = pick(shape)
    if (own !== undefined) return own
    const inner = visit(shape.cause, depth + 1)
    if (inner !== undefined) return inner
    if (Array.isArray(shape.errors))
      for (const gathered of shape.errors) {
        const found = visit(gathered, depth + 1)
        if (found !== undefined) return found
      }
    return undefined
  }
  return visit(error, 0)
}

/** The system cause of `cause` (or of an error it wraps), or undefined when it is not a system failure. */
export const systemCauseOf = (cause: unknown): SystemCause | undefined =>
  findInCauses(cause, (e) => {
    const code =
      typeof e.code === "string" && errnoName.test(e.code)
        ? e.code
        : e.name === "ErrnoError" && typeof e.errno === "number"
          ? emscriptenCodes[e.errno]
          : undefined
    if (code === undefined) return undefined
    const own = typeof e.message === "string" && e.message.length > 0 ? e.message : code
    return { code, message: systemMessage(code) ?? own }
  })

/** Words for any failure: "ENOSPC (no space left on device)", an Error's message, never "[object Object]". */
export const describeCause = (cause: unknown): string => {
  const system = systemCauseOf(cause)
  if (system !== undefined) return `${system.code} (${system.message})`
  if (cause instanceof Error && cause.message.length > 0) return cause.message
  if (typeof cause === "object" && cause !== null) {
    const e = cause as ErrorShape
    if (typeof e.message === "string" && e.message.length > 0) return e.message
    const name = typeof e.name === "string" ? e.name : "error"
    if (typeof e.errno === "number") return `${name} errno ${e.errno}`
    try {
      return JSON.stringify(cause)
    } catch {
      return name
    }
  }
  return String(cause)
}

/**
 * The one thing to do about `code` met on `path`, a file or folder of the data dir; undefined
 * when no specific advice fits that cause.
 */
export const fileAction = (code: string, path: string): string | undefined => {
  switch (code) {
    case "ENOSPC":
      return `Free space on the disk holding ${path} and rerun: everything committed is kept`
    case "EDQUOT":
      return `Free space or raise your disk quota on the disk holding ${path} and rerun: everything committed is kept`
    case "EROFS":
      return `The file system holding ${path} is read-only: remount it read-write or choose another --data-dir`
    case "EACCES":
    case "EPERM":
      return `Fix the ownership or permissions of ${path}, or run tapehouse as the user who owns it`
    case "ENOENT":
      return `The folder ${Path.dirname(path)} does not exist (moved or deleted?): create it or fix --data-dir, then rerun`
    case "ENOTDIR":
    case "EEXIST":
      return `A file is in the way of a folder at ${path} or above it: move it away or choose another --data-dir`
    case "EISDIR":
      return `A folder is in the way at ${path}, where a file belongs: move it away`
    case "EMFILE":
      return "Too many open files for one process: raise the limit (ulimit -n) and rerun"
    case "ENFILE":
      return "Too many open files on this machine: close other programs or raise fs.file-max, then rerun"
    case "EIO":
      return `The disk holding ${path} reported an I/O error: check the disk (dmesg, fsck) before you rerun`
    case "ENAMETOOLONG":
      return "The path is too long: choose a shorter --data-dir"
    case "EBUSY":
      return `Another program holds ${path}: close it and rerun`
    default:
      return undefined
  }
}

/**
 * The one thing to do about `code` met connecting to `address` (host:port), which comes from the
 * setting named `setting`; undefined when no specific advice fits that cause.
 */
export const networkAction = (code: string, address: string, setting: string): string | undefined => {
  switch (code) {
    case "ECONNREFUSED":
      return `Nothing listens at ${address}: start the server, or fix the address in ${setting}`
    case "ETIMEDOUT":
      return `${address} did not answer in time: check that the host is up and that no firewall drops traffic between here and it, or fix the address in ${setting}`
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "EHOSTDOWN":
      return `${address} is unreachable: check that the host is up and that this machine's network reaches it, or fix the address in ${setting}`
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "ESERVFAIL":
      return `The host name of ${address} does not resolve: fix it in ${setting}, or check this machine's DNS`
    case "ECONNRESET":
    case "EPIPE":
      return `${address} closed the connection: check that the right kind of server listens there, and its log`
    default:
      return undefined
  }
}

/** What a failed fs call was doing, from Node's `syscall`. */
const operations: Readonly<Record<string, string>> = {
  open: "cannot open",
  read: "cannot read",
  write: "cannot write",
  mkdir: "cannot create the folder",
  rename: "cannot rename",
  unlink: "cannot delete",
  rmdir: "cannot delete the folder",
  scandir: "cannot list the folder",
  opendir: "cannot list the folder",
  fsync: "cannot sync",
  ftruncate: "cannot truncate",
  access: "cannot write to",
  stat: "cannot read",
  lstat: "cannot read",
  copyfile: "cannot copy"
}

/**
 * A `StorageError` for a failed file system call: the path (the one the error names, else
 * `path`), what was being done (`operation`, else read from the error), the system's cause, and
 * the action that fits it.
 */
export const storageErrorOf =
  (path: string, operation?: string) =>
  (cause: unknown): StorageError => {
    if (cause instanceof StorageError) return cause
    const e =
      typeof cause === "object" && cause !== null ? (cause as { path?: unknown; syscall?: unknown }) : {}
    const where = typeof e.path === "string" ? e.path : path
    const doing = operation ?? (typeof e.syscall === "string" ? operations[e.syscall] : undefined)
    const system = systemCauseOf(cause)
    // Permission to create something is the folder's: name the folder when the path is not there.
    const subject =
      (system?.code === "EACCES" || system?.code === "EPERM") && !Fs.existsSync(where)
        ? Path.dirname(where)
        : where
    const action = system === undefined ? undefined : fileAction(system.code, subject)
    return new StorageError({
      path: where,
      ...(doing === undefined ? {} : { operation: doing }),
      ...(system === undefined
        ? { detail: describeCause(cause) }
        : { code: system.code, detail: system.message }),
      ...(action === undefined ? {} : { action })
    })
  }
