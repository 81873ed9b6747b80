/** `tapehouse stream`: capture the live feed during the regular session into the lake and SQL. */
import { Command, Options } from "@effect/cli"
import { Console, Effect, Layer } from "effect"
import { AppConfig, type AppConfigShape } from "../config/AppConfig.js"
import { datasetHelp, datasetNames, entryOf } from "../domain/datasets.js"
import { UsageError } from "../domain/errors.js"
import { StatusLine } from "../monitor/StatusLine.js"
import type { StreamStats } from "../monitor/StreamStats.js"
import * as PidFile from "../runners/pidFile.js"
import { parseSymbols } from "./backfillCommand.js"
import { formatInt } from "./display.js"
import { StopTimeout } from "./errors.js"
import { interruptIsNormalEnd } from "./exitCode.js"
import { loggingLayer } from "./layers.js"
import { choiceOption, integerOption } from "./optionTypes.js"
import { root } from "./root.js"
import { prepareDataDir, resolveConfig } from "./setup.js"

/** Stream: the socket and REST clients, calendar, sinks, quarantine, checkpoints, alerts (loaded when built). */
export const streamServices = (config: AppConfigShape) =>
  Layer.unwrapEffect(
    Effect.promise(() =>
      Promise.all([
        import("../sources/massive/MassiveRest.js"),
        import("../calendar/MarketCalendar.js"),
        import("../sources/massive/MassiveSocket.js"),
        import("../pipeline/Checkpoints.js"),
        import("../sinks/Quarantine.js"),
        import("../sinks/SinksLive.js"),
        import("../monitor/Alerts.js")
      ])
    ).pipe(
      Effect.map(
        ([MassiveRest, MarketCalendar, MassiveSocket, Checkpoints, Quarantine, SinksLive, Alerts]) => {
          const rest = MassiveRest.Live
          const calendar = (
            config.massive.calendarFromApi
              ? MarketCalendar.Live.pipe(Layer.provide(MassiveRest.Holidays))
              : MarketCalendar.RulesOnly
          ).pipe(Layer.provide(rest))
          return Layer.mergeAll(
            rest,
            calendar,
            MassiveSocket.Live,
            Layer.effect(Checkpoints.Checkpoints, Checkpoints.make(config.dataDir)),
            Quarantine.Live,
            SinksLive.fromConfig,
            Alerts.Live
          ).pipe(Layer.provideMerge(Layer.succeed(AppConfig, config)))
        }
      )
    )
  )

/** Stream: its services, built and run with the logger. */
export const streamLayer = (config: AppConfigShape) =>
  streamServices(config).pipe(Layer.provideMerge(loggingLayer(config)))

export const countersLine = (s: StreamStats) =>
  `stream ${s.source}  ${s.connection}  ${formatInt(s.messages)} records  ${formatInt(s.committed)} committed  ${s.reconnects} reconnects  ${s.rejected} rejected  ${s.spilled} spilled`

export const streamCommand = Command.make(
  "stream",
  {
    dataset: choiceOption("dataset", datasetNames).pipe(
      Options.withDescription(`Dataset to capture. ${datasetHelp()}.`)
    ),
    symbols: Options.text("symbols").pipe(
      Options.withDescription("Comma-separated tickers, e.g. SPY,QQQ, or I:VIX for index_bars_1s.")
    ),
    noReconcile: Options.boolean("no-reconcile").pipe(
      Options.withDescription(
        "At the close, compact the day's part files instead of reconciling the session through REST (which fills trade counts the WebSocket feed lacks and applies late corrections)."
      )
    )
  },
  (opts) =>
    Effect.gen(function* () {
      // Its way to end before the close is a signal (Ctrl-C, SIGTERM, `tapehouse stop`): exit 0.
      yield* interruptIsNormalEnd
      const symbols = yield* parseSymbols(opts.symbols)
      const config = yield* resolveConfig(yield* root)
      yield* prepareDataDir(config)
      const entry = entryOf(opts.dataset)
      const source = entry.streamSource
      const [Stream, feedModule] = yield* Effect.promise(() =>
        Promise.all([import("../runners/stream.js"), entry.feed()])
      )
      if (feedModule.makeLive === undefined)
        return yield* new UsageError({
          detail: `--dataset ${opts.dataset} is not captured live; backfill it instead.`
        })
      const makeLive = feedModule.makeLive
      const report = yield* Effect.gen(function* () {
        const line = yield* StatusLine
        yield* PidFile.register(config.dataDir, {
          source,
          pid: process.pid,
          startedAt: new Date().toISOString(),
          symbols,
          dataset: opts.dataset
        })
        const feed = yield* makeLive
        return yield* Stream.run(feed, { instruments: symbols, source, reconcile: !opts.noReconcile }, (s) =>
          line.show(countersLine(s))
        )
      }).pipe(Effect.scoped, Effect.provide(streamLayer(config)))
      yield* Console.log(
        `${opts.dataset} ${symbols.join(",")} session ${report.session}: ${formatInt(report.stats.messages)} records received, ${formatInt(report.stats.committed)} committed, ${report.stats.reconnects} reconnect(s), ${report.stats.rejected} rejected, ${report.stats.spilled} spilled`
      )
      for (const c of report.continuity)
        yield* Console.log(
          `  ${c.kind} ${new Date(c.start).toISOString()}–${new Date(c.end).toISOString()}: ${c.status}, ${c.rows} rows${c.detail ? ` (${c.detail})` : ""}`
        )
    })
).pipe(
  Command.withDescription(
    "Capture the live WebSocket feed: waits for the next regular session (and says until when), writes the lake and SQL at least every flush_interval, repairs gaps through REST, and stops by itself at the close. Ctrl-C, SIGTERM or `tapehouse stop` stop it cleanly."
  )
)

export const stopCommand = Command.make(
  "stop",
  {
    timeout: integerOption("timeout", { min: 0, expected: "seconds, 0 or more" }).pipe(
      Options.withDescription("Seconds to wait for the streams to exit."),
      Options.withDefault(15)
    )
  },
  (opts) =>
    Effect.gen(function* () {
      const config = yield* resolveConfig(yield* root)
      const { stopped, stuck } = yield* PidFile.stopAll(config.dataDir, opts.timeout * 1000)
      if (stopped.length === 0 && stuck.length === 0)
        yield* Console.log(`no stream is running for ${config.dataDir}`)
      for (const s of stopped)
        yield* Console.log(`stopped ${s.source} (pid ${s.pid}, ${s.symbols.join(",")})`)
      for (const s of stuck)
        yield* Console.log(`still running after ${opts.timeout} s: ${s.source} (pid ${s.pid})`)
      if (stuck.length > 0)
        return yield* new StopTimeout({
          streams: stuck.map((s) => `${s.source} (pid ${s.pid})`),
          seconds: opts.timeout
        })
    })
).pipe(
  Command.withDescription(
    "Stop the streams running on this data dir (SIGTERM; they flush everything first) and wait for them to exit."
  )
)
