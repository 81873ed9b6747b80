/**
 * `tapehouse sql "<query>"`: run a query against the configured SQL target (embedded PGlite by
 * default) and print the rows. When another tapehouse process (a backfill, a stream) holds the
 * embedded database, the query goes through the loopback socket that process serves. When nobody
 * does, a keeper (EmbeddedPgKeeper) is started to open and serve it, and stays for later queries.
 */
import { Args, Command } from "@effect/cli"
import { Console, Effect, Fiber, Layer, Option } from "effect"
import { SinkError } from "../domain/errors.js"
import { table } from "./display.js"
import { earlyKeeper } from "./earlyKeeper.js"
import { loggingLayer } from "./layers.js"
import { root } from "./root.js"
import { prepareDataDir, resolveConfig } from "./setup.js"
import { displayTypes } from "./sqlValues.js"

/** What node-postgres returns for one statement (several statements give an array of them). */
interface StatementResult {
  readonly command?: string | null
  readonly rowCount?: number | null
  readonly fields?: ReadonlyArray<{ readonly name: string }>
  readonly rows?: ReadonlyArray<Record<string, unknown>>
}

const cell = (v: unknown): string =>
  v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v)

const plural = (n: number) => `(${n} row${n === 1 ? "" : "s"})`

/** A table and its row count for a statement that returns rows, else its command tag (`INSERT 3`). */
export const formatResults = (raw: unknown): string => {
  const results = (Array.isArray(raw) ? raw : [raw]) as ReadonlyArray<StatementResult>
  const blocks = results.map((r) => {
    const fields = r.fields ?? []
    const rows = r.rows ?? []
    if (fields.length === 0)
      return `${r.command ?? "OK"}${r.rowCount === null || r.rowCount === undefined ? "" : ` ${r.rowCount}`}`
    const header = fields.map((f) => f.name)
    return `${table(
      header,
      rows.map((row) => header.map((h) => cell(row[h])))
    )}\n${plural(rows.length)}`
  })
  return blocks.join("\n\n")
}

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
      // Loaded here: the SQL client and the embedded database are heavy, and only this command needs them.
      const [EmbeddedPgAddress, EmbeddedPgKeeper] = yield* Effect.promise(() =>
        Promise.all([import("../sinks/EmbeddedPgAddress.js"), import("../sinks/EmbeddedPgKeeper.js")])
      )
      // Nobody holds the embedded database: a keeper opens it and stays to serve later queries
      // (`sinks.sql.keep_open_ms`); this one joins it below. Without a keeper it is opened here.
      // The entry point started one before the CLI loaded (earlyKeeper.ts); else it starts now,
      // while the rest loads. A keeper that declined or failed leaves the usual path below.
      const started = earlyKeeper()
      const keeper = yield* Effect.fork(
        started !== undefined
          ? // Served already (the keeper will decline): no need to wait for it to say so.
            Effect.flatMap(EmbeddedPgAddress.read(config.dataDir), (served) =>
              Option.isSome(served) ? Effect.void : Effect.promise(() => started)
            )
          : Option.isNone(config.sql.url) && config.sql.keepOpenMs > 0
            ? Effect.flatMap(EmbeddedPgAddress.findServed(config.dataDir), (served) =>
                Option.isNone(served)
                  ? EmbeddedPgKeeper.launch(config.dataDir, config.sql.keepOpenMs)
                  : Effect.void
              )
            : Effect.void
      )
      const [SqlClient, SqlClientLive, EmbeddedPg, { describeSqlError }] = yield* Effect.promise(() =>
        Promise.all([
          import("@effect/sql/SqlClient"),
          import("../sinks/SqlClientLive.js"),
          import("../sinks/EmbeddedPg.js"),
          import("../sinks/sqlSchema.js")
        ])
      )
      yield* Fiber.join(keeper)
      const client = SqlClientLive.layerFrom(
        { dataDir: config.dataDir, url: config.sql.url },
        { types: displayTypes, joinRunning: true, migrate: true, settings: EmbeddedPg.briefSessionSettings }
      )
      yield* Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const raw = yield* sql
          .unsafe(query)
          .raw.pipe(
            Effect.mapError(
              (e) => new SinkError({ sink: "sql", dataset: "-", partition: "-", detail: describeSqlError(e) })
            )
          )
        // Printed before the database closes: the answer does not wait for the shutdown.
        yield* Console.log(formatResults(raw))
      }).pipe(Effect.provide(client.pipe(Layer.provide(loggingLayer(config)))))
    })
).pipe(
  Command.withDescription(
    "Run a SQL query against the lake's SQL target (the embedded PGlite under <data-dir>/state/pg, or sinks.sql.url) and print the rows. While another tapehouse process holds the embedded database, the query goes through the loopback port it serves (see <data-dir>/state/pg.json). When nobody holds it, a background process opens it and keeps serving it for later queries until it has been idle for sinks.sql.keep_open_ms (5 minutes; 0 = open and close it here), or until a writer (backfill, stream, …) takes it over."
  )
)
