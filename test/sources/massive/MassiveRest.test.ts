import { existsSync, readFileSync } from "node:fs"
import * as net from "node:net"
import { join } from "node:path"
import { HttpClient, HttpClientError, type HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import {
  Chunk,
  Clock,
  Effect,
  Exit,
  Fiber,
  Logger,
  LogLevel,
  Option,
  Redacted,
  Stream,
  TestClock
} from "effect"
import { AppConfig, type AppConfigShape } from "../../../src/config/AppConfig.js"
import { defaults as bookDefaults, defaultThetadata } from "../../../src/config/loadConfig.js"
import type { StockBar } from "../../../src/domain/StockBar.js"
import * as MassiveRest from "../../../src/sources/massive/MassiveRest.js"
import { stockBarCodec } from "../../../src/sources/massive/wire.js"

const fixtures = join(process.cwd(), "..", "shared", "fixtures", "massive")
const haveFixtures = existsSync(fixtures)
const fixtureText = (name: string): string => readFileSync(join(fixtures, name), "utf8")

const BASE = "https://api.test.invalid"

type Massive = AppConfigShape["massive"]
type Retry = AppConfigShape["retry"]

const makeConfig = (
  key: string | undefined,
  massive: Partial<Massive> = {},
  retry: Partial<Retry> = {}
): AppConfigShape => ({
  dataDir: "/tmp/tapehouse-test",
  configDir: "/tmp/tapehouse-test",
  log: { level: "info", console: "off" },
  backfill: { concurrency: 1 },
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
    restUrl: BASE + "/",
    wsUrl: "ws://127.0.0.1:1",
    feed: "realtime",
    apiKey: key === undefined ? Option.none() : Option.some(Redacted.make(key)),
    adjusted: true,
    rateLimitPerMinute: 0,
    pageLimit: 50_000,
    requestTimeoutMs: 10_000,
    calendarFromApi: true,
    ...massive
  },
  thetadata: defaultThetadata,
  binance: bookDefaults.binance,
  book: bookDefaults.book,
  parquet: { enabled: false, compression: "snappy", rowGroupSize: 100_000 },
  sql: { enabled: false, url: Option.none(), batchSize: 1000, keepOpenMs: 0 },
  retry: {
    attempts: 3,
    baseDelayMs: 1000,
    maxDelayMs: 30_000,
    maxRetryAfterMs: 60_000,
    maxThrottleWaitMs: 600_000,
    reconnectBaseDelayMs: 1000,
    reconnectMaxDelayMs: 30_000,
    ...retry
  }
})

interface Seen {
  /** TestClock time the request was sent. */
  readonly at: number
  readonly url: URL
  readonly headers: Readonly<Record<string, string>>
}

type Reply = Response | Effect.Effect<Response, HttpClientError.HttpClientError>
/** Scripted backend: `n` is the 1-based number of the request. */
type Script = (url: URL, n: number, request: HttpClientRequest.HttpClientRequest) => Reply

const json = (body: unknown, status = 200, headers: Record<string, string> = {}): Response =>
  new Response(typeof body === "string" ? body : JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers }
  })

let keyCounter = 0
/** A fresh key per test, so the process-wide limiter registry never mixes tests. */
const freshKey = (): string => `test-key-${++keyCounter}-SECRET`

const fakeClient = (script: Script) => {
  const seen: Array<Seen> = []
  const client = HttpClient.make((request, url) =>
    Effect.flatMap(Clock.currentTimeMillis, (at) => {
      seen.push({ at, url, headers: request.headers })
      const reply = script(url, seen.length, request)
      return Effect.map(reply instanceof Response ? Effect.succeed(reply) : reply, (r) =>
        HttpClientResponse.fromWeb(request, r)
      )
    })
  )
  return { client, seen }
}

const build = (script: Script, config: AppConfigShape) => {
  const { client, seen } = fakeClient(script)
  return Effect.map(
    MassiveRest.make.pipe(
      Effect.provideService(HttpClient.HttpClient, client),
      Effect.provideService(AppConfig, config)
    ),
    (rest) => ({ rest, seen })
  )
}

/** Collects log lines (message and level) instead of printing them; debug included. */
const captureLogs = () => {
  const lines: Array<{ level: string; message: string }> = []
  const logger = Logger.make(({ logLevel, message }) => {
    lines.push({
      level: logLevel.label,
      message: Array.isArray(message) ? message.join(" ") : String(message)
    })
  })
  const provide = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    effect.pipe(
      Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
      Logger.withMinimumLogLevel(LogLevel.Debug)
    )
  return { lines, provide }
}

const bar = (t: number, extra: Record<string, unknown> = {}) => ({
  v: 100,
  vw: 10.05,
  o: 10,
  c: 10.1,
  h: 10.2,
  l: 9.9,
  t,
  n: 4,
  ...extra
})

const envelope = (ticker: string, results: ReadonlyArray<unknown>, nextUrl?: string) => ({
  ticker,
  queryCount: results.length,
  resultsCount: results.length,
  adjusted: true,
  results,
  status: "OK",
  request_id: "6a7e466379af0a71039d60cc78e72282",
  count: results.length,
  ...(nextUrl === undefined ? {} : { next_url: nextUrl })
})

const spyRequest: MassiveRest.AggregatesRequest = {
  ticker: "SPY",
  multiplier: 1,
  timespan: "second",
  from: "2024-01-02",
  to: "2024-01-02"
}

