/** The embedded database's lifecycle: it serves on loopback, refuses a second opener, and closes cleanly. */
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Option, Scope } from "effect"
import * as EmbeddedPg from "../../src/sinks/EmbeddedPg.js"
import * as EmbeddedPgAddress from "../../src/sinks/EmbeddedPgAddress.js"
import * as SqlClientLive from "../../src/sinks/SqlClientLive.js"
import { dataDirWithEmptyDb, WARM_UP_TIMEOUT_MS, warmUpTemplate } from "../support/pgTemplate.js"
import * as Wire from "../support/pgWire.js"
import { makeTempDir, removeTempDirs } from "../support/tempDirs.js"

const tempDir = () => makeTempDir("tapehouse-pg-")

beforeAll(warmUpTemplate, WARM_UP_TIMEOUT_MS)
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
      // An existing database (a copy of an empty one: creating a database is the first test's).
      const dataDir = yield* emptyDb
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
      const dataDir = yield* emptyDb
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

/** A temp data dir holding an empty database (a copy: no initdb per test). */
const emptyDb = Effect.promise(() => dataDirWithEmptyDb())

/** A pool of one connection to a served embedded database, as another process would open it. */
const clientOf = (server: EmbeddedPg.EmbeddedPgServer, scope: Scope.Scope) =>
  Layer.buildWithScope(
    PgClient.layer({
      host: server.host,
      port: server.port,
      database: "postgres",
      username: "postgres",
      maxConnections: 1
    }),
    scope
  ).pipe(Effect.map((context) => Context.get(context, SqlClient.SqlClient)))

describe("EmbeddedPg address record (state/pg.json)", () => {
  it.live("is written once the server accepts connections, and removed when it closes", () =>
    Effect.gen(function* () {
      const dataDir = yield* emptyDb
      const record = Path.join(dataDir, "state", "pg.json")
      const scope = yield* Scope.make()
      const server = yield* EmbeddedPg.start(dataDir).pipe(Scope.extend(scope))
      const written = JSON.parse(Fs.readFileSync(record, "utf8"))
      expect(written).toMatchObject({
        host: "127.0.0.1",
        port: server.port,
        pid: process.pid,
        database: "postgres",
        user: "postgres",
        url: `postgres://postgres@127.0.0.1:${server.port}/postgres`
      })
      expect(Number.isNaN(Date.parse(written.startedAt))).toBe(false)
      const found = yield* EmbeddedPgAddress.findServed(dataDir, "0 millis")
      expect(Option.map(found, (a) => a.port)).toEqual(Option.some(server.port))

      yield* Scope.close(scope, Exit.void)
      expect(Fs.existsSync(record)).toBe(false)
      expect(yield* EmbeddedPgAddress.findServed(dataDir, "0 millis")).toEqual(Option.none())
    })
  )

  it.live("a record left by a process that died is ignored, and replaced by the next owner", () =>
    Effect.gen(function* () {
      const dataDir = yield* emptyDb
      const state = Path.join(dataDir, "state")
      const stale = { host: "127.0.0.1", port: 1, pid: 999999999, startedAt: "2024-03-04T00:00:00.000Z" }
      Fs.writeFileSync(
        Path.join(state, "pg.json"),
        JSON.stringify({ ...stale, database: "postgres", user: "postgres", url: "postgres://x" })
      )
      Fs.writeFileSync(Path.join(state, "pg.lock"), "999999999\n")
      expect(yield* EmbeddedPgAddress.findServed(dataDir, "0 millis")).toEqual(Option.none())

      // A reader that finds nobody serving opens the database itself (and serves it in turn).
      const rows = yield* Effect.scoped(
        Effect.gen(function* () {
          const context = yield* Layer.build(
            SqlClientLive.layerFrom({ dataDir, url: Option.none() }, { joinRunning: true })
          )
          const record = JSON.parse(Fs.readFileSync(Path.join(state, "pg.json"), "utf8"))
          expect(record.pid).toBe(process.pid)
          return yield* Context.get(context, SqlClient.SqlClient)<{ one: number }>`SELECT 1 AS one`
        })
      )
      expect(rows).toEqual([{ one: 1 }])
      expect(Fs.existsSync(Path.join(state, "pg.json"))).toBe(false)
    })
  )

  it.live("a reader joins the database another owner serves instead of failing on its lock", () =>
    Effect.gen(function* () {
      const dataDir = yield* emptyDb
      const scope = yield* Scope.make()
      const owner = yield* Layer.buildWithScope(
        SqlClientLive.layerFrom({ dataDir, url: Option.none() }),
        scope
      )
      const ownerSql = Context.get(owner, SqlClient.SqlClient)
      yield* ownerSql`CREATE TABLE shared (n int)`
      yield* ownerSql`INSERT INTO shared VALUES (1), (2)`

      const rows = yield* Effect.scoped(
        Effect.gen(function* () {
          const reader = yield* Layer.build(
            SqlClientLive.layerFrom({ dataDir, url: Option.none() }, { joinRunning: true })
          )
          return yield* Context.get(reader, SqlClient.SqlClient)<{ total: number }>`
            SELECT sum(n)::int AS total FROM shared`
        })
      )
      expect(rows).toEqual([{ total: 3 }])
      // The owner kept its database (and record) through the reader's visit.
      expect(yield* ownerSql<{ n: number }>`SELECT count(*)::int AS n FROM shared`).toEqual([{ n: 2 }])
      expect(Fs.existsSync(Path.join(dataDir, "state", "pg.json"))).toBe(true)
      yield* Scope.close(scope, Exit.void)
    })
  )
})

