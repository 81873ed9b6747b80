import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Either, Option, Redacted } from "effect"
import { AppConfig, dividendYieldOf } from "../../src/config/AppConfig.js"
import { parseDotEnv } from "../../src/config/dotEnv.js"
import { defaults, layer, loadConfig } from "../../src/config/loadConfig.js"
import { streamedNames } from "../../src/domain/datasets.js"
import type { ConfigError } from "../../src/domain/errors.js"
import { makeTempDir, removeTempDirs } from "../support/tempDirs.js"

const SHIPPED = path.resolve(import.meta.dirname, "../../config")
const API_KEY = "sk_live_9f8e7d6c5b4a3210ZYXW"

const tempDir = (): string => makeTempDir("tapehouse-config-")

afterAll(removeTempDirs)

/** A cwd with a `config/` folder holding the given YAML files, and optionally a `.env`. */
const workspace = (files: Record<string, string>, dotEnv?: string): { cwd: string; configDir: string } => {
  const cwd = tempDir()
  const configDir = path.join(cwd, "config")
  fs.mkdirSync(configDir)
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(configDir, name), text)
  if (dotEnv !== undefined) fs.writeFileSync(path.join(cwd, ".env"), dotEnv)
  return { cwd, configDir: "config" }
}

const load = (
  files: Record<string, string>,
  opts: { env?: Record<string, string>; dotEnv?: string; dataDir?: string } = {}
) => {
  const ws = workspace(files, opts.dotEnv)
  return loadConfig({
    ...ws,
    env: opts.env ?? {},
    ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir })
  }).pipe(Effect.map((config) => ({ config, cwd: ws.cwd })))
}

const loadError = (files: Record<string, string>, opts: Parameters<typeof load>[1] = {}) =>
  load(files, opts).pipe(
    Effect.flip,
    Effect.map((e: ConfigError) => e)
  )