const collectPages = (rest: MassiveRest.MassiveRestShape, request = spyRequest) =>
  Effect.map(Stream.runCollect(rest.aggregates(request, stockBarCodec)), Chunk.toReadonlyArray)

describe("MassiveRest.Live pipeline", () => {
  it.effect("paginates: re-adds auth on every page and never leaves the configured host", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const key = freshKey()
        const logs = captureLogs()
        const { rest, seen } = yield* build((url, n) => {
          if (n === 1) {
            // a hostile next_url: other host, explicit port, even an apiKey parameter
            return json(
              envelope(
                "SPY",
                [bar(1704205800000), bar(1704205801000)],
                "https://evil.example.com:443/v2/aggs/ticker/SPY/range/1/second/1704205802000/2024-01-02?cursor=bGltaXQ9Mg&apiKey=leak"
              )
            )
          }
          expect(url.searchParams.get("cursor")).toBe("bGltaXQ9Mg")
          return json(envelope("SPY", [bar(1704205802000, { vw: undefined, n: undefined })]))
        }, makeConfig(key))
        const pages = yield* logs.provide(collectPages(rest))

        expect(pages.map((p) => [p.page, p.bars.length, p.rejected.length])).toEqual([
          [1, 2, 0],
          [2, 1, 0]
        ])
        expect(pages[0]?.bars[0]).toEqual({
          symbol: "SPY",
          ts: 1704205800000,
          open: 10,
          high: 10.2,
          low: 9.9,
          close: 10.1,
          volume: 100,
          vwap: 10.05,
          trades: 4
        } satisfies StockBar)
        expect(pages[1]?.bars[0]).toMatchObject({ vwap: null, trades: null })

        expect(seen.length).toBe(2)
        const [first, second] = seen
        expect(first?.url.origin).toBe(BASE)
        expect(first?.url.pathname).toBe("/v2/aggs/ticker/SPY/range/1/second/2024-01-02/2024-01-02")
        expect(Object.fromEntries(first?.url.searchParams ?? [])).toEqual({
          adjusted: "true",
          sort: "asc",
          limit: "50000"
        })
        expect(second?.url.origin).toBe(BASE)
        expect(second?.url.pathname).toBe("/v2/aggs/ticker/SPY/range/1/second/1704205802000/2024-01-02")
        for (const s of seen) {
          expect(s.headers["authorization"]).toBe(`Bearer ${key}`)
          expect(s.headers["accept"]).toBe("application/json")
          expect(s.headers["user-agent"]).toMatch(/^tapehouse\/\d+\.\d+\.\d+/)
          expect(s.url.searchParams.has("apiKey")).toBe(false)
          expect(s.url.href).not.toContain(key)
        }
        // one debug line per page, nothing per bar, no warnings
        expect(logs.lines.filter((l) => l.level === "DEBUG").length).toBe(2)
        expect(logs.lines.filter((l) => l.level === "WARN")).toEqual([])
      })
    )
  )

  it.effect("sends no adjusted parameter for indices and rejects their volume-less bars with a reason", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const indexBar = { c: 11995.88, h: 12340.44, l: 11970.34, o: 12230.83, t: 1678341600000 }
        const { rest, seen } = yield* build(
          () => json({ ticker: "I:NDX", queryCount: 1, results: [indexBar], status: "OK", request_id: "x" }),
          makeConfig(freshKey())
        )
        const pages = yield* collectPages(rest, { ...spyRequest, ticker: "I:NDX", timespan: "day" })
        expect(pages.length).toBe(1)
        expect(pages[0]?.bars).toEqual([])
        expect(pages[0]?.rejected).toEqual([
          {
            record: { symbol: "I:NDX", ...indexBar },
            reason:
              "bar (t=1678341600000) has no v (volume); indices bars carry no volume and do not fit stock bars"
          }
        ])
        expect(seen[0]?.url.pathname).toBe("/v2/aggs/ticker/I:NDX/range/1/day/2024-01-02/2024-01-02")
        expect(seen[0]?.url.searchParams.has("adjusted")).toBe(false)
      })
    )
  )

  it.effect("keeps good bars and rejects a non-numeric one on the same page; DELAYED is success", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { rest } = yield* build(
          () =>
            json({
              ...envelope("SPY", [bar(1), bar(2, { h: "10.2" }), bar(3)]),
              status: "DELAYED"
            }),
          makeConfig(freshKey())
        )
        const [page] = yield* collectPages(rest)
        expect(page?.bars.map((b) => b.ts)).toEqual([1, 3])
        expect(page?.rejected.map((r) => r.reason)).toEqual([
          "bar (t=2) field h is string, expected a number"
        ])
      })
    )
  )

  it.effect("an empty day (no results member) is one empty page", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { rest } = yield* build(
          () =>
            json({
              ticker: "SPY",
              queryCount: 0,
              resultsCount: 0,
              adjusted: true,
              status: "OK",
              request_id: "r"
            }),
          makeConfig(freshKey())
        )
        expect(yield* collectPages(rest)).toEqual([{ bars: [], rejected: [], page: 1 }])
      })
    )
  )

  it.effect("429 storm: honours Retry-After (seconds and HTTP-date), no request before it elapses", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const logs = captureLogs()
        const limited = {
          status: "ERROR",
          request_id: "r429",
          error: "You've exceeded the maximum requests per minute"
        }
        const { rest, seen } = yield* build(
          (_url, n) =>
            n === 1
              ? json(limited, 429, { "retry-after": "7" })
              : n === 2
                ? // HTTP-date 20 s after the TestClock's current time (7 s)
                  json(limited, 429, { "retry-after": new Date(27_000).toUTCString() })
                : json(envelope("SPY", [bar(1)])),
          makeConfig(freshKey(), {}, { attempts: 4, baseDelayMs: 100 })
        )
        const fiber = yield* Effect.fork(logs.provide(collectPages(rest)))
        yield* TestClock.adjust(0)
        expect(seen.length).toBe(1)
        yield* TestClock.adjust(6_999)
        expect(seen.length).toBe(1) // the computed delay (~100 ms) is not used
        yield* TestClock.adjust(1)
        expect(seen.length).toBe(2)
        yield* TestClock.adjust(19_999)
        expect(seen.length).toBe(2)
        yield* TestClock.adjust(1)
        expect(seen.length).toBe(3)
        const pages = yield* Fiber.join(fiber)
        expect(pages[0]?.bars.length).toBe(1)
        // flow control, not failures: info lines, no attempts counted
        expect(logs.lines.filter((l) => l.level === "WARN")).toEqual([])
        const throttled = logs.lines.filter((l) => /throttled/.test(l.message)).map((l) => l.message)
        expect(throttled.length).toBe(2)
        expect(throttled[0]).toMatch(
          /HTTP 429: You've exceeded.*retry in 7000 ms \(Retry-After\), throttled for 0 ms so far of 10 min allowed/
        )
        expect(throttled[1]).toMatch(/retry in 20000 ms \(Retry-After\), throttled for 7 s so far/)
        expect(yield* rest.stats).toEqual({
          requests: 3,
          throttled: 2,
          throttleWaitMs: 27_000,
          errorRetries: 0
        })
      })
    )
  )

  it.effect("a Retry-After beyond maxRetryAfterMs is cut to it", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { rest, seen } = yield* build(
          (_url, n) => (n === 1 ? json("", 429, { "retry-after": "3600" }) : json(envelope("SPY", []))),
          makeConfig(freshKey(), {}, { maxRetryAfterMs: 45_000 })
        )
        const fiber = yield* Effect.fork(collectPages(rest))
        yield* TestClock.adjust(44_999)
        expect(seen.length).toBe(1)
        yield* TestClock.adjust(1)
        expect(seen.length).toBe(2)
        expect((yield* Fiber.join(fiber)).length).toBe(1)
      })
    )
  )

  it.effect("5xx burst then success: exponential, jittered, capped delays", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const statuses = [500, 502, 503, 504, 499]
        const { rest, seen } = yield* build(
          (_url, n) => {
            const status = statuses[n - 1]
            return status === undefined ? json(envelope("SPY", [bar(1)])) : json("upstream broke", status)
          },
          makeConfig(freshKey(), {}, { attempts: 6, baseDelayMs: 1000, maxDelayMs: 3000 })
        )
        const fiber = yield* Effect.fork(collectPages(rest))
        yield* TestClock.adjust(0)
        expect(seen.length).toBe(1)
        // first retry: 1000 ms ± 20% jitter
        yield* TestClock.adjust(799)
        expect(seen.length).toBe(1)
        yield* TestClock.adjust(401)
        expect(seen.length).toBe(2)
        // every later delay is capped at maxDelayMs (3000)
        for (let i = 3; i <= 6; i++) {
          yield* TestClock.adjust(3000)
          expect(seen.length).toBe(i)
        }
        const pages = yield* Fiber.join(fiber)
        expect(pages[0]?.bars.length).toBe(1)
      })
    )
  )

  it.effect("a truncated body is retried, then succeeds", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const full = JSON.stringify(envelope("SPY", [bar(1), bar(2)]))
        const { rest, seen } = yield* build(
          (_url, n) => json(n === 1 ? full.slice(0, full.length / 2) : full),
          makeConfig(freshKey())
        )
        const fiber = yield* Effect.fork(collectPages(rest))
        yield* TestClock.adjust(2_000)
        const pages = yield* Fiber.join(fiber)
        expect(seen.length).toBe(2)
        expect(pages[0]?.bars.map((b) => b.ts)).toEqual([1, 2])
      })
    )
  )

  it.effect("a non-JSON 200 body is retried and ends in VendorRequestError", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const key = freshKey()
        const { rest, seen } = yield* build(() => json("<html>maintenance</html>"), makeConfig(key))
        const fiber = yield* Effect.fork(Effect.either(collectPages(rest)))
        yield* TestClock.adjust(60_000)
        const result = yield* Fiber.join(fiber)
        expect(seen.length).toBe(3)
        if (result._tag !== "Left") throw new Error("expected a failure")
        const error = result.left
        expect(error._tag).toBe("VendorRequestError")
        if (error._tag !== "VendorRequestError") return
        expect(error.status).toBe(200)
        expect(error.detail).toMatch(/body is not JSON .*<html>maintenance<\/html> \(after 3 attempts\)/)
        expect(error.request).toBe(
          "/v2/aggs/ticker/SPY/range/1/second/2024-01-02/2024-01-02?adjusted=true&sort=asc&limit=50000"
        )
        expect(JSON.stringify(error) + error.message).not.toContain(key)
      })
    )
  )

  it.effect("JSON that fails the envelope schema is retried and ends in VendorDecodeError", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { rest, seen } = yield* build(
          () => json({ ticker: "SPY", status: "OK", results: "nope" }),
          makeConfig(freshKey())
        )
        const fiber = yield* Effect.fork(Effect.flip(collectPages(rest)))
        yield* TestClock.adjust(60_000)
        const error = yield* Fiber.join(fiber)
        expect(seen.length).toBe(3)
        expect(error._tag).toBe("VendorDecodeError")
        expect(error.message).toMatch(/results/)
      })
    )
  )

  it.effect("exhausted retries: VendorRequestError with the last status and the vendor's text", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const logs = captureLogs()
        const { rest, seen } = yield* build(
          () => json({ status: "ERROR", request_id: "abc", error: "Service unavailable" }, 503),
          makeConfig(freshKey())
        )
        const fiber = yield* Effect.fork(Effect.flip(logs.provide(rest.marketStatusNow)))
        yield* TestClock.adjust(0)
        expect(seen.length).toBe(1)
        yield* TestClock.adjust(120_000)
        const error = yield* Fiber.join(fiber)
        expect(seen.length).toBe(3)
        expect(error).toMatchObject({
          _tag: "VendorRequestError",
          vendor: "Massive",
          request: "/v1/marketstatus/now",
          status: 503,
          detail: "Service unavailable (request_id abc) (after 3 attempts)"
        })
        expect(logs.lines.filter((l) => l.level === "WARN").length).toBe(2)
      })
    )
  )

  it.effect("401 fails at once with VendorAuthError: exactly one request", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const key = freshKey()
        const { rest, seen } = yield* build(
          () => json({ status: "ERROR", request_id: "r", error: "Unknown API Key" }, 401),
          makeConfig(key)
        )
        const fiber = yield* Effect.fork(Effect.flip(collectPages(rest)))
        yield* TestClock.adjust(600_000)
        const error = yield* Fiber.join(fiber)
        expect(seen.length).toBe(1)
        expect(error).toMatchObject({
          _tag: "VendorAuthError",
          status: 401,
          detail: "Unknown API Key (request_id r)"
        })
        expect(error.message).not.toContain(key)
      })
    )
  )

  it.effect("403 carries the vendor's message; 404 is a VendorRequestError without retry", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { rest, seen } = yield* build(
          (url) =>
            url.pathname.startsWith("/v1/open-close")
              ? json({ status: "NOT_FOUND", request_id: "n", message: "Data not found." }, 404)
              : json(
                  {
                    status: "NOT_AUTHORIZED",
                    request_id: "x",
                    message: "You are not entitled to this data."
                  },
                  403
                ),
          makeConfig(freshKey())
        )
        const fiber = yield* Effect.fork(
          Effect.all([
            Effect.flip(rest.upcomingMarketDays),
            Effect.flip(rest.dailyOpenClose("SPY", "2024-01-01"))
          ])
        )
        yield* TestClock.adjust(600_000)
        const [auth, notFound] = yield* Fiber.join(fiber)
        expect(seen.length).toBe(2)
        expect(auth).toMatchObject({ _tag: "VendorAuthError", status: 403 })
        expect(auth.message).toMatch(/\(not entitled\) \(HTTP 403: You are not entitled to this data\./)
        expect(notFound).toMatchObject({
          _tag: "VendorRequestError",
          status: 404,
          request: "/v1/open-close/SPY/2024-01-01?adjusted=true",
          detail: "Data not found. (request_id n)"
        })
      })
    )
  )

  it.effect("a request timeout is retried", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const logs = captureLogs()
        const { rest, seen } = yield* build(
          (_url, n) => (n === 1 ? Effect.never : json(envelope("SPY", [bar(1)]))),
          makeConfig(freshKey(), { requestTimeoutMs: 5_000 })
        )
        const fiber = yield* Effect.fork(logs.provide(collectPages(rest)))
        yield* TestClock.adjust(4_999)
        expect(seen.length).toBe(1)
        yield* TestClock.adjust(1) // timed out now; retry after ~1 s
        yield* TestClock.adjust(1_200)
        expect(seen.length).toBe(2)
        expect((yield* Fiber.join(fiber))[0]?.bars.length).toBe(1)
        expect(logs.lines.find((l) => l.level === "WARN")?.message).toMatch(
          /no response from https:\/\/api\.test\.invalid within 5000 ms \(timeout\).*raise sources\.massive\.request_timeout_ms/
        )
      })
    )
  )

  it.effect("a transport error is retried", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { rest, seen } = yield* build(
          (_url, n, request) =>
            n === 1
              ? Effect.fail(
                  new HttpClientError.RequestError({
                    request,
                    reason: "Transport",
                    description: "ECONNRESET"
                  })
                )
              : json(envelope("SPY", [bar(1)])),
          makeConfig(freshKey())
        )
        const fiber = yield* Effect.fork(collectPages(rest))
        yield* TestClock.adjust(2_000)
        expect(seen.length).toBe(2)
        expect((yield* Fiber.join(fiber))[0]?.bars.length).toBe(1)
      })
    )
  )

  it.effect("rate limiter: 5/min lets five start, the 6th waits for the minute; shared by key", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const key = freshKey()
        const now = {
          market: "open",
          serverTime: "2024-01-02T10:00:00-05:00",
          earlyHours: false,
          afterHours: false
        }
        const a = yield* build(() => json(now), makeConfig(key, { rateLimitPerMinute: 5 }))
        // a second client with the same key shares the budget
        const b = yield* build(() => json(now), makeConfig(key, { rateLimitPerMinute: 5 }))
        const fiber = yield* Effect.fork(
          Effect.all([...Array.from({ length: 5 }, () => a.rest.marketStatusNow), b.rest.marketStatusNow], {
            concurrency: "unbounded"
          })
        )
        yield* TestClock.adjust(0)
        expect(a.seen.length + b.seen.length).toBe(5)
        yield* TestClock.adjust(59_999)
        expect(a.seen.length + b.seen.length).toBe(5)
        yield* TestClock.adjust(1)
        expect(a.seen.length + b.seen.length).toBe(6)
        expect(b.seen.length).toBe(1)
        const results = yield* Fiber.join(fiber)
        expect(results.map((r) => r.market)).toEqual(Array(6).fill("open"))
      })
    )
  )

  it.effect("no more than maxInFlight requests run at once", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { rest, seen } = yield* build(
          () =>
            Effect.as(
              Effect.sleep("1 second"),
              json({ market: "open", serverTime: "x", earlyHours: false, afterHours: false })
            ),
          makeConfig(freshKey(), { requestTimeoutMs: 60_000 })
        )
        const fiber = yield* Effect.fork(
          Effect.all(
            Array.from({ length: 6 }, () => rest.marketStatusNow),
            { concurrency: "unbounded" }
          )
        )
        yield* TestClock.adjust(0)
        expect(seen.length).toBe(MassiveRest.maxInFlight)
        yield* TestClock.adjust(1_000)
        expect(seen.length).toBe(6)
        yield* TestClock.adjust(1_000)
        expect((yield* Fiber.join(fiber)).length).toBe(6)
      })
    )
  )

  it.effect("the limiter is released with the last client's scope", () =>
    Effect.gen(function* () {
      const key = freshKey()
      const once = Effect.scoped(
        Effect.flatMap(
          build(
            () => json({ market: "open", serverTime: "x", earlyHours: false, afterHours: false }),
            makeConfig(key, { rateLimitPerMinute: 1 })
          ),
          ({ rest }) => rest.marketStatusNow
        )
      )
      // a fresh limiter each time: the second run does not wait for the first one's minute
      const fiber = yield* Effect.fork(Effect.zip(once, once))
      yield* TestClock.adjust(0)
      yield* TestClock.adjust(0)
      const exit = yield* Fiber.poll(fiber)
      expect(Option.isSome(exit) && Exit.isSuccess(exit.value)).toBe(true)
    })
  )
})

