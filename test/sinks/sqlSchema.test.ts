/** SQL schema helpers: how failures read, and the migrations' bookkeeping read without the migrator. */
import { SqlClient } from "@effect/sql"
import { SqlError } from "@effect/sql/SqlError"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import {
  type OptionEnriched,
  OptionsEnriched1s,
  type UnderlyingFeature,
  UnderlyingFeatures1s
} from "../../src/domain/Consolidated.js"
import { latestMigration } from "../../src/sinks/migrationLevel.js"
import * as SqlClientLive from "../../src/sinks/SqlClientLive.js"
import * as SqlSink from "../../src/sinks/SqlSink.js"
import { appliedMigration, describeSqlError, Migrations, migrationSteps } from "../../src/sinks/sqlSchema.js"
import { dataDirWithEmptyDb } from "../support/pgTemplate.js"
import { removeTempDirs } from "../support/tempDirs.js"

afterAll(removeTempDirs)

const pgError = (message: string, code: string) =>
  Object.assign(new Error(message), { code, severity: "ERROR" })

describe("latestMigration", () => {
  it("is the number of migration steps (the keeper's early open serves only a database that far)", () => {
    expect(latestMigration).toBe(migrationSteps.length)
  })
})

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

describe("the consolidated view", () => {
  it.live(
    "consolidated_1s joins each enriched option row to its underlying's features at the same second",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* Effect.promise(() => dataDirWithEmptyDb())
        const client = SqlClientLive.layerFrom({ dataDir, url: Option.none() })
        const ts = Date.UTC(2024, 2, 5, 15, 0, 0)
        const option: OptionEnriched = {
          symbol: "O:SPY240305C00505000",
          ts,
          underlying: "SPY",
          contract_type: "call",
          strike_price: 505,
          expiration_date: "2024-03-05",
          open: 1.5,
          high: 1.6,
          low: 1.4,
          close: 1.55,
          volume: 3,
          underlying_price: 506,
          underlying_age_ms: 0,
          vix: 14.2,
          t_years: 0.0001,
          moneyness: -0.002,
          dte: 0,
          iv: 0.13,
          delta: 0.6,
          gamma: 0.2,
          theta: -30,
          vega: 0.5,
          rho: 0.01,
          iv_reason: null,
          rate: 0.05,
          div_yield: 0.013
        }
        const feature = (second: number): UnderlyingFeature => ({
          symbol: "SPY",
          ts: ts + second * 1000,
          open: 506,
          high: 506,
          low: 506,
          close: 506,
          volume: 0,
          vwap: 506,
          filled: true,
          return_1s: 0,
          return_5s: null,
          return_15s: null,
          return_60s: null,
          return_300s: null,
          rsi_14: 55 + second,
          ema_9: null,
          ema_21: null,
          macd: null,
          macd_signal: null,
          macd_histogram: null,
          bollinger_middle: null,
          bollinger_upper: null,
          bollinger_lower: null,
          atr_14: null,
          vwap_distance: 0.001,
          realized_vol_60s: null,
          realized_vol_300s: null,
          vix: 14.2,
          news_count_5m: 1,
          news_sentiment_5m: -1,
          news_count_30m: 2,
          news_sentiment_30m: 0,
          news_count_60m: 2,
          news_sentiment_60m: 0
        })
        const rows = yield* Effect.gen(function* () {
          const sink = yield* SqlSink.make()
          const date = "2024-03-05"
          yield* sink.commit({
            dataset: OptionsEnriched1s,
            date,
            instruments: ["SPY"],
            rows: [option],
            mode: "replace"
          })
          yield* sink.commit({
            dataset: UnderlyingFeatures1s,
            date,
            instruments: ["SPY"],
            rows: [feature(-1), feature(0), feature(1)],
            mode: "replace"
          })
          const sql = yield* SqlClient.SqlClient
          return yield* sql<Record<string, unknown>>`SELECT * FROM consolidated_1s`
        }).pipe(Effect.provide(Migrations.pipe(Layer.provideMerge(client))))
        expect(rows.length).toBe(1)
        const row = rows[0]!
        expect([row.symbol, row.iv, row.underlying_price, row.rsi_14, row.news_sentiment_5m]).toEqual([
          option.symbol,
          0.13,
          506,
          55,
          "-1"
        ])
        expect([row.underlying_close, row.filled]).toEqual([506, true])
        expect(Object.keys(row)).not.toContain("underlying_vix")
      })
  )
})
