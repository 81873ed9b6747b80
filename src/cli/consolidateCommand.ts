/**
 * `tapehouse consolidate`: builds the consolidated datasets (`options_enriched_1s`,
 * `underlying_features_1s`) of days from what the lake holds, naming the inputs that are not
 * complete. Idempotent: a rerun writes the same bytes.
 */
import { Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import { nyseDay } from "../calendar/nyseRules.js"
import { AppConfig } from "../config/AppConfig.js"
import { UsageError } from "../domain/errors.js"
import { datesBetween } from "../domain/time.js"
import { parseSymbols } from "./backfillCommand.js"
import { consolidateLayer } from "./layers.js"
import { dateOption } from "./optionTypes.js"
import { root } from "./root.js"
import { prepareDataDir, resolveConfig } from "./setup.js"

/** The days asked for: `--date`, or `--from` … `--to` (both). */
const daysOf = (date: Option.Option<string>, from: Option.Option<string>, to: Option.Option<string>) =>
  Effect.gen(function* () {
    if (Option.isSome(date)) {
      if (Option.isSome(from) || Option.isSome(to))
        return yield* new UsageError({ detail: "give either --date or --from and --to, not both." })
      return [date.value]
    }
    if (Option.isNone(from) || Option.isNone(to))
      return yield* new UsageError({
        detail: "consolidate needs --date YYYY-MM-DD, or --from YYYY-MM-DD and --to YYYY-MM-DD."
      })
    if (from.value > to.value)
      return yield* new UsageError({ detail: `--from ${from.value} is after --to ${to.value}.` })
    return datesBetween(from.value, to.value)
  })

export const consolidateCommand = Command.make(
  "consolidate",
  {
    date: dateOption("date").pipe(Options.withDescription("The trading day, YYYY-MM-DD."), Options.optional),
    from: dateOption("from").pipe(
      Options.withDescription("First day, YYYY-MM-DD (inclusive)."),
      Options.optional
    ),
    to: dateOption("to").pipe(Options.withDescription("Last day, YYYY-MM-DD (inclusive)."), Options.optional),
    underlying: Options.text("underlying").pipe(
      Options.withDescription("Comma-separated underlyings (default: options.underlyings of settings.yaml)."),
      Options.optional
    )
  },
  (opts) =>
    Effect.gen(function* () {
      const global = yield* root
      const days = yield* daysOf(opts.date, opts.from, opts.to)
      const config = yield* resolveConfig(global)
      const underlyings = Option.isSome(opts.underlying)
        ? yield* parseSymbols(opts.underlying.value, "--underlying")
        : config.options.underlyings
      const trading: Array<string> = []
      for (const d of days) {
        const day = nyseDay(d)
        if (day._tag === "open") trading.push(d)
        else if (Option.isSome(opts.date) || !day.reason.startsWith("weekend"))
          yield* Console.log(`skipped ${d}: market closed (${day.reason})`)
      }
      if (trading.length === 0) return
      yield* prepareDataDir(config)
      const { consolidateDays, outcomeLine } = yield* Effect.promise(
        () => import("../consolidate/consolidateDays.js")
      )
      const outcomes = yield* consolidateDays(underlyings, trading, "on-demand").pipe(
        Effect.provide(consolidateLayer(config)),
        Effect.provideService(AppConfig, config)
      )
      for (const o of outcomes) yield* Console.log(outcomeLine(o))
    })
).pipe(
  Command.withDescription(
    "Build the consolidated datasets of days from the lake: options_enriched_1s (every option bar with its underlying, VIX, implied volatility and greeks) and underlying_features_1s (every second of the underlying's session with its indicators, VIX and news). Names the inputs that are not complete; a day whose underlying bars are missing is not built. A rerun writes the same bytes."
  )
)
