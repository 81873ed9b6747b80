/**
 * The registry: every dataset tapehouse knows, by name. It is the one place where the CLI, the SQL
 * migrations and the runners look a dataset up: its description (`Dataset`), the vendor it comes
 * from, what a backfill's unit of work is, and its feed, loaded only by the commands that need it.
 *
 * The runners are generic over a dataset's record type `A`, which only ties a feed's parts to each
 * other; here, at the dispatch point, it is erased (`Feed<unknown>`), once.
 */
import type { Effect } from "effect"
import type { SessionPolicy } from "../calendar/sessionPolicy.js"
import type { AppConfig, AppConfigShape } from "../config/AppConfig.js"
import type { Feed } from "../runners/Feed.js"
import type { LiveFeed } from "../runners/LiveFeed.js"
import type { MassiveRest } from "../sources/massive/MassiveRest.js"
import type { MassiveSocket } from "../sources/massive/MassiveSocket.js"
import type { ThetaTerminal } from "../sources/thetadata/ThetaTerminal.js"
import {
  type OptionEnriched,
  OptionsEnriched1s,
  type UnderlyingFeature,
  UnderlyingFeatures1s
} from "./Consolidated.js"
import { Continuity, type ContinuityRow } from "./Continuity.js"
import type { Dataset } from "./Dataset.js"
import { type IndexBar, IndexBars1s } from "./IndexBar.js"
import { News, type NewsRecord, NewsSentiment, type NewsSentimentRecord } from "./News.js"
import { type OptionBar, OptionBars1s } from "./OptionBar.js"
import { type OptionContractRow, OptionContracts } from "./OptionContract.js"
import { type OptionGreek, OptionGreeks1m } from "./OptionGreek.js"
import { SchemaDrift, type SchemaDriftRow } from "./SchemaDrift.js"
import { type StockBar, StockBars1s } from "./StockBar.js"

/** A feed with its live side. */
export type LiveCapableFeed<A> = Feed<A> & { readonly live: LiveFeed<A> }

/**
 * How a Massive module builds a dataset's feed: REST only (backfill), or with its live side (stream).
 * A feed may read its dataset's settings (`options.max_dte`) from `AppConfig`.
 */
export interface FeedModule<A> {
  readonly make: Effect.Effect<Feed<A>, never, MassiveRest | AppConfig>
  readonly makeLive?: Effect.Effect<LiveCapableFeed<A>, never, MassiveRest | MassiveSocket | AppConfig>
}

/** How a ThetaData module builds a dataset's feed, through the terminal (backfill only). */
export interface ThetaFeedModule<A> {
  readonly make: Effect.Effect<Feed<A>, never, ThetaTerminal | AppConfig>
  /** Not captured live: `stream` refuses its datasets. */
  readonly makeLive?: never
}

/**
 * Where a dataset streams and how the vendor writes its per-second aggregates. The feed subscribes
 * on that cluster, and `simulate` replays a stored day of the dataset there, written that way.
 */
export interface LiveWire {
  /** The WebSocket cluster (`/stocks`, `/indices` …). */
  readonly cluster: "stocks" | "options" | "indices"
  /** `index`: aggregates with only o/h/l/c and times, no volume keys and no `adjusted` (spec §7, §11.4). */
  readonly wire: "stock" | "index"
  /** The ticker prefix of its instruments (`I:`); none for plain stock tickers. */
  readonly prefix?: string
}

/**
 * The vendor a dataset comes from and the module that builds its feed, loaded only by the commands
 * that need it: the vendor says which source service the feed needs (MassiveRest, ThetaTerminal).
 */
export type VendorFeed<A> =
  | { readonly vendor: "Massive"; readonly feed: () => Promise<FeedModule<A>> }
  | { readonly vendor: "ThetaData"; readonly feed: () => Promise<ThetaFeedModule<A>> }

export type Vendor = VendorFeed<unknown>["vendor"]

export type DatasetEntry<A> = DatasetDescription<A> & VendorFeed<A>

export interface DatasetDescription<A> {
  readonly dataset: Dataset<A>
  /** One line for `--help` and the README. */
  readonly summary: string
  /**
   * What the instruments of a backfill's unit of work are (a value of `dataset.instrument`), and the
   * option that names them: tickers (`--symbols SPY,QQQ`), underlyings whose tracked option
   * chain is the unit (`--underlying SPY`), or the tickers news is kept for (`--tickers SPY`). A
   * feed whose days split into units (`Feed.units`: option_greeks_1m's expirations) takes them
   * per instrument-day.
   */
  readonly instruments: { readonly option: "symbols" | "underlying" | "tickers"; readonly example: string }
  /**
   * Datasets a backfill of this one fills first, for the same instruments and days, each with its
   * own checkpoints (option bars store the contracts their days tracked).
   */
  readonly fillsFirst?: ReadonlyArray<string>
  /**
   * Datasets written alongside this one from the same vendor data: a backfill or a stream of it
   * does theirs too, each through its own feed, checkpoints and tables (news → news_sentiment).
   */
  readonly alongside?: ReadonlyArray<string>
  /** `false` for a dataset only backfilled (no live feed): `stream` and `stream.datasets` refuse it. */
  readonly streamed?: false
  /**
   * Whose hours its days follow, as its feed's `sessionPolicy` says (NYSE when absent), for commands
   * that must not load the feed: `status` lists the days a range should hold.
   */
  readonly sessionPolicy?: SessionPolicy
  /** Names a stream of it: its heartbeat, spill folder and pid file (`state/…/<source>`). */
  readonly streamSource: string
  /**
   * What a stream captures when the command names no instruments: the config key (for messages)
   * and its value.
   */
  readonly streamInstruments: {
    readonly key: string
    readonly of: (config: AppConfigShape) => ReadonlyArray<string>
  }
  /** Its live feed's cluster and wire shape, when it streams as per-second aggregates. */
  readonly live?: LiveWire
}

