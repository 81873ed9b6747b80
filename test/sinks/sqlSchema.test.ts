/** SQL schema helpers: how failures read, and the migrations' bookkeeping read without the migrator. */
import { SqlError } from "@effect/sql/SqlError"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import * as SqlClientLive from "../../src/sinks/SqlClientLive.js"
import { appliedMigration, describeSqlError, Migrations, migrationSteps } from "../../src/sinks/sqlSchema.js"
import { dataDirWithEmptyDb } from "../support/pgTemplate.js"
import { removeTempDirs } from "../support/tempDirs.js"

afterAll(removeTempDirs)

const pgError = (message: string, code: string) =>
  Object.assign(new Error(message), { code, severity: "ERROR" })

describe("describeSqlError", () => {
  it("a full disk under the database (53100, as PGlite reports it): free space", () => {
    const error = new SqlError({
      cause: pgError('could not write to file "pg_wal/xlogtemp.42": No space left on device', "53100"),
      message: "Failed to execute statement"
    })
    expect(describeSqlError(error)).toBe(
      'could not write to file "pg_wal/xlogtemp.42": No space left on device (SQLSTATE 53100). Free space on the database\'s disk (for the embedded database, the disk holding the data dir) and rerun: everything committed is kept'
    )
  })

  it("a SQLSTATE without a fitting action keeps the server's words only", () => {
    const error = new SqlError({ cause: pgError('null value in column "open"', "23502"), message: "x" })
    expect(describeSqlError(error)).toBe('null value in column "open" (SQLSTATE 23502)')
  })

  it("a system code is not called a SQLSTATE", () => {
    const reset = Object.assign(new Error("read ECONNRESET"), {
      code: "ECONNRESET",
      errno: -104,
      syscall: "read"
    })
    expect(describeSqlError(new SqlError({ cause: reset, message: "x" }))).toBe(
      "ECONNRESET (read ECONNRESET)"
    )
  })
})

describe("sqlSchema", () => {
  it.live("appliedMigration is 0 on a new database and the last migration once migrated, twice over", () =>
    Effect.gen(function* () {
      const dataDir = yield* Effect.promise(() => dataDirWithEmptyDb())
      const client = SqlClientLive.layerFrom({ dataDir, url: Option.none() })
      const [before, after, again] = yield* Effect.scoped(
        Effect.gen(function* () {
          const context = yield* Layer.build(client)
          const read = appliedMigration.pipe(Effect.provide(context))
          const before = yield* read
          yield* Layer.build(Migrations).pipe(Effect.provide(context))
          const after = yield* read
          // Already at the latest: built again, it changes nothing and does not fail.
          yield* Layer.build(Migrations).pipe(Effect.provide(context))
          return [before, after, yield* read] as const
        })
      )
      expect(before).toBe(0)
      expect(after).toBe(migrationSteps.length)
      expect(again).toBe(migrationSteps.length)
    })
  )
})
