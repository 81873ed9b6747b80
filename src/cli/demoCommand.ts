/**
 * `tapehouse demo` (what `npm start` runs): the whole offline path end to end. Starts the Massive
 * simulator on a free loopback port, backfills SPY per-second bars for five trading days through
 * the real REST client into the Parquet lake and the embedded Postgres, streams a full-speed replay
 * of the last day through the live WebSocket path (reconciled at its close), and prints where to look.
 */
import * as Path from "node:path"
import { Command } from "@effect/cli"
import { Console, Effect, Option, Redacted } from "effect"
import type { AppConfigShape } from "../config/AppConfig.js"
import { StockBars1s } from "../domain/StockBar.js"
import { StatusLine } from "../monitor/StatusLine.js"
import * as Checkpoints from "../pipeline/Checkpoints.js"
import { tapehouseWith } from "./commandLine.js"
import { formatBytes, formatDuration, formatInt, progressLine, rowsPerSecond } from "./display.js"
import { backfillServices, loggingLayer } from "./layers.js"
import { root } from "./root.js"
import { prepareDataDir, resolveConfig } from "./setup.js"
import { countersLine, streamServices } from "./streamCommand.js"

export const DEMO = { symbols: ["SPY"], from: "2024-03-04", to: "2024-03-08" } as const

/**
 * Backfill, then the replay streamed through the live path, then the summary. One logger for all of
 * it: the two parts take their services without one of their own (a logger per part outlived the
 * first part and every line of the second was written twice).
 */
