/**
 * `tapehouse discover`: the option contracts tracked on a day for underlyings, printed and stored
 * (`option_contracts`: lake, SQL and checkpoints) through the backfill runner. A rerun replaces the
 * day's contracts of those underlyings.
 */
import { Command, Options } from "@effect/cli"
import { Clock, Console, Effect, Option } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { BackfillIncomplete, UsageError } from "../domain/errors.js"
import { newYorkDate } from "../domain/time.js"
import type { Discovery } from "../sources/massive/discovery.js"
import { parseSymbols } from "./backfillCommand.js"
import { summaryLine, table } from "./display.js"
import { backfillLayer } from "./layers.js"
import { dateOption } from "./optionTypes.js"
import { logRequestStats } from "./requestStats.js"
import { root } from "./root.js"
import { prepareDataDir, resolveConfig } from "./setup.js"

const strikeText = (n: number) => (Number.isInteger(n) ? String(n) : String(Number(n.toFixed(3))))

/** The lines `discover` prints for one underlying's discovery. */
export const discoveryLines = (d: Discovery): ReadonlyArray<string> => {
  const c = d.contracts
  const head = `${d.underlying} ${d.date}: open ${d.open} (${d.openSource === "open-close" ? "official open, /v1/open-close" : "first per-second bar"}); ${c.length} contract(s)`
  if (c.length === 0) return [head]
  const strikes = c.map((x) => x.strike)
  const expirations = c.map((x) => x.expirationDate).sort()
  return [
    `${head}, strikes ${strikeText(Math.min(...strikes))}..${strikeText(Math.max(...strikes))}, expiring ${expirations[0]}..${expirations[expirations.length - 1]}`,
    table(
      ["ticker", "type", "expiration", "strike"],
      c.map((x) => [x.ticker, x.type, x.expirationDate, strikeText(x.strike)])
    )
  ]
}

export const discoverCommand = Command.make(
  "discover",
  {
    underlying: Options.text("underlying").pipe(
      Options.withDescription("Comma-separated underlyings, e.g. SPY or SPY,QQQ (upper-cased).")
    ),
    date: dateOption("date").pipe(Options.withDescription("The trading day, YYYY-MM-DD."))
  },
  (opts) =>
    Effect.gen(function* () {
      const global = yield* root
      const underlyings = yield* parseSymbols(opts.underlying, "--underlying")
      const today = newYorkDate(yield* Clock.currentTimeMillis)
      if (opts.date > today)
        return yield* new UsageError({
          detail: `--date ${opts.date} is in the future (today is ${today} in New York); discover takes a day that has opened.`
        })
      const config = yield* resolveConfig(global)
      yield* prepareDataDir(config)
      const [Backfill, { MassiveRest }, { MarketCalendar }, ContractsFeed, { makeDiscoverDay }] =
        yield* Effect.promise(() =>
          Promise.all([
            import("../runners/backfill.js"),
            import("../sources/massive/MassiveRest.js"),
            import("../calendar/MarketCalendar.js"),
            import("../sources/massive/optionContractsFeed.js"),
            import("../sources/massive/optionChainDay.js")
          ])
        )
      const { found, report } = yield* Effect.gen(function* () {
        const day = (yield* MarketCalendar).day(opts.date)
        if (day._tag === "closed")
          return yield* new UsageError({
            detail: `the market is closed on ${opts.date} (${day.reason}); there is no open to discover contracts around.`
          })
        const discoverDay = yield* makeDiscoverDay
        const found = new Map<string, Discovery>()
        for (const underlying of underlyings) {
          const d = yield* discoverDay(underlying, opts.date)
          if (Option.isSome(d)) found.set(underlying, d.value)
        }
        // Stored through the backfill runner, from the discovery just made (no second request).
        const feed = ContractsFeed.fromDiscovery((underlying) =>
          Effect.succeed(Option.fromNullable(found.get(underlying)))
        )
        const report = yield* Backfill.run(feed, {
          symbols: underlyings,
          from: opts.date,
          to: opts.date,
          overwrite: true,
          acceptEmpty: false,
          concurrency: 1
        })
        yield* logRequestStats("Massive", yield* (yield* MassiveRest).stats)
        return { found, report }
      }).pipe(Effect.provide(backfillLayer(config)), Effect.provideService(AppConfig, config))
      for (const underlying of underlyings) {
        const d = found.get(underlying)
        if (d === undefined)
          yield* Console.log(
            `${underlying} ${opts.date}: no official open and no per-second bar; no contracts tracked (recorded empty).`
          )
        else for (const line of discoveryLines(d)) yield* Console.log(line)
      }
      yield* Console.log(summaryLine(report))
      if (report.failed.length > 0) return yield* new BackfillIncomplete({ failed: report.failed })
    })
).pipe(
  Command.withDescription(
    "Discover the option contracts tracked on a day: every call and put whose strike lies within ±1% of the underlying's official open, expiring from that day to options.max_dte calendar days later (the chain as of that day). Prints them and stores them in option_contracts (lake, SQL, checkpoints); a rerun replaces the day's contracts of those underlyings."
  )
)
