/**
 * Loads `AppConfig`: the YAML files of the config dir (`settings.yaml`, `sources.yaml`,
 * `sinks.yaml`, `retry.yaml`), then a `.env` file in the working directory, then the
 * environment, then the `--data-dir` flag — each later source wins. The YAML is validated
 * against one strict Schema (`ConfigFiles`), so every error names the dotted key, the value,
 * what was expected and where it came from. Secrets come only from the environment or `.env`
 * and never appear in an error.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect, Layer, Option, type ParseResult, Redacted, Schema, SchemaAST } from "effect"
import { LineCounter, parseDocument } from "yaml"
import { type BookKey, bookKeyFromEnv } from "../books/encryption.js"
import { streamedNames } from "../domain/datasets.js"
import { ConfigError } from "../domain/errors.js"
import { isTicker, normalizeTicker } from "../domain/tickers.js"
import { AppConfig, type AppConfigShape, type LogLevelName, type ParquetCompression } from "./AppConfig.js"
import { parseDotEnv } from "./dotEnv.js"
import { makeRedactor, maskSecret } from "./redact.js"

export interface LoadConfigOptions {
  /** The folder holding the YAML files, relative to `cwd` or absolute. It must exist. */
  readonly configDir: string
  /** The `--data-dir` flag, which wins over everything else. */
  readonly dataDir?: string
  /** Where `.env` is looked for and relative paths are resolved from. */
  readonly cwd: string
  readonly env: Readonly<Record<string, string | undefined>>
}

// ---------------------------------------------------------------------------------------------
// The YAML, described as a Schema. Every leaf carries a `description` that reads as the
// "expected …" part of an error.

const int = (description: string, min: number, max?: number) => {
  const bounded =
    max === undefined
      ? Schema.Int.pipe(Schema.greaterThanOrEqualTo(min))
      : Schema.Int.pipe(Schema.between(min, max))
  return bounded.annotations({ description })
}

const bool = Schema.Boolean.annotations({ description: "true or false" })

const httpUrl = Schema.String.pipe(
  Schema.filter((s) => /^https?:\/\/[^\s/]+/.test(s) && URL.canParse(s))
).annotations({ description: "an http:// or https:// URL" })

const postgresUrl = Schema.String.pipe(
  Schema.filter((s) => s === "" || (/^postgres(?:ql)?:\/\/\S+$/.test(s) && URL.canParse(s)))
).annotations({ description: "empty (the embedded database) or a postgres://user:password@host:port/db URL" })

const opt = <S extends Schema.Schema.Any>(s: S) => Schema.optionalWith(s, { exact: true })

/** A non-empty list of tickers, upper-cased as the vendors spell them (`spy` is `SPY`). */
const tickers = (example: string) =>
  Schema.NonEmptyArray(
    Schema.transform(
      Schema.String.pipe(Schema.filter((t) => isTicker(normalizeTicker(t)))).annotations({
        description: "a ticker: letters, digits, '.', ':', '_' or '-', at most 32"
      }),
      Schema.String,
      { strict: true, decode: normalizeTicker, encode: (t) => t }
    )
  ).annotations({ description: `a non-empty list of tickers, e.g. [${example}]` })

const DatasetNameSchema = Schema.Literal(...streamedNames).annotations({
  description: `one of ${streamedNames.join(", ")}`
})

/** A continuously compounded annual rate or yield: 0.05 is 5 %. */
const annualRate = Schema.Number.pipe(Schema.finite(), Schema.between(-1, 1)).annotations({
  description: "a number from -1 to 1 (0.05 is 5 %)"
})

const section = <F extends Schema.Struct.Fields>(name: string, fields: F) =>
  Schema.Struct(fields).annotations({ description: `a mapping with the keys of ${name}` })

const LogLevelSchema = Schema.Literal("debug", "info", "warning", "error").annotations({
  description: "one of debug, info, warning, error"
})
const ConsoleSchema = Schema.Literal("pretty", "json", "off").annotations({
  description: "one of pretty, json, off"
})
const FeedSchema = Schema.Literal("realtime", "delayed").annotations({
  description: "one of realtime, delayed"
})
const wsUrl = Schema.String.pipe(Schema.pattern(/^wss?:\/\/[^\s/]+/)).annotations({
  description: "a ws:// or wss:// URL"
})
const ThetaApiSchema = Schema.Literal("v3", "v2").annotations({
  description: "one of v3, v2"
})
const CompressionSchema = Schema.Literal("snappy", "zstd", "uncompressed").annotations({
  description: "one of snappy, zstd, uncompressed"
})

