/** `tapehouse sql "<query>"`: run a query against the configured SQL target (embedded PGlite by default). */
import { Args, Command } from "@effect/cli"
import { Console, Effect, Layer } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { SinkError } from "../domain/errors.js"
import { table } from "./display.js"
import { loggingLayer } from "./layers.js"
import { root } from "./root.js"
import { prepareDataDir, resolveConfig } from "./setup.js"

const cell = (v: unknown): string =>
  v === null || v === undefined
    ? ""
    : v instanceof Date
      ? v.toISOString()
      : typeof v === "object"
        ? JSON.stringify(v)
        : String(v)

export const sqlCommand = Command.make(
  "sql",
  {
    query: Args.text({ name: "query" }).pipe(
      Args.withDescription(
        'The SQL to run, e.g. "SELECT symbol, count(*) FROM stock_bars_1s GROUP BY symbol".'
      )
    )
  },
  ({ query }) =>
    Effect.gen(function* () {
      const config = yield* resolveConfig(yield* root)
      yield* prepareDataDir(config)
      const [SqlClient, { SqlReady }, { describeSqlError }] = yield* Effect.promise(() =>
        Promise.all([
          import("@effect/sql/SqlClient"),
          import("../sinks/SinksLive.js"),
          import("../sinks/sqlSchema.js")
        ])
      )
      const rows = yield* Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        return yield* sql
          .unsafe<Record<string, unknown>>(query)
          .pipe(
            Effect.mapError(
              (e) => new SinkError({ sink: "sql", dataset: "-", partition: "-", detail: describeSqlError(e) })
            )
          )
      }).pipe(
        Effect.provide(
          SqlReady.pipe(Layer.provide(Layer.succeed(AppConfig, config)), Layer.provide(loggingLayer(config)))
        )
      )
      const header = rows.length > 0 ? Object.keys(rows[0]!) : []
      yield* Console.log(
        rows.length > 0
          ? table(
              header,
              rows.map((r) => header.map((h) => cell(r[h])))
            )
          : "(no rows)"
      )
      yield* Console.log(`(${rows.length} row${rows.length === 1 ? "" : "s"})`)
    })
).pipe(
  Command.withDescription(
    "Run a SQL query against the lake's SQL target (the embedded PGlite under <data-dir>/state/pg, or sinks.sql.url) and print the rows."
  )
)
