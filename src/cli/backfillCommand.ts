/** `tapehouse backfill`: fill history for a dataset, symbols and dates from the vendor's REST API. */
import { Command, Options } from "@effect/cli"
import { Clock, Console, Effect, Option } from "effect"
import { calendarOf } from "../calendar/sessionPolicy.js"
import { type DatasetName, datasetHelp, datasetNames, entryOf, withAlongside } from "../domain/datasets.js"
import { BackfillIncomplete, UsageError } from "../domain/errors.js"
import { isTicker, normalizeTicker } from "../domain/tickers.js"
import { StatusLine } from "../monitor/StatusLine.js"
import type * as Backfill from "../runners/backfill.js"
import { ESTIMATE_AFTER_DAYS, estimateBackfill } from "../runners/estimate.js"
import { emptyWarnings, estimateLine, interruptedLines, progressLine, summaryLine } from "./display.js"
import { receivedSignal } from "./exitCode.js"
import { backfillLayer } from "./layers.js"
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

export const options = {
  dataset: choiceOption("dataset", datasetNames).pipe(
    Options.withDescription(`Dataset to fill (folder and SQL table name). ${datasetHelp()}.`)
  ),
  symbols: Options.text("symbols").pipe(
    Options.withDescription(
      "Comma-separated tickers, e.g. SPY,QQQ or I:VIX (upper-cased: spy means SPY). Required, except for news."
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
  )
}

/**
 * The instruments of the run, from the option the dataset names them with (`--symbols`, or
 * `--tickers` for news); the other one is refused rather than ignored.
 */
const instrumentsOption = (opts: {
  readonly dataset: DatasetName
  readonly symbols: Option.Option<string>
  readonly tickers: Option.Option<string>
}) =>
  Effect.gen(function* () {
    const wanted = entryOf(opts.dataset).instruments
    const [given, other] =
      wanted.option === "tickers" ? [opts.tickers, opts.symbols] : [opts.symbols, opts.tickers]
    const otherName = wanted.option === "tickers" ? "--symbols" : "--tickers"
    if (Option.isSome(other))
      return yield* new UsageError({
        detail: `${otherName} does not apply to ${opts.dataset}; name its instruments with --${wanted.option}, e.g. --${wanted.option} ${wanted.example}.`
      })
    if (Option.isNone(given))
      return yield* new UsageError({
        detail: `${opts.dataset} needs --${wanted.option}, e.g. --${wanted.option} ${wanted.example}.`
      })
    return yield* parseSymbols(given.value, `--${wanted.option}`)
  })

/** The command line as typed, for "run it again to resume": `npx tapehouse backfill …`. */
const commandLine = (): string =>
  [
    "npx tapehouse",
    ...process.argv.slice(2).map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`))
  ].join(" ")

export const backfillCommand = Command.make("backfill", options, (opts) =>
  Effect.gen(function* () {
    const global = yield* root
    const symbols = yield* instrumentsOption(opts)
    if (Option.isSome(opts.rateLimit) && opts.rateLimit.value < 0)
      return yield* new UsageError({
        detail: `--rate-limit ${opts.rateLimit.value} is negative; expected requests per minute ≥ 0 (0 = no limit).`
      })
    const loaded = yield* resolveConfig(global)
    const config = Option.isSome(opts.rateLimit)
      ? { ...loaded, massive: { ...loaded.massive, rateLimitPerMinute: opts.rateLimit.value } }
      : loaded
    yield* prepareDataDir(config)
    // The dataset, then those written alongside it from the same vendor data (news → news_sentiment).
    const failed: Array<Backfill.BackfillReport["failed"][number]> = []
    for (const name of withAlongside([opts.dataset])) {
      const entry = entryOf(name)
      const dataset = entry.dataset
      // Loaded here, not at start: `--help` and the other commands do not need them.
      const [Backfill, feedModule, { MassiveRest }, { MarketCalendar }] = yield* Effect.promise(() =>
        Promise.all([
          import("../runners/backfill.js"),
          entry.feed(),
          import("../sources/massive/MassiveRest.js"),
          import("../calendar/MarketCalendar.js")
        ])
      )

      let lastProgress: Backfill.BackfillProgress | undefined
      const { report, requests } = yield* Effect.gen(function* () {
        const source = yield* feedModule.make
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
        const line = yield* StatusLine
        const rest = yield* MassiveRest
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
        const requests = yield* rest.stats
        yield* logRequestStats("Massive", requests)
        return { report, requests }
      }).pipe(
        // Ctrl-C or SIGTERM: say what is kept and how to go on (the exit code says it was interrupted).
        Effect.onInterrupt(() =>
          Effect.forEach(
            interruptedLines(name, receivedSignal(), lastProgress, commandLine()),
            (l) => Console.error(l),
            { discard: true }
          )
        ),
        Effect.provide(backfillLayer(config))
      )
      for (const closed of report.closedDays)
        if (!closed.reason.startsWith("weekend"))
          yield* Console.log(`skipped ${closed.date}: market closed (${closed.reason})`)
      if (report.tradingDays === 0)
        yield* Console.log(`no trading days between ${opts.from} and ${opts.to}; nothing to do.`)
      else if (report.committed.length === 0 && report.failed.length === 0)
        yield* Console.log(
          `all ${report.alreadyDone.length + report.acceptedEmpty.length} instrument-day(s) already done; nothing fetched (use --overwrite to refetch).`
        )
      yield* Console.log(withThrottleNote(summaryLine(report), requests))
      for (const warning of emptyWarnings(report)) yield* Console.log(warning)
      for (const f of report.failed) failed.push(f)
    }
    if (failed.length > 0) return yield* new BackfillIncomplete({ failed })
  })
).pipe(
  Command.withDescription(
    "Backfill history through the vendor's REST API into the lake and SQL. Days already done are skipped; a crash and rerun gives the same lake; Ctrl-C or SIGTERM keeps what is committed, says how to resume and exits 130 or 143."
  )
)
