/**
 * The keeper `tapehouse sql` leaves serving the embedded database: readers join it, a writer
 * takes the database over (the keeper closes it first: never two processes on one folder), and it
 * ends by itself once idle.
 */
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { SqlClient } from "@effect/sql"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Option } from "effect"
import * as EmbeddedPg from "../../src/sinks/EmbeddedPg.js"
import * as EmbeddedPgAddress from "../../src/sinks/EmbeddedPgAddress.js"
import * as EmbeddedPgKeeper from "../../src/sinks/EmbeddedPgKeeper.js"
import * as SqlClientLive from "../../src/sinks/SqlClientLive.js"
import { dataDirWithEmptyDb } from "../support/pgTemplate.js"
import { removeTempDirs } from "../support/tempDirs.js"

afterAll(removeTempDirs)

const lockOf = (dataDir: string) =>
  EmbeddedPg.parseLock(Fs.readFileSync(EmbeddedPgAddress.lockPath(dataDir), "utf8"))

/** Waits (up to `ms`) until `done` holds; fails the test otherwise. */
const eventually = (what: string, done: () => boolean, ms = 30_000) =>
  Effect.gen(function* () {
    const deadline = Date.now() + ms
    while (!done()) {
      if (Date.now() > deadline) return yield* Effect.dieMessage(`not within ${ms} ms: ${what}`)
      yield* Effect.sleep("50 millis")
    }
  })

const query = <A extends object>(layer: ReturnType<typeof SqlClientLive.layerFrom>, text: string) =>
  Effect.scoped(
    Effect.flatMap(Layer.build(layer), (context) => Context.get(context, SqlClient.SqlClient).unsafe<A>(text))
  )

describe("the lock file", () => {
  it("records the owner's pid and whether it is a keeper", () => {
    expect(EmbeddedPg.lockText({ pid: 42, keeper: false })).toBe("42\n")
    expect(EmbeddedPg.parseLock(EmbeddedPg.lockText({ pid: 42, keeper: true }))).toEqual({
      pid: 42,
      keeper: true
    })
    // A lock written before keepers existed.
    expect(EmbeddedPg.parseLock("42\n")).toEqual({ pid: 42, keeper: false })
    expect(EmbeddedPg.parseLock("")).toBeUndefined()
    expect(EmbeddedPg.parseLock("x\nkeeper\n")).toBeUndefined()
  })

  it.live("a lock that says keeper, held by a process that is not one, is not signalled", () =>
    Effect.gen(function* () {
      const dataDir = yield* Effect.promise(() => dataDirWithEmptyDb())
      const other = spawn("sleep", ["30"], { stdio: "ignore" })
      yield* Effect.addFinalizer(() => Effect.sync(() => other.kill("SIGKILL")))
      const pid = other.pid ?? 0
      Fs.writeFileSync(EmbeddedPgAddress.lockPath(dataDir), EmbeddedPg.lockText({ pid, keeper: true }))
      const error = yield* Effect.flip(Effect.scoped(EmbeddedPg.start(dataDir)))
      expect(error.detail).toContain(`in use by another tapehouse process (pid ${pid}`)
      expect(other.exitCode).toBeNull()
      expect(other.signalCode).toBeNull()
    }).pipe(Effect.scoped)
  )
})

describe("EmbeddedPgKeeper", () => {
  it.live(
    "serves readers until a writer takes the database over; a keeper left idle closes it by itself",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* Effect.promise(() => dataDirWithEmptyDb())
        const target = { dataDir, url: Option.none() }

        // No keeper outlives the test, whatever happens in it.
        const keepers: Array<number> = []
        yield* Effect.addFinalizer(() =>
          Effect.forEach(
            keepers.filter((pid) => pid > 0),
            (pid) =>
              Effect.sync(() => EmbeddedPgAddress.isAlive(pid) && process.kill(pid, "SIGTERM")).pipe(
                Effect.zipRight(eventually("the keeper ends", () => !EmbeddedPgAddress.isAlive(pid)))
              )
          )
        )

        // Started as `sql` starts it: it serves, its lock says keeper, its record names it.
        expect(yield* EmbeddedPgKeeper.launch(dataDir, 600_000)).toBe(true)
        const keeper = lockOf(dataDir)
        keepers.push(keeper?.pid ?? 0)
        expect(keeper?.keeper).toBe(true)
        const keeperPid = keeper?.pid ?? 0
        const served = yield* EmbeddedPgAddress.read(dataDir)
        expect(Option.map(served, (a) => a.pid)).toEqual(Option.some(keeperPid))
        // It ran the migrations, as any owner does.
        const tables = yield* query<{ n: number }>(
          SqlClientLive.layerFrom(target, { joinRunning: true }),
          "SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'stock_bars_1s'"
        )
        expect(tables).toEqual([{ n: 1 }])
        // A reader joined it and left it serving.
        expect(lockOf(dataDir)?.pid).toBe(keeperPid)
        expect(EmbeddedPgAddress.isAlive(keeperPid)).toBe(true)

        // A writer (here this process, as a backfill opens it) asks the keeper to close and opens.
        yield* Effect.scoped(
          Effect.gen(function* () {
            const writer = Context.get(
              yield* Layer.build(SqlClientLive.layerFrom(target)),
              SqlClient.SqlClient
            )
            expect(lockOf(dataDir)).toEqual({ pid: process.pid, keeper: false })
            // It released the lock as its last step before its process ends.
            yield* eventually("the keeper ends", () => !EmbeddedPgAddress.isAlive(keeperPid))
            yield* writer`CREATE TABLE handed_over (n int)`
            yield* writer`INSERT INTO handed_over SELECT generate_series(1, 1000)`
          })
        )

        // A new keeper serves what the writer wrote (it closed the database cleanly), and once no
        // client has been connected for its idle time it closes the database and ends.
        // Idle after 3 s: long enough for this query to connect on a loaded machine (at 1 s the
        // keeper could close before it did).
        expect(yield* EmbeddedPgKeeper.launch(dataDir, 3000)).toBe(true)
        const idlePid = lockOf(dataDir)?.pid ?? 0
        keepers.push(idlePid)
        expect(idlePid).not.toBe(keeperPid)
        const rows = yield* query<{ n: number; total: number }>(
          SqlClientLive.layerFrom(target, { joinRunning: true }),
          "SELECT count(*)::int AS n, sum(n)::int AS total FROM handed_over"
        )
        expect(rows).toEqual([{ n: 1000, total: 500_500 }])
        yield* eventually("the idle keeper ends", () => !EmbeddedPgAddress.isAlive(idlePid))
        expect(Fs.readdirSync(Path.join(dataDir, "state")).filter((f) => f.startsWith("pg."))).toEqual([])
      }).pipe(Effect.scoped),
    180_000
  )
})
