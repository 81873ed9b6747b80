/** What the benchmarks share: a complete config against local servers, and a scratch data dir. */
import * as NodeFs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { Effect, Option, Redacted } from "effect"
import type { AppConfigShape } from "../src/config/AppConfig.js"
import { defaults as bookDefaults, defaultThetadata } from "../src/config/loadConfig.js"

export interface BenchConfigOptions {
  readonly dataDir: string
  readonly restUrl: string
  /** Default: `restUrl` with `ws` for `http`. */
  readonly wsUrl?: string
  readonly parquet: boolean
  readonly sql: boolean
  /** Messages the stream queue holds in memory; default 1,000,000 (the shipped default). */
  readonly queueCapacity?: number
}

/** No rate limit, no calendar from the API, quiet logs, short retries; flush interval 1 s. */
export const benchConfig = (o: BenchConfigOptions): AppConfigShape => ({
  dataDir: o.dataDir,
  configDir: Path.join(o.dataDir, "config"),
  log: { level: "warning", console: "off" },
  backfill: { concurrency: 2 },
  stream: {
    flushIntervalMs: 1000,
    queueCapacity: o.queueCapacity ?? 1_000_000,
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
    restUrl: o.restUrl,
    wsUrl: o.wsUrl ?? o.restUrl.replace(/^http/, "ws"),
    feed: "realtime",
    apiKey: Option.some(Redacted.make("bench-key")),
    adjusted: true,
    rateLimitPerMinute: 0,
    pageLimit: 50000,
    requestTimeoutMs: 30000,
    calendarFromApi: false
  },
  thetadata: defaultThetadata,
  binance: bookDefaults.binance,
  book: bookDefaults.book,
  parquet: { enabled: o.parquet, compression: "snappy", rowGroupSize: 100000 },
  sql: { enabled: o.sql, url: Option.none(), batchSize: 10000, keepOpenMs: 0 },
  retry: {
    attempts: 3,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    maxRetryAfterMs: 5000,
    maxThrottleWaitMs: 600_000,
    reconnectBaseDelayMs: 100,
    reconnectMaxDelayMs: 1000
  }
})

/** A scratch data dir under the OS temp folder, removed when the scope closes. */
export const scratchDir = (prefix: string) =>
  Effect.acquireRelease(
    Effect.promise(() => NodeFs.mkdtemp(Path.join(Os.tmpdir(), prefix))),
    (dir) => Effect.promise(() => NodeFs.rm(dir, { recursive: true, force: true }))
  )