const limitedBody = {
  status: "ERROR",
  request_id: "r429",
  error: "You've exceeded the maximum requests per minute"
}
const marketNow = {
  market: "open",
  serverTime: "2024-01-02T10:00:00-05:00",
  earlyHours: false,
  afterHours: false
}

describe("MassiveRest.Live: a 429 is flow control, not a failure", () => {
  it.effect(
    "429s beyond `attempts` in a row still succeed; without Retry-After, own backoff capped at maxRetryAfterMs",
    () =>
      Effect.scoped(
        Effect.gen(function* () {
          const logs = captureLogs()
          const { rest, seen } = yield* build(
            (_url, n) => (n <= 8 ? json(limitedBody, 429) : json(envelope("SPY", [bar(1)]))),
            makeConfig(
              freshKey(),
              {},
              { attempts: 3, baseDelayMs: 1000, maxDelayMs: 2000, maxRetryAfterMs: 5000 }
            )
          )
          const fiber = yield* Effect.fork(logs.provide(collectPages(rest)))
          yield* TestClock.adjust(60_000)
          // 1000, 2000, 4000 ms (each ±20%), then the cap: 5000 ms (not max_delay_ms, which is for errors)
          const gaps = seen.slice(1).map((r, i) => r.at - (seen[i]?.at ?? 0))
          const bounds = [[800, 1200], [1600, 2400], [3200, 4800], ...Array(5).fill([5000, 5000])]
          expect(gaps.length).toBe(bounds.length)
          gaps.forEach((gap, i) => {
            expect(gap, `wait ${i + 1}`).toBeGreaterThanOrEqual(bounds[i]![0])
            expect(gap, `wait ${i + 1}`).toBeLessThanOrEqual(bounds[i]![1])
          })
          const pages = yield* Fiber.join(fiber)
          expect(pages[0]?.bars.length).toBe(1)
          expect(logs.lines.filter((l) => l.level === "WARN")).toEqual([])
          const stats = yield* rest.stats
          expect(stats).toMatchObject({ requests: 9, throttled: 8, errorRetries: 0 })
          expect(stats.throttleWaitMs).toBe(gaps.reduce((x, y) => x + y, 0))
        })
      )
  )

  it.effect("the throttle budget per request is enforced, and the error names the key to raise", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const key = freshKey()
        const { rest, seen } = yield* build(
          () => json(limitedBody, 429, { "retry-after": "60" }),
          makeConfig(key, {}, { maxThrottleWaitMs: 300_000 })
        )
        const fiber = yield* Effect.fork(Effect.flip(rest.marketStatusNow))
        // 429 at 0, 60, 120, 180, 240 and 300 s; one more wait would end past 300 s
        yield* TestClock.adjust(299_999)
        expect(seen.length).toBe(5)
        expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
        yield* TestClock.adjust(1)
        const error = yield* Fiber.join(fiber)
        expect(seen.length).toBe(6)
        expect(error).toMatchObject({
          _tag: "VendorRequestError",
          status: 429,
          request: "/v1/marketstatus/now"
        })
        expect(error.message).toMatch(
          /throttled for 5 min \(6 answer\(s\) of HTTP 429, the last: You've exceeded .*\); waiting another 60 s would pass retry\.http\.max_throttle_wait_ms \(300000 ms\)\. Raise that key/
        )
        expect(error.message).not.toContain(key)
        expect(yield* rest.stats).toEqual({
          requests: 6,
          throttled: 6,
          throttleWaitMs: 300_000,
          errorRetries: 0
        })
      })
    )
  )

  it.effect("a Retry-After past the budget fails at once rather than waiting", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { rest, seen } = yield* build(
          () => json(limitedBody, 429, { "retry-after": "90" }),
          makeConfig(freshKey(), {}, { maxThrottleWaitMs: 30_000 })
        )
        const error = yield* Effect.flip(rest.marketStatusNow)
        expect(seen.length).toBe(1)
        expect(error.message).toMatch(/throttled for 0 ms .*waiting another 60 s would pass/)
      })
    )
  )

  it.effect("a 5xx still fails after 3 attempts when 429s came in between", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const logs = captureLogs()
        const statuses = [500, 429, 503, 429, 429, 502, 200]
        const { rest, seen } = yield* build((_url, n) => {
          const status = statuses[n - 1] ?? 200
          return status === 200
            ? json(marketNow)
            : status === 429
              ? json(limitedBody, 429, { "retry-after": "1" })
              : json({ status: "ERROR", request_id: `e${n}`, error: "upstream broke" }, status)
        }, makeConfig(freshKey()))
        const fiber = yield* Effect.fork(Effect.flip(logs.provide(rest.marketStatusNow)))
        yield* TestClock.adjust(120_000)
        const error = yield* Fiber.join(fiber)
        expect(seen.length).toBe(6)
        expect(error).toMatchObject({
          _tag: "VendorRequestError",
          status: 502,
          detail:
            "upstream broke (request_id e6) (after 3 attempts; 3 throttled answer(s) were waited out besides)"
        })
        const warnings = logs.lines.filter((l) => l.level === "WARN").map((l) => l.message)
        expect(warnings.map((w) => /attempt (\d) of 3/.exec(w)?.[1])).toEqual(["2", "3"])
        expect(yield* rest.stats).toEqual({
          requests: 6,
          throttled: 3,
          throttleWaitMs: 3000,
          errorRetries: 2
        })
      })
    )
  )

  it.effect("fractional Retry-After seconds are honoured", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { rest, seen } = yield* build(
          (_url, n) => (n === 1 ? json(limitedBody, 429, { "retry-after": "0.25" }) : json(marketNow)),
          makeConfig(freshKey())
        )
        const fiber = yield* Effect.fork(rest.marketStatusNow)
        yield* TestClock.adjust(249)
        expect(seen.length).toBe(1)
        yield* TestClock.adjust(1)
        expect(seen.length).toBe(2)
        yield* Fiber.join(fiber)
        expect((yield* rest.stats).throttleWaitMs).toBe(250)
      })
    )
  )
})

