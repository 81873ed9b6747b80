/**
 * Builds one underlying's consolidated day from the lake and commits it: reads the day's input
 * partitions (merged part files and base, as readers see them), computes `options_enriched_1s` and
 * `underlying_features_1s` (optionsEnrichment.ts, underlyingFeatures.ts), and writes each through
 * the sinks as a staged `replace` of the underlying's rows, checkpointed per (underlying, day) only
 * after every sink committed. The computation is deterministic, so a rerun writes the same bytes.
 */
import { Effect } from "effect"
import { nyseDay } from "../calendar/nyseRules.js"
import { AppConfig, dividendYieldOf } from "../config/AppConfig.js"
import type { OptionEnriched, UnderlyingFeature } from "../domain/Consolidated.js"
import { compareByKey, type Dataset } from "../domain/Dataset.js"
import { derivedDatasets, registry } from "../domain/datasets.js"
import type { SinkError, StorageError } from "../domain/errors.js"
import { IndexBars1s } from "../domain/IndexBar.js"
import { News, NewsSentiment } from "../domain/News.js"
import { OptionBars1s } from "../domain/OptionBar.js"
import { StockBars1s } from "../domain/StockBar.js"
import { Checkpoints, dayKey } from "../pipeline/Checkpoints.js"
import { commitStaged, fileEntryOf, recoverStaged } from "../pipeline/stagedCommit.js"
import { readPartition, readPartitionColumns } from "../sinks/compact.js"
import { type ColumnarRows, columnsFromRows, rowsFromColumns } from "../sinks/parquetColumns.js"
import { type PartitionWrite, Sinks } from "../sinks/Sink.js"
import { seriesOf } from "./asOf.js"
import { enrichOptionColumns, optionBarColumns } from "./optionsEnrichment.js"
import { type NewsEvent, underlyingFeatures } from "./underlyingFeatures.js"

/** The index whose value every row carries. */
export const VIX = "I:VIX"

/** One input of an underlying's consolidated day: a dataset and the instrument its checkpoint is kept under. */
export interface DayInput {
  readonly dataset: string
  readonly instrument: string
}

/** What a consolidated day of `underlying` is built from. */
export const inputsOf = (underlying: string): ReadonlyArray<DayInput> => [
  { dataset: registry.stock_bars_1s.dataset.name, instrument: underlying },
  { dataset: registry.option_contracts.dataset.name, instrument: underlying },
  { dataset: registry.option_bars_1s.dataset.name, instrument: underlying },
  { dataset: registry.index_bars_1s.dataset.name, instrument: VIX },
  { dataset: registry.news.dataset.name, instrument: underlying },
  { dataset: registry.news_sentiment.dataset.name, instrument: underlying }
]

/** Input datasets, by name: what a backfill or stream of one of them may complete. */
export const INPUT_DATASETS: ReadonlySet<string> = new Set(inputsOf("X").map((i) => i.dataset))

/**
 * The underlyings a backfill or stream of `dataset` for `instruments` may complete a day of: the
 * instruments themselves, or every configured underlying for an input every underlying shares (VIX).
 */
export const underlyingsConcerned = (
  dataset: string,
  instruments: ReadonlyArray<string>,
  configured: ReadonlyArray<string>
): ReadonlyArray<string> => {
  const probe = "\u0000"
  return inputsOf(probe).some((i) => i.dataset === dataset && i.instrument !== probe)
    ? configured
    : instruments
}

/** A checkpoint status that means the input's day is complete (`empty`: the vendor had nothing). */
const complete = (status: string | undefined) =>
  status === "done" || status === "streamed" || status === "empty"

/** The inputs of (underlying, date) the checkpoints do not hold as complete, as `dataset (instrument: status)`. */
export const missingInputs = (underlying: string, date: string) =>
  Effect.gen(function* () {
    const checkpoints = yield* Checkpoints
    const missing: Array<string> = []
    for (const input of inputsOf(underlying)) {
      const status = (yield* checkpoints.days(input.dataset)).get(dayKey(input.instrument, date))?.status
      if (!complete(status)) missing.push(`${input.dataset} ${input.instrument} (${status ?? "not filled"})`)
    }
    return missing
  })

export interface ConsolidatedDay {
  readonly underlying: string
  readonly date: string
  readonly optionRows: number
  readonly featureRows: number
  /** Files written (relative to the data dir), when the Parquet sink is on. */
  readonly files: ReadonlyArray<string>
}

/**
 * `rows` in key order, as a partition write takes them. They come out of the computation in that
 * order already (the lake's rows are read sorted by key), so this checks in one pass and sorts only
 * when they are not.
 */
const sortedByKey = <A>(dataset: Dataset<A>, rows: Array<A>): Array<A> => {
  const compare = compareByKey(dataset)
  for (let i = 1; i < rows.length; i++) if (compare(rows[i - 1]!, rows[i]!) > 0) return rows.sort(compare)
  return rows
}