describe("EmbeddedPg shared by several connections", () => {
  it.live("a client's exchange is served whole: another client's statements wait until its Sync", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const server = yield* EmbeddedPg.start(yield* emptyDb).pipe(Scope.extend(scope))
      const [a, b] = yield* Effect.promise(() =>
        Promise.all([Wire.connect(server.host, server.port), Wire.connect(server.host, server.port)])
      )
      // A's Parse arrives, then only the start of its Bind (as a large Bind arrives in many reads) …
      const bindA = Wire.bind(["from-a"])
      a.send(Buffer.concat([Wire.parse("SELECT 'a' AS who, $1::text AS v"), bindA.subarray(0, 5)]))
      yield* Effect.sleep("500 millis")
      // … B sends a whole exchange of its own meanwhile …
      b.send(
        Buffer.concat([
          Wire.parse("SELECT 'b' AS who, $1::text AS v"),
          Wire.bind(["from-b"]),
          Wire.describePortal(),
          Wire.execute(),
          Wire.sync()
        ])
      )
      yield* Effect.sleep("500 millis")
      // … and the rest of A's arrives. Served interleaved, A's Bind would bind B's statement.
      a.send(Buffer.concat([bindA.subarray(5), Wire.describePortal(), Wire.execute(), Wire.sync()]))
      const [replyA, replyB] = yield* Effect.promise(() => Promise.all([a.reply(), b.reply()]))
      expect(replyA).toEqual({ rows: [["a", "from-a"]], errors: [] })
      expect(replyB).toEqual({ rows: [["b", "from-b"]], errors: [] })
      a.close()
      b.close()
      yield* Scope.close(scope, Exit.void)
    })
  )

  it.live("COPY FROM STDIN is refused with an explanation, and the database keeps serving", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const server = yield* EmbeddedPg.start(yield* emptyDb).pipe(Scope.extend(scope))
      const sql = yield* clientOf(server, scope)
      yield* sql`CREATE TABLE target (n int)`
      const error = yield* Effect.flip(sql.unsafe("COPY target FROM STDIN"))
      expect(String((error.cause as Error).message)).toContain("COPY FROM STDIN is not supported")
      // Without the refusal, PGlite's backend ends itself and this never answers.
      const rows = yield* sql<{ one: number }>`SELECT 1 AS one`.pipe(Effect.timeout("20 seconds"))
      expect(rows).toEqual([{ one: 1 }])
      yield* Scope.close(scope, Exit.void)
    })
  )

  it.live("an owner that stops while a client has a transaction open leaves committed rows only", () =>
    Effect.gen(function* () {
      const dataDir = yield* emptyDb
      const scope = yield* Scope.make()
      const server = yield* EmbeddedPg.start(dataDir).pipe(Scope.extend(scope))
      const clientScope = yield* Scope.make()
      const sql = yield* clientOf(server, clientScope)
      yield* sql`CREATE TABLE kept (n int)`
      yield* sql`INSERT INTO kept VALUES (1)`
      // Open a transaction on a reserved connection and leave it open.
      const open = yield* sql.reserve.pipe(Scope.extend(clientScope))
      yield* open.executeRaw("BEGIN", [])
      yield* open.executeRaw("INSERT INTO kept VALUES (2)", [])

      yield* Scope.close(scope, Exit.void)
      yield* Scope.close(clientScope, Exit.void)

      const rows = yield* Effect.scoped(
        Effect.gen(function* () {
          const again = yield* EmbeddedPg.start(dataDir)
          const reopenedScope = yield* Effect.scope
          const reopened = yield* clientOf(again, reopenedScope)
          return yield* reopened<{ n: number }>`SELECT n FROM kept ORDER BY n`
        })
      )
      expect(rows).toEqual([{ n: 1 }])
    })
  )
})