/** A port on 127.0.0.1 that nothing listens on: bound by the OS, then released. */
const closedPort = Effect.promise(
  () =>
    new Promise<number>((resolve, reject) => {
      const server = net.createServer()
      server.once("error", reject)
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        server.close(() => resolve(port))
      })
    })
)

/** A loopback server that answers every connection with `handle`; closed, connections and all, with the scope. */
const rawServer = (handle: (socket: net.Socket) => void) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ server: net.Server; sockets: Set<net.Socket> }>((resolve) => {
          const sockets = new Set<net.Socket>()
          const server = net.createServer((socket) => {
            sockets.add(socket)
            socket.once("close", () => sockets.delete(socket))
            handle(socket)
          })
          server.listen(0, "127.0.0.1", () => resolve({ server, sockets }))
        })
    ),
    ({ server, sockets }) =>
      Effect.promise(
        () =>
          new Promise<void>((resolve) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => resolve())
          })
      )
  ).pipe(
    Effect.map(({ server }) => {
      const address = server.address()
      return `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
    })
  )

/** The real client (undici) against `url`, one attempt, and the error it ends with. */
const realFailure = (url: string, key: string) =>
  Effect.flatMap(MassiveRest.make, (rest) => Effect.flip(rest.marketStatusNow)).pipe(
    Effect.provideService(AppConfig, makeConfig(key, { restUrl: url }, { attempts: 1 })),
    Effect.provide(NodeHttpClient.layerUndici)
  )

describe("MassiveRest.Live: network errors name the host, the cause and the fix", () => {
  it.scopedLive(
    "a refused port on 127.0.0.1: ECONNREFUSED, nothing listens, check the URL or start the simulator",
    () =>
      Effect.gen(function* () {
        const key = freshKey()
        const port = yield* closedPort
        const error = yield* realFailure(`http://127.0.0.1:${port}`, key)
        expect(error._tag).toBe("VendorRequestError")
        expect(error.message).toBe(
          `Massive request /v1/marketstatus/now failed: http://127.0.0.1:${port} refused the connection (ECONNREFUSED): nothing listens there; check sources.massive.rest_url / TAPEHOUSE_MASSIVE_URL, or start the simulator (tapehouse sim serve) (after 1 attempt)`
        )
        expect(JSON.stringify(error) + error.message).not.toContain(key)
      })
  )

  it.scopedLive("a connection reset by the server: ECONNRESET, the connection was cut", () =>
    Effect.gen(function* () {
      const url = yield* rawServer((socket) => socket.once("data", () => socket.resetAndDestroy()))
      const error = yield* realFailure(url, freshKey())
      expect(error.message).toContain(
        `the connection to ${url} was cut (ECONNRESET: read ECONNRESET): the server or a proxy in between closed it`
      )
    })
  )

  it.scopedLive("a connection closed before any answer: the connection was cut (undici's socket error)", () =>
    Effect.gen(function* () {
      const url = yield* rawServer((socket) => socket.once("data", () => socket.destroy()))
      const error = yield* realFailure(url, freshKey())
      expect(error.message).toContain(`the connection to ${url} was cut (UND_ERR_SOCKET: other side closed)`)
    })
  )

  it.scopedLive("a body cut short names the host and the cause", () =>
    Effect.gen(function* () {
      const url = yield* rawServer((socket) =>
        socket.once("data", () => {
          socket.write(
            'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"market":'
          )
          setTimeout(() => socket.destroy(), 20)
        })
      )
      const error = yield* realFailure(url, freshKey())
      expect(error).toMatchObject({ _tag: "VendorRequestError", status: 200 })
      expect(error.message).toContain(
        `the body of an HTTP 200 answer from ${url} broke off (UND_ERR_SOCKET: other side closed): the server or a proxy in between cut the connection`
      )
    })
  )

  it.scopedLive("a server that does not speak HTTP: check the scheme and port", () =>
    Effect.gen(function* () {
      const url = yield* rawServer((socket) => socket.end("SSH-2.0-OpenSSH_9.2\r\n"))
      const error = yield* realFailure(url, freshKey())
      expect(error.message).toContain(`${url} does not speak HTTP (HTTPParserError: `)
      expect(error.message).toContain(
        "check the scheme and port in sources.massive.rest_url / TAPEHOUSE_MASSIVE_URL"
      )
    })
  )
})