/** `settings.yaml` */
export const SettingsFile = section("settings", {
  data_dir: opt(Schema.NonEmptyTrimmedString.annotations({ description: "a folder path" })),
  log: opt(section("settings.log", { level: opt(LogLevelSchema), console: opt(ConsoleSchema) })),
  backfill: opt(section("settings.backfill", { concurrency: opt(int("a whole number ≥ 1", 1)) })),
  stream: opt(
    section("settings.stream", {
      flush_interval_ms: opt(int("a whole number of milliseconds ≥ 10", 10)),
      queue_capacity: opt(int("a whole number of messages (bars) ≥ 1", 1)),
      late_data_days: opt(int("a whole number of trading days ≥ 0", 0)),
      heartbeat_interval_ms: opt(int("a whole number of milliseconds ≥ 1000", 1000)),
      stall_after_ms: opt(int("a whole number of milliseconds ≥ 1000", 1000)),
      datasets: opt(
        Schema.NonEmptyArray(DatasetNameSchema).annotations({
          description: `a non-empty list of datasets, each one of ${streamedNames.join(", ")}`
        })
      ),
      symbols: opt(tickers("SPY, QQQ"))
    })
  ),
  monitoring: opt(
    section("settings.monitoring", {
      commit_alert_ms: opt(int("a whole number of milliseconds ≥ 1", 1)),
      stale_after_ms: opt(int("a whole number of milliseconds ≥ 1000", 1000)),
      metrics_host: opt(
        Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9.:_-]+$/)).annotations({
          description: "a host name or IP address to listen on, e.g. 127.0.0.1 or 0.0.0.0"
        })
      )
    })
  ),
  indices: opt(section("settings.indices", { symbols: opt(tickers("I:VIX")) })),
  options: opt(
    section("settings.options", {
      underlyings: opt(tickers("SPY")),
      max_dte: opt(int("a whole number of calendar days from 0 to 366", 0, 366)),
      contracts_per_connection: opt(int("a whole number of contracts ≥ 1", 1))
    })
  ),
  news: opt(
    section("settings.news", {
      tickers: opt(tickers("SPY")),
      poll_interval_ms: opt(int("a whole number of milliseconds ≥ 1000", 1000)),
      require_insight: opt(bool)
    })
  ),
  book: opt(
    section("settings.book", {
      segment_bytes: opt(int("a whole number of bytes ≥ 1024", 1024)),
      segment_ms: opt(int("a whole number of milliseconds ≥ 10", 10)),
      checkpoint_every_ms: opt(int("a whole number of milliseconds ≥ 100", 100)),
      checkpoint_every_events: opt(int("a whole number of level changes ≥ 1", 1)),
      checkpoints_kept: opt(int("a whole number of checkpoints ≥ 1", 1)),
      validate_every_ms: opt(int("a whole number of milliseconds ≥ 0 (0: no validation snapshots)", 0)),
      max_skew_ms: opt(int("a whole number of milliseconds ≥ 1", 1)),
      reconnect_every_ms: opt(int("a whole number of milliseconds from 1000 to 86400000", 1000, 86_400_000)),
      snapshot_limit: opt(int("a whole number of levels from 5 to 5000", 5, 5000)),
      encrypt: opt(bool)
    })
  ),
  analytics: opt(
    section("settings.analytics", {
      risk_free_rate: opt(annualRate),
      dividend_yield: opt(
        Schema.Union(
          annualRate,
          Schema.Record({
            key: Schema.String.pipe(Schema.filter((t) => isTicker(normalizeTicker(t)))).annotations({
              description: "a ticker"
            }),
            value: annualRate
          })
        ).annotations({
          description:
            "a number from -1 to 1 (0.013 is 1.3 %), or a mapping of underlying tickers to such numbers"
        })
      )
    })
  )
})

/** `sources.yaml` */
export const SourcesFile = section("sources", {
  massive: opt(
    section("sources.massive", {
      rest_url: opt(httpUrl),
      ws_url: opt(wsUrl),
      feed: opt(FeedSchema),
      /** Present only to be rejected with a useful message. */
      api_key: opt(
        Schema.Unknown.pipe(Schema.filter(() => false)).annotations({
          description:
            "no API key in YAML (secrets come only from the environment or .env): remove it and set MASSIVE_API_KEY instead"
        })
      ),
      adjusted: opt(bool),
      rate_limit_per_minute: opt(int("a whole number ≥ 0", 0)),
      page_limit: opt(int("a whole number from 1 to 50000", 1, 50_000)),
      request_timeout_ms: opt(int("a whole number of milliseconds ≥ 1", 1)),
      calendar_from_api: opt(bool)
    })
  ),
  binance: opt(
    section("sources.binance", {
      spot_url: opt(httpUrl),
      spot_ws_url: opt(wsUrl),
      usdm_url: opt(httpUrl),
      usdm_ws_url: opt(wsUrl)
    })
  ),
  thetadata: opt(
    section("sources.thetadata", {
      url: opt(httpUrl),
      api: opt(ThetaApiSchema),
      request_timeout_ms: opt(int("a whole number of milliseconds ≥ 1", 1)),
      concurrency: opt(int("a whole number from 1 to 4", 1, 4)),
      max_dte: opt(int("a whole number of days from 0 to 3660", 0, 3660))
    })
  )
})

/** `sinks.yaml` */
export const SinksFile = section("sinks", {
  parquet: opt(
    section("sinks.parquet", {
      enabled: opt(bool),
      compression: opt(CompressionSchema),
      row_group_size: opt(int("a whole number of rows ≥ 1", 1))
    })
  ),
  sql: opt(
    section("sinks.sql", {
      enabled: opt(bool),
      url: opt(postgresUrl),
      batch_size: opt(int("a whole number of rows ≥ 1", 1)),
      keep_open_ms: opt(int("a whole number of milliseconds ≥ 0 (0: close after each query)", 0))
    })
  )
})

