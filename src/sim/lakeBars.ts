/**
 * Serving a stored day: per-second bars read back from the Parquet lake
 * (`<dataDir>/lake/<dataset>/date=D/*.parquet`) as a simulator bar provider, and
 * `serveStoredDay`, which runs the REST simulator and the WebSocket replay of that day on one port
 * (what `tapehouse simulate --date D` runs): every dataset of the registry that streams (`live`) and
 * is stored for D, each on its own cluster and written the way the vendor writes it there, and the
 * news stored for D on `/v2/reference/news`, each article once the replay's clock has passed its
 * `published_utc`.
 *
 * A provider is synchronous, so the partitions it serves are read up front: every `*.parquet`
 * file of a partition in file-name order (the base `part-0000.parquet`, then stream part files
 * by sequence), deduplicated by the dataset key (the last file wins), sorted by time per symbol,
 * and kept in memory per date.
 */
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { Effect, Schema, type Scope } from "effect"
import type { Dataset } from "../domain/Dataset.js"
import { type DatasetName, datasetNames, entryOf, type LiveWire } from "../domain/datasets.js"
import { type StockBar, StockBars1s } from "../domain/StockBar.js"
import { addDays, newYorkTimeToEpochMs } from "../domain/time.js"
import { decodeParquet } from "../sinks/parquetCodec.js"
import { readStoredNews } from "./lakeNews.js"
import * as MassiveSim from "./MassiveSim.js"
import * as MassiveSocketSim from "./MassiveSocketSim.js"
import * as NewsRoute from "./newsRoute.js"
import { registerOptionContracts } from "./options/optionsSim.js"
import { sessionOf } from "./syntheticMarket.js"

/** The lake has no partition (or no Parquet file in it) for the day asked for. */
export class StoredDayMissing extends Schema.TaggedError<StoredDayMissing>()("StoredDayMissing", {
  dataset: Schema.String,
  date: Schema.String,
  path: Schema.String
}) {
  override get message(): string {
    const example = (datasetNames as ReadonlyArray<string>).includes(this.dataset)
      ? entryOf(this.dataset as DatasetName).instruments.example
      : "SPY,QQQ"
    return `No stored ${this.dataset} data for ${this.date}: ${this.path} does not exist or holds no .parquet file. Fill that day first, e.g. tapehouse backfill --dataset ${this.dataset} --symbols ${example} --from ${this.date} --to ${this.date}`
  }
}

/** A partition file of the stored day could not be read. */
export class StoredDayUnreadable extends Schema.TaggedError<StoredDayUnreadable>()("StoredDayUnreadable", {
  path: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `Cannot read the stored day at ${this.path}: ${this.detail}. Check the file, or refill the day with tapehouse backfill --overwrite.`
  }
}

/** Everything `serveStoredDay` can fail with. */
export type SimError = MassiveSim.SimStartError | StoredDayMissing | StoredDayUnreadable

/** One stored day, in memory. */
export interface LakeDay {
  readonly date: string
  /** The partition folder read. */
  readonly path: string
  /** The Parquet files read, in the order applied (the last one wins on equal keys). */
  readonly files: ReadonlyArray<string>
  /** Symbols with at least one bar, sorted. */
  readonly symbols: ReadonlyArray<string>
  /** Rows after deduplication. */
  readonly rows: number
  /** The symbol's bars ascending by time, as the simulators serve them; empty for unknown symbols. */
  readonly bars: (symbol: string) => ReadonlyArray<StockBar>
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e))

/**
 * A stored row of a bar dataset (symbol, ts, open, high, low, close, and maybe volume, vwap, trades)
 * as the simulators' bar. Columns the dataset lacks (an index has no volume) take values that its
 * wire (`index`) never writes.
 */