describe.skipIf(!haveFixtures)(
  "MassiveRest.Live on vendor fixtures (needs ../shared/fixtures/massive)",
  () => {
    const serve = (body: string) => () => json(body)

    it.effect("aggregates: recorded AAPL range and the stocks/options/indices spec examples", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const cases = [
            [
              "test_rest__mocks__v2__aggs__ticker__AAPL__range__1__day__2005-04-01__2005-04-04.json",
              "AAPL",
              2,
              0
            ],
            [
              "spec-examples/rest__v2__aggs__ticker__{optionsTicker}__range__{multiplier}__{timespan}__{from}__{to}.200.example.json",
              "O:RDFN211119C00025000",
              2,
              0
            ],
            [
              "spec-examples/rest__v2__aggs__ticker__{indicesTicker}__range__{multiplier}__{timespan}__{from}__{to}.200.example.json",
              "I:NDX",
              0,
              2
            ]
          ] as const
          for (const [file, ticker, good, rejected] of cases) {
            const { rest } = yield* build(serve(fixtureText(file)), makeConfig(freshKey()))
            const pages = yield* collectPages(rest, { ...spyRequest, ticker, timespan: "day" })
            expect(
              pages.map((p) => [p.bars.length, p.rejected.length]),
              file
            ).toEqual([[good, rejected]])
            for (const b of pages[0]?.bars ?? []) expect(b.symbol).toBe(ticker)
          }
          // the stocks example has a next_url: followed on our host, then the recorded page ends it
          const stocks = fixtureText(
            "spec-examples/rest__v2__aggs__ticker__{stocksTicker}__range__{multiplier}__{timespan}__{from}__{to}.200.example.json"
          )
          const last = fixtureText(
            "test_rest__mocks__v2__aggs__ticker__AAPL__range__1__day__2005-04-01__2005-04-04.json"
          )
          const { rest, seen } = yield* build(
            (_u, n) => json(n === 1 ? stocks : last),
            makeConfig(freshKey())
          )
          const pages = yield* collectPages(rest, { ...spyRequest, ticker: "AAPL", timespan: "day" })
          expect(pages.map((p) => p.bars.length)).toEqual([2, 2])
          expect(seen[1]?.url.href).toBe(
            `${BASE}/v2/aggs/ticker/AAPL/range/1/day/1578114000000/2020-01-10?cursor=bGltaXQ9MiZzb3J0PWFzYw`
          )
        })
      )
    )

    it.effect("dailyOpenClose: recorded AAPL and the stocks/options/indices spec examples", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const run = (file: string, ticker: string) =>
            Effect.flatMap(build(serve(fixtureText(file)), makeConfig(freshKey())), ({ rest }) =>
              rest.dailyOpenClose(ticker, "2023-01-09")
            )
          expect(
            yield* run("test_rest__mocks__v1__open-close__AAPL__2005-04-01&adjusted=true.json", "AAPL")
          ).toEqual({
            symbol: "AAPL",
            date: "2021-04-01",
            open: 123.66,
            high: 124.18,
            low: 122.49,
            close: 123,
            volume: 75089134,
            preMarket: 123.45,
            afterHours: 123
          })
          const stocks = yield* run(
            "spec-examples/rest__v1__open-close__{stocksTicker}__{date}.200.example.json",
            "AAPL"
          )
          expect(stocks).toMatchObject({ date: "2023-01-09", volume: 26122646, preMarket: 324.5 })
          const options = yield* run(
            "spec-examples/rest__v1__open-close__{optionsTicker}__{date}.200.example.json",
            "O:TSLA210903C00700000"
          )
          expect(options).toMatchObject({ symbol: "O:TSLA210903C00700000", volume: 2 })
          const indices = yield* run(
            "spec-examples/rest__v1__open-close__{indicesTicker}__{date}.200.example.json",
            "I:NDX"
          )
          expect(indices).toMatchObject({ symbol: "I:NDX", date: "2023-03-10", volume: null })
        })
      )
    )

    it.effect("marketStatusNow: recorded and spec example", () =>
      Effect.scoped(
        Effect.gen(function* () {
          for (const file of [
            "test_rest__mocks__v1__marketstatus__now.json",
            "spec-examples/rest__v1__marketstatus__now.200.example.json"
          ]) {
            const { rest, seen } = yield* build(serve(fixtureText(file)), makeConfig(freshKey()))
            const now = yield* rest.marketStatusNow
            expect(now).toMatchObject({ market: "extended-hours", earlyHours: false, afterHours: true })
            expect(seen[0]?.url.pathname).toBe("/v1/marketstatus/now")
          }
        })
      )
    )

    it.effect("upcomingMarketDays: NYSE only, early-close times as epoch ms", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const { rest } = yield* build(
            serve(fixtureText("test_rest__mocks__v1__marketstatus__upcoming.json")),
            makeConfig(freshKey())
          )
          const days = yield* rest.upcomingMarketDays
          expect(days.length).toBeGreaterThan(0)
          expect(new Set(days.map((d) => d.exchange))).toEqual(new Set(["NYSE"]))
          const thanksgivingFriday = days.find((d) => d.date === "2022-11-25")
          expect(thanksgivingFriday).toEqual({
            exchange: "NYSE",
            name: "Thanksgiving",
            date: "2022-11-25",
            status: "early-close",
            openMs: Date.parse("2022-11-25T14:30:00.000Z"),
            closeMs: Date.parse("2022-11-25T18:00:00.000Z")
          })
          for (const d of days.filter((d) => d.status === "closed")) expect(d.openMs).toBeUndefined()

          const spec = yield* build(
            serve(fixtureText("spec-examples/rest__v1__marketstatus__upcoming.200.example.json")),
            makeConfig(freshKey())
          )
          const specDays = yield* spec.rest.upcomingMarketDays
          expect(specDays.every((d) => d.exchange === "NYSE")).toBe(true)
          expect(specDays.find((d) => d.status === "early-close")?.closeMs).toBe(
            Date.parse("2020-11-27T18:00:00.000Z")
          )
        })
      )
    )
  }
)

