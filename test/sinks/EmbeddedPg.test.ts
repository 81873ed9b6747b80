/** The embedded database's lifecycle: it serves on loopback, refuses a second opener, and closes cleanly. */
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"
import { SqlClient } from "@effect/sql"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Option, Scope } from "effect"
import * as EmbeddedPg from "../../src/sinks/EmbeddedPg.js"
import * as SqlClientLive from "../../src/sinks/SqlClientLive.js"
import { makeTempDir, removeTempDirs } from "../support/tempDirs.js"

const tempDir = () => makeTempDir("tapehouse-pg-")

afterAll(removeTempDirs)

/** Whether something accepts TCP connections on 127.0.0.1:port. */
const accepts = (port: number) =>
  Effect.async<boolean>((resume) => {
    const socket = Net.connect({ host: "127.0.0.1", port })
    socket.once("connect", () => {
      socket.destroy()
      resume(Effect.succeed(true))
    })
    socket.once("error", () => resume(Effect.succeed(false)))
  })

describe("EmbeddedPg", () => {
  it.live("serves under <dataDir>/state/pg, refuses a second opener, and closes cleanly", () =>
    Effect.gen(function* () {
      const dataDir = tempDir()
      const scope = yield* Scope.make()
      const server = yield* EmbeddedPg.start(dataDir).pipe(Scope.extend(scope))
      expect(server.host).toBe("127.0.0.1")
      expect(server.path).toBe(Path.join(dataDir, "state", "pg"))
      expect(Fs.existsSync(Path.join(dataDir, "state", "pg", "PG_VERSION"))).toBe(true)
      expect(yield* accepts(server.port)).toBe(true)

      // PGlite would let a second opener corrupt the folder: the lock file refuses it.
      const second = yield* Effect.flip(Effect.scoped(EmbeddedPg.start(dataDir)))
      expect(second._tag).toBe("StorageError")
      expect(second.detail).toContain("already open in this process")

      yield* Scope.close(scope, Exit.void)
      expect(yield* accepts(server.port)).toBe(false)
      expect(Fs.existsSync(Path.join(dataDir, "state", "pg.lock"))).toBe(false)

      // Data survives and the folder opens again after a clean close.
      const again = yield* Effect.scoped(EmbeddedPg.start(dataDir))
      expect(again.port).toBeGreaterThan(0)
    })
  )

  it.live("a lock left by another live process is reported with its pid; a stale one is taken over", () =>
    Effect.gen(function* () {
      const dataDir = tempDir()
      Fs.mkdirSync(Path.join(dataDir, "state"), { recursive: true })
      const lock = Path.join(dataDir, "state", "pg.lock")
      // pid 1 is always alive.
      Fs.writeFileSync(lock, "1\n")
      const error = yield* Effect.flip(Effect.scoped(EmbeddedPg.start(dataDir)))
      expect(error._tag).toBe("StorageError")
      expect(error.detail).toContain("in use by another tapehouse process (pid 1")
      // It names the database, the pid and what to do about a live owner, and no other advice.
      expect(error.message).toBe(
        `Cannot open the embedded database ${Path.join(dataDir, "state", "pg")}: it is in use by another tapehouse process (pid 1, lock file ${lock}). Stop that process or wait for it to finish, or set sinks.sql.url to a Postgres server to share one database.`
      )
      expect(error.message).not.toContain("Check that the data dir exists and is writable")

      // A pid that cannot exist: stale.
      Fs.writeFileSync(lock, "999999999\n")
      yield* Effect.scoped(EmbeddedPg.start(dataDir))
      expect(Fs.existsSync(lock)).toBe(false)
    })
  )

  it.live("a data dir that is not a folder is a StorageError naming the path", () =>
    Effect.gen(function* () {
      const file = Path.join(tempDir(), "not-a-dir")
      Fs.writeFileSync(file, "x")
      const error = yield* Effect.flip(Effect.scoped(EmbeddedPg.start(file)))
      expect(error._tag).toBe("StorageError")
      expect(error.path).toBe(Path.join(file, "state", "pg"))
      expect(error.code).toBe("ENOTDIR")
      expect(error.message).toContain("A file is in the way")
    })
  )

  it.live("the client layer's scope closes the pool, the server and the database", () =>
    Effect.gen(function* () {
      const dataDir = tempDir()
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        SqlClientLive.layerFrom({ dataDir, url: Option.none() }),
        scope
      )
      const sql = Context.get(context, SqlClient.SqlClient)
      const rows = yield* sql<{ one: number }>`SELECT 1 AS one`
      expect(rows).toEqual([{ one: 1 }])
      const lock = Path.join(dataDir, "state", "pg.lock")
      expect(Fs.readFileSync(lock, "utf8").trim()).toBe(String(process.pid))
      yield* Scope.close(scope, Exit.void)
      expect(Fs.existsSync(lock)).toBe(false)
    })
  )
})
