/**
 * The tracked chain of an underlying on a day, as both option feeds fetch it: contract discovery
 * (`discovery.ts`) with the settings of `options` in settings.yaml, against the REST API.
 */
import { Effect, type Option } from "effect"
import { AppConfig } from "../../config/AppConfig.js"
import { type Discovery, discoverContracts } from "./discovery.js"
import { MassiveRest, type MassiveRestError } from "./MassiveRest.js"

/** Discovery of one underlying-day; None when the underlying has no open that day (no session). */
export type DiscoverDay = (
  underlying: string,
  date: string
) => Effect.Effect<Option.Option<Discovery>, MassiveRestError>

/** Discovery through `MassiveRest`, contracts expiring within `options.max_dte` days. */
export const makeDiscoverDay: Effect.Effect<DiscoverDay, never, MassiveRest | AppConfig> = Effect.gen(
  function* () {
    const rest = yield* MassiveRest
    const config = yield* AppConfig
    return (underlying, date) => discoverContracts(rest, underlying, date, { maxDte: config.options.maxDte })
  }
)
