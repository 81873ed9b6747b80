/** `tapehouse backfill`: fill history for a dataset, symbols and dates from the vendor's REST API. */
import { Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import { datasetNames } from "../domain/datasets.js"
import { BackfillIncomplete, UsageError } from "../domain/errors.js"
import type * as Backfill from "../runners/backfill.js"
import { progressLine, summaryLine } from "./display.js"
import { backfillLayer } from "./layers.js"
import { choiceOption, dateOption, integerOption } from "./optionTypes.js"
import { root } from "./root.js"
import { prepareDataDir, resolveConfig } from "./setup.js"

const SYMBOL_RE = /^[A-Za-z0-9.:_-]{1,32}$/

/** Parses `SPY,QQQ` into distinct tickers, keeping the order given. */
export const parseSymbols = (text: string) =>
  Effect.gen(function* () {
    const symbols = [
      ...new Set(
        text
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s.length > 0)
      )
    ]
    if (symbols.length === 0)
      return yield* new UsageError({ detail: "--symbols is empty; expected a comma list such as SPY,QQQ." })
    const bad = symbols.find((s) => !SYMBOL_RE.test(s))
    if (bad !== undefined)
      return yield* new UsageError({
        detail: `--symbols has ${JSON.stringify(bad)}, which is not a ticker; expected letters, digits, '.', ':', '_' or '-'.`
      })
    return symbols
  })

export const options = {
  dataset: choiceOption("dataset", datasetNames).pipe(
    Options.withDescription("Dataset to fill (folder and SQL table name).")
  ),
  symbols: Options.text("symbols").pipe(
    Options.withDescription(
      "Comma-separated tickers, e.g. SPY,QQQ (case-sensitive, as the vendor spells them)."
    )
  ),
  from: dateOption("from").pipe(
    Options.withDescription("First day, YYYY-MM-DD (inclusive). Non-trading days are skipped.")
  ),
  to: dateOption("to").pipe(Options.withDescription("Last day, YYYY-MM-DD (inclusive).")),
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

export const backfillCommand = Command.make("backfill", options, (opts) =>
  Effect.gen(function* () {
    const global = yield* root
    const symbols = yield* parseSymbols(opts.symbols)
    if (Option.isSome(opts.rateLimit) && opts.rateLimit.value < 0)
      return yield* new UsageError({
        detail: `--rate-limit ${opts.rateLimit.value} is negative; expected requests per minute ≥ 0 (0 = no limit).`
      })
    const loaded = yield* resolveConfig(global)
    const config = Option.isSome(opts.rateLimit)
      ? { ...loaded, massive: { ...loaded.massive, rateLimitPerMinute: opts.rateLimit.value } }
      : loaded
    yield* prepareDataDir(config)
    // Loaded here, not at start: `--help` and the other commands do not need them.
    const [Backfill, StockBarsSource] = yield* Effect.promise(() =>
      Promise.all([import("../runners/backfill.js"), import("../sources/massive/stockBarsSource.js")])
    )

    const tty = process.stderr.isTTY === true
    const onProgress = (p: Backfill.BackfillProgress) => {
      if (tty) process.stderr.write(`\r\x1b[2K${progressLine(opts.dataset, p)}`)
    }
    const report = yield* Effect.gen(function* () {
      const source = yield* StockBarsSource.make
      return yield* Backfill.run(
        source,
        {
          symbols,
          from: opts.from,
          to: opts.to,
          overwrite: opts.overwrite,
          concurrency: config.backfill.concurrency
        },
        onProgress
      )
    }).pipe(
      Effect.ensuring(Effect.sync(() => tty && process.stderr.write("\n"))),
      Effect.provide(backfillLayer(config))
    )
    for (const closed of report.closedDays)
      if (!closed.reason.startsWith("weekend"))
        yield* Console.log(`skipped ${closed.date}: market closed (${closed.reason})`)
    if (report.tradingDays === 0)
      yield* Console.log(`no trading days between ${opts.from} and ${opts.to}; nothing to do.`)
    else if (report.committed.length === 0 && report.failed.length === 0)
      yield* Console.log(
        `all ${report.alreadyDone.length} instrument-day(s) already done; nothing fetched (use --overwrite to refetch).`
      )
    yield* Console.log(summaryLine(report))
    if (report.failed.length > 0) return yield* new BackfillIncomplete({ failed: report.failed })
  })
).pipe(
  Command.withDescription(
    "Backfill history through the vendor's REST API into the lake and SQL. Days already done are skipped; a crash and rerun gives the same lake."
  )
)
