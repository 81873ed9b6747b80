import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { StorageError } from "../../src/domain/errors.js"
import {
  describeFsError,
  isTempName,
  removeFileAndEmptyDir,
  removeStaleTemps,
  tempPathFor,
  writeFileAtomic
} from "../../src/sinks/atomicFile.js"

const tempDir = Effect.acquireRelease(
  Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "tapehouse-atomic-"))),
  (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
)

const bytesOf = (s: string) => new TextEncoder().encode(s)

describe("atomicFile", () => {
  it("names temporaries in the same folder, hidden and not ending in .parquet", () => {
    const temp = tempPathFor("/data/lake/x/date=2024-01-02/part-0000.parquet")
    expect(path.dirname(temp)).toBe("/data/lake/x/date=2024-01-02")
    expect(path.basename(temp)).toMatch(
      new RegExp(`^\\.part-0000\\.parquet\\.tmp-${process.pid}-[0-9a-f]{12}$`)
    )
    expect(temp.endsWith(".parquet")).toBe(false)
    expect(isTempName(path.basename(temp))).toBe(true)
    expect(isTempName("part-0000.parquet")).toBe(false)
  })

  it.scopedLive("writes and replaces a file, leaving no temporary behind", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const target = path.join(dir, "part-0000.parquet")
      yield* writeFileAtomic(target, bytesOf("first"))
      yield* writeFileAtomic(target, bytesOf("second, longer"))
      expect(yield* Effect.promise(() => fs.readFile(target, "utf8"))).toBe("second, longer")
      expect(yield* Effect.promise(() => fs.readdir(dir))).toEqual(["part-0000.parquet"])
    })
  )

  it.scopedLive("fails with a StorageError naming the path when the folder is missing", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const target = path.join(dir, "missing", "part-0000.parquet")
      const error = yield* Effect.flip(writeFileAtomic(target, bytesOf("x")))
      expect(error).toBeInstanceOf(StorageError)
      expect(error.code).toBe("ENOENT")
      expect(error.detail).toBe("no such file or directory")
      expect(error.path.startsWith(path.join(dir, "missing"))).toBe(true)
      expect(error.message).toContain(`The folder ${path.join(dir, "missing")} does not exist`)
    })
  )

  it.scopedLive("removes stale temporaries (of this or a dead process) and nothing else", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const own = path.join(dir, `.part-0000.parquet.tmp-${process.pid}-abcdef`)
      // pid 2^22+1 is above Linux's pid_max, so no such process exists.
      const dead = path.join(dir, ".part-0000.parquet.tmp-4194305-0123ab")
      const data = path.join(dir, "part-0000.parquet")
      const other = path.join(dir, "notes.tmp")
      for (const f of [own, dead, data, other]) yield* Effect.promise(() => fs.writeFile(f, "x"))
      const removed = yield* removeStaleTemps(dir)
      expect([...removed].sort()).toEqual([dead, own].sort())
      expect((yield* Effect.promise(() => fs.readdir(dir))).sort()).toEqual([
        "notes.tmp",
        "part-0000.parquet"
      ])
      expect(yield* removeStaleTemps(path.join(dir, "no-such-folder"))).toEqual([])
    })
  )

  it.scopedLive("keeps a temporary of another live process (a write in flight)", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const parentPid = process.ppid
      const live = path.join(dir, `.part-0000.parquet.tmp-${parentPid}-abcdef`)
      yield* Effect.promise(() => fs.writeFile(live, "x"))
      expect(yield* removeStaleTemps(dir)).toEqual([])
      expect(yield* Effect.promise(() => fs.readdir(dir))).toEqual([path.basename(live)])
    })
  )

  it.scopedLive("removes a file and its folder once empty, keeping a folder that holds more", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const a = path.join(dir, "a", "f.parquet")
      const b = path.join(dir, "b", "f.parquet")
      yield* Effect.promise(async () => {
        await fs.mkdir(path.dirname(a))
        await fs.mkdir(path.dirname(b))
        await fs.writeFile(a, "x")
        await fs.writeFile(b, "x")
        await fs.writeFile(path.join(dir, "b", "other"), "y")
      })
      expect(yield* removeFileAndEmptyDir(a)).toBe(true)
      expect(yield* removeFileAndEmptyDir(b)).toBe(true)
      expect(yield* removeFileAndEmptyDir(b)).toBe(false)
      expect((yield* Effect.promise(() => fs.readdir(dir))).sort()).toEqual(["b"])
      expect(yield* Effect.promise(() => fs.readdir(path.join(dir, "b")))).toEqual(["other"])
    })
  )

  it("describes errno codes with a specific reason", () => {
    expect(describeFsError({ code: "EACCES" })).toBe("EACCES (permission denied)")
    expect(describeFsError({ code: "ENOSPC" })).toBe("ENOSPC (no space left on device)")
    expect(describeFsError({ code: "EWHATEVER", message: "odd failure" })).toBe("EWHATEVER (odd failure)")
    expect(describeFsError(new Error("odd failure"))).toBe("odd failure")
  })
})
