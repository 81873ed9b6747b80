/**
 * The embedded database's thread (embeddedPgThread.ts, embeddedPgWorker.mjs) on its own: it opens
 * a database with the WASM module its parent compiled, serves every type through the socket
 * (PGlite's own array parsers are not loaded there), and tells when its first client has gone.
 */
import * as Path from "node:path"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  briefSessionSettings,
  host,
  openOn,
  type Thread,
  takeThread,
  type WorkerMessage
} from "../../src/sinks/embeddedPgThread.js"
import { migrationsTable } from "../../src/sinks/migrationLevel.js"
import { dataDirWithEmptyDb, WARM_UP_TIMEOUT_MS, warmUpTemplate } from "../support/pgTemplate.js"
import { removeTempDirs } from "../support/tempDirs.js"

beforeAll(warmUpTemplate, WARM_UP_TIMEOUT_MS)
afterAll(removeTempDirs)

/** Runs `query` through a connection to the thread's socket, then closes the connection. */
const queryOn = (port: number, query: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      return yield* sql.unsafe<Record<string, unknown>>(query)
    }).pipe(
      Effect.provide(
        PgClient.layer({ host, port, database: "postgres", username: "postgres", maxConnections: 1 }).pipe(
          Layer.orDie
        )
      )
    )
  )

/** The thread's next message of `type`, or "none" when none came within `ms`. */
const nextMessage = (t: Thread, type: WorkerMessage["type"], ms: number) =>
  new Promise<WorkerMessage | "none">((resolve) => {
    const onMessage = (m: WorkerMessage) => {
      if (m.type !== type) return
      clearTimeout(timer)
      t.worker.off("message", onMessage)
      resolve(m)
    }
    const timer = setTimeout(() => {
      t.worker.off("message", onMessage)
      resolve("none")
    }, ms)
    t.worker.on("message", onMessage)
  })

/** Asks the thread to close the database and waits until it has ended. */
const stopThread = (t: Thread) =>
  new Promise<void>((resolve) => {
    if (t.thread.ended !== undefined) return resolve()
    t.worker.once("exit", () => resolve())
    t.worker.postMessage("stop")
  })

describe("the embedded database's thread", () => {
  it("opens a database and serves arrays, numbers and text through its socket", async () => {
    const dataDir = await dataDirWithEmptyDb("tapehouse-pg-thread-")
    const t = takeThread()
    try {
      const answer = await openOn(t, Path.join(dataDir, "state", "pg"), briefSessionSettings, migrationsTable)
      expect(answer).toMatchObject({ type: "ready", migration: 0 })
      if (answer.type !== "ready") return
      const rows = await queryOn(
        answer.port,
        "SELECT ARRAY[1, 2, 3]::int4[] AS ints, ARRAY['a', 'b,c']::text[] AS texts, 1.5::float8 AS x, 'é'::text AS s"
      )
      expect(rows).toEqual([{ ints: [1, 2, 3], texts: ["a", "b,c"], x: 1.5, s: "é" }])
    } finally {
      await stopThread(t)
    }
  }, 120_000)

  it("tells once its first client has come and gone, not before", async () => {
    const dataDir = await dataDirWithEmptyDb("tapehouse-pg-thread-")
    const t = takeThread()
    try {
      const answer = await openOn(t, Path.join(dataDir, "state", "pg"), briefSessionSettings)
      expect(answer.type).toBe("ready")
      if (answer.type !== "ready") return
      t.worker.postMessage({ type: "watchFirstClient" })
      // Nobody has connected yet: nothing to tell.
      expect(await nextMessage(t, "firstClientGone", 300)).toBe("none")
      const gone = nextMessage(t, "firstClientGone", 30_000)
      expect(await queryOn(answer.port, "SELECT 1 AS one")).toEqual([{ one: 1 }])
      expect(await gone).toEqual({ type: "firstClientGone" })
    } finally {
      await stopThread(t)
    }
  }, 120_000)
})
