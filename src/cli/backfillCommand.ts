/** `tapehouse backfill`: fill history for a dataset, symbols and dates from the vendor's REST API. */
import { Command, Options } from "@effect/cli"
import { Clock, Console, Effect, Layer, Option } from "effect"
import { calendarOf } from "../calendar/sessionPolicy.js"
import { AppConfig } from "../config/AppConfig.js"
import {
  type DatasetEntry,
  type DatasetName,
  datasetHelp,
  datasetNames,
  entryOf,
  withAlongside
} from "../domain/datasets.js"
import { BackfillIncomplete, UsageError } from "../domain/errors.js"
import { isTicker, normalizeTicker } from "../domain/tickers.js"
import type { ErrorEntry } from "../monitor/ErrorLog.js"
import { StatusLine } from "../monitor/StatusLine.js"
import type * as Backfill from "../runners/backfill.js"
import { ESTIMATE_AFTER_DAYS, estimateBackfill } from "../runners/estimate.js"
import { emptyWarnings, estimateLine, interruptedLines, progressLine, summaryLine } from "./display.js"
import { errorsTable } from "./errorsView.js"
import { receivedSignal } from "./exitCode.js"
import { backfillLayer } from "./layers.js"
import { metricsPort, withMetricsServer } from "./metricsOption.js"
import { choiceOption, dateOption, integerOption } from "./optionTypes.js"
import { logRequestStats, withThrottleNote } from "./requestStats.js"
import { root } from "./root.js"
import { prepareDataDir, resolveConfig } from "./setup.js"

/** Parses `spy,QQQ` into distinct normalised tickers (`SPY`, `QQQ`), keeping the order given. */
export const parseSymbols = (text: string, option = "--symbols") =>
  Effect.gen(function* () {
    const symbols = [
      ...new Set(
        text
          .split(",")
          .map(normalizeTicker)
          .filter((s) => s.length > 0)
      )
    ]
    if (symbols.length === 0)
      return yield* new UsageError({ detail: `${option} is empty; expected a comma list such as SPY,QQQ.` })
    const bad = symbols.find((s) => !isTicker(s))
    if (bad !== undefined)
      return yield* new UsageError({
        detail: `${option} has ${JSON.stringify(bad)}, which is not a ticker; expected letters, digits, '.', ':', '_' or '-'.`
      })
    return symbols
  })

/** The options that name a backfill's instruments; a dataset's registry entry says which it takes. */
const INSTRUMENT_OPTIONS = ["symbols", "underlying", "tickers"] as const

/**
 * The instruments of a backfill of `name`, from the option its registry entry names (`--symbols`,
 * `--underlying` or `--tickers`); another one given is refused rather than ignored.
 */
export const instrumentsOf = (
  name: DatasetName,
  given: { readonly [K in (typeof INSTRUMENT_OPTIONS)[number]]: Option.Option<string> }
) =>
  Effect.gen(function* () {
    const { option, example } = entryOf(name).instruments
    const other = INSTRUMENT_OPTIONS.find((o) => o !== option && Option.isSome(given[o]))
    if (other !== undefined)
      return yield* new UsageError({
        detail: `--${other} does not apply to ${name}; it takes --${option}, e.g. --${option} ${example}.`
      })
    const wanted = given[option]
    if (Option.isNone(wanted))
      return yield* new UsageError({
        detail: `${name} needs --${option}, e.g. --${option} ${example}.`
      })
    return yield* parseSymbols(wanted.value, `--${option}`)
  })

/** The registry names of `entry`'s `fillsFirst`, checked (a wrong name is a bug in the registry). */
const fillsFirstOf = (entry: DatasetEntry<unknown>): ReadonlyArray<DatasetName> =>
  (entry.fillsFirst ?? []).map((n) => {
    const name = datasetNames.find((d) => d === n)
    if (name === undefined) throw new Error(`registry: fillsFirst names ${n}, which is not a dataset`)
    return name
  })

