/** The migrations' bookkeeping: what a database has applied, read without running the migrator. */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import * as SqlClientLive from "../../src/sinks/SqlClientLive.js"
import { appliedMigration, Migrations, sqlDatasets } from "../../src/sinks/sqlSchema.js"
import { dataDirWithEmptyDb } from "../support/pgTemplate.js"
import { removeTempDirs } from "../support/tempDirs.js"

afterAll(removeTempDirs)

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
      expect(after).toBe(sqlDatasets.length)
      expect(again).toBe(sqlDatasets.length)
    })
  )
})
