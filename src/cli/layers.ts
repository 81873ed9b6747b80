/** Layer composition per command: the mode is picked here, by which layers are provided. */
import { Layer } from "effect"
import * as MarketCalendar from "../calendar/MarketCalendar.js"
import { AppConfig, type AppConfigShape } from "../config/AppConfig.js"
import * as Logging from "../monitor/logging.js"
import * as StatusLine from "../monitor/StatusLine.js"
import * as Checkpoints from "../pipeline/Checkpoints.js"
import * as Quarantine from "../sinks/Quarantine.js"
import * as SinksLive from "../sinks/SinksLive.js"
import * as MassiveRest from "../sources/massive/MassiveRest.js"

/** The console and the data dir's JSON log file (every command; alone for sim serve and sql). */
export const loggingLayer = (config: AppConfigShape) =>
  Logging.layerFromConfig.pipe(
    Layer.provide(Layer.succeed(AppConfig, config)),
    // The console logger clears and redraws a command's live line (progress, counters).
    Layer.provideMerge(StatusLine.Live)
  )

/** Backfill's services: Massive REST → pipeline → configured sinks, checkpoints under the data dir. */
export const backfillServices = (config: AppConfigShape) => {
  const calendar = (config.massive.calendarFromApi ? MarketCalendar.Live : MarketCalendar.RulesOnly).pipe(
    Layer.provideMerge(MassiveRest.Live)
  )
  const checkpoints = Layer.effect(Checkpoints.Checkpoints, Checkpoints.make(config.dataDir))
  return Layer.mergeAll(calendar, checkpoints, Quarantine.Live, SinksLive.fromConfig).pipe(
    Layer.provide(Layer.succeed(AppConfig, config))
  )
}

/** Backfill: its services, built and run with the logger. */
export const backfillLayer = (config: AppConfigShape) =>
  backfillServices(config).pipe(Layer.provideMerge(loggingLayer(config)))
