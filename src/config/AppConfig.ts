/**
 * The resolved application configuration: YAML files in the config dir, then `.env`, then the
 * environment (which wins), validated at start. Secrets are held as `Redacted`.
 */
import { Context, type Option, type Redacted } from "effect"
import type { BookKey } from "../books/encryption.js"
import type { VendorConfig } from "./vendors.js"

export type LogLevelName = "debug" | "info" | "warning" | "error"
export type ParquetCompression = "snappy" | "zstd" | "uncompressed"

export interface AppConfigShape {
  /** Root of the lake, state, quarantine and logs. */
  readonly dataDir: string
  readonly configDir: string
  readonly log: {
    readonly level: LogLevelName
    /** Console output: readable lines, JSON lines, or nothing (the file log is always written). */
    readonly console: "pretty" | "json" | "off"
  }
  readonly backfill: {
    /** Trading days fetched and committed at once. */
    readonly concurrency: number
  }
  readonly massive: VendorConfig & {
    readonly restUrl: string
    /** WebSocket base URL (cluster path such as /stocks is appended). */
    readonly wsUrl: string
    /** Which feed the default WebSocket host serves. */
    readonly feed: "realtime" | "delayed"
    readonly adjusted: boolean
    /** Requests per minute per API key; 0 = no limit. */
    readonly rateLimitPerMinute: number
    /** `limit` query parameter of aggregate requests (max 50000). */
    readonly pageLimit: number
    readonly requestTimeoutMs: number
    /** Ask `/v1/marketstatus/upcoming` for holidays before falling back to built-in rules. */
    readonly calendarFromApi: boolean
  }
  /** The ThetaData terminal (a local Java program that holds the login; no API key here). */
  readonly thetadata: {
    /** Base URL of the terminal, without the `/v3` or `/v2` prefix. */
    readonly url: string
    /** Which of the terminal's HTTP APIs to speak: v3 (port 25503) or the legacy v2 (port 25510). */
    readonly api: "v3" | "v2"
    /** Time allowed from sending a request to the start of its answer, and between two body chunks. */
    readonly requestTimeoutMs: number
    /** Expirations downloaded at once by a backfill (1–4; the terminal answers 429 beyond its limit). */
    readonly concurrency: number
    /** A backfill keeps the expirations from each day D to D + max_dte calendar days (`--max-dte`). */
    readonly maxDte: number
  }
  readonly stream: {
    /** Sinks are flushed at least this often while streaming. */
    readonly flushIntervalMs: number
    /** Events held in memory between the socket and the pipeline before spilling to disk. */
    readonly queueCapacity: number
    /** Trading days before the current one whose records are still accepted (0 = today only). */
    readonly lateDataDays: number
    readonly heartbeatIntervalMs: number
    /** No message for this long during the session raises a stall alert. */
    readonly stallAfterMs: number
    /** Datasets `stream` captures when the command names none (values of the registry). */
    readonly datasets: ReadonlyArray<string>
    /** Tickers of `stock_bars_1s` when the command names none. */
    readonly symbols: ReadonlyArray<string>
  }
  readonly monitoring: {
    /** A commit (a batch's first record received → durable) slower than this raises a `slow-commit` alert. */
    readonly commitAlertMs: number
    /** An operation (a backfill day, a REST fetch, a stream flush) running longer raises `stale-operation`. */
    readonly staleAfterMs: number
    /** The interface `--metrics-port` listens on. */
    readonly metricsHost: string
  }
  readonly indices: {
    /** Index tickers of `index_bars_1s` when the command names none (`I:VIX`). */
    readonly symbols: ReadonlyArray<string>
  }
  readonly options: {
    /** Underlyings whose near-the-money chain is tracked (`option_contracts`, `option_bars_1s`). */
    readonly underlyings: ReadonlyArray<string>
    /** Contracts expiring from the day to this many calendar days later are tracked. */
    readonly maxDte: number
    /** Contracts one WebSocket connection carries at most; more open more connections. */
    readonly contractsPerConnection: number
  }
  readonly news: {
    /** Articles mentioning one of these tickers are kept. */
    readonly tickers: ReadonlyArray<string>
    /** How often the stream asks for new articles. */
    readonly pollIntervalMs: number
    /** Keep only articles with an insight (a sentiment) for one of `tickers`. */
    readonly requireInsight: boolean
  }
  /** Inputs of the consolidated datasets' option analytics (`tapehouse consolidate`). */
  readonly analytics: {
    /** Continuously compounded risk-free rate, per year (0.05 is 5 %). */
    readonly riskFreeRate: number
    /** Continuous dividend yield per underlying; `default` for the underlyings not listed. */
    readonly dividendYield: {
      readonly default: number
      readonly byUnderlying: Readonly<Record<string, number>>
    }
  }
  /** Binance REST and WebSocket bases per venue (order books, issue 13). */
  readonly binance: {
    readonly spotUrl: string
    readonly spotWsUrl: string
    readonly usdmUrl: string
    readonly usdmWsUrl: string
  }
  /** Order-book capture (`stream --dataset book_deltas`) and its write-ahead log. */
  readonly book: {
    /** A delta segment closes when its rows reach this many bytes (in memory, ≈ uncompressed). */
    readonly segmentBytes: number
    /** … or so that its oldest row is durable this long after it arrived (the flush is planned ahead). */
    readonly segmentMs: number
    /** Every symbol's book is checkpointed this often … */
    readonly checkpointEveryMs: number
    /** … or after this many level changes, whichever comes first. */
    readonly checkpointEveryEvents: number
    /** Checkpoints kept (the newest). */
    readonly checkpointsKept: number
    /** A REST snapshot per symbol this often, to book_snapshots, for validation. */
    readonly validateEveryMs: number
    /** Exchange time E farther than this from the local arrival time raises a `clock-skew` alert. */
    readonly maxSkewMs: number
    /** The connection is replaced after this long (Binance closes it at 24 h). */
    readonly reconnectEveryMs: number
    /** `limit` of the REST depth snapshot (spot ≤ 5000; USD-M one of 5…1000). */
    readonly snapshotLimit: number
    /**
     * Set when `book.encrypt` is true: capture files are written encrypted at rest (AES-256-GCM)
     * with this key, from TAPEHOUSE_BOOK_KEY (src/books/encryption.ts).
     */
    readonly encryptKey?: BookKey
  }
  readonly parquet: {
    readonly enabled: boolean
    readonly compression: ParquetCompression
    readonly rowGroupSize: number
  }
  readonly sql: {
    readonly enabled: boolean
    /** A real Postgres server; None = embedded PGlite under `<dataDir>/state/pg`. */
    readonly url: Option.Option<Redacted.Redacted<string>>
    /** Rows per INSERT statement. */
    readonly batchSize: number
    /**
     * Embedded database: how long the process `tapehouse sql` starts to serve it stays open once
     * no client is connected, so that later queries join it (0: `sql` opens and closes it itself).
     */
    readonly keepOpenMs: number
  }
  readonly retry: {
    /** Total attempts per request, the first included. */
    readonly attempts: number
    readonly baseDelayMs: number
    readonly maxDelayMs: number
    /** A Retry-After longer than this is cut to it; also caps the backoff after a 429 without one. */
    readonly maxRetryAfterMs: number
    /**
     * How long one request may be held up by 429s (flow control, which does not use up `attempts`):
     * from its first 429, a retry that would come later than this is not made and the request fails.
     */
    readonly maxThrottleWaitMs: number
    /** WebSocket reconnects: exponential backoff with jitter between these bounds, forever. */
    readonly reconnectBaseDelayMs: number
    readonly reconnectMaxDelayMs: number
  }
}

export class AppConfig extends Context.Tag("tapehouse/AppConfig")<AppConfig, AppConfigShape>() {}

/** The dividend yield `config` gives `underlying`. */
export const dividendYieldOf = (config: AppConfigShape, underlying: string): number =>
  config.analytics.dividendYield.byUnderlying[underlying] ?? config.analytics.dividendYield.default
