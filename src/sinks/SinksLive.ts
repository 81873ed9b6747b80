/** The configured sinks (Parquet and/or SQL), fanned out. A custom layer can provide `Sinks` instead. */
import { Effect, Layer } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import * as ParquetSink from "./ParquetSink.js"
import { fanOut, type Sink, Sinks } from "./Sink.js"
import * as SqlClientLive from "./SqlClientLive.js"
import * as SqlSink from "./SqlSink.js"
import { Migrations } from "./sqlSchema.js"

/** The SQL client for the configured target, with migrations applied before first use. */
export const SqlReady = Migrations.pipe(Layer.provideMerge(SqlClientLive.layer))

const parquetSinks = Effect.gen(function* () {
  const config = yield* AppConfig
  if (!config.parquet.enabled) return [] as Array<Sink>
  const sink = yield* ParquetSink.make({
    dataDir: config.dataDir,
    compression: config.parquet.compression,
    rowGroupSize: config.parquet.rowGroupSize
  })
  return [sink]
})

export const fromConfig = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) =>
    config.sql.enabled
      ? Layer.effect(
          Sinks,
          Effect.gen(function* () {
            const parquet = yield* parquetSinks
            const sql = yield* SqlSink.make({ batchSize: config.sql.batchSize })
            return fanOut([...parquet, sql])
          })
        ).pipe(Layer.provide(SqlReady))
      : Layer.effect(Sinks, Effect.map(parquetSinks, fanOut))
  )
)