/** `entry` with its record type erased, for dispatch by name. */
const erase = <A>(entry: DatasetEntry<A>): DatasetEntry<unknown> => entry as unknown as DatasetEntry<unknown>

/** A dataset with its record type erased, for the lists below. */
const anyDataset = <A>(dataset: Dataset<A>): Dataset<unknown> => dataset as unknown as Dataset<unknown>

/** Datasets a user backfills or streams (`--dataset`). */
export const registry = {
  stock_bars_1s: erase<StockBar>({
    dataset: StockBars1s,
    vendor: "Massive",
    summary: "per-second stock bars (Massive custom aggregates; live: A.<ticker> on /stocks)",
    instruments: { option: "symbols", example: "SPY,QQQ" },
    streamSource: "massive-stocks",
    streamInstruments: { key: "stream.symbols", of: (config) => config.stream.symbols },
    live: { cluster: "stocks", wire: "stock" },
    feed: () => import("../sources/massive/stockBarsFeed.js")
  }),
  index_bars_1s: erase<IndexBar>({
    dataset: IndexBars1s,
    vendor: "Massive",
    summary:
      "per-second index values, no volume (Massive custom aggregates of I: tickers; live: A.I:<index> on /indices)",
    instruments: { option: "symbols", example: "I:VIX" },
    streamSource: "massive-indices",
    streamInstruments: { key: "indices.symbols", of: (config) => config.indices.symbols },
    live: { cluster: "indices", wire: "index", prefix: "I:" },
    feed: () => import("../sources/massive/indexBarsFeed.js")
  }),
  option_contracts: erase<OptionContractRow>({
    dataset: OptionContracts,
    vendor: "Massive",
    summary:
      "the option contracts tracked each day: calls and puts within ±1% of the underlying's official open, expiring within options.max_dte days (Massive contracts reference as of the day)",
    instruments: { option: "underlying", example: "SPY" },
    // Not streamed itself: a stream of option_bars_1s discovers the day's contracts at the open.
    streamed: false,
    streamSource: "massive-option-contracts",
    streamInstruments: { key: "options.underlyings", of: (config) => config.options.underlyings },
    feed: () => import("../sources/massive/optionContractsFeed.js")
  }),
  option_bars_1s: erase<OptionBar>({
    dataset: OptionBars1s,
    vendor: "Massive",
    summary:
      "per-second bars of every tracked option contract of an underlying (Massive custom aggregates of O: tickers; fills option_contracts too)",
    instruments: { option: "underlying", example: "SPY" },
    fillsFirst: ["option_contracts"],
    streamSource: "massive-options",
    streamInstruments: { key: "options.underlyings", of: (config) => config.options.underlyings },
    live: { cluster: "options", wire: "stock", prefix: "O:" },
    feed: () => import("../sources/massive/optionBarsFeed.js")
  }),
  news: erase<NewsRecord>({
    dataset: News,
    vendor: "Massive",
    summary:
      "news articles mentioning the tickers, one row per article, with news_sentiment written alongside (Massive /v2/reference/news; live: polled every news.poll_interval_ms; every calendar day)",
    instruments: { option: "tickers", example: "SPY" },
    alongside: ["news_sentiment"],
    sessionPolicy: "always-open",
    streamSource: "massive-news",
    streamInstruments: { key: "news.tickers", of: (config) => config.news.tickers },
    feed: () => import("../sources/massive/newsArticlesFeed.js")
  }),
  news_sentiment: erase<NewsSentimentRecord>({
    dataset: NewsSentiment,
    vendor: "Massive",
    summary:
      "the sentiment of news articles per ticker (their insights: positive, neutral or negative, with the reasoning); written with news",
    instruments: { option: "tickers", example: "SPY" },
    sessionPolicy: "always-open",
    streamSource: "massive-news-sentiment",
    streamInstruments: { key: "news.tickers", of: (config) => config.news.tickers },
    feed: () => import("../sources/massive/newsSentimentFeed.js")
  }),
  option_greeks_1m: erase<OptionGreek>({
    dataset: OptionGreeks1m,
    vendor: "ThetaData",
    summary:
      "first-order greeks at 1-minute interval of every expiration of an option root within --max-dte days of each day (ThetaData terminal; partitioned by date and expiration; backfill only)",
    instruments: { option: "symbols", example: "SPXW" },
    streamed: false,
    streamSource: "thetadata-option-greeks",
    streamInstruments: { key: "--symbols", of: () => [] },
    feed: () => import("../sources/thetadata/optionGreeksFeed.js")
  })
} as const

