/**
 * Serving a stored day: per-second bars read back from the Parquet lake
 * (`<dataDir>/lake/stock_bars_1s/date=D/*.parquet`) as a simulator bar provider, and
 * `serveStoredDay`, which runs the REST simulator and the WebSocket replay of that day on one port
 * (what `tapehouse simulate --date D` runs).
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
import { type StockBar, StockBars1s } from "../domain/StockBar.js"
import { decodeParquet } from "../sinks/parquetCodec.js"
import * as MassiveSim from "./MassiveSim.js"
import * as MassiveSocketSim from "./MassiveSocketSim.js"
import { sessionOf } from "./syntheticMarket.js"

/** The lake has no partition (or no Parquet file in it) for the day asked for. */
export class StoredDayMissing extends Schema.TaggedError<StoredDayMissing>()("StoredDayMissing", {
  dataset: Schema.String,
  date: Schema.String,
  path: Schema.String
}) {
  override get message(): string {
    return `No stored ${this.dataset} data for ${this.date}: ${this.path} does not exist or holds no .parquet file. Fill that day first, e.g. tapehouse backfill --dataset ${this.dataset} --symbols SPY,QQQ --from ${this.date} --to ${this.date}`
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
  /** The symbol's bars ascending by time; empty for unknown symbols. */
  readonly bars: (symbol: string) => ReadonlyArray<StockBar>
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e))

/** Reads one partition of `dataset` (default `stock_bars_1s`); fails with `StoredDayMissing` when it is absent. */
export const readLakeDay = (
  dataDir: string,
  date: string,
  dataset: Dataset<StockBar> = StockBars1s
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
      for (const row of rows) byKey.set(dataset.key.map((k) => String(row[k])).join("\u0000"), row)
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
  readonly start?: "subscribe" | "now" | "manual"
  /** Session time the replay starts at, epoch ms; default the session open. */
  readonly fromMs?: number
}

export interface StoredDayServer {
  /** `http://127.0.0.1:PORT`: the REST base URL (aggregates and open-close serve the stored day). */
  readonly restUrl: string
  /** `ws://127.0.0.1:PORT`: the WebSocket base URL (clients append `/stocks`). */
  readonly wsUrl: string
  readonly rest: MassiveSim.MassiveSimServer
  readonly socket: MassiveSocketSim.MassiveSocketSimServer
  readonly day: LakeDay
}

/**
 * Serves a stored day of `stock_bars_1s` over REST and WebSocket on one port until the scope
 * closes. REST serves only that date's bars (other dates answer without results).
 */
export const serveStoredDay = (
  options: ServeStoredDayOptions
): Effect.Effect<StoredDayServer, SimError, Scope.Scope> =>
  Effect.gen(function* () {
    const day = yield* readLakeDay(options.dataDir, options.date)
    const empty: ReadonlyArray<StockBar> = []
    const bars: MassiveSim.BarProvider = (symbol, date) => (date === day.date ? day.bars(symbol) : empty)
    // The REST clock (`/v1/marketstatus/now`) follows the replay, so a client such as
    // `tapehouse stream` lives in the replayed session. Until the socket part exists: the open.
    const open = sessionOf(day.date)
    let sessionNow = () => options.fromMs ?? (open._tag === "open" ? open.openMs : Date.now())
    const rest = yield* MassiveSim.make({
      bars,
      now: () => sessionNow(),
      // The REST side serves the stored day whole, whatever the replay's clock says.
      holdBackFuture: false,
      ...(options.port === undefined ? {} : { port: options.port }),
      ...(options.apiKeys === undefined ? {} : { apiKeys: options.apiKeys })
    })
    const socket = yield* MassiveSocketSim.make(rest, {
      date: day.date,
      speed: options.speed,
      bars,
      symbols: day.symbols,
      ...(options.start === undefined ? {} : { start: options.start }),
      ...(options.fromMs === undefined ? {} : { fromMs: options.fromMs })
    })
    // A finished replay means the session is over: report a time after the close, so clients that
    // follow this clock (a stream waiting for the close) see the market closed.
    const closedAfter = open._tag === "open" ? open.closeMs + 60_000 : Number.NEGATIVE_INFINITY
    sessionNow = () =>
      socket.isFinished() ? Math.max(socket.sessionTimeMs(), closedAfter) : socket.sessionTimeMs()
    return { restUrl: rest.url, wsUrl: socket.url, rest, socket, day }
  })
