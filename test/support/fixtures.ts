/** Test helpers: temp dirs, a config for tests, the in-process backfill stack, reading the lake back. */
import * as NodeFs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { Effect, Layer, Logger, LogLevel, Option, Redacted } from "effect"
import * as MarketCalendar from "../../src/calendar/MarketCalendar.js"
import { AppConfig, type AppConfigShape } from "../../src/config/AppConfig.js"
import { defaults as bookDefaults, defaultThetadata } from "../../src/config/loadConfig.js"
import type { Dataset } from "../../src/domain/Dataset.js"
import * as Alerts from "../../src/monitor/Alerts.js"
import * as Checkpoints from "../../src/pipeline/Checkpoints.js"
import { decodeParquet } from "../../src/sinks/parquetCodec.js"
import * as Quarantine from "../../src/sinks/Quarantine.js"
import * as SinksLive from "../../src/sinks/SinksLive.js"
import * as MassiveRest from "../../src/sources/massive/MassiveRest.js"
import * as MassiveSocket from "../../src/sources/massive/MassiveSocket.js"

export const sharedDir = Path.resolve(import.meta.dirname, "../../../shared")

/** A temp folder removed when the scope closes. */
export const tempDir = (prefix = "tapehouse-") =>
  Effect.acquireRelease(
    Effect.promise(() => NodeFs.mkdtemp(Path.join(Os.tmpdir(), prefix))),
    (dir) => Effect.promise(() => NodeFs.rm(dir, { recursive: true, force: true }))
  )

/** A complete config for tests: fast retries, no rate limit, Parquet only unless asked. */
export const testConfig = (
  dataDir: string,
  restUrl: string,
  over: { readonly sql?: boolean; readonly apiKey?: string; readonly attempts?: number } = {}
): AppConfigShape => ({
  dataDir,
  configDir: Path.join(dataDir, "config"),
  log: { level: "warning", console: "off" },
  backfill: { concurrency: 2 },
  stream: {
    flushIntervalMs: 1000,
    queueCapacity: 100_000,
    lateDataDays: 0,
    heartbeatIntervalMs: 300_000,
    stallAfterMs: 900_000,
    datasets: ["stock_bars_1s"],
    symbols: ["SPY"]
  },
  monitoring: { commitAlertMs: 300_000, staleAfterMs: 600_000, metricsHost: "127.0.0.1" },
  indices: { symbols: ["I:VIX"] },
  options: { underlyings: ["SPY"], maxDte: 7, contractsPerConnection: 100 },
  news: { tickers: ["SPY"], pollIntervalMs: 300_000, requireInsight: false },
  analytics: { riskFreeRate: 0.05, dividendYield: { default: 0, byUnderlying: {} } },
  massive: {
    vendor: "Massive",
    keyEnv: "MASSIVE_API_KEY",
    restUrl,
    wsUrl: restUrl.replace(/^http/, "ws"),
    feed: "realtime",
    apiKey: Option.some(Redacted.make(over.apiKey ?? "test-key-1234")),
    adjusted: true,
    rateLimitPerMinute: 0,
    pageLimit: 50000,
    requestTimeoutMs: 5000,
    calendarFromApi: false
  },
  thetadata: defaultThetadata,
  binance: bookDefaults.binance,
  book: bookDefaults.book,
  parquet: { enabled: true, compression: "snappy", rowGroupSize: 100000 },
  sql: { enabled: over.sql ?? false, url: Option.none(), batchSize: 5000, keepOpenMs: 0 },
  retry: {
    attempts: over.attempts ?? 3,
    baseDelayMs: 5,
    maxDelayMs: 50,
    maxRetryAfterMs: 2000,
    maxThrottleWaitMs: 60_000,
    reconnectBaseDelayMs: 10,
    reconnectMaxDelayMs: 200
  }
})

/** The backfill stack in process: real HTTP client, rules calendar, journal, quarantine, sinks. */
export const backfillStack = (config: AppConfigShape) =>
  Layer.mergeAll(
    MassiveRest.Live,
    MarketCalendar.Test,
    Layer.effect(Checkpoints.Checkpoints, Checkpoints.make(config.dataDir)),
    Quarantine.Live,
    SinksLive.fromConfig,
    Logger.minimumLogLevel(LogLevel.Warning)
  ).pipe(Layer.provide(Layer.succeed(AppConfig, config)))

/**
 * What a stream needs against a simulator on loopback: the live REST and WebSocket clients, the
 * test calendar, the lake under `config.dataDir`, alerts collected, warnings and up logged.
 */
export const streamStack = (config: AppConfigShape) =>
  Layer.mergeAll(
    MassiveRest.Live,
    MassiveSocket.Live,
    MarketCalendar.Test,
    Layer.effect(Checkpoints.Checkpoints, Checkpoints.make(config.dataDir)),
    Quarantine.Live,
    SinksLive.fromConfig,
    Alerts.Test,
    Logger.minimumLogLevel(LogLevel.Warning)
  ).pipe(Layer.provideMerge(Layer.succeed(AppConfig, config)))

const listFiles = async (dir: string): Promise<Array<string>> => {
  const out: Array<string> = []
  const walk = async (d: string) => {
    let entries: Array<import("node:fs").Dirent>
    try {
      entries = await NodeFs.readdir(d, { withFileTypes: true })
    } catch {
      return
    }
    for (const e of entries) {
      const p = Path.join(d, e.name)
      if (e.isDirectory()) await walk(p)
      else out.push(p)
    }
  }
  await walk(dir)
  return out.sort()
}

/** Every file under a folder, relative to it, sorted. */
export const filesUnder = (dir: string) =>
  Effect.promise(() => listFiles(dir).then((fs) => fs.map((f) => Path.relative(dir, f))))

/** Every row of a dataset's Parquet lake, in file order. */
export const readLake = <A>(dataDir: string, dataset: Dataset<A>) =>
  Effect.promise(async () => {
    const root = Path.join(dataDir, "lake", dataset.name)
    const rows: Array<A> = []
    for (const file of await listFiles(root)) {
      if (!file.endsWith(".parquet")) continue
      for (const r of await decodeParquet(dataset, await NodeFs.readFile(file))) rows.push(r)
    }
    return rows
  })

/** Raw bytes of every lake file, keyed by relative path: "the same lake". */
export const lakeSnapshot = (dataDir: string) =>
  Effect.promise(async () => {
    const root = Path.join(dataDir, "lake")
    const snap: Record<string, string> = {}
    for (const f of await listFiles(root))
      snap[Path.relative(root, f)] = (await NodeFs.readFile(f)).toString("base64")
    return snap
  })
