/**
 * Layer composition per command: the mode is picked here, by which layers are provided. A command's
 * services load their modules when its layer is built, not when the CLI starts.
 */
import { Effect, Layer } from "effect"
import { AppConfig, type AppConfigShape } from "../config/AppConfig.js"
import * as Logging from "../monitor/logging.js"
import * as StatusLine from "../monitor/StatusLine.js"

/** The console and the data dir's JSON log file (every command; alone for sim serve and sql). */
export const loggingLayer = (config: AppConfigShape) =>
  Logging.layerFromConfig.pipe(
    Layer.provide(Layer.succeed(AppConfig, config)),
    // The console logger clears and redraws a command's live line (progress, counters).
    Layer.provideMerge(StatusLine.Live)
  )

/** Backfill's services: Massive REST → pipeline → configured sinks, checkpoints under the data dir. */
export const backfillServices = (config: AppConfigShape) =>
  Layer.unwrapEffect(
    Effect.promise(() =>
      Promise.all([
        import("../calendar/MarketCalendar.js"),
        import("../pipeline/Checkpoints.js"),
        import("../sinks/Quarantine.js"),
        import("../sinks/SinksLive.js"),
        import("../sources/massive/MassiveRest.js"),
        import("../monitor/ErrorLog.js"),
        import("../monitor/SchemaDrift.js"),
        import("../monitor/Performance.js")
      ])
    ).pipe(
      Effect.map(
        ([
          MarketCalendar,
          Checkpoints,
          Quarantine,
          SinksLive,
          MassiveRest,
          ErrorLog,
          SchemaDrift,
          Performance
        ]) => {
          // Sinks, quarantine and alerts, with the error log they record errors in.
          const monitored = Layer.mergeAll(ErrorLog.AlertsLive, Quarantine.Live, SinksLive.fromConfig).pipe(
            Layer.provideMerge(ErrorLog.Live)
          )
          // Slow commits and stale operations (days, requests) raise alerts.
          const watched = Performance.Live.pipe(Layer.provideMerge(monitored))
          // The REST client samples what the vendor sends for schema drift.
          const rest = MassiveRest.Live.pipe(Layer.provide(SchemaDrift.Live.pipe(Layer.provide(monitored))))
          const calendar = (
            config.massive.calendarFromApi
              ? MarketCalendar.Live.pipe(Layer.provide(MassiveRest.Holidays))
              : MarketCalendar.RulesOnly
          ).pipe(Layer.provideMerge(rest))
          const checkpoints = Layer.effect(Checkpoints.Checkpoints, Checkpoints.make(config.dataDir))
          // AppConfig stays in the context: feeds read their settings from it (news.tickers …).
          return Layer.mergeAll(calendar, checkpoints, watched).pipe(
            Layer.provideMerge(Layer.succeed(AppConfig, config))
          )
        }
      )
    )
  )

/** Backfill: its services, built and run with the logger. */
export const backfillLayer = (config: AppConfigShape) =>
  backfillServices(config).pipe(Layer.provideMerge(loggingLayer(config)))

/** Consolidation's services: the configured sinks and the checkpoints (no vendor). */
export const consolidateServices = (config: AppConfigShape) =>
  Layer.unwrapEffect(
    Effect.promise(() =>
      Promise.all([import("../pipeline/Checkpoints.js"), import("../sinks/SinksLive.js")])
    ).pipe(
      Effect.map(([Checkpoints, SinksLive]) =>
        Layer.mergeAll(
          Layer.effect(Checkpoints.Checkpoints, Checkpoints.make(config.dataDir)),
          SinksLive.fromConfig
        ).pipe(Layer.provideMerge(Layer.succeed(AppConfig, config)))
      )
    )
  )

/** Consolidation: its services, with the logger. */
export const consolidateLayer = (config: AppConfigShape) =>
  consolidateServices(config).pipe(Layer.provideMerge(loggingLayer(config)))