const simBar = <A>(dataset: Dataset<A>, row: A): StockBar => {
  const r = row as Readonly<Record<string, unknown>>
  const num = (k: string) => r[k] as number
  return {
    // The ticker a bar is published under: its `symbol` (an option bar's instrument is its underlying).
    symbol: typeof r.symbol === "string" ? r.symbol : String(row[dataset.instrument]),
    ts: row[dataset.timeColumn] as number,
    open: num("open"),
    high: num("high"),
    low: num("low"),
    close: num("close"),
    volume: typeof r.volume === "number" ? r.volume : 0,
    vwap: typeof r.vwap === "number" ? r.vwap : null,
    trades: typeof r.trades === "number" ? r.trades : null
  }
}

/** Reads one partition of a bar dataset (default `stock_bars_1s`); fails with `StoredDayMissing` when it is absent. */
export const readLakeDay = <A = StockBar>(
  dataDir: string,
  date: string,
  dataset?: Dataset<A>
): Effect.Effect<LakeDay, StoredDayMissing | StoredDayUnreadable> =>
  readStoredDay(dataDir, date, dataset ?? (StockBars1s as unknown as Dataset<A>))

const readStoredDay = <A>(
  dataDir: string,
  date: string,
  dataset: Dataset<A>
): Effect.Effect<LakeDay, StoredDayMissing | StoredDayUnreadable> =>
  Effect.gen(function* () {
    const dir = Path.resolve(dataDir, "lake", dataset.name, `date=${date}`)
    const missing = new StoredDayMissing({ dataset: dataset.name, date, path: dir })
    const names = yield* Effect.tryPromise({
      try: () => NodeFs.readdir(dir),
      catch: (e) =>
        (e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ENOTDIR"
          ? missing
          : new StoredDayUnreadable({ path: dir, detail: errorText(e) })
    })
    const files = names
      .filter((n) => n.endsWith(".parquet"))
      .sort()
      .map((n) => Path.join(dir, n))
    if (files.length === 0) return yield* missing
    const byKey = new Map<string, StockBar>()
    for (const file of files) {
      const rows = yield* Effect.tryPromise({
        try: async () => decodeParquet(dataset, new Uint8Array(await NodeFs.readFile(file))),
        catch: (e) => new StoredDayUnreadable({ path: file, detail: errorText(e) })
      })
      for (const row of rows)
        byKey.set(dataset.key.map((k) => String(row[k])).join("\u0000"), simBar(dataset, row))
    }
    const bySymbol = new Map<string, Array<StockBar>>()
    for (const bar of byKey.values()) {
      let list = bySymbol.get(bar.symbol)
      if (list === undefined) {
        list = []
        bySymbol.set(bar.symbol, list)
      }
      list.push(bar)
    }
    for (const list of bySymbol.values()) list.sort((a, b) => a.ts - b.ts)
    const empty: ReadonlyArray<StockBar> = []
    return {
      date,
      path: dir,
      files,
      symbols: [...bySymbol.keys()].sort(),
      rows: byKey.size,
      bars: (symbol: string) => bySymbol.get(symbol) ?? empty
    }
  })

/**
 * A bar provider over the lake. With `dates`, reads those partitions (each must exist); without,
 * every partition of the dataset present now. Other dates serve no bars.
 */
export const lakeBarProvider = (
  dataDir: string,
  dataset: Dataset<StockBar> = StockBars1s,
  options: { readonly dates?: ReadonlyArray<string> } = {}
): Effect.Effect<MassiveSim.BarProvider, StoredDayMissing | StoredDayUnreadable> =>
  Effect.gen(function* () {
    const root = Path.resolve(dataDir, "lake", dataset.name)
    const dates =
      options.dates ??
      (yield* Effect.tryPromise({
        try: () => NodeFs.readdir(root),
        catch: (e) => e
      }).pipe(
        Effect.map((names) =>
          names.flatMap((n) => {
            const m = /^date=(\d{4}-\d{2}-\d{2})$/.exec(n)
            return m ? [m[1]!] : []
          })
        ),
        Effect.catchAll((e) =>
          (e as NodeJS.ErrnoException).code === "ENOENT"
            ? Effect.succeed([] as Array<string>)
            : Effect.fail(new StoredDayUnreadable({ path: root, detail: errorText(e) }))
        )
      ))
    const days = new Map<string, LakeDay>()
    for (const date of new Set(dates)) days.set(date, yield* readLakeDay(dataDir, date, dataset))
    const empty: ReadonlyArray<StockBar> = []
    return (symbol: string, date: string) => days.get(date)?.bars(symbol) ?? empty
  })

export interface ServeStoredDayOptions {
  readonly dataDir: string
  /** The stored trading date, YYYY-MM-DD. */
  readonly date: string
  /** Session seconds per second, or "max". */
  readonly speed: MassiveSocketSim.Speed
  /** 0 (default) = a free port. */
  readonly port?: number
  /** Accepted keys for REST and WebSocket; undefined = any non-empty key. */
  readonly apiKeys?: ReadonlyArray<string>
  /** When the replay clock starts (default: the first subscribe); see `MassiveSocketSim`. */
  readonly start?: "subscribe" | "every-cluster" | "now" | "manual"
  /** Session time the replay starts at, epoch ms; default the session open. */
  readonly fromMs?: number
  /** Connections one key may hold at once on a cluster (see `MassiveSocketSim`); default no limit. */
  readonly maxConnectionsPerCluster?: number
  /** The dataset that must be stored for the day (default: any that streams); the others stored are served too. */
  readonly dataset?: DatasetName
  /** Keys limited to some clusters (`auth_failed` on the others); see `MassiveSocketSim`. */
  readonly entitlements?: MassiveSocketSim.MassiveSocketSimOptions["entitlements"]
  /** Clusters subscribed only once the replay has begun (an option chain drawn from `op`); see `MassiveSocketSim`. */
  readonly lateClusters?: ReadonlyArray<MassiveSocketSim.Cluster>
}

/** One dataset a stored-day server replays. */
export interface ServedDataset {
  readonly dataset: DatasetName
  /** Its cluster, ticker prefix and wire shape, from the registry. */
  readonly live: LiveWire
  readonly day: LakeDay
}

export interface StoredDayServer {
  /** `http://127.0.0.1:PORT`: the REST base URL (aggregates and open-close serve the stored day). */
  readonly restUrl: string
  /** `ws://127.0.0.1:PORT`: the WebSocket base URL (clients append `/stocks`, `/indices` …). */
  readonly wsUrl: string
  readonly rest: MassiveSim.MassiveSimServer
  readonly socket: MassiveSocketSim.MassiveSocketSimServer
  /** The stored day of `options.dataset` (default: of the first dataset served). */
  readonly day: LakeDay
  /** Every dataset served, in registry order. */
  readonly served: ReadonlyArray<ServedDataset>
  /** Articles of the day served on `/v2/reference/news` (0: the lake holds no news for it, and none is served). */
  readonly newsArticles: number
}

/** Every dataset that streams and is stored for `date`; `required` must be, or it fails. */
const storedDatasets = (dataDir: string, date: string, required: DatasetName | undefined) =>
  Effect.gen(function* () {
    const served: Array<ServedDataset> = []
    for (const name of datasetNames) {
      const entry = entryOf(name)
      if (entry.live === undefined) continue
      const read = readLakeDay(dataDir, date, entry.dataset)
      const day =
        name === required
          ? yield* read
          : yield* read.pipe(
              Effect.map((d): LakeDay | undefined => d),
              Effect.catchTag("StoredDayMissing", () => Effect.succeed(undefined))
            )
      if (day !== undefined) served.push({ dataset: name, live: entry.live, day })
    }
    if (served.length === 0) {
      const dataset = required ?? "stock_bars_1s"
      return yield* new StoredDayMissing({
        dataset,
        date,
        path: Path.resolve(dataDir, "lake", dataset, `date=${date}`)
      })
    }
    return served
  })

/**
 * Serves a stored day over REST and WebSocket on one port until the scope closes: each dataset
 * stored for it on its own cluster (registry `live`), REST by ticker prefix. REST serves only that
 * date's bars (other dates answer without results).
 */
export const serveStoredDay = (
  options: ServeStoredDayOptions
): Effect.Effect<StoredDayServer, SimError, Scope.Scope> =>
  Effect.gen(function* () {
    const served = yield* storedDatasets(options.dataDir, options.date, options.dataset)
    const day = (served.find((s) => s.dataset === options.dataset) ?? served[0]!).day
    const empty: ReadonlyArray<StockBar> = []
    const providerOf =
      (stored: LakeDay): MassiveSim.BarProvider =>
      (symbol, date) =>
        date === stored.date ? stored.bars(symbol) : empty
    const stocks = served.find((s) => s.live.prefix === undefined)
    const bars: MassiveSim.BarProvider = stocks === undefined ? () => empty : providerOf(stocks.day)
    const markets = served.flatMap(
      (s): ReadonlyArray<MassiveSim.PrefixMarket> =>
        s.live.prefix === undefined
          ? []
          : [{ prefix: s.live.prefix, bars: providerOf(s.day), wire: s.live.wire }]
    )
    // The REST clock (`/v1/marketstatus/now`) follows the replay, so a client such as
    // `tapehouse stream` lives in the replayed session. Until the socket part exists: the open.
    const open = sessionOf(day.date)
    let sessionNow = () => options.fromMs ?? (open._tag === "open" ? open.openMs : Date.now())
    const rest = yield* MassiveSim.make({
      bars,
      markets,
      now: () => sessionNow(),
      // The REST side serves the stored day whole, whatever the replay's clock says.
      holdBackFuture: false,
      ...(options.port === undefined ? {} : { port: options.port }),
      ...(options.apiKeys === undefined ? {} : { apiKeys: options.apiKeys })
    })
    // Option bars replayed: the contracts reference too, for the stream's discovery at the open.
    if (markets.some((m) => m.prefix === "O:")) registerOptionContracts(rest)
    // The day's stored news, revealed on the replay's clock (a poller sees each article arrive as it
    // was published). Other days hold no article.
    const news = yield* readStoredNews(options.dataDir, day.date).pipe(
      Effect.mapError(
        (e) =>
          new StoredDayUnreadable({ path: Path.resolve(options.dataDir, "lake", "news"), detail: e.message })
      )
    )
    if (news !== undefined) NewsRoute.register(rest, news.source)
    const socket = yield* MassiveSocketSim.make(rest, {
      date: day.date,
      speed: options.speed,
      clusters: served.map((s) => ({
        cluster: s.live.cluster,
        symbols: s.day.symbols,
        bars: providerOf(s.day),
        wire: s.live.wire
      })),
      ...(options.start === undefined ? {} : { start: options.start }),
      ...(options.fromMs === undefined ? {} : { fromMs: options.fromMs }),
      ...(options.entitlements === undefined ? {} : { entitlements: options.entitlements }),
      ...(options.maxConnectionsPerCluster === undefined
        ? {}
        : { maxConnectionsPerCluster: options.maxConnectionsPerCluster }),
      ...(options.lateClusters === undefined ? {} : { lateClusters: options.lateClusters })
    })
    // A finished replay means the replayed day is over: report a minute past its end (midnight New
    // York), so clients that follow this clock see it closed: a stream waiting for the close, and an
    // always-open feed (a news poller) whose session is the calendar day. The news route then serves
    // every article of the day.
    const dayOver = newYorkTimeToEpochMs(addDays(day.date, 1), 0, 0) + 60_000
    sessionNow = () =>
      socket.isFinished() ? Math.max(socket.sessionTimeMs(), dayOver) : socket.sessionTimeMs()
    return {
      restUrl: rest.url,
      wsUrl: socket.url,
      rest,
      socket,
      day,
      served,
      newsArticles: news?.articles ?? 0
    }
  })