/** `sortedByKey` for the options' columns: checked on (symbol, ts), sorted through rows when out of order. */
const optionsSortedByKey = (table: ColumnarRows): ColumnarRows => {
  const dataset = derivedDatasets.optionsEnriched
  const at = (name: string) => table.columns[dataset.columns.findIndex((c) => c.name === name)]
  const symbol = at("symbol")
  const ts = at("ts")
  if (symbol?.kind !== "string" || ts?.kind !== "int")
    throw new Error("options_enriched_1s: no symbol or ts column")
  let sorted = true
  for (let i = 1; i < table.length && sorted; i++) {
    const a = symbol.values[i - 1]!
    const b = symbol.values[i]!
    sorted = a < b || (a === b && ts.values[i - 1]! <= ts.values[i]!)
  }
  if (sorted) return table
  const rows = sortedByKey(dataset, rowsFromColumns(dataset.columns, table) as Array<OptionEnriched>)
  return {
    length: rows.length,
    columns: columnsFromRows(dataset.columns, rows as unknown as ReadonlyArray<Record<string, unknown>>)
  }
}

/** The consolidated rows of (underlying, date) from the lake. Reads only; commits nothing. */
export const computeDay = (dataDir: string, underlying: string, date: string) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    const [stock, options, index, news, sentiment] = yield* Effect.all([
      readPartition(dataDir, StockBars1s, date),
      readPartitionColumns(dataDir, OptionBars1s, date),
      readPartition(dataDir, IndexBars1s, date),
      readPartition(dataDir, News, date),
      readPartition(dataDir, NewsSentiment, date)
    ])
    const bars = stock.filter((b) => b.symbol === underlying)
    const underlyingSeries = seriesOf(
      bars,
      (b) => b.ts,
      (b) => b.close
    )
    const vix = seriesOf(
      index.filter((b) => b.symbol === VIX),
      (b) => b.ts,
      (b) => b.close
    )
    const optionRows = enrichOptionColumns(optionBarColumns(options, underlying), {
      underlying: underlyingSeries,
      vix,
      rate: config.analytics.riskFreeRate,
      dividendYield: dividendYieldOf(config, underlying)
    })
    const session = nyseDay(date)
    const events: Array<NewsEvent> = [
      ...news
        .filter((a) => a.tickers.includes(underlying))
        .map((a): NewsEvent => ({ publishedMs: a.published_utc, article: 1, sentiment: 0 })),
      ...sentiment
        .filter((s) => s.ticker === underlying && s.sentiment !== "neutral")
        .map(
          (s): NewsEvent => ({
            publishedMs: s.published_utc,
            article: 0,
            sentiment: s.sentiment === "positive" ? 1 : -1
          })
        )
    ]
    const featureRows =
      session._tag === "closed"
        ? []
        : underlyingFeatures({
            symbol: underlying,
            bars,
            openMs: session.openMs,
            closeMs: session.closeMs,
            vix,
            news: events
          })
    return {
      options: optionsSortedByKey(optionRows),
      features: sortedByKey<UnderlyingFeature>(derivedDatasets.underlyingFeatures, featureRows)
    }
  })

/**
 * Commits a derived dataset's day of the underlying, staged, then checkpoints it. Rows given as
 * columns become row objects only if a sink reads them (the SQL sink; the Parquet sink encodes the
 * columns).
 */
const commitDerived = <A>(
  dataset: Dataset<A>,
  underlying: string,
  date: string,
  content: ReadonlyArray<A> | ColumnarRows
) =>
  Effect.gen(function* () {
    const sinks = yield* Sinks
    const checkpoints = yield* Checkpoints
    const scope = { dataset, date, instruments: [underlying], mode: "replace" as const, staged: true }
    let built: ReadonlyArray<A> | undefined
    const write: PartitionWrite<A> =
      "columns" in content
        ? {
            ...scope,
            columns: content,
            get rows() {
              built ??= rowsFromColumns(dataset.columns, content) as unknown as ReadonlyArray<A>
              return built
            }
          }
        : { ...scope, rows: content }
    return yield* commitStaged(sinks, checkpoints, write, (results) =>
      Effect.sync(() => {
        const at = new Date().toISOString()
        return [
          {
            kind: "day" as const,
            dataset: dataset.name,
            symbol: underlying,
            date,
            status: "done" as const,
            rows: content.length,
            at
          },
          ...fileEntryOf(dataset.name, date, results, at)
        ]
      })
    )
  })

/** Builds and commits (underlying, date). Resolves what a crash left staged first. */
export const consolidateDay = (
  underlying: string,
  date: string
): Effect.Effect<ConsolidatedDay, SinkError | StorageError, AppConfig | Sinks | Checkpoints> =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    const sinks = yield* Sinks
    const checkpoints = yield* Checkpoints
    yield* recoverStaged(sinks, checkpoints, derivedDatasets.optionsEnriched)
    yield* recoverStaged(sinks, checkpoints, derivedDatasets.underlyingFeatures)
    const { options, features } = yield* computeDay(config.dataDir, underlying, date)
    const a = yield* commitDerived(derivedDatasets.optionsEnriched, underlying, date, options)
    const b = yield* commitDerived(derivedDatasets.underlyingFeatures, underlying, date, features)
    const files = [...a, ...b].flatMap((r) => (r.file === undefined ? [] : [r.file]))
    return { underlying, date, optionRows: options.length, featureRows: features.length, files }
  }).pipe(Effect.withSpan("consolidateDay", { attributes: { underlying, date } }))
