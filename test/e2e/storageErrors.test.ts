/**
 * Storage and database failures as users meet them through the CLI: one line on stderr naming
 * the path or host, the system's cause and the one action that fits, and the documented exit
 * code. Full and read-only disks are real tmpfs mounts in a private mount namespace (skipped
 * where this machine cannot mount), a forbidden folder is real for the user `nobody`, and the
 * refused Postgres port is a real loopback port.
 */
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as MassiveSim from "../../src/sim/MassiveSim.js"
import { backfillArgs, makeConfigDir, runCli } from "../support/cli.js"
import { tempDir } from "../support/fixtures.js"
import { refusedPort } from "../support/loopback.js"
import { asNobody, canMountTmpfs, canRunAsNobody, underTmpfs } from "../support/tmpfs.js"

const KEY = "sk-test-KEY-51c0"
const PASSWORD = "pg-S3CRET-pw"
const dataDirAdvice = "Check that the data dir exists and is writable"

/** stderr lines without the log's own lines (timestamped). */
const messageLines = (stderr: string) =>
  stderr
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("tapehouse:"))

describe("storage errors through the CLI", () => {
  it.scopedLive(
    "backfill against a refused Postgres port: one line naming 127.0.0.1:<port>, ECONNREFUSED and the fix, exit 1, no password",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir()
        const configDir = yield* makeConfigDir(dir)
        const port = yield* Effect.promise(refusedPort)
        const result = yield* runCli(backfillArgs(configDir, "SPY", "2024-03-04", "2024-03-04"), {
          env: {
            TAPEHOUSE_DATA_DIR: Path.join(dir, "data"),
            TAPEHOUSE_MASSIVE_URL: "http://127.0.0.1:9",
            MASSIVE_API_KEY: KEY,
            TAPEHOUSE_PG_URL: `postgres://tape:${PASSWORD}@127.0.0.1:${port}/lake`
          }
        })
        expect(result.code, result.stderr).toBe(1)
        expect(result.stderr.trim()).toBe(
          `tapehouse: Cannot connect to Postgres at 127.0.0.1:${port}: ECONNREFUSED (connection refused). Nothing listens at 127.0.0.1:${port}: start the server, or fix the address in sinks.sql.url / TAPEHOUSE_PG_URL.`
        )
        expect(result.stdout + result.stderr).not.toContain(PASSWORD)
      })
  )

  it.scopedLive.skipIf(!canMountTmpfs)(
    "an empty read-only file system as the data dir: exit 2 naming data_dir and EROFS, not ENOENT",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir()
        const configDir = yield* makeConfigDir(dir)
        const dataDir = Path.join(dir, "readonly")
        yield* Effect.promise(() => NodeFs.mkdir(dataDir))
        const result = yield* runCli(["--config-dir", configDir, "sql", "SELECT 1"], {
          env: { TAPEHOUSE_DATA_DIR: dataDir },
          prefix: underTmpfs(dataDir, "ro,size=1m")
        })
        expect(result.code, result.stderr).toBe(2)
        const lines = messageLines(result.stderr)
        expect(lines).toHaveLength(1)
        expect(lines[0]).toContain(`data_dir = ${dataDir}`)
        expect(lines[0]).toContain(
          `cannot create the folder ${Path.join(dataDir, "lake")}: EROFS (read-only file system)`
        )
        expect(lines[0]).toContain("is read-only: remount it read-write or choose another --data-dir")
        expect(lines[0]).not.toContain("ENOENT")
        expect(lines[0]).not.toContain("does not exist")
      })
  )

  it.scopedLive.skipIf(!canRunAsNobody)(
    "a data dir the user may not write: exit 2 naming data_dir, EACCES and the folder's permissions",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir()
        // nobody may read the config and enter the folder, not write in it.
        yield* Effect.promise(() => NodeFs.chmod(dir, 0o755))
        const configDir = yield* makeConfigDir(dir)
        const dataDir = Path.join(dir, "forbidden")
        yield* Effect.promise(() => NodeFs.mkdir(dataDir, { mode: 0o755 }))
        const result = yield* runCli(["--config-dir", configDir, "sql", "SELECT 1"], {
          env: { TAPEHOUSE_DATA_DIR: dataDir },
          prefix: asNobody
        })
        expect(result.code, result.stderr).toBe(2)
        const lines = messageLines(result.stderr)
        expect(lines).toHaveLength(1)
        expect(lines[0]).toContain(`data_dir = ${dataDir}`)
        expect(lines[0]).toContain(
          `cannot create the folder ${Path.join(dataDir, "lake")}: EACCES (permission denied)`
        )
        expect(lines[0]).toContain(
          `Fix the ownership or permissions of ${dataDir}, or run tapehouse as the user who owns it`
        )
        for (const wrong of ["Free space", "remount", "does not exist"]) expect(lines[0]).not.toContain(wrong)
      })
  )

  it.scopedLive.skipIf(!canMountTmpfs)(
    "a full disk while the embedded database starts: ENOSPC on its folder and free space, not [object Object]",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir()
        const configDir = yield* makeConfigDir(dir)
        const dataDir = Path.join(dir, "small")
        yield* Effect.promise(() => NodeFs.mkdir(dataDir))
        // Room for the data dir's folders and the log, not for a new database (about 25 MB).
        const result = yield* runCli(["--config-dir", configDir, "sql", "SELECT 1"], {
          env: { TAPEHOUSE_DATA_DIR: dataDir },
          prefix: underTmpfs(dataDir, "size=600k")
        })
        expect(result.code, result.stderr).toBe(1)
        const pgDir = Path.join(dataDir, "state", "pg")
        expect(messageLines(result.stderr)).toEqual([
          `tapehouse: Cannot start the embedded database in ${pgDir}: ENOSPC (no space left on device). Free space on the disk holding ${pgDir} and rerun: everything committed is kept.`
        ])
        for (const wrong of ["[object Object]", "move it away", "damaged", dataDirAdvice])
          expect(result.stderr).not.toContain(wrong)
      })
  )

  it.scopedLive.skipIf(!canMountTmpfs)(
    "a disk that fills while a day is written: the day fails naming its partition file, ENOSPC and free space; exit 1",
    () =>
      Effect.gen(function* () {
        const sim = yield* MassiveSim.make()
        const dir = yield* tempDir()
        const configDir = yield* makeConfigDir(dir, { sql: false })
        const dataDir = Path.join(dir, "small")
        yield* Effect.promise(() => NodeFs.mkdir(dataDir))
        // A day of SPY is about 400 KiB of Parquet.
        const result = yield* runCli(backfillArgs(configDir, "SPY", "2024-03-04", "2024-03-04"), {
          env: { TAPEHOUSE_DATA_DIR: dataDir, TAPEHOUSE_MASSIVE_URL: sim.url, MASSIVE_API_KEY: KEY },
          prefix: underTmpfs(dataDir, "size=64k")
        })
        expect(result.code, result.stderr).toBe(1)
        // The day's file is written under its staging name first (published after the checkpoint).
        const part = Path.join(
          dataDir,
          "lake",
          "stock_bars_1s",
          "date=2024-03-04",
          "part-0000.parquet.staged"
        )
        expect(result.stderr).toContain(
          `  SPY 2024-03-04: parquet sink could not commit stock_bars_1s date=2024-03-04: cannot write ${part}: ENOSPC (no space left on device). Free space on the disk holding ${part} and rerun: everything committed is kept.`
        )
        expect(result.stderr).not.toContain(dataDirAdvice)
      })
  )
})