/** `retry.yaml` */
export const RetryFile = section("retry", {
  http: opt(
    section("retry.http", {
      attempts: opt(int("a whole number ≥ 1 (total tries, the first included)", 1)),
      base_delay_ms: opt(int("a whole number of milliseconds ≥ 0", 0)),
      max_delay_ms: opt(int("a whole number of milliseconds ≥ 0", 0)),
      max_retry_after_ms: opt(int("a whole number of milliseconds ≥ 0", 0)),
      max_throttle_wait_ms: opt(int("a whole number of milliseconds ≥ 0", 0))
    })
  ),
  reconnect: opt(
    section("retry.reconnect", {
      base_delay_ms: opt(int("a whole number of milliseconds ≥ 1", 1)),
      max_delay_ms: opt(int("a whole number of milliseconds ≥ 1", 1))
    })
  )
})

/** The whole YAML configuration: one member per file, named after the file. Strict. */
export const ConfigFiles = Schema.Struct({
  settings: SettingsFile,
  sources: SourcesFile,
  sinks: SinksFile,
  retry: RetryFile
})
export type ConfigFiles = typeof ConfigFiles.Type

export const CONFIG_FILES = ["settings", "sources", "sinks", "retry"] as const
type FileName = (typeof CONFIG_FILES)[number]