export const options = {
  dataset: choiceOption("dataset", datasetNames).pipe(
    Options.withDescription(`Dataset to fill (folder and SQL table name). ${datasetHelp()}.`)
  ),
  symbols: Options.text("symbols").pipe(
    Options.withDescription(
      "Comma-separated tickers, e.g. SPY,QQQ or I:VIX (upper-cased: spy means SPY). For datasets of tickers (stock_bars_1s, index_bars_1s)."
    ),
    Options.optional
  ),
  tickers: Options.text("tickers").pipe(
    Options.withDescription(
      "news (and news_sentiment, written with it): the articles mentioning these tickers, e.g. SPY,QQQ. Required for news."
    ),
    Options.optional
  ),
  from: dateOption("from").pipe(
    Options.withDescription("First day, YYYY-MM-DD (inclusive). Non-trading days are skipped.")
  ),
  to: dateOption("to").pipe(Options.withDescription("Last day, YYYY-MM-DD (inclusive).")),
  acceptEmpty: Options.boolean("accept-empty").pipe(
    Options.withDescription(
      "Accept instrument-days the vendor returned no rows for (recorded empty) as they are: do not retry them. Without it they are retried on every run."
    )
  ),
  overwrite: Options.boolean("overwrite").pipe(
    Options.withDescription(
      "Refetch days already done and rewrite their partitions (history correction). Without it, done days are skipped."
    )
  ),
  rateLimit: integerOption("rate-limit", {
    min: 0,
    expected: "requests per minute, 0 or more (0 = no limit)"
  }).pipe(
    Options.withDescription(
      "Vendor requests per minute (0 = no limit). Default: rate_limit_per_minute in sources.yaml (5, the free tier)."
    ),
    Options.optional
  ),
  underlying: Options.text("underlying").pipe(
    Options.withDescription(
      "Comma-separated underlyings whose tracked option chain is backfilled, e.g. SPY (option_contracts, option_bars_1s): each day's contracts are discovered (strikes within 1% of the official open, expiring within options.max_dte days) and stored in option_contracts."
    ),
    Options.optional
  ),
  maxDte: integerOption("max-dte", { min: 0, max: 3660, expected: "days, 0 to 3660" }).pipe(
    Options.withDescription(
      "option_greeks_1m: keep, for each day D, the expirations from D to D + this many calendar days. Default: sources.thetadata.max_dte (60)."
    ),
    Options.optional
  ),
  metricsPort
}