describe("MassiveRest.Test", () => {
  const day = "2024-01-02"
  const open = Date.parse("2024-01-02T14:30:00Z")
  const mk = (symbol: string, ts: number, price: number): StockBar => ({
    symbol,
    ts,
    open: price,
    high: price + 1,
    low: price - 1,
    close: price + 0.5,
    volume: 10,
    vwap: price,
    trades: 1
  })
  const spy = [4, 0, 2, 1, 3].map((i) => mk("SPY", open + i * 1000, 100 + i))
  const nextDay = mk("SPY", Date.parse("2024-01-03T14:30:00Z"), 200)

  it.effect("pages the requested day's bars in order by pageSize", () =>
    Effect.gen(function* () {
      const rest = yield* MassiveRest.MassiveRest
      const pages = yield* Effect.map(
        Stream.runCollect(
          rest.aggregates(
            { ticker: "SPY", multiplier: 1, timespan: "second", from: day, to: day },
            stockBarCodec
          )
        ),
        Chunk.toReadonlyArray
      )
      expect(pages.map((p) => [p.page, p.bars.map((b) => b.open)])).toEqual([
        [1, [100, 101]],
        [2, [102, 103]],
        [3, [104]]
      ])
      const none = yield* Stream.runCollect(
        rest.aggregates(
          { ticker: "QQQ", multiplier: 1, timespan: "second", from: day, to: day },
          stockBarCodec
        )
      )
      expect(Chunk.toReadonlyArray(none)).toEqual([{ bars: [], rejected: [], page: 1 }])
      const ohlc = yield* rest.dailyOpenClose("SPY", day)
      expect(ohlc).toMatchObject({ open: 100, high: 105, low: 99, close: 104.5, volume: 50 })
      const missing = yield* Effect.flip(rest.dailyOpenClose("SPY", "2024-01-04"))
      expect(missing).toMatchObject({ _tag: "VendorRequestError", status: 404 })
      expect(yield* rest.upcomingMarketDays).toEqual([
        { exchange: "NYSE", name: "Independence Day", date: "2024-07-04", status: "closed" }
      ])
    }).pipe(
      Effect.provide(
        MassiveRest.Test({
          bars: { SPY: [...spy, nextDay] },
          upcoming: [{ exchange: "NYSE", name: "Independence Day", date: "2024-07-04", status: "closed" }],
          pageSize: 2
        })
      )
    )
  )
})