export type DatasetName = keyof typeof registry
export const datasetNames = Object.keys(registry) as ReadonlyArray<DatasetName>

/** Datasets `stream` captures (`--datasets`, `stream.datasets`). */
export const streamedNames: ReadonlyArray<DatasetName> = datasetNames.filter(
  (n) => registry[n].streamed !== false
)

/** The entry of `name`. */
export const entryOf = (name: DatasetName): DatasetEntry<unknown> => registry[name]

/** The feed module of a Massive dataset (the demo's, a stream's); another vendor's is refused. */
export const massiveFeedOf = (entry: DatasetEntry<unknown>): Promise<FeedModule<unknown>> =>
  entry.vendor === "Massive"
    ? entry.feed()
    : Promise.reject(new Error(`${entry.dataset.name} comes from ${entry.vendor}, not Massive`))

/** `names` with the datasets written alongside each (news → news, news_sentiment), in order, once each. */
export const withAlongside = (names: ReadonlyArray<DatasetName>): ReadonlyArray<DatasetName> => [
  ...new Set(names.flatMap((n) => [n, ...((registry[n].alongside ?? []) as ReadonlyArray<DatasetName>)]))
]

/** `stock_bars_1s: per-second stock bars …`, one line per dataset, for `--help`. */
export const datasetHelp = (): string => datasetNames.map((n) => `${n}: ${registry[n].summary}`).join("; ")

/** Datasets tapehouse writes about itself. */
export const internalDatasets: {
  readonly continuity: Dataset<ContinuityRow>
  readonly schema_drift: Dataset<SchemaDriftRow>
} = { continuity: Continuity, schema_drift: SchemaDrift }

/**
 * Datasets derived from the lake (`tapehouse consolidate`), never fetched: not backfilled or
 * streamed, written through the same sinks and checkpoints.
 */
export const derivedDatasets: {
  readonly optionsEnriched: Dataset<OptionEnriched>
  readonly underlyingFeatures: Dataset<UnderlyingFeature>
} = { optionsEnriched: OptionsEnriched1s, underlyingFeatures: UnderlyingFeatures1s }

/** The view joining each enriched option row to its underlying's features at the same second. */
export const CONSOLIDATED_VIEW = "consolidated_1s"

/**
 * `consolidated_1s`: every column of `options_enriched_1s`, then the features of its underlying at
 * the same `ts` (a LEFT JOIN: a second before the underlying's first trade has none). A feature
 * column whose name the option row has already (the bar's open … vwap, vix) is prefixed
 * `underlying_` (`vix` is the same value and is left out).
 */
export const consolidatedViewSql = (): string => {
  const optionColumns = new Set<string>(OptionsEnriched1s.columns.map((c) => c.name))
  const features = UnderlyingFeatures1s.columns
    .filter((c) => c.name !== "symbol" && c.name !== "ts" && c.name !== "vix")
    .map((c) => (optionColumns.has(c.name) ? `f."${c.name}" AS "underlying_${c.name}"` : `f."${c.name}"`))
  return [
    `CREATE OR REPLACE VIEW "${CONSOLIDATED_VIEW}" AS`,
    `SELECT o.*, ${features.join(", ")}`,
    `FROM "${OptionsEnriched1s.name}" o`,
    `LEFT JOIN "${UnderlyingFeatures1s.name}" f ON f."symbol" = o."underlying" AND f."ts" = o."ts"`
  ].join("\n")
}

/**
 * Every SQL schema change, in order: a dataset's table, a nullable column added to a table made
 * before it, or a view (created or replaced). Append only: the migrator runs only ids above the last
 * one applied, and the position is the id. A new dataset's table goes at the end.
 */
export const sqlSchemaChanges: ReadonlyArray<
  | { readonly _tag: "table"; readonly table: Dataset<unknown> }
  | { readonly _tag: "addColumn"; readonly table: Dataset<unknown>; readonly column: string }
  | { readonly _tag: "view"; readonly name: string; readonly sql: string }
> = [
  { _tag: "table", table: registry.stock_bars_1s.dataset },
  { _tag: "table", table: anyDataset(Continuity) },
  { _tag: "addColumn", table: anyDataset(Continuity), column: "cause" },
  { _tag: "table", table: registry.index_bars_1s.dataset },
  { _tag: "table", table: registry.option_contracts.dataset },
  { _tag: "table", table: registry.option_bars_1s.dataset },
  { _tag: "table", table: registry.news.dataset },
  { _tag: "table", table: registry.news_sentiment.dataset },
  { _tag: "table", table: anyDataset(SchemaDrift) },
  { _tag: "table", table: anyDataset(OptionsEnriched1s) },
  { _tag: "table", table: anyDataset(UnderlyingFeatures1s) },
  { _tag: "view", name: CONSOLIDATED_VIEW, sql: consolidatedViewSql() },
  { _tag: "table", table: registry.option_greeks_1m.dataset }
]