/** The command line as typed, for "run it again to resume": `npx tapehouse backfill …`. */
const commandLine = (): string =>
  [
    "npx tapehouse",
    ...process.argv.slice(2).map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`))
  ].join(" ")

/**
 * The feed of `entry`, built with the source service its vendor needs: Massive's REST client (in
 * the backfill layer), or the ThetaData terminal's client, loaded only for its datasets.
 */
const feedOf = (entry: DatasetEntry<unknown>) => {
  if (entry.vendor === "ThetaData") {
    const load = entry.feed
    return Effect.promise(() => Promise.all([load(), import("../sources/thetadata/ThetaTerminal.js")])).pipe(
      // The terminal's client lives as long as the run's scope (its HTTP connections close with it).
      Effect.flatMap(([module, ThetaTerminal]) =>
        Effect.flatMap(Layer.build(ThetaTerminal.Live), (context) => Effect.provide(module.make, context))
      )
    )
  }
  const load = entry.feed
  return Effect.flatMap(
    Effect.promise(() => load()),
    (module) => module.make
  )
}

export const backfillCommand = Command.make("backfill", options, (opts) =>
  Effect.gen(function* () {
    const global = yield* root
    const symbols = yield* instrumentsOf(opts.dataset, opts)
    if (Option.isSome(opts.rateLimit) && opts.rateLimit.value < 0)
      return yield* new UsageError({
        detail: `--rate-limit ${opts.rateLimit.value} is negative; expected requests per minute ≥ 0 (0 = no limit).`
      })
    const resolved = yield* resolveConfig(global)
    if (Option.isSome(opts.maxDte) && entryOf(opts.dataset).vendor !== "ThetaData")
      return yield* new UsageError({
        detail: `--max-dte applies to option_greeks_1m; ${opts.dataset} takes its expirations from options.max_dte in settings.yaml.`
      })
    const loaded = Option.isSome(opts.maxDte)
      ? { ...resolved, thetadata: { ...resolved.thetadata, maxDte: opts.maxDte.value } }
      : resolved
    const withRate = Option.isSome(opts.rateLimit)
      ? { ...loaded, massive: { ...loaded.massive, rateLimitPerMinute: opts.rateLimit.value } }
      : loaded
    // Massive's holiday API is for Massive's datasets; another vendor's days come from the NYSE rules.
    const config =
      entryOf(opts.dataset).vendor === "Massive"
        ? withRate
        : { ...withRate, massive: { ...withRate.massive, calendarFromApi: false } }
    yield* prepareDataDir(config)
    // Datasets the one asked for fills first (option bars: the contracts of their days), then it.
    // and those written alongside it from the same vendor data (news → news_sentiment).
    const names = withAlongside([...fillsFirstOf(entryOf(opts.dataset)), opts.dataset])
    const [Backfill, { MassiveRest }, { MarketCalendar }, ErrorLog] = yield* Effect.promise(() =>
      Promise.all([
        // Loaded here, not at start: `--help` and the other commands do not need them.
        import("../runners/backfill.js"),
        import("../sources/massive/MassiveRest.js"),
        import("../calendar/MarketCalendar.js"),
        import("../monitor/ErrorLog.js")
      ])
    )

    let lastProgress: Backfill.BackfillProgress | undefined
    let running: DatasetName = opts.dataset
    /** This run's errors (failed days, rejects), for the table that ends the run. */
    let runErrors: ReadonlyArray<ErrorEntry> = []
    const { reports, requests, consolidated } = yield* Effect.gen(function* () {
      const errors = yield* ErrorLog.ErrorLog
      const line = yield* StatusLine
      const rest = yield* MassiveRest
      const reports: Array<Backfill.BackfillReport> = []
      for (const name of names) {
        running = name
        lastProgress = undefined
        const entry = entryOf(name)
        const dataset = entry.dataset
        const source = yield* feedOf(entry)
        // The feed's own hours: an always-open dataset (news) has a day every calendar day.
        const calendar = calendarOf(source.sessionPolicy, yield* MarketCalendar)
        // Only closed sessions have a history to fetch; refusing the rest keeps them from passing for done.
        const unclosed = Backfill.firstUnclosedDay(
          calendar,
          opts.from,
          opts.to,
          yield* Clock.currentTimeMillis
        )
        if (unclosed !== undefined)
          return yield* new UsageError({
            detail: `${unclosed.date === opts.to ? "--to" : "the range"} ${opts.from}..${opts.to} includes ${unclosed.date}, and ${unclosed.why}. Backfill takes closed sessions only; stream the live one (tapehouse stream).`
          })
        const onPlan = (plan: Backfill.BackfillPlan) =>
          plan.tradingDays > ESTIMATE_AFTER_DAYS && dataset.sizing !== undefined
            ? Console.log(
                estimateLine(
                  dataset.name,
                  estimateBackfill({
                    sizing: dataset.sizing,
                    tradingDays: plan.workDays,
                    instruments: plan.workDays === 0 ? 0 : plan.instrumentDays / plan.workDays,
                    pageLimit: config.massive.pageLimit,
                    rateLimitPerMinute: config.massive.rateLimitPerMinute,
                    parquet: config.parquet.enabled,
                    sql: !config.sql.enabled ? "none" : Option.isSome(config.sql.url) ? "server" : "embedded"
                  })
                )
              )
            : Effect.void
        const report = yield* Backfill.run(
          source,
          {
            symbols,
            from: opts.from,
            to: opts.to,
            overwrite: opts.overwrite,
            acceptEmpty: opts.acceptEmpty,
            concurrency: config.backfill.concurrency
          },
          (p) => {
            lastProgress = p
            line.show(progressLine(name, p))
          },
          onPlan
        )
        reports.push(report)
        // A dataset filled first that did not complete leaves the one asked for undone.
        if (report.failed.length > 0) break
      }
      const requests = yield* rest.stats
      if (names.some((n) => entryOf(n).vendor === "Massive")) yield* logRequestStats("Massive", requests)
      yield* errors.record(
        reports.flatMap((r) =>
          r.failed.map((f) => ({
            source: r.dataset,
            kind: "backfill-day",
            subject: `${f.symbol} ${f.date}${f.unit === undefined ? "" : ` ${f.unit}`}`,
            message: f.reason
          }))
        )
      )
      runErrors = yield* errors.recorded
      // A backfill that completed every input of a day consolidates it (none when a dataset failed).
      const { consolidateCompleted } = yield* Effect.promise(() => import("../consolidate/afterInputs.js"))
      const consolidated = reports.some((r) => r.failed.length > 0)
        ? []
        : yield* consolidateCompleted(
            reports.map((r) => ({
              dataset: r.dataset,
              instruments: symbols,
              dates: [...new Set(r.committed.map((c) => c.date))]
            })),
            config.options.underlyings
          )
      return { reports, requests, consolidated }
    }).pipe(
      Effect.scoped,
      // A failure that stops the run (auth, storage) is an error too.
      Effect.tapError((error) =>
        Effect.flatMap(ErrorLog.ErrorLog, (errors) =>
          errors.record([{ source: running, kind: "backfill-run", message: error.message }])
        )
      ),
      // Ctrl-C or SIGTERM: say what is kept and how to go on (the exit code says it was interrupted).
      Effect.onInterrupt(() =>
        Effect.forEach(
          interruptedLines(running, receivedSignal(), lastProgress, commandLine()),
          (l) => Console.error(l),
          { discard: true }
        )
      ),
      Effect.provide(backfillLayer(config)),
      Effect.provideService(AppConfig, config),
      withMetricsServer(opts.metricsPort, config)
    )
    const last = reports[reports.length - 1]!
    for (const closed of last.closedDays)
      if (!closed.reason.startsWith("weekend"))
        yield* Console.log(`skipped ${closed.date}: market closed (${closed.reason})`)
    if (last.tradingDays === 0)
      yield* Console.log(`no trading days between ${opts.from} and ${opts.to}; nothing to do.`)
    for (const report of reports) {
      if (report.tradingDays === 0) continue
      if (report.committed.length === 0 && report.failed.length === 0)
        yield* Console.log(
          `all ${report.alreadyDone.length + report.acceptedEmpty.length} instrument-day(s) already done; nothing fetched (use --overwrite to refetch).`
        )
      yield* Console.log(withThrottleNote(summaryLine(report), requests))
      for (const warning of emptyWarnings(report)) yield* Console.log(warning)
    }
    for (const line of consolidated) yield* Console.log(line)
    if (runErrors.length > 0) {
      const { groupErrors } = ErrorLog
      yield* Console.log("errors of this run (all runs: npx tapehouse errors):")
      yield* Console.log(errorsTable(groupErrors(runErrors)))
    }
    if (last.failed.length > 0) return yield* new BackfillIncomplete({ failed: last.failed })
  })
).pipe(
  Command.withDescription(
    "Backfill history through the vendor's REST API into the lake and SQL. Days already done are skipped; a crash and rerun gives the same lake; Ctrl-C or SIGTERM keeps what is committed, says how to resume and exits 130 or 143."
  )
)
