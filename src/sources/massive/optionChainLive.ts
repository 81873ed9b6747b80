/**
 * The subjects of a live option chain: at the open, each underlying's tracked contracts (every call
 * and put within the band around its official open, expiring within `maxDte` days). The open is the
 * `op` the stocks feed reads in the same process (`OfficialOpens`); when it has not come within
 * `openWaitMs` (no stocks stream, or a late one), it is asked through REST instead.
 */
import { Duration, Effect, Option } from "effect"
import type { TradingSession } from "../../calendar/MarketCalendar.js"
import { VendorRequestError } from "../../domain/errors.js"
import type { VendorError } from "../../runners/Feed.js"
import { type Discovery, discoverAround, discoverContracts } from "./discovery.js"
import type { MassiveRestShape } from "./MassiveRest.js"
import type { OfficialOpensShape } from "./OfficialOpens.js"

export interface ChainOptions {
  readonly maxDte: number
  /** Fraction of the open, default ±1 %. */
  readonly band?: number
  /** How long to wait for the stocks feed's `op` before asking REST. */
  readonly openWaitMs: number
}

/** One underlying's discovery for the session: from `op` when it comes in time, else through REST. */
export const discoverAtOpen = (
  rest: MassiveRestShape,
  opens: Option.Option<OfficialOpensShape>,
  underlying: string,
  session: TradingSession,
  options: ChainOptions
): Effect.Effect<Discovery, VendorError> =>
  Effect.gen(function* () {
    const rule = { maxDte: options.maxDte, ...(options.band === undefined ? {} : { band: options.band }) }
    const op = Option.isSome(opens)
      ? yield* opens.value.get(underlying).pipe(Effect.timeoutOption(Duration.millis(options.openWaitMs)))
      : Option.none<number>()
    if (Option.isSome(op))
      return yield* discoverAround(
        rest,
        underlying,
        session.date,
        { open: op.value, source: "stream-op" },
        rule
      )
    const viaRest = yield* discoverContracts(rest, underlying, session.date, rule)
    if (Option.isNone(viaRest))
      return yield* new VendorRequestError({
        vendor: "Massive",
        request: `official open of ${underlying} on ${session.date}`,
        status: 404,
        detail: `no official open of ${underlying} on ${session.date} yet (no op from the stocks feed within ${options.openWaitMs} ms, no daily open and no per-second bar through REST): the chain cannot be drawn`
      })
    return viaRest.value
  })

/** `LiveFeed.subjectsFor` of an option chain: the tracked contracts of every underlying. */
export const chainSubjectsFor =
  (rest: MassiveRestShape, opens: Option.Option<OfficialOpensShape>, options: ChainOptions) =>
  (
    underlyings: ReadonlyArray<string>,
    session: TradingSession
  ): Effect.Effect<ReadonlyArray<string>, VendorError> =>
    Effect.forEach(
      underlyings,
      (underlying) =>
        discoverAtOpen(rest, opens, underlying, session, options).pipe(
          Effect.tap((d) =>
            Effect.logInfo(
              `${underlying} ${session.date}: ${d.contracts.length} contract(s) within the band around the open ${d.open} (${d.openSource === "stream-op" ? "op of the live stocks feed" : `REST, ${d.openSource}`})`
            )
          )
        ),
      { concurrency: "unbounded" }
    ).pipe(Effect.map((found) => found.flatMap((d) => d.contracts.map((c) => c.ticker))))