/** The built-in defaults, which the shipped `config/*.yaml` repeat. */
export const defaults = {
  dataDir: "./data",
  log: { level: "info" as LogLevelName, console: "pretty" as "pretty" | "json" | "off" },
  backfill: { concurrency: 2 },
  stream: {
    flushIntervalMs: 1000,
    queueCapacity: 1_000_000,
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
  analytics: { riskFreeRate: 0.05, dividendYield: 0 },
  massive: {
    restUrl: "https://api.massive.com",
    feed: "realtime" as "realtime" | "delayed",
    wsUrlRealtime: "wss://socket.massive.com",
    wsUrlDelayed: "wss://delayed.massive.com",
    adjusted: true,
    rateLimitPerMinute: 5,
    pageLimit: 50_000,
    requestTimeoutMs: 30_000,
    calendarFromApi: true
  },
  thetadata: {
    urlV3: "http://127.0.0.1:25503",
    urlV2: "http://127.0.0.1:25510",
    api: "v3" as "v3" | "v2",
    requestTimeoutMs: 120_000,
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
  parquet: { enabled: true, compression: "snappy" as ParquetCompression, rowGroupSize: 100_000 },
  sql: { enabled: true, url: "", batchSize: 10_000, keepOpenMs: 300_000 },
  retry: {
    attempts: 3,
    baseDelayMs: 500,
    maxDelayMs: 30_000,
    maxRetryAfterMs: 120_000,
    maxThrottleWaitMs: 600_000,
    reconnectBaseDelayMs: 1000,
    reconnectMaxDelayMs: 30_000
  }
} as const

/** The resolved `thetadata` settings when nothing is configured: a v3 terminal on its default port. */
export const defaultThetadata: AppConfigShape["thetadata"] = {
  url: defaults.thetadata.urlV3,
  api: defaults.thetadata.api,
  requestTimeoutMs: defaults.thetadata.requestTimeoutMs,
  concurrency: defaults.thetadata.concurrency,
  maxDte: defaults.thetadata.maxDte
}

// ---------------------------------------------------------------------------------------------
// Values and where they came from.

interface Sourced {
  readonly value: string
  /** "environment variable X" or "<path>/.env line N". */
  readonly source: string
}

interface Ctx {
  readonly cwd: string
  /** Masks every secret known so far; applied to every value an error shows. */
  redact: (s: string) => string
}

const showPath = (cwd: string, file: string): string => {
  const rel = path.relative(cwd, file)
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : file
}

const SECRET_NAME = /key|token|secret|passw|pwd|credential/i

const configError = (
  ctx: Ctx,
  fields: { key: string; value: string; expected: string; source: string; secret?: boolean }
): ConfigError =>
  new ConfigError({
    key: ctx.redact(fields.key),
    value: fields.secret === true ? maskSecret(fields.value) : ctx.redact(fields.value),
    expected: ctx.redact(fields.expected),
    source: ctx.redact(fields.source)
  })

const showValue = (u: unknown): string => {
  if (typeof u === "string") return JSON.stringify(u)
  if (u === undefined) return "(nothing)"
  try {
    const s = JSON.stringify(u)
    return s.length > 200 ? `${s.slice(0, 200)}…` : s
  } catch {
    return String(u)
  }
}

const errnoCode = (cause: unknown): string | undefined => {
  const code = typeof cause === "object" && cause !== null ? (cause as { code?: unknown }).code : undefined
  return typeof code === "string" ? code : undefined
}

/** The text of a file, or None when it does not exist. */
const readOptional = (ctx: Ctx, file: string, key: string) =>
  Effect.tryPromise({
    try: () => fs.readFile(file, "utf8").then(Option.some),
    catch: (cause) => cause
  }).pipe(
    Effect.catchAll((cause) =>
      errnoCode(cause) === "ENOENT"
        ? Effect.succeed(Option.none<string>())
        : Effect.fail(
            configError(ctx, {
              key,
              value: showPath(ctx.cwd, file),
              expected: `a readable file (${errnoCode(cause) ?? String(cause)})`,
              source: showPath(ctx.cwd, file)
            })
          )
    )
  )

// ---------------------------------------------------------------------------------------------
// .env

const ENV_VARS = [
  "TAPEHOUSE_DATA_DIR",
  "TAPEHOUSE_MASSIVE_URL",
  "MASSIVE_API_KEY",
  "TAPEHOUSE_PG_URL",
  "TAPEHOUSE_LOG_LEVEL",
  "TAPEHOUSE_MASSIVE_WS_URL",
  "TAPEHOUSE_THETADATA_URL",
  "TAPEHOUSE_SQL_KEEP_OPEN_MS",
  "TAPEHOUSE_BINANCE_SPOT_URL",
  "TAPEHOUSE_BINANCE_SPOT_WS_URL",
  "TAPEHOUSE_BINANCE_USDM_URL",
  "TAPEHOUSE_BINANCE_USDM_WS_URL",
  "TAPEHOUSE_BOOK_KEY"
] as const
type EnvVar = (typeof ENV_VARS)[number]

/** The environment merged over `.env`; empty values count as unset. */
const readEnvironment = (ctx: Ctx, options: LoadConfigOptions) =>
  Effect.gen(function* () {
    const dotEnvPath = path.join(ctx.cwd, ".env")
    const text = yield* readOptional(ctx, dotEnvPath, ".env")
    const fromFile = new Map<string, { value: string; line: number }>()
    if (Option.isSome(text)) {
      const parsed = parseDotEnv(text.value)
      if (parsed._tag === "Left") {
        return yield* Effect.fail(
          configError(ctx, {
            key: `.env line ${parsed.line}`,
            value: "(not shown: it may hold a secret)",
            expected: parsed.reason,
            source: `${showPath(ctx.cwd, dotEnvPath)} line ${parsed.line}`
          })
        )
      }
      for (const [k, v] of parsed.vars) fromFile.set(k, v)
    }
    const out = new Map<EnvVar, Sourced>()
    for (const name of ENV_VARS) {
      const direct = options.env[name]
      if (direct !== undefined && direct !== "") {
        out.set(name, { value: direct, source: `environment variable ${name}` })
        continue
      }
      const dotted = fromFile.get(name)
      if (dotted !== undefined && dotted.value !== "") {
        out.set(name, { value: dotted.value, source: `${showPath(ctx.cwd, dotEnvPath)} line ${dotted.line}` })
      }
    }
    return out
  })

// ---------------------------------------------------------------------------------------------
// YAML

interface LoadedFile {
  readonly file: string
  readonly data: unknown
  /** The 1-based line of the node at a path inside the file, when known. */
  readonly lineOf: (keys: ReadonlyArray<PropertyKey>) => number | undefined
}

const readYaml = (ctx: Ctx, configDir: string, name: FileName) =>
  Effect.gen(function* () {
    const file = path.join(configDir, `${name}.yaml`)
    const shown = showPath(ctx.cwd, file)
    const text = yield* readOptional(ctx, file, name)
    if (Option.isNone(text)) {
      return { file: shown, data: {}, lineOf: () => undefined } satisfies LoadedFile
    }
    const lineCounter = new LineCounter()
    const doc = parseDocument(text.value, { lineCounter, prettyErrors: false })
    const first = doc.errors[0]
    if (first !== undefined) {
      const line = first.linePos?.[0]?.line ?? lineCounter.linePos(first.pos[0]).line
      const lineText = (text.value.split(/\r?\n/)[line - 1] ?? "").trim()
      return yield* Effect.fail(
        configError(ctx, {
          key: `${name} (YAML syntax)`,
          value: SECRET_NAME.test(lineText)
            ? "(line not shown: it may hold a secret)"
            : JSON.stringify(lineText),
          expected: `valid YAML (${first.message.split("\n")[0] ?? first.code})`,
          source: `${shown} line ${line}`
        })
      )
    }
    const data = yield* Effect.try({
      try: () => doc.toJS({ maxAliasCount: 100 }) as unknown,
      catch: (cause) =>
        configError(ctx, {
          key: `${name} (YAML)`,
          value: "(the document)",
          expected: `YAML that can be read (${cause instanceof Error ? cause.message : String(cause)})`,
          source: shown
        })
    })
    const lineOf = (keys: ReadonlyArray<PropertyKey>): number | undefined => {
      const node = doc.getIn(keys as Array<unknown>, true) as { range?: [number, number, number] } | undefined
      const start = node?.range?.[0]
      return start === undefined ? undefined : lineCounter.linePos(start).line
    }
    return { file: shown, data: dropNulls(data ?? {}), lineOf } satisfies LoadedFile
  })

/** An empty YAML value (`key:` with nothing after it) means "the default": drop it. */
const dropNulls = (u: unknown): unknown => {
  if (Array.isArray(u)) return u.map(dropNulls)
  if (typeof u === "object" && u !== null) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(u)) if (v !== null) out[k] = dropNulls(v)
    return out
  }
  return u
}

// ---------------------------------------------------------------------------------------------
// Schema errors → ConfigError