describe("loadConfig", () => {
  it.effect("the shipped config/*.yaml load and equal the built-in defaults", () =>
    Effect.gen(function* () {
      const cwd = tempDir()
      const shipped = yield* loadConfig({ configDir: SHIPPED, cwd, env: {} })
      const empty = makeTempDir("tapehouse-empty-")
      const builtIn = yield* loadConfig({ configDir: empty, cwd, env: {} })
      expect({ ...shipped, configDir: "" }).toEqual({ ...builtIn, configDir: "" })
      expect(shipped).toEqual({
        dataDir: path.join(cwd, "data"),
        configDir: SHIPPED,
        log: { level: "info", console: "pretty" },
        backfill: { concurrency: 2 },
        stream: {
          flushIntervalMs: 1000,
          queueCapacity: 1000000,
          lateDataDays: 0,
          heartbeatIntervalMs: 300000,
          stallAfterMs: 900000,
          datasets: ["stock_bars_1s"],
          symbols: ["SPY"]
        },
        monitoring: { commitAlertMs: 300_000, staleAfterMs: 600_000, metricsHost: "127.0.0.1" },
        indices: { symbols: ["I:VIX"] },
        options: { underlyings: ["SPY"], maxDte: 7, contractsPerConnection: 100 },
        news: { tickers: ["SPY"], pollIntervalMs: 300000, requireInsight: false },
        analytics: { riskFreeRate: 0.05, dividendYield: { default: 0, byUnderlying: {} } },
        massive: {
          vendor: "Massive",
          keyEnv: "MASSIVE_API_KEY",
          restUrl: "https://api.massive.com",
          wsUrl: "wss://socket.massive.com",
          feed: "realtime",
          apiKey: Option.none(),
          adjusted: true,
          rateLimitPerMinute: 5,
          pageLimit: 50000,
          requestTimeoutMs: 30000,
          calendarFromApi: true
        },
        thetadata: {
          url: "http://127.0.0.1:25503",
          api: "v3",
          requestTimeoutMs: 120000,
          concurrency: 3,
          maxDte: 60
        },
        binance: {
          spotUrl: "https://api.binance.com",
          spotWsUrl: "wss://stream.binance.com:9443",
          usdmUrl: "https://fapi.binance.com",
          usdmWsUrl: "wss://fstream.binance.com/public"
        },
        book: {
          segmentBytes: 100_000_000,
          segmentMs: 1000,
          checkpointEveryMs: 300_000,
          checkpointEveryEvents: 1_000_000,
          checkpointsKept: 3,
          validateEveryMs: 60_000,
          maxSkewMs: 1000,
          reconnectEveryMs: 82_800_000,
          snapshotLimit: 1000
        },
        parquet: { enabled: true, compression: "snappy", rowGroupSize: 100000 },
        sql: { enabled: true, url: Option.none(), batchSize: 10000, keepOpenMs: 300_000 },
        retry: {
          attempts: 3,
          baseDelayMs: 500,
          maxDelayMs: 30000,
          maxRetryAfterMs: 120000,
          maxThrottleWaitMs: 600000,
          reconnectBaseDelayMs: 1000,
          reconnectMaxDelayMs: 30000
        }
      })
      expect(shipped.massive.restUrl).toBe(defaults.massive.restUrl)
    })
  )

  it.effect(
    "analytics.dividend_yield: one number, or per underlying (upper-cased) with 0 for the others",
    () =>
      Effect.gen(function* () {
        const one = yield* load({
          "settings.yaml": "analytics:\n  risk_free_rate: 0.04\n  dividend_yield: 0.01\n"
        })
        expect(one.config.analytics).toEqual({
          riskFreeRate: 0.04,
          dividendYield: { default: 0.01, byUnderlying: {} }
        })
        const map = yield* load({ "settings.yaml": "analytics:\n  dividend_yield:\n    spy: 0.013\n" })
        expect(dividendYieldOf(map.config, "SPY")).toBe(0.013)
        expect(dividendYieldOf(map.config, "QQQ")).toBe(0)
      })
  )

  it.effect("every key of the shipped YAML carries a comment", () =>
    Effect.sync(() => {
      for (const name of ["settings", "sources", "sinks", "retry"]) {
        const lines = fs.readFileSync(path.join(SHIPPED, `${name}.yaml`), "utf8").split("\n")
        lines.forEach((line, i) => {
          if (/^\s*[a-z_]+:/.test(line)) {
            const previous = lines[i - 1] ?? ""
            const isSection = /:\s*$/.test(line)
            if (!isSection) expect(previous.trim().startsWith("#"), `${name}.yaml line ${i + 1}`).toBe(true)
          }
        })
      }
    })
  )

  it.effect("YAML values override the defaults; empty values keep them", () =>
    Effect.gen(function* () {
      const { config, cwd } = yield* load({
        "settings.yaml":
          "data_dir: lake-here\nlog:\n  level: debug\n  console: json\nbackfill:\n  concurrency:\n",
        "sources.yaml": "massive:\n  rest_url: http://127.0.0.1:8787/\n  rate_limit_per_minute: 0\n",
        "sinks.yaml": "parquet:\n  compression: zstd\nsql:\n  url: postgres://me@db:5432/lake\n",
        "retry.yaml": "http:\n  attempts: 1\n  max_throttle_wait_ms: 90000\n"
      })
      expect(config.dataDir).toBe(path.join(cwd, "lake-here"))
      expect(config.log).toEqual({ level: "debug", console: "json" })
      expect(config.backfill.concurrency).toBe(2)
      expect(config.massive.restUrl).toBe("http://127.0.0.1:8787")
      expect(config.massive.rateLimitPerMinute).toBe(0)
      expect(config.parquet.compression).toBe("zstd")
      expect(config.sql.url.pipe(Option.map(Redacted.value))).toEqual(
        Option.some("postgres://me@db:5432/lake")
      )
      expect(config.retry.attempts).toBe(1)
      expect(config.retry.maxThrottleWaitMs).toBe(90_000)
    })
  )

  it("the shipped stream.datasets comment lists every dataset the registry streams", () => {
    const text = fs.readFileSync(path.join(SHIPPED, "settings.yaml"), "utf8")
    const line = text.split("\n").find((l) => l.includes("One or more of:")) ?? ""
    expect(
      line
        .replace(/.*One or more of: /, "")
        .replace(/\. No env override\./, "")
        .split(", ")
    ).toEqual([...streamedNames])
  })

  it.effect("the datasets' keys: lists of tickers upper-cased and without repeats", () =>
    Effect.gen(function* () {
      const { config } = yield* load({
        "settings.yaml": [
          "stream:",
          "  datasets: [stock_bars_1s]",
          "  symbols: [spy, qqq, SPY]",
          "indices:",
          "  symbols: [i:vix]",
          "options:",
          "  underlyings: [SPY, IWM]",
          "  max_dte: 0",
          "  contracts_per_connection: 40",
          "news:",
          "  tickers: [aapl]",
          "  poll_interval_ms: 60000",
          "  require_insight: true",
          ""
        ].join("\n")
      })
      expect(config.stream.datasets).toEqual(["stock_bars_1s"])
      expect(config.stream.symbols).toEqual(["SPY", "QQQ"])
      expect(config.indices.symbols).toEqual(["I:VIX"])
      expect(config.options).toEqual({ underlyings: ["SPY", "IWM"], maxDte: 0, contractsPerConnection: 40 })
      expect(config.news).toEqual({ tickers: ["AAPL"], pollIntervalMs: 60_000, requireInsight: true })
    })
  )

  it.effect("precedence: flag > environment > .env > YAML > defaults", () =>
    Effect.gen(function* () {
      const yaml = {
        "settings.yaml": "data_dir: from-yaml\nlog:\n  level: error\n",
        "sources.yaml": "massive:\n  rest_url: http://yaml.example\n"
      }
      const dotEnv = [
        "# a comment",
        "export TAPEHOUSE_DATA_DIR=from-dotenv",
        'TAPEHOUSE_MASSIVE_URL="http://dotenv.example"',
        "TAPEHOUSE_LOG_LEVEL='warning' # inline comment"
      ].join("\n")

      const onlyYaml = yield* load(yaml)
      expect(onlyYaml.config.dataDir).toBe(path.join(onlyYaml.cwd, "from-yaml"))
      expect(onlyYaml.config.massive.restUrl).toBe("http://yaml.example")
      expect(onlyYaml.config.log.level).toBe("error")

      const withDotEnv = yield* load(yaml, { dotEnv })
      expect(withDotEnv.config.dataDir).toBe(path.join(withDotEnv.cwd, "from-dotenv"))
      expect(withDotEnv.config.massive.restUrl).toBe("http://dotenv.example")
      expect(withDotEnv.config.log.level).toBe("warning")

      const withEnv = yield* load(yaml, {
        dotEnv,
        env: {
          TAPEHOUSE_DATA_DIR: "/abs/from-env",
          TAPEHOUSE_MASSIVE_URL: "https://env.example",
          TAPEHOUSE_LOG_LEVEL: "DEBUG"
        }
      })
      expect(withEnv.config.dataDir).toBe("/abs/from-env")
      expect(withEnv.config.massive.restUrl).toBe("https://env.example")
      expect(withEnv.config.log.level).toBe("debug")

      const withFlag = yield* load(yaml, {
        dotEnv,
        env: { TAPEHOUSE_DATA_DIR: "/abs/from-env" },
        dataDir: "from-flag"
      })
      expect(withFlag.config.dataDir).toBe(path.join(withFlag.cwd, "from-flag"))
    })
  )

  it.effect(
    "the ThetaData terminal: v3 at :25503, v2 at :25510, TAPEHOUSE_THETADATA_URL wins; a bad URL names its key",
    () =>
      Effect.gen(function* () {
        const v2 = yield* load({ "sources.yaml": "thetadata:\n  api: v2\n" })
        expect(v2.config.thetadata).toEqual({
          url: "http://127.0.0.1:25510",
          api: "v2",
          requestTimeoutMs: 120000,
          concurrency: 3,
          maxDte: 60
        })
        const yaml = { "sources.yaml": "thetadata:\n  url: http://10.0.0.5:25503/\n" }
        expect((yield* load(yaml)).config.thetadata.url).toBe("http://10.0.0.5:25503")
        const env = yield* load(yaml, { env: { TAPEHOUSE_THETADATA_URL: "http://127.0.0.1:4000" } })
        expect(env.config.thetadata.url).toBe("http://127.0.0.1:4000")
        expect((yield* loadError({}, { env: { TAPEHOUSE_THETADATA_URL: "localhost" } })).key).toBe(
          "TAPEHOUSE_THETADATA_URL"
        )
        expect((yield* loadError({ "sources.yaml": "thetadata:\n  api: v4\n" })).key).toBe(
          "sources.thetadata.api"
        )
      })
  )

  it.effect("TAPEHOUSE_PG_URL wins over sinks.sql.url and is Redacted", () =>
    Effect.gen(function* () {
      const { config } = yield* load(
        { "sinks.yaml": "sql:\n  url: postgres://me@yaml-host/lake\n" },
        { env: { TAPEHOUSE_PG_URL: "postgres://u:hunter2secret@env-host:5432/lake" } }
      )
      expect(config.sql.url.pipe(Option.map(Redacted.value))).toEqual(
        Option.some("postgres://u:hunter2secret@env-host:5432/lake")
      )
      expect(JSON.stringify(config)).not.toContain("hunter2secret")
    })
  )

  it.effect("sinks.sql.keep_open_ms: YAML over the default, TAPEHOUSE_SQL_KEEP_OPEN_MS over YAML", () =>
    Effect.gen(function* () {
      const files = { "sinks.yaml": "sql:\n  keep_open_ms: 60000\n" }
      expect((yield* load({})).config.sql.keepOpenMs).toBe(300_000)
      expect((yield* load(files)).config.sql.keepOpenMs).toBe(60_000)
      const off = yield* load(files, { env: { TAPEHOUSE_SQL_KEEP_OPEN_MS: "0" } })
      expect(off.config.sql.keepOpenMs).toBe(0)
      const bad = yield* loadError({}, { env: { TAPEHOUSE_SQL_KEEP_OPEN_MS: "5 min" } })
      expect(bad.key).toBe("TAPEHOUSE_SQL_KEEP_OPEN_MS")
      const negative = yield* loadError({ "sinks.yaml": "sql:\n  keep_open_ms: -1\n" })
      expect(negative.key).toBe("sinks.sql.keep_open_ms")
    })
  )

  it.effect("settings.book keys and the Binance bases (environment over sources.binance)", () =>
    Effect.gen(function* () {
      const { config } = yield* load(
        {
          "settings.yaml": "book:\n  segment_ms: 50\n  checkpoint_every_events: 5000\n",
          "sources.yaml": "binance:\n  spot_url: http://yaml-host:1/\n"
        },
        {
          env: {
            TAPEHOUSE_BINANCE_USDM_WS_URL: "ws://127.0.0.1:9/",
            TAPEHOUSE_BINANCE_SPOT_URL: "http://127.0.0.1:9"
          }
        }
      )
      expect(config.book.segmentMs).toBe(50)
      expect(config.book.checkpointEveryEvents).toBe(5000)
      expect(config.book.segmentBytes).toBe(100_000_000)
      expect(config.binance.spotUrl).toBe("http://127.0.0.1:9")
      expect(config.binance.usdmWsUrl).toBe("ws://127.0.0.1:9")
      expect(config.binance.usdmUrl).toBe("https://fapi.binance.com")
      const bad = yield* loadError({ "settings.yaml": "book:\n  max_skew_ms: 0\n" })
      expect(bad.key).toBe("settings.book.max_skew_ms")
      const badEnv = yield* loadError({}, { env: { TAPEHOUSE_BINANCE_SPOT_WS_URL: "http://x" } })
      expect(badEnv.key).toBe("TAPEHOUSE_BINANCE_SPOT_WS_URL")
    })
  )

  it.effect("book.encrypt needs TAPEHOUSE_BOOK_KEY at start: held Redacted, never shown", () =>
    Effect.gen(function* () {
      const settings = { "settings.yaml": "book:\n  encrypt: true\n" }
      expect((yield* loadError(settings)).key).toBe("TAPEHOUSE_BOOK_KEY")
      const shortKey = "ab".repeat(31)
      const bad = yield* loadError(settings, { env: { TAPEHOUSE_BOOK_KEY: shortKey } })
      expect(bad.key).toBe("TAPEHOUSE_BOOK_KEY")
      expect(bad.message).not.toContain(shortKey)
      const key = "c3".repeat(32)
      const { config } = yield* load(settings, { env: { TAPEHOUSE_BOOK_KEY: key } })
      expect(
        config.book.encryptKey && Buffer.from(Redacted.value(config.book.encryptKey)).toString("hex")
      ).toBe(key)
      expect(String(config.book.encryptKey)).toBe("<redacted>")
      // Off: no key needed, none held.
      const { config: plain } = yield* load({}, { env: { TAPEHOUSE_BOOK_KEY: shortKey } })
      expect(plain.book.encryptKey).toBeUndefined()
    })
  )

  it.effect("MASSIVE_API_KEY from .env ends up Redacted and never printed", () =>
    Effect.gen(function* () {
      const { config } = yield* load({}, { dotEnv: `MASSIVE_API_KEY=${API_KEY}\n` })
      expect(Option.isSome(config.massive.apiKey)).toBe(true)
      expect(config.massive.apiKey.pipe(Option.map(Redacted.value))).toEqual(Option.some(API_KEY))
      expect(String(config)).not.toContain(API_KEY)
      expect(JSON.stringify(config)).not.toContain(API_KEY)
      expect(String(Option.getOrThrow(config.massive.apiKey))).toBe("<redacted>")
      // and the environment wins over .env
      const fromEnv = yield* load(
        {},
        { dotEnv: `MASSIVE_API_KEY=${API_KEY}\n`, env: { MASSIVE_API_KEY: "env-key-1234567890" } }
      )
      expect(fromEnv.config.massive.apiKey.pipe(Option.map(Redacted.value))).toEqual(
        Option.some("env-key-1234567890")
      )
    })
  )

  it.effect("the layer provides AppConfig", () =>
    Effect.gen(function* () {
      const cwd = tempDir()
      const config = yield* AppConfig.pipe(Effect.provide(layer({ configDir: SHIPPED, cwd, env: {} })))
      expect(config.massive.pageLimit).toBe(50000)
    })
  )

  describe("errors name the key, the value, the expectation and the source", () => {
    const cases: ReadonlyArray<{
      name: string
      files: Record<string, string>
      key: string
      value: string
      expected: string
      source: string
    }> = [
      {
        name: "a string where a whole number goes",
        files: { "sources.yaml": "massive:\n  rate_limit_per_minute: abc\n" },
        key: "sources.massive.rate_limit_per_minute",
        value: '"abc"',
        expected: "a whole number ≥ 0",
        source: "config/sources.yaml line 2"
      },
      {
        name: "a negative number",
        files: { "retry.yaml": "http:\n  attempts: -1\n" },
        key: "retry.http.attempts",
        value: "-1",
        expected: "a whole number ≥ 1 (total tries, the first included)",
        source: "config/retry.yaml line 2"
      },
      {
        name: "a throttle budget that is no number",
        files: { "retry.yaml": "http:\n  max_throttle_wait_ms: 10m\n" },
        key: "retry.http.max_throttle_wait_ms",
        value: '"10m"',
        expected: "a whole number of milliseconds ≥ 0",
        source: "config/retry.yaml line 2"
      },
      {
        name: "a fraction",
        files: { "settings.yaml": "backfill:\n  concurrency: 1.5\n" },
        key: "settings.backfill.concurrency",
        value: "1.5",
        expected: "a whole number ≥ 1",
        source: "config/settings.yaml line 2"
      },
      {
        name: "a risk-free rate in percent",
        files: { "settings.yaml": "analytics:\n  risk_free_rate: 5\n" },
        key: "settings.analytics.risk_free_rate",
        value: "5",
        expected: "a number from -1 to 1 (0.05 is 5 %)",
        source: "config/settings.yaml line 2"
      },
      {
        name: "a dividend yield that is no number",
        files: { "settings.yaml": "analytics:\n  dividend_yield:\n    SPY: high\n" },
        key: "settings.analytics.dividend_yield",
        value: '{"SPY":"high"}',
        expected:
          "a number from -1 to 1 (0.013 is 1.3 %), or a mapping of underlying tickers to such numbers",
        source: "config/settings.yaml line 3"
      },
      {
        name: "a number out of range",
        files: { "sources.yaml": "massive:\n  page_limit: 50001\n" },
        key: "sources.massive.page_limit",
        value: "50001",
        expected: "a whole number from 1 to 50000",
        source: "config/sources.yaml line 2"
      },
      {
        name: "a value not in the list",
        files: { "sinks.yaml": "parquet:\n  compression: gzip\n" },
        key: "sinks.parquet.compression",
        value: '"gzip"',
        expected: "one of snappy, zstd, uncompressed",
        source: "config/sinks.yaml line 2"
      },
      {
        name: "a string where a boolean goes",
        files: { "sources.yaml": "massive:\n  adjusted: 'yes'\n" },
        key: "sources.massive.adjusted",
        value: '"yes"',
        expected: "true or false",
        source: "config/sources.yaml line 2"
      },
      {
        name: "a bad URL",
        files: { "sources.yaml": "massive:\n  rest_url: ftp://x\n" },
        key: "sources.massive.rest_url",
        value: '"ftp://x"',
        expected: "an http:// or https:// URL",
        source: "config/sources.yaml line 2"
      },
      {
        name: "a scalar where a mapping goes",
        files: { "settings.yaml": "log: loud\n" },
        key: "settings.log",
        value: '"loud"',
        expected: "a mapping with the keys of settings.log",
        source: "config/settings.yaml line 1"
      },
      {
        name: "a dataset the registry does not know",
        files: { "settings.yaml": "stream:\n  datasets: [stock_bars_1s, stock_bars_1m]\n" },
        key: "settings.stream.datasets.1",
        value: '"stock_bars_1m"',
        expected: `one of ${streamedNames.join(", ")}`,
        source: "config/settings.yaml line 2"
      },
      {
        name: "a list of tickers holding something else",
        files: { "settings.yaml": "news:\n  tickers: [SPY, 'not a ticker']\n" },
        key: "settings.news.tickers.1",
        value: '"not a ticker"',
        expected: "a ticker: letters, digits, '.', ':', '_' or '-', at most 32",
        source: "config/settings.yaml line 2"
      },
      {
        name: "a stale-operation bound below a second",
        files: { "settings.yaml": "monitoring:\n  stale_after_ms: 500\n" },
        key: "settings.monitoring.stale_after_ms",
        value: "500",
        expected: "a whole number of milliseconds ≥ 1000",
        source: "config/settings.yaml line 2"
      },
      {
        name: "a metrics host that is no host",
        files: { "settings.yaml": "monitoring:\n  metrics_host: 'http://x/'\n" },
        key: "settings.monitoring.metrics_host",
        value: '"http://x/"',
        expected: "a host name or IP address to listen on, e.g. 127.0.0.1 or 0.0.0.0",
        source: "config/settings.yaml line 2"
      },
      {
        name: "a log level",
        files: { "settings.yaml": "log:\n  level: verbose\n" },
        key: "settings.log.level",
        value: '"verbose"',
        expected: "one of debug, info, warning, error",
        source: "config/settings.yaml line 2"
      }
    ]
    for (const c of cases) {
      it.effect(c.name, () =>
        Effect.gen(function* () {
          const error = yield* loadError(c.files)
          expect(error._tag).toBe("ConfigError")
          expect({
            key: error.key,
            value: error.value,
            expected: error.expected,
            source: error.source
          }).toEqual({
            key: c.key,
            value: c.value,
            expected: c.expected,
            source: c.source
          })
          expect(error.message).toBe(
            `Invalid configuration: ${c.key} = ${c.value} (from ${c.source}); expected ${c.expected}.`
          )
        })
      )
    }

    it.effect("an unknown key lists the known ones", () =>
      Effect.gen(function* () {
        const error = yield* loadError({
          "sources.yaml": "massive:\n  adjusted: true\n  rate_limt_per_minute: 10\n"
        })
        expect(error.key).toBe("sources.massive.rate_limt_per_minute")
        expect(error.value).toBe("10")
        expect(error.source).toBe("config/sources.yaml line 3")
        expect(error.message).toContain(
          "unknown key sources.massive.rate_limt_per_minute; expected one of: rest_url"
        )
        expect(error.message).toContain("did you mean rate_limit_per_minute?")
      })
    )

    it.effect("an unknown section", () =>
      Effect.gen(function* () {
        const error = yield* loadError({ "sinks.yaml": "kafka:\n  enabled: true\n" })
        expect(error.key).toBe("sinks.kafka")
        expect(error.message).toContain("expected one of: parquet, sql")
      })
    )

    it.effect("an API key in YAML is rejected, masked, pointing at MASSIVE_API_KEY", () =>
      Effect.gen(function* () {
        const error = yield* loadError({ "sources.yaml": `massive:\n  api_key: ${API_KEY}\n` })
        expect(error.key).toBe("sources.massive.api_key")
        expect(error.message).toContain("MASSIVE_API_KEY")
        expect(error.message).not.toContain(API_KEY)
        expect(error.value).toBe(`****${API_KEY.slice(-4)}`)
      })
    )

    it.effect("invalid YAML syntax names the file and the line", () =>
      Effect.gen(function* () {
        const error = yield* loadError({ "retry.yaml": "http:\n  attempts: 3\n  base_delay_ms: [1, 2\n" })
        expect(error.source).toMatch(/^config\/retry\.yaml line \d+$/)
        expect(error.expected).toMatch(/^valid YAML/)
        const dup = yield* loadError({ "settings.yaml": "log:\n  level: info\n  level: debug\n" })
        expect(dup.source).toBe("config/settings.yaml line 3")
      })
    )

    it.effect("a bad environment variable names the variable and its source", () =>
      Effect.gen(function* () {
        const error = yield* loadError({}, { env: { TAPEHOUSE_LOG_LEVEL: "loud" } })
        expect(error.message).toBe(
          'Invalid configuration: TAPEHOUSE_LOG_LEVEL = "loud" (from environment variable TAPEHOUSE_LOG_LEVEL); expected one of debug, info, warning, error.'
        )
        const fromDotEnv = yield* loadError({}, { dotEnv: "\n\nTAPEHOUSE_MASSIVE_URL=not a url\n" })
        expect(fromDotEnv.key).toBe("TAPEHOUSE_MASSIVE_URL")
        expect(fromDotEnv.source).toBe(".env line 3")
      })
    )

    it.effect("a bad TAPEHOUSE_PG_URL does not show its password", () =>
      Effect.gen(function* () {
        const error = yield* loadError({}, { env: { TAPEHOUSE_PG_URL: "mysql://root:hunter2secret@db/x" } })
        expect(error.key).toBe("TAPEHOUSE_PG_URL")
        expect(error.message).not.toContain("hunter2secret")
      })
    )

    it.effect("no error message contains the API key", () =>
      Effect.gen(function* () {
        const dotEnv = `MASSIVE_API_KEY=${API_KEY}\n`
        const errors = [
          yield* loadError({ "sources.yaml": `massive:\n  rest_url: ${API_KEY}\n` }, { dotEnv }),
          yield* loadError({ "sources.yaml": `massive:\n  ${API_KEY}: 1\n` }, { dotEnv }),
          yield* loadError({ "sources.yaml": `massive:\n  rest_url: "${API_KEY}\n` }, { dotEnv }),
          yield* loadError({}, { env: { TAPEHOUSE_MASSIVE_URL: `x${API_KEY}` }, dotEnv }),
          yield* loadError({}, { dotEnv: `MASSIVE_API_KEY ${API_KEY}\n` })
        ]
        for (const e of errors) {
          expect(e.message).not.toContain(API_KEY)
          expect(JSON.stringify(e)).not.toContain(API_KEY)
        }
      })
    )

    it.effect("a config dir that does not exist is named", () =>
      Effect.gen(function* () {
        const cwd = tempDir()
        const error = yield* loadConfig({ configDir: "no-such-dir", cwd, env: {} }).pipe(Effect.flip)
        expect(error.key).toBe("config dir")
        expect(error.message).toContain("no-such-dir")
        expect(error.message).toContain("does not exist")
      })
    )

    it.effect("base_delay_ms above max_delay_ms", () =>
      Effect.gen(function* () {
        const error = yield* loadError({
          "retry.yaml": "http:\n  base_delay_ms: 5000\n  max_delay_ms: 100\n"
        })
        expect(error.key).toBe("retry.http.base_delay_ms")
      })
    )
  })
})

describe("parseDotEnv", () => {
  it("reads KEY=VALUE, quotes, comments and export", () => {
    const parsed = parseDotEnv(
      [
        "# comment",
        "",
        "A=plain value # trailing",
        "export B=b",
        "C='single # kept'",
        'D="double\\nline \\"q\\""',
        "E=",
        "F=x=y"
      ].join("\n")
    )
    const vars = Either.getOrThrow(
      parsed._tag === "Right" ? Either.right(parsed.vars) : Either.left(new Error(`line ${parsed.line}`))
    )
    const get = (k: string) => vars.get(k)?.value
    expect(get("A")).toBe("plain value")
    expect(get("B")).toBe("b")
    expect(get("C")).toBe("single # kept")
    expect(get("D")).toBe('double\nline "q"')
    expect(get("E")).toBe("")
    expect(get("F")).toBe("x=y")
  })

  it("reports the line of a malformed entry", () => {
    const parsed = parseDotEnv("A=1\nnot an assignment\n")
    expect(parsed._tag === "Left" ? parsed.line : 0).toBe(2)
  })
})
