/**
 * The classifier from a system failure to (cause, action), and the messages built from it. Errors
 * are real where the sandbox can make them (ENOENT, ENOTDIR, a refused connection); the rest
 * (EACCES as root, ENOSPC, EROFS, EMFILE) are shaped exactly as Node and PGlite throw them.
 */
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { StorageError } from "../../src/domain/errors.js"
import { describeCause, storageErrorOf, systemCauseOf } from "../../src/domain/systemCause.js"
import { refusedPort } from "../support/loopback.js"
import { makeTempDir, removeTempDirs } from "../support/tempDirs.js"

afterAll(removeTempDirs)

/** A Node fs error as `fs.promises` throws it. */
const nodeError = (code: string, errno: number, syscall: string, path: string, text: string) =>
  Object.assign(new Error(`${code}: ${text}, ${syscall} '${path}'`), { code, errno, syscall, path })

/** What PGlite's Emscripten file system throws: no message, no code, an errno in WASI numbering. */
const emscriptenError = (errno: number) => {
  class ErrnoError {
    readonly name = "ErrnoError"
    constructor(readonly errno: number) {}
  }
  return new ErrnoError(errno)
}

const caught = (f: () => unknown): unknown => {
  try {
    f()
  } catch (cause) {
    return cause
  }
  throw new Error("expected a failure")
}

const dataDirAdvice = "Check that the data dir exists and is writable"

describe("systemCauseOf", () => {
  it("reads Node's code and the system's own message", () => {
    const dir = makeTempDir("tapehouse-cause-")
    const missing = caught(() => Fs.writeFileSync(Path.join(dir, "nope", "x"), ""))
    expect(systemCauseOf(missing)).toEqual({ code: "ENOENT", message: "no such file or directory" })
    Fs.writeFileSync(Path.join(dir, "file"), "")
    const notDir = caught(() => Fs.mkdirSync(Path.join(dir, "file", "sub")))
    expect(systemCauseOf(notDir)).toEqual({ code: "ENOTDIR", message: "not a directory" })
    expect(systemCauseOf(nodeError("ENOSPC", -28, "write", "/d/x", "no space left on device"))).toEqual({
      code: "ENOSPC",
      message: "no space left on device"
    })
  })

  it("maps PGlite's Emscripten ErrnoError numbers (WASI numbering, not Linux's)", () => {
    expect(systemCauseOf(emscriptenError(51))).toEqual({ code: "ENOSPC", message: "no space left on device" })
    expect(systemCauseOf(emscriptenError(69))).toEqual({ code: "EROFS", message: "read-only file system" })
    expect(systemCauseOf(emscriptenError(2))).toEqual({ code: "EACCES", message: "permission denied" })
    // 28 is Linux's ENOSPC but Emscripten's EINVAL.
    expect(systemCauseOf(emscriptenError(28))?.code).toBe("EINVAL")
    // The same fields after crossing a worker thread (structured clone keeps no class).
    expect(systemCauseOf({ name: "ErrnoError", errno: 51, code: undefined, message: undefined })?.code).toBe(
      "ENOSPC"
    )
  })

  it.live("reads a refused connection, also when Node tried several addresses (AggregateError)", () =>
    Effect.promise(async () => {
      const port = await refusedPort()
      const refused = await new Promise<unknown>((resolve) => {
        const socket = Net.connect({ host: "127.0.0.1", port })
        socket.once("error", resolve)
      })
      expect(systemCauseOf(refused)).toEqual({ code: "ECONNREFUSED", message: "connection refused" })
      const aggregate = new AggregateError([refused], "")
      expect(systemCauseOf(aggregate)?.code).toBe("ECONNREFUSED")
    })
  )

  it("is undefined for failures the system did not report", () => {
    expect(systemCauseOf(new Error("bad input"))).toBeUndefined()
    expect(systemCauseOf({ code: "23505", message: "duplicate key" })).toBeUndefined()
    expect(systemCauseOf("text")).toBeUndefined()
  })
})