const expectedOf = (ast: SchemaAST.AST): string | undefined =>
  Option.getOrUndefined(SchemaAST.getDescriptionAnnotation(ast))

const keysOf = (ast: SchemaAST.AST): ReadonlyArray<string> =>
  SchemaAST.isTypeLiteral(ast) ? ast.propertySignatures.map((p) => String(p.name)) : []

interface Located {
  readonly path: ReadonlyArray<PropertyKey>
  readonly actual: unknown
  readonly expected: string | undefined
  /** Set when the key itself is unknown: the keys its mapping accepts. */
  readonly unknownKeyOf: ReadonlyArray<string> | undefined
}

/** Finds the first failing value in a ParseIssue tree, its path, and the leaf's description. */
const locate = (issue: ParseResult.ParseIssue): Located => {
  const go = (
    i: ParseResult.ParseIssue,
    at: ReadonlyArray<PropertyKey>,
    expected: string | undefined,
    actual: unknown,
    parentKeys: ReadonlyArray<string>
  ): Located => {
    switch (i._tag) {
      case "Pointer": {
        const more = Array.isArray(i.path) ? (i.path as ReadonlyArray<PropertyKey>) : [i.path as PropertyKey]
        const next = i.issue
        if (next._tag === "Unexpected") {
          return {
            path: [...at, ...more],
            actual: next.actual,
            expected: undefined,
            unknownKeyOf: parentKeys
          }
        }
        return go(next, [...at, ...more], undefined, undefined, [])
      }
      case "Composite": {
        const e = expected ?? expectedOf(i.ast)
        const a = expected === undefined ? i.actual : actual
        const keys = keysOf(i.ast).length > 0 ? keysOf(i.ast) : parentKeys
        const first = Array.isArray(i.issues)
          ? (i.issues as ReadonlyArray<ParseResult.ParseIssue>)[0]
          : i.issues
        return first === undefined
          ? { path: at, actual: a, expected: e, unknownKeyOf: undefined }
          : go(first as ParseResult.ParseIssue, at, e, a, keys)
      }
      case "Refinement":
      case "Transformation": {
        const e = expected ?? expectedOf(i.ast)
        return go(i.issue, at, e, expected === undefined ? i.actual : actual, parentKeys)
      }
      case "Unexpected":
        return { path: at, actual: i.actual, expected, unknownKeyOf: parentKeys }
      case "Missing":
        return { path: at, actual: undefined, expected, unknownKeyOf: undefined }
      default:
        return {
          path: at,
          actual: expected === undefined ? i.actual : actual,
          expected: expected ?? expectedOf(i.ast),
          unknownKeyOf: undefined
        }
    }
  }
  return go(issue, [], undefined, undefined, [])
}

const editDistance = (a: string, b: string): number => {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return prev[b.length]!
}

const toConfigError = (
  ctx: Ctx,
  files: Readonly<Record<FileName, LoadedFile>>,
  error: ParseResult.ParseError
): ConfigError => {
  const found = locate(error.issue)
  const [fileKey, ...inner] = found.path
  const file = files[(fileKey as FileName | undefined) ?? "settings"] ?? files.settings
  const key = found.path.map(String).join(".")
  const line = file.lineOf(inner)
  const source = line === undefined ? file.file : `${file.file} line ${line}`
  const leaf = String(found.path[found.path.length - 1] ?? "")
  const secret = SECRET_NAME.test(leaf)
  if (found.unknownKeyOf !== undefined) {
    // `api_key` is known only to be rejected: do not suggest it.
    const known = found.unknownKeyOf.filter((k) => k !== "api_key")
    const guess = known
      .map((k) => [k, editDistance(leaf, k)] as const)
      .filter(([, d]) => d <= 3)
      .sort((x, y) => x[1] - y[1])[0]?.[0]
    return configError(ctx, {
      key,
      value: secret && typeof found.actual === "string" ? found.actual : showValue(found.actual),
      expected: `a known key: unknown key ${key}; expected one of: ${known.join(", ")}${guess === undefined ? "" : ` (did you mean ${guess}?)`}`,
      source,
      secret
    })
  }
  return configError(ctx, {
    key,
    value: secret && typeof found.actual === "string" ? found.actual : showValue(found.actual),
    expected: found.expected ?? "a valid value",
    source,
    secret
  })
}

// ---------------------------------------------------------------------------------------------

const LOG_LEVELS: ReadonlyArray<LogLevelName> = ["debug", "info", "warning", "error"]

const decodeFiles = Schema.decodeUnknownEither(ConfigFiles, { onExcessProperty: "error", errors: "first" })

