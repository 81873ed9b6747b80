/** `tapehouse stream`: capture the live feed during the regular session into the lake and SQL. */
import { Command, Options } from "@effect/cli"
import { Console, Effect, Layer, Option } from "effect"
import { AppConfig, type AppConfigShape } from "../config/AppConfig.js"
import {
  type DatasetName,
  datasetHelp,
  datasetNames,
  entryOf,
  streamedNames,
  withAlongside
} from "../domain/datasets.js"
import { UsageError } from "../domain/errors.js"
import { StatusLine } from "../monitor/StatusLine.js"
import type { StreamStats } from "../monitor/StreamStats.js"
import * as PidFile from "../runners/pidFile.js"
import type { DatasetStream } from "../runners/streamSet.js"
import { parseSymbols } from "./backfillCommand.js"
import { BOOK_VENUES, runBookStream } from "./bookStreamCommand.js"
import { formatInt } from "./display.js"
import { StopTimeout } from "./errors.js"
import { interruptIsNormalEnd } from "./exitCode.js"
import { loggingLayer } from "./layers.js"
import { metricsPort, withMetricsServer } from "./metricsOption.js"
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
        import("../monitor/ErrorLog.js"),
        import("../sources/massive/OfficialOpens.js"),
        import("../monitor/SchemaDrift.js"),
        import("../monitor/Performance.js")
      ])
    ).pipe(
      Effect.map(
        ([
          MassiveRest,
          MarketCalendar,
          MassiveSocket,
          Checkpoints,
          Quarantine,
          SinksLive,
          ErrorLog,
          OfficialOpens,
          SchemaDrift,
          Performance
        ]) => {
          // Sinks, quarantine and alerts (disconnects and failures also go to the error log).
          const monitored = Layer.mergeAll(ErrorLog.AlertsLive, Quarantine.Live, SinksLive.fromConfig).pipe(
            Layer.provideMerge(ErrorLog.Live)
          )
          // The performance monitor (its stale-operation watchdog: one per process) raises alerts.
          const watched = Performance.Live.pipe(Layer.provideMerge(monitored))
          // Both clients sample what the vendor sends for schema drift.
          const drift = SchemaDrift.Live.pipe(Layer.provide(monitored))
          const rest = MassiveRest.Live.pipe(Layer.provide(drift))
          const calendar = (
            config.massive.calendarFromApi
              ? MarketCalendar.Live.pipe(Layer.provide(MassiveRest.Holidays))
              : MarketCalendar.RulesOnly
          ).pipe(Layer.provide(rest))
          return Layer.mergeAll(
            rest,
            calendar,
            MassiveSocket.Live.pipe(Layer.provide(drift)),
            Layer.effect(Checkpoints.Checkpoints, Checkpoints.make(config.dataDir)),
            watched,
            // The stocks feed notes the day's official opens here; the option chain starts from them.
            OfficialOpens.layer
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

/** A dataset that is only backfilled (no live feed), refused by name with what to run instead. */
const backfillOnly = (name: string) =>
  new UsageError({
    detail: `${name} is backfilled only: it has no live feed, so stream cannot capture it. Fill it with: tapehouse backfill --dataset ${name} --${entryOf(name as DatasetName).instruments.option} ${entryOf(name as DatasetName).instruments.example} --from YYYY-MM-DD --to YYYY-MM-DD. Datasets that stream: ${streamedNames.join(", ")}.`
  })

/** The datasets a stream captures: `--datasets`, or `--dataset`, or `stream.datasets` of the config. */
const chosenDatasets = (
  dataset: Option.Option<DatasetName>,
  datasets: Option.Option<string>,
  config: AppConfigShape
): Effect.Effect<ReadonlyArray<DatasetName>, UsageError> =>
  Effect.gen(function* () {
    if (Option.isSome(dataset) && Option.isSome(datasets))
      return yield* new UsageError({
        detail: "--dataset and --datasets were both given; use --datasets for several, --dataset for one."
      })
    if (Option.isSome(dataset)) {
      if (!streamedNames.includes(dataset.value)) return yield* backfillOnly(dataset.value)
      return [dataset.value]
    }
    if (Option.isNone(datasets)) return config.stream.datasets as ReadonlyArray<DatasetName>
    const names = [
      ...new Set(
        datasets.value
          .split(",")
          .map((d) => d.trim())
          .filter((d) => d.length > 0)
      )
    ]
    if (names.length === 0)
      return yield* new UsageError({
        detail: `--datasets is empty; expected a comma list of ${streamedNames.join(", ")}.`
      })
    const unknown = names.find((n) => !(streamedNames as ReadonlyArray<string>).includes(n))
    if (unknown !== undefined && (datasetNames as ReadonlyArray<string>).includes(unknown))
      return yield* backfillOnly(unknown)
    if (unknown !== undefined)
      return yield* new UsageError({
        detail: `--datasets has ${JSON.stringify(unknown)}; expected a comma list of ${streamedNames.join(", ")}.`
      })
    return names as ReadonlyArray<DatasetName>
  })

export const streamCommand = Command.make(
  "stream",
  {
    // Every dataset is a choice, so one that is backfilled only is refused with a sentence that says so.
    dataset: choiceOption("dataset", [...datasetNames, "book_deltas"]).pipe(
      Options.withDescription(
        `One dataset to capture (${datasetHelp()}; or book_deltas: Binance order books with --venue, around the clock).`
      ),
      Options.optional
    ),
    venue: choiceOption("venue", BOOK_VENUES).pipe(
      Options.withDescription("With --dataset book_deltas: binance-spot or binance-usdm."),
      Options.optional
    ),
    datasets: Options.text("datasets").pipe(
      Options.withDescription(
        "Several datasets to capture in one process and one session, as a comma list (default: stream.datasets of settings.yaml). Each takes its instruments from the config; one that fails for good stops alone."
      ),
      Options.optional
    ),
    symbols: Options.text("symbols").pipe(
      Options.withDescription(
        "Comma-separated tickers of the one dataset captured, e.g. SPY,QQQ or I:VIX (default: its config key, stream.symbols for stock_bars_1s)."
      ),
      Options.optional
    ),
    noReconcile: Options.boolean("no-reconcile").pipe(
      Options.withDescription(
        "At the close, compact the day's part files instead of reconciling the session through REST (which fills trade counts the WebSocket feed lacks and applies late corrections)."
      )
    ),
    metricsPort
  },
  (opts) =>
    Effect.gen(function* () {
      // Its way to end before the close is a signal (Ctrl-C, SIGTERM, `tapehouse stop`): exit 0.
      yield* interruptIsNormalEnd
      const config = yield* resolveConfig(yield* root)
      if (Option.isSome(opts.dataset) && opts.dataset.value === "book_deltas") {
        yield* runBookStream(config, opts.venue, opts.symbols)
        return
      }
      if (Option.isSome(opts.venue))
        return yield* new UsageError({ detail: "--venue goes with --dataset book_deltas." })
      const chosen = yield* chosenDatasets(opts.dataset as Option.Option<DatasetName>, opts.datasets, config)
      if (Option.isSome(opts.symbols) && chosen.length > 1)
        return yield* new UsageError({
          detail: `--symbols names the instruments of one dataset, and ${chosen.length} are captured (${chosen.join(", ")}); each takes its instruments from the config (${chosen.map((n) => entryOf(n).streamInstruments.key).join(", ")}).`
        })
      // With the datasets written alongside them (news → news_sentiment), each a stream of its own.
      const names = withAlongside(chosen)
      const explicit = Option.isSome(opts.symbols) ? yield* parseSymbols(opts.symbols.value) : undefined
      yield* prepareDataDir(config)
      const [StreamSet, modules] = yield* Effect.promise(() =>
        Promise.all([import("../runners/streamSet.js"), Promise.all(names.map((n) => entryOf(n).feed()))])
      )
      const plans = names.map((name, i) => {
        const entry = entryOf(name)
        return {
          name,
          entry,
          module: modules[i]!,
          instruments: explicit ?? entry.streamInstruments.of(config)
        }
      })
      const notLive = plans.find((p) => p.module.makeLive === undefined)
      if (notLive !== undefined)
        return yield* new UsageError({
          detail: `${notLive.name} is not captured live; backfill it instead.`
        })
      const { outcomes, consolidated } = yield* Effect.gen(function* () {
        const line = yield* StatusLine
        const streams: Array<DatasetStream<unknown>> = []
        for (const plan of plans) {
          yield* PidFile.register(config.dataDir, {
            source: plan.entry.streamSource,
            pid: process.pid,
            startedAt: new Date().toISOString(),
            symbols: plan.instruments,
            dataset: plan.name
          })
          streams.push({
            feed: yield* plan.module.makeLive!,
            request: {
              instruments: plan.instruments,
              source: plan.entry.streamSource,
              reconcile: !opts.noReconcile
            }
          })
        }
        // One status line for all of them: each stream's latest counters.
        const latest = new Map<string, StreamStats>()
        const outcomes = yield* StreamSet.runAll(streams, (s) => {
          latest.set(s.source, s)
          line.show([...latest.values()].map(countersLine).join("  |  "))
        })
        // The end of the session: consolidate its day once every input of it is complete.
        const { consolidateCompleted } = yield* Effect.promise(() => import("../consolidate/afterInputs.js"))
        const consolidated = yield* consolidateCompleted(
          outcomes.flatMap((o, i) =>
            o._tag === "Done"
              ? [{ dataset: plans[i]!.name, instruments: plans[i]!.instruments, dates: [o.report.session] }]
              : []
          ),
          config.options.underlyings
        )
        return { outcomes, consolidated }
      }).pipe(Effect.scoped, Effect.provide(streamLayer(config)), withMetricsServer(opts.metricsPort, config))
      for (const [i, outcome] of outcomes.entries()) {
        const plan = plans[i]!
        if (outcome._tag === "Failed") {
          yield* Console.log(`${plan.name} ${plan.instruments.join(",")}: stopped early: ${outcome.message}`)
          continue
        }
        const report = outcome.report
        yield* Console.log(
          `${plan.name} ${plan.instruments.join(",")} session ${report.session}: ${formatInt(report.stats.messages)} records received, ${formatInt(report.stats.committed)} committed, ${report.stats.reconnects} reconnect(s), ${report.stats.rejected} rejected, ${report.stats.spilled} spilled`
        )
        for (const c of report.continuity)
          yield* Console.log(
            `  ${c.kind} ${new Date(c.start).toISOString()}–${new Date(c.end).toISOString()}: ${c.status}, ${c.rows} rows${c.detail ? ` (${c.detail})` : ""}`
          )
      }
      for (const l of consolidated) yield* Console.log(l)
      // The exit code of the first dataset that failed (the others' work is committed and reported).
      const failed = outcomes.find((o) => o._tag === "Failed")
      if (failed !== undefined && failed._tag === "Failed") return yield* Effect.fail(failed.error)
    })
).pipe(
  Command.withDescription(
    "Capture live feeds: waits for the next regular session (and says until when), writes the lake and SQL at least every flush_interval, repairs gaps through REST, and stops by itself at the close. Several datasets run in one process (--datasets or stream.datasets), each with its own connections, queue, gaps and heartbeat. Ctrl-C, SIGTERM or `tapehouse stop` stop it cleanly."
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