describe("describeCause", () => {
  it("never prints [object Object]", () => {
    expect(describeCause(emscriptenError(51))).toBe("ENOSPC (no space left on device)")
    expect(describeCause(emscriptenError(999))).toBe("ErrnoError errno 999")
    expect(describeCause({ some: "thing" })).toBe('{"some":"thing"}')
    expect(describeCause(new Error("plain"))).toBe("plain")
  })
})

describe("storageErrorOf: path, cause and the one action that fits", () => {
  const path = "/data/lake/stock_bars_1s/date=2024-03-04/part-0000.parquet"
  const cases: ReadonlyArray<{
    readonly code: string
    readonly error: unknown
    readonly action: string
    readonly notAdvice: ReadonlyArray<string>
  }> = [
    {
      code: "ENOSPC",
      error: nodeError("ENOSPC", -28, "write", path, "no space left on device"),
      action: `Free space on the disk holding ${path} and rerun: everything committed is kept.`,
      notAdvice: ["remount", "permissions", "does not exist"]
    },
    {
      code: "EROFS",
      error: nodeError("EROFS", -30, "open", path, "read-only file system"),
      action: `The file system holding ${path} is read-only: remount it read-write or choose another --data-dir.`,
      notAdvice: ["Free space", "permissions", "does not exist"]
    },
    {
      code: "EACCES",
      error: nodeError("EACCES", -13, "open", path, "permission denied"),
      // The file is not there (it was being created): the permission that matters is its folder's.
      action: `Fix the ownership or permissions of ${Path.dirname(path)}, or run tapehouse as the user who owns it.`,
      notAdvice: ["Free space", "remount", "does not exist"]
    },
    {
      code: "ENOENT",
      error: nodeError("ENOENT", -2, "open", path, "no such file or directory"),
      action: `The folder ${Path.dirname(path)} does not exist (moved or deleted?): create it or fix --data-dir, then rerun.`,
      notAdvice: ["Free space", "remount", "permissions"]
    },
    {
      code: "EMFILE",
      error: nodeError("EMFILE", -24, "open", path, "too many open files"),
      action: "Too many open files for one process: raise the limit (ulimit -n) and rerun.",
      notAdvice: ["Free space", "remount", "permissions"]
    }
  ]
  for (const c of cases) {
    it(`${c.code}: names the path, the cause and its action, and no other advice`, () => {
      const error = storageErrorOf("/fallback")(c.error)
      expect(error).toBeInstanceOf(StorageError)
      expect(error.code).toBe(c.code)
      expect(error.path).toBe(path)
      expect(
        error.message.startsWith(`Cannot ${c.code === "ENOSPC" ? "write" : "open"} ${path}: ${c.code} (`)
      ).toBe(true)
      expect(error.message.endsWith(c.action)).toBe(true)
      for (const wrong of [...c.notAdvice, dataDirAdvice]) expect(error.message).not.toContain(wrong)
    })
  }

  it("EACCES on a file that exists names that file", () => {
    const file = Path.join(makeTempDir("tapehouse-cause-"), "journal.jsonl")
    Fs.writeFileSync(file, "")
    const error = storageErrorOf("/fallback")(nodeError("EACCES", -13, "open", file, "permission denied"))
    expect(error.message).toBe(
      `Cannot open ${file}: EACCES (permission denied). Fix the ownership or permissions of ${file}, or run tapehouse as the user who owns it.`
    )
  })

  it("a write without a path in the error names the fallback path", () => {
    const error = storageErrorOf("/data/state/x.jsonl")(
      Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", syscall: "write" })
    )
    expect(error.message).toBe(
      "Cannot write /data/state/x.jsonl: ENOSPC (no space left on device). Free space on the disk holding /data/state/x.jsonl and rerun: everything committed is kept."
    )
  })

  it("a failure the system did not report keeps its words and adds no advice", () => {
    const error = storageErrorOf("/data/x", "cannot read")(new Error("truncated file"))
    expect(error.message).toBe("Cannot read /data/x: truncated file.")
  })
})