/** Loads and validates the configuration. See the module comment for the precedence. */
export const loadConfig = (options: LoadConfigOptions): Effect.Effect<AppConfigShape, ConfigError> =>
  Effect.gen(function* () {
    const cwd = path.resolve(options.cwd)
    const ctx: Ctx = { cwd, redact: (s) => s }
    const configDir = path.resolve(cwd, options.configDir)

    const dirStat = yield* Effect.tryPromise(() => fs.stat(configDir)).pipe(Effect.option)
    if (Option.isNone(dirStat) || !dirStat.value.isDirectory()) {
      return yield* Effect.fail(
        configError(ctx, {
          key: "config dir",
          value: JSON.stringify(options.configDir),
          expected: `an existing folder holding ${CONFIG_FILES.map((f) => `${f}.yaml`).join(", ")} (${
            Option.isNone(dirStat) ? "it does not exist" : "it is not a folder"
          })`,
          source: `the config dir option (resolved to ${configDir})`
        })
      )
    }

    const env = yield* readEnvironment(ctx, options)
    const envSecrets = [
      env.get("MASSIVE_API_KEY")?.value,
      env.get("TAPEHOUSE_PG_URL")?.value,
      env.get("TAPEHOUSE_BOOK_KEY")?.value
    ].filter((s): s is string => s !== undefined)
    ctx.redact = makeRedactor(envSecrets)

    const files = {} as Record<FileName, LoadedFile>
    for (const name of CONFIG_FILES) files[name] = yield* readYaml(ctx, configDir, name)

    // A password in sinks.sql.url is a secret too: mask it in any error from here on.
    const rawSqlUrl = (files.sinks.data as { sql?: { url?: unknown } } | undefined)?.sql?.url
    if (typeof rawSqlUrl === "string" && rawSqlUrl !== "")
      ctx.redact = makeRedactor([...envSecrets, rawSqlUrl])

    const decoded = decodeFiles({
      settings: files.settings.data,
      sources: files.sources.data,
      sinks: files.sinks.data,
      retry: files.retry.data
    })
    if (decoded._tag === "Left") return yield* Effect.fail(toConfigError(ctx, files, decoded.left))
    const y = decoded.right

    // Environment values, validated where they land.
    const envError = (name: EnvVar, v: Sourced, expected: string, secret = false) =>
      configError(ctx, {
        key: name,
        value: secret ? v.value : JSON.stringify(v.value),
        expected,
        source: v.source,
        secret
      })

    const logLevelEnv = env.get("TAPEHOUSE_LOG_LEVEL")
    let logLevel: LogLevelName = y.settings.log?.level ?? defaults.log.level
    if (logLevelEnv !== undefined) {
      const lower = logLevelEnv.value.trim().toLowerCase()
      const match = LOG_LEVELS.find((l) => l === lower)
      if (match === undefined) {
        return yield* Effect.fail(
          envError("TAPEHOUSE_LOG_LEVEL", logLevelEnv, "one of debug, info, warning, error")
        )
      }
      logLevel = match
    }

    const urlEnv = env.get("TAPEHOUSE_MASSIVE_URL")
    if (urlEnv !== undefined && !Schema.is(httpUrl)(urlEnv.value)) {
      return yield* Effect.fail(envError("TAPEHOUSE_MASSIVE_URL", urlEnv, "an http:// or https:// URL"))
    }
    const restUrl = (urlEnv?.value ?? y.sources.massive?.rest_url ?? defaults.massive.restUrl).replace(
      /\/+$/,
      ""
    )

    const thetaUrlEnv = env.get("TAPEHOUSE_THETADATA_URL")
    if (thetaUrlEnv !== undefined && !Schema.is(httpUrl)(thetaUrlEnv.value)) {
      return yield* Effect.fail(
        envError("TAPEHOUSE_THETADATA_URL", thetaUrlEnv, "an http:// or https:// URL")
      )
    }
    const thetaApi = y.sources.thetadata?.api ?? defaults.thetadata.api
    const thetaUrl = (
      thetaUrlEnv?.value ??
      y.sources.thetadata?.url ??
      (thetaApi === "v2" ? defaults.thetadata.urlV2 : defaults.thetadata.urlV3)
    ).replace(/\/+$/, "")

    const wsEnv = env.get("TAPEHOUSE_MASSIVE_WS_URL")
    if (wsEnv !== undefined && !Schema.is(wsUrl)(wsEnv.value)) {
      return yield* Effect.fail(envError("TAPEHOUSE_MASSIVE_WS_URL", wsEnv, "a ws:// or wss:// URL"))
    }
    const feed = y.sources.massive?.feed ?? defaults.massive.feed
    const massiveWsUrl = (
      wsEnv?.value ??
      y.sources.massive?.ws_url ??
      (feed === "delayed" ? defaults.massive.wsUrlDelayed : defaults.massive.wsUrlRealtime)
    ).replace(/\/+$/, "")

    // Binance bases: environment over sources.binance over the defaults.
    const b = y.sources.binance
    const binanceBases = [
      [
        "TAPEHOUSE_BINANCE_SPOT_URL",
        b?.spot_url,
        defaults.binance.spotUrl,
        httpUrl,
        "an http:// or https:// URL"
      ],
      [
        "TAPEHOUSE_BINANCE_SPOT_WS_URL",
        b?.spot_ws_url,
        defaults.binance.spotWsUrl,
        wsUrl,
        "a ws:// or wss:// URL"
      ],
      [
        "TAPEHOUSE_BINANCE_USDM_URL",
        b?.usdm_url,
        defaults.binance.usdmUrl,
        httpUrl,
        "an http:// or https:// URL"
      ],
      [
        "TAPEHOUSE_BINANCE_USDM_WS_URL",
        b?.usdm_ws_url,
        defaults.binance.usdmWsUrl,
        wsUrl,
        "a ws:// or wss:// URL"
      ]
    ] as const
    const bases: Array<string> = []
    for (const [name, fromYaml, fallback, schema, expected] of binanceBases) {
      const v = env.get(name)
      if (v !== undefined && !Schema.is(schema)(v.value))
        return yield* Effect.fail(envError(name, v, expected))
      bases.push((v?.value ?? fromYaml ?? fallback).replace(/\/+$/, ""))
    }

    // book.encrypt: the key must be there and well formed at start (never shown in the error).
    let bookKey: BookKey | undefined
    if (y.settings.book?.encrypt === true) {
      const keyEnv = env.get("TAPEHOUSE_BOOK_KEY")
      const parsed = bookKeyFromEnv(true, { TAPEHOUSE_BOOK_KEY: keyEnv?.value })
      if (parsed._tag === "Left")
        return yield* Effect.fail(
          configError(ctx, {
            key: "TAPEHOUSE_BOOK_KEY",
            value: parsed.left.value,
            expected: parsed.left.expected,
            source: keyEnv?.source ?? "environment (settings.book.encrypt is true)"
          })
        )
      bookKey = parsed.right
    }

    const pgEnv = env.get("TAPEHOUSE_PG_URL")
    if (pgEnv !== undefined && !Schema.is(postgresUrl)(pgEnv.value)) {
      return yield* Effect.fail(
        envError(
          "TAPEHOUSE_PG_URL",
          pgEnv,
          "a postgres://user:password@host:port/db URL, or unset for the embedded database"
        )
      )
    }
    const sqlUrl = pgEnv?.value ?? y.sinks.sql?.url ?? defaults.sql.url

    const keepOpenEnv = env.get("TAPEHOUSE_SQL_KEEP_OPEN_MS")
    if (keepOpenEnv !== undefined && !/^\d+$/.test(keepOpenEnv.value.trim())) {
      return yield* Effect.fail(
        envError(
          "TAPEHOUSE_SQL_KEEP_OPEN_MS",
          keepOpenEnv,
          "a whole number of milliseconds ≥ 0 (0: close after each query)"
        )
      )
    }
    const keepOpenMs =
      keepOpenEnv === undefined
        ? (y.sinks.sql?.keep_open_ms ?? defaults.sql.keepOpenMs)
        : Number(keepOpenEnv.value.trim())

    const apiKeyEnv = env.get("MASSIVE_API_KEY")
    if (apiKeyEnv !== undefined && /\s/.test(apiKeyEnv.value.trim())) {
      return yield* Effect.fail(envError("MASSIVE_API_KEY", apiKeyEnv, "an API key without spaces", true))
    }
    const apiKey = apiKeyEnv?.value.trim()

    const dataDirFlag =
      options.dataDir !== undefined && options.dataDir.trim() !== "" ? options.dataDir : undefined
    const dataDir = path.resolve(
      cwd,
      dataDirFlag ?? env.get("TAPEHOUSE_DATA_DIR")?.value ?? y.settings.data_dir ?? defaults.dataDir
    )

    const http = y.retry.http
    const retry = {
      attempts: http?.attempts ?? defaults.retry.attempts,
      baseDelayMs: http?.base_delay_ms ?? defaults.retry.baseDelayMs,
      maxDelayMs: http?.max_delay_ms ?? defaults.retry.maxDelayMs,
      maxRetryAfterMs: http?.max_retry_after_ms ?? defaults.retry.maxRetryAfterMs,
      maxThrottleWaitMs: http?.max_throttle_wait_ms ?? defaults.retry.maxThrottleWaitMs,
      reconnectBaseDelayMs: y.retry.reconnect?.base_delay_ms ?? defaults.retry.reconnectBaseDelayMs,
      reconnectMaxDelayMs: y.retry.reconnect?.max_delay_ms ?? defaults.retry.reconnectMaxDelayMs
    }
    if (retry.baseDelayMs > retry.maxDelayMs) {
      return yield* Effect.fail(
        configError(ctx, {
          key: "retry.http.base_delay_ms",
          value: String(retry.baseDelayMs),
          expected: `at most retry.http.max_delay_ms (${retry.maxDelayMs})`,
          source: files.retry.file
        })
      )
    }

    const m = y.sources.massive
    const config: AppConfigShape = {
      dataDir,
      configDir,
      log: {
        level: logLevel,
        console: y.settings.log?.console ?? defaults.log.console
      },
      backfill: { concurrency: y.settings.backfill?.concurrency ?? defaults.backfill.concurrency },
      stream: {
        flushIntervalMs: y.settings.stream?.flush_interval_ms ?? defaults.stream.flushIntervalMs,
        queueCapacity: y.settings.stream?.queue_capacity ?? defaults.stream.queueCapacity,
        lateDataDays: y.settings.stream?.late_data_days ?? defaults.stream.lateDataDays,
        heartbeatIntervalMs: y.settings.stream?.heartbeat_interval_ms ?? defaults.stream.heartbeatIntervalMs,
        stallAfterMs: y.settings.stream?.stall_after_ms ?? defaults.stream.stallAfterMs,
        datasets: unique(y.settings.stream?.datasets ?? defaults.stream.datasets),
        symbols: unique(y.settings.stream?.symbols ?? defaults.stream.symbols)
      },
      monitoring: {
        commitAlertMs: y.settings.monitoring?.commit_alert_ms ?? defaults.monitoring.commitAlertMs,
        staleAfterMs: y.settings.monitoring?.stale_after_ms ?? defaults.monitoring.staleAfterMs,
        metricsHost: y.settings.monitoring?.metrics_host ?? defaults.monitoring.metricsHost
      },
      indices: { symbols: unique(y.settings.indices?.symbols ?? defaults.indices.symbols) },
      options: {
        underlyings: unique(y.settings.options?.underlyings ?? defaults.options.underlyings),
        maxDte: y.settings.options?.max_dte ?? defaults.options.maxDte,
        contractsPerConnection:
          y.settings.options?.contracts_per_connection ?? defaults.options.contractsPerConnection
      },
      news: {
        tickers: unique(y.settings.news?.tickers ?? defaults.news.tickers),
        pollIntervalMs: y.settings.news?.poll_interval_ms ?? defaults.news.pollIntervalMs,
        requireInsight: y.settings.news?.require_insight ?? defaults.news.requireInsight
      },
      analytics: analyticsOf(y.settings.analytics),
      massive: {
        vendor: "Massive",
        keyEnv: "MASSIVE_API_KEY",
        restUrl,
        wsUrl: massiveWsUrl,
        feed,
        apiKey: apiKey === undefined || apiKey === "" ? Option.none() : Option.some(Redacted.make(apiKey)),
        adjusted: m?.adjusted ?? defaults.massive.adjusted,
        rateLimitPerMinute: m?.rate_limit_per_minute ?? defaults.massive.rateLimitPerMinute,
        pageLimit: m?.page_limit ?? defaults.massive.pageLimit,
        requestTimeoutMs: m?.request_timeout_ms ?? defaults.massive.requestTimeoutMs,
        calendarFromApi: m?.calendar_from_api ?? defaults.massive.calendarFromApi
      },
      thetadata: {
        url: thetaUrl,
        api: thetaApi,
        requestTimeoutMs: y.sources.thetadata?.request_timeout_ms ?? defaults.thetadata.requestTimeoutMs,
        concurrency: y.sources.thetadata?.concurrency ?? defaults.thetadata.concurrency,
        maxDte: y.sources.thetadata?.max_dte ?? defaults.thetadata.maxDte
      },
      binance: { spotUrl: bases[0]!, spotWsUrl: bases[1]!, usdmUrl: bases[2]!, usdmWsUrl: bases[3]! },
      book: { ...bookOf(y.settings.book), ...(bookKey === undefined ? {} : { encryptKey: bookKey }) },
      parquet: {
        enabled: y.sinks.parquet?.enabled ?? defaults.parquet.enabled,
        compression: y.sinks.parquet?.compression ?? defaults.parquet.compression,
        rowGroupSize: y.sinks.parquet?.row_group_size ?? defaults.parquet.rowGroupSize
      },
      sql: {
        enabled: y.sinks.sql?.enabled ?? defaults.sql.enabled,
        url: sqlUrl === "" ? Option.none() : Option.some(Redacted.make(sqlUrl)),
        batchSize: y.sinks.sql?.batch_size ?? defaults.sql.batchSize,
        keepOpenMs
      },
      retry
    }
    return config
  })