const showcase = (config: AppConfigShape, simUrl: string) =>
  Effect.gen(function* () {
    const [Backfill, StreamRunner, { serveStoredDay }, StockBarsFeed] = yield* Effect.promise(() =>
      Promise.all([
        import("../runners/backfill.js"),
        import("../runners/stream.js"),
        import("../sim/lakeBars.js"),
        import("../sources/massive/stockBarsFeed.js")
      ])
    )
    // Follow-ups to copy: on the same data dir and config as this run.
    const tapehouse = tapehouseWith(yield* root)
    yield* Console.log(`Massive simulator listening on ${simUrl} (offline demo: no vendor is contacted).`)
    yield* Console.log(
      `Backfilling ${StockBars1s.name} ${DEMO.symbols.join(",")} ${DEMO.from}..${DEMO.to} through the REST client…`
    )
    const line = yield* StatusLine
    const report = yield* Effect.gen(function* () {
      const source = yield* StockBarsFeed.make
      return yield* Backfill.run(
        source,
        { ...DEMO, overwrite: false, concurrency: config.backfill.concurrency },
        (p) => line.show(progressLine(StockBars1s.name, p))
      )
    }).pipe(Effect.ensuring(Effect.sync(() => line.clear())), Effect.provide(backfillServices(config)))
    // The live path: replay the last demo day over the Massive WebSocket protocol at full speed and
    // capture it with `stream`'s runner (socket → spill queue → pipeline → sinks → reconcile).
    yield* Console.log(
      `Streaming a replay of ${DEMO.to} through the live WebSocket path (simulate --speed max → stream)…`
    )
    const streamed = yield* Effect.gen(function* () {
      const served = yield* serveStoredDay({ dataDir: config.dataDir, date: DEMO.to, speed: "max" })
      const streamConfig = {
        ...config,
        massive: { ...config.massive, restUrl: served.restUrl, wsUrl: served.wsUrl }
      }
      const started = Date.now()
      const report = yield* Effect.flatMap(StockBarsFeed.makeLive, (feed) =>
        StreamRunner.run(
          feed,
          { instruments: [...DEMO.symbols], source: "demo-replay", reconcile: true },
          (s) => line.show(countersLine(s))
        )
      ).pipe(Effect.provide(streamServices(streamConfig)))
      return { report, seconds: (Date.now() - started) / 1000 }
    }).pipe(Effect.scoped, Effect.ensuring(Effect.sync(() => line.clear())))
    const reconciled = streamed.report.continuity.find((c) => c.kind === "reconcile")

    const store = yield* Checkpoints.make(config.dataDir)
    const days = [...(yield* store.days(StockBars1s.name)).values()].filter((d) => d.status === "done")
    const files = [...(yield* store.files(StockBars1s.name)).values()]
    const lakeRows = days.reduce((n, d) => n + (d.rows ?? 0), 0)
    const lakeBytes = files.reduce((n, f) => n + f.bytes, 0)
    const lake = Path.join(config.dataDir, "lake", StockBars1s.name)
    const relLake = Path.relative(process.cwd(), lake) || "."
    const lines = [
      "",
      `dataset      ${StockBars1s.name}`,
      report.committed.length > 0
        ? `this run     ${report.committed.length} day(s) fetched, ${formatInt(report.rows)} rows, ${formatBytes(report.bytes)}, ${formatInt(rowsPerSecond(report.rows, report.elapsedMs))} rows/s in ${formatDuration(report.elapsedMs)}`
        : `this run     nothing fetched: all ${report.alreadyDone.length} day(s) were already done (${report.alreadyDone.map((d) => d.date).join(", ")})`,
      ...(report.failed.length > 0
        ? [`failed       ${report.failed.map((f) => `${f.date}: ${f.reason}`).join("; ")}`]
        : []),
      `stream       replay of ${streamed.report.session}: ${formatInt(streamed.report.stats.messages)} bars over WebSocket in ${streamed.seconds.toFixed(1)} s (${formatInt(streamed.report.stats.messages / Math.max(streamed.seconds, 0.001))} msgs/s), ${streamed.report.stats.reconnects} reconnect(s); reconciled through REST: ${reconciled?.status ?? "no"}`,
      `lake         ${days.length} day(s), ${formatInt(lakeRows)} rows, ${files.length} file(s), ${formatBytes(lakeBytes)}`,
      `files        ${lake}/date=YYYY-MM-DD/part-0000.parquet`,
      `sql          table ${StockBars1s.name} in the embedded Postgres at ${Path.join(config.dataDir, "state", "pg")}`,
      "",
      "Look at it with DuckDB:",
      `  duckdb -c "SELECT symbol, date, count(*) AS bars, min(ts), max(ts), sum(volume) FROM read_parquet('${relLake}/*/*.parquet', hive_partitioning = true) GROUP BY ALL ORDER BY date"`,
      "and with SQL:",
      `  ${tapehouse} sql "SELECT symbol, (ts AT TIME ZONE 'America/New_York')::date AS day, count(*) AS bars, round(sum(volume)) AS volume FROM stock_bars_1s GROUP BY 1, 2 ORDER BY 2"`,
      `State of every day: ${tapehouse} status`
    ]
    for (const line of lines) yield* Console.log(line)
  }).pipe(Effect.provide(loggingLayer(config)))

export const demoCommand = Command.make("demo", {}, () =>
  Effect.gen(function* () {
    const loaded = yield* resolveConfig(yield* root)
    const [MassiveSim, OptionsSim] = yield* Effect.promise(() =>
      Promise.all([import("../sim/MassiveSim.js"), import("../sim/options/optionsSim.js")])
    )
    const sim = yield* MassiveSim.make({ port: 0, markets: [OptionsSim.optionsMarket] })
    OptionsSim.registerOptionContracts(sim)
    const config = {
      ...loaded,
      massive: {
        ...loaded.massive,
        restUrl: sim.url,
        apiKey: Option.some(Redacted.make("demo-key")),
        rateLimitPerMinute: 0
      }
    }
    yield* prepareDataDir(config)
    yield* showcase(config, sim.url)
  }).pipe(Effect.scoped)
).pipe(
  Command.withDescription(
    "Offline demo (npm start): start the built-in Massive simulator, backfill SPY per-second bars for 2024-03-04..2024-03-08 into the lake and the embedded Postgres, stream a full-speed replay of the last day through the live WebSocket path, and print how to query them. Idempotent."
  )
)
