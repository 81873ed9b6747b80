/**
 * A Postgres server that cannot be reached or refuses us: the StorageError names host:port (never
 * the password), the cause and the one action that fits it. Refused and silent servers are real
 * (loopback); an unknown database is real when TAPEHOUSE_TEST_PG_URL points at a server.
 */
import { SqlError } from "@effect/sql/SqlError"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted } from "effect"
import type { StorageError } from "../../src/domain/errors.js"
import * as SqlClientLive from "../../src/sinks/SqlClientLive.js"
import { connectError, serverOf } from "../../src/sinks/sqlConnectError.js"
import { refusedPort, silentServer } from "../support/loopback.js"
import { makeTempDir, removeTempDirs } from "../support/tempDirs.js"

afterAll(removeTempDirs)

const PASSWORD = "s3cret-pw-91"
const dataDirAdvice = "Check that the data dir exists and is writable"

/** Builds the client layer for `url` and returns how it failed. */
const connectFailure = (url: string): Effect.Effect<StorageError> =>
  Effect.scoped(
    Layer.build(
      SqlClientLive.layerFrom({
        dataDir: makeTempDir("tapehouse-pgconn-"),
        url: Option.some(Redacted.make(url))
      })
    )
  ).pipe(
    Effect.flatMap(() => Effect.dieMessage(`connected to ${url}, expected a failure`)),
    Effect.flip,
    Effect.flatMap((e) =>
      e._tag === "StorageError"
        ? Effect.succeed(e)
        : Effect.dieMessage(`expected a StorageError, got ${e.message}`)
    )
  )

const expectNoPassword = (error: StorageError) => {
  expect(error.message).not.toContain(PASSWORD)
  expect(JSON.stringify(error)).not.toContain(PASSWORD)
}

describe("connecting to a Postgres server", () => {
  it.live("a refused port: ECONNREFUSED, host:port, start the server or fix the URL", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(refusedPort)
      const error = yield* connectFailure(`postgres://tape:${PASSWORD}@127.0.0.1:${port}/lake`)
      expect(error._tag).toBe("StorageError")
      expect(error.code).toBe("ECONNREFUSED")
      expect(error.path).toBe(`127.0.0.1:${port}`)
      expect(error.message).toBe(
        `Cannot connect to Postgres at 127.0.0.1:${port}: ECONNREFUSED (connection refused). Nothing listens at 127.0.0.1:${port}: start the server, or fix the address in sinks.sql.url / TAPEHOUSE_PG_URL.`
      )
      expect(error.message).not.toContain(dataDirAdvice)
      expectNoPassword(error)
    })
  )

  it.scopedLive(
    "a server that never answers: ETIMEDOUT, host:port, network or firewall",
    () =>
      Effect.gen(function* () {
        const port = yield* silentServer
        // The client gives up after its 10 s connect timeout.
        const error = yield* connectFailure(`postgres://tape:${PASSWORD}@127.0.0.1:${port}/lake`)
        expect(error.code).toBe("ETIMEDOUT")
        expect(error.path).toBe(`127.0.0.1:${port}`)
        expect(error.message).toContain(
          `Cannot connect to Postgres at 127.0.0.1:${port}: ETIMEDOUT (connection timed out).`
        )
        expect(error.message).toContain(`127.0.0.1:${port} did not answer in time: check that the host is up`)
        expect(error.message).toContain("firewall")
        expect(error.message).not.toContain(dataDirAdvice)
        expect(error.message).not.toContain("start the server")
        expectNoPassword(error)
      }),
    30_000
  )

  it.live.skipIf(process.env.TAPEHOUSE_TEST_PG_URL === undefined)(
    "a database the server does not have: 3D000, createdb, host:port",
    () =>
      Effect.gen(function* () {
        const url = new URL(process.env.TAPEHOUSE_TEST_PG_URL ?? "")
        url.password = PASSWORD
        url.pathname = "/no_such_db_tapehouse"
        const error = yield* connectFailure(url.toString())
        expect(error.code).toBe("3D000")
        expect(error.path).toBe(`${url.hostname}:${url.port || "5432"}`)
        expect(error.message).toContain('database "no_such_db_tapehouse" does not exist')
        expect(error.message).toContain("createdb no_such_db_tapehouse")
        expect(error.message).not.toContain(dataDirAdvice)
        expectNoPassword(error)
      })
  )

  it("a wrong password (28P01), as node-postgres reports it: fix the credentials, nothing else", () => {
    const server = serverOf(Redacted.make(`postgres://tape:${PASSWORD}@db.internal:6543/lake`))
    expect(server).toEqual({
      address: "db.internal:6543",
      database: "lake",
      setting: "sinks.sql.url / TAPEHOUSE_PG_URL"
    })
    const refused = Object.assign(new Error('password authentication failed for user "tape"'), {
      code: "28P01",
      severity: "FATAL"
    })
    const error = connectError(server)(
      new SqlError({ cause: refused, message: "PgClient: Failed to connect" })
    )
    expect(error.message).toBe(
      'Cannot connect to Postgres at db.internal:6543: 28P01 (password authentication failed for user "tape"). The server refused the user or password: fix them in TAPEHOUSE_PG_URL.'
    )
    expectNoPassword(error)
  })

  it("the address defaults to port 5432 and the database to the user's name", () => {
    expect(serverOf(Redacted.make("postgres://tape@db.internal"))).toMatchObject({
      address: "db.internal:5432",
      database: "tape"
    })
  })
})