/** `settings.analytics`: a yield for every underlying, or one per ticker (the others get 0). */
const analyticsOf = (a: ConfigFiles["settings"]["analytics"]): AppConfigShape["analytics"] => {
  const y = a?.dividend_yield ?? defaults.analytics.dividendYield
  return {
    riskFreeRate: a?.risk_free_rate ?? defaults.analytics.riskFreeRate,
    dividendYield:
      typeof y === "number"
        ? { default: y, byUnderlying: {} }
        : {
            default: 0,
            byUnderlying: Object.fromEntries(Object.entries(y).map(([k, v]) => [normalizeTicker(k), v]))
          }
  }
}

/** `settings.book`, defaults filled in. */
const bookOf = (k: ConfigFiles["settings"]["book"]): AppConfigShape["book"] => ({
  segmentBytes: k?.segment_bytes ?? defaults.book.segmentBytes,
  segmentMs: k?.segment_ms ?? defaults.book.segmentMs,
  checkpointEveryMs: k?.checkpoint_every_ms ?? defaults.book.checkpointEveryMs,
  checkpointEveryEvents: k?.checkpoint_every_events ?? defaults.book.checkpointEveryEvents,
  checkpointsKept: k?.checkpoints_kept ?? defaults.book.checkpointsKept,
  validateEveryMs: k?.validate_every_ms ?? defaults.book.validateEveryMs,
  maxSkewMs: k?.max_skew_ms ?? defaults.book.maxSkewMs,
  reconnectEveryMs: k?.reconnect_every_ms ?? defaults.book.reconnectEveryMs,
  snapshotLimit: k?.snapshot_limit ?? defaults.book.snapshotLimit
})

/** A list without repeats, in its first order. */
const unique = <T>(items: ReadonlyArray<T>): ReadonlyArray<T> => [...new Set(items)]

/** `AppConfig` loaded by `loadConfig`. */
export const layer = (options: LoadConfigOptions): Layer.Layer<AppConfig, ConfigError> =>
  Layer.effect(AppConfig, loadConfig(options))
