/**
 * MassiveRest: the Massive (formerly Polygon.io) REST API, as far as tapehouse uses it.
 * `Live` talks HTTP to the configured base URL (the real API or the local simulator);
 * `Test` serves canned data from memory.
 */
import { createHash } from "node:crypto"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import {
  Clock,
  Context,
  Data,
  Duration,
  Effect,
  Either,
  Exit,
  Layer,
  Option,
  ParseResult,
  Random,
  RateLimiter,
  Redacted,
  Schema,
  Scope,
  Stream
} from "effect"
import { globalValue } from "effect/GlobalValue"
import packageJson from "../../../package.json" with { type: "json" }
import type { UpcomingMarketDay } from "../../calendar/Holidays.js"
import * as HolidaysPort from "../../calendar/Holidays.js"
import { AppConfig } from "../../config/AppConfig.js"
import type { Rejected } from "../../domain/Dataset.js"
import { VendorAuthError, VendorDecodeError, VendorRequestError } from "../../domain/errors.js"
import type { StockBar } from "../../domain/StockBar.js"
import { addDays, newYorkTimeToEpochMs } from "../../domain/time.js"
import * as Performance from "../../monitor/Performance.js"
import * as SchemaDrift from "../../monitor/SchemaDrift.js"
import * as NetworkError from "../networkError.js"
import * as RequestStats from "../RequestStats.js"
import * as RetryPolicy from "../retryPolicy.js"
import { scanAggregatesBody } from "./aggregatesBody.js"
import * as Wire from "./wire.js"

/** The name schema drift of REST aggregate bars is reported under. */
export const AGGREGATES_SOURCE = "massive-aggregates"
const aggregateBarShape = SchemaDrift.shapeOf(Wire.AggregateBar)

export type MassiveRestError = VendorAuthError | VendorRequestError | VendorDecodeError

/** One page of an aggregates response, decoded. */
export interface AggregatesPage<A = StockBar> {
  /** Bars that decoded (by the request's codec), in the order received, with the requested ticker. */
  readonly bars: ReadonlyArray<A>
  /** Bars that did not decode (wrong types, missing required fields), with the reason. */
  readonly rejected: ReadonlyArray<Rejected>
  /** 1-based page number within the request. */
  readonly page: number
}

export interface AggregatesRequest {
  readonly ticker: string
  readonly multiplier: number
  readonly timespan: "second" | "minute" | "hour" | "day"
  readonly from: string | number
  readonly to: string | number
}

export interface DailyOpenClose {
  readonly symbol: string
  readonly date: string
  readonly open: number
  readonly high: number
  readonly low: number
  readonly close: number
  readonly volume: number | null
  readonly preMarket: number | null
  readonly afterHours: number | null
}

export interface MarketStatusNow {
  readonly market: string
  readonly serverTime: string
  readonly earlyHours: boolean
  readonly afterHours: boolean
}

export interface MassiveRestShape {
  /**
   * Custom aggregate bars `GET /v2/aggs/ticker/{ticker}/range/{multiplier}/{timespan}/{from}/{to}`
   * with `limit`, `sort=asc` and `adjusted` from config, following `next_url` page by page.
   * `from`/`to` are YYYY-MM-DD dates or epoch-ms numbers, as the API accepts. Each bar becomes a
   * record through `codec` (`Wire.stockBarCodec` for stocks; indices bars carry no volume).
   */
  readonly aggregates: <A>(
    request: AggregatesRequest,
    codec: Wire.BarCodec<A>
  ) => Stream.Stream<AggregatesPage<A>, MassiveRestError>
  /** `GET /v1/open-close/{ticker}/{date}`. */
  readonly dailyOpenClose: (ticker: string, date: string) => Effect.Effect<DailyOpenClose, MassiveRestError>
  /** `GET /v1/marketstatus/now`. */
  readonly marketStatusNow: Effect.Effect<MarketStatusNow, MassiveRestError>
  /** `GET /v1/marketstatus/upcoming`, NYSE entries only. */
  readonly upcomingMarketDays: Effect.Effect<ReadonlyArray<UpcomingMarketDay>, MassiveRestError>
  /** What this client has done so far: requests, throttled answers and the time waiting them out, retries. */
  readonly stats: Effect.Effect<RequestStats.RequestStats>
  /**
   * `GET path` (path and query, relative to the base URL) decoded with `schema`, through the same
   * gate, retries and errors as the calls above: for endpoints modules of their own wrap
   * (`optionContracts.ts`).
   */
  readonly getJson: <A, I>(path: string, schema: Schema.Schema<A, I>) => Effect.Effect<A, MassiveRestError>
  /**
   * Hands `sample`, a record as the vendor sent it, to the schema drift check when one is provided
   * (`SchemaDrift`): for modules that wrap `getJson`, with the first record of each page.
   */
  readonly observeDrift: (source: string, shape: SchemaDrift.Shape, sample: unknown) => Effect.Effect<void>
}

export class MassiveRest extends Context.Tag("tapehouse/MassiveRest")<MassiveRest, MassiveRestShape>() {}

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

/** Requests in flight at once per API key (the rate limiter bounds start times only). */
export const maxInFlight = 4

const vendor = "Massive"
const userAgent = `tapehouse/${packageJson.version}`

/**
 * Statuses retried like the official Python client (413, 429, 499, 5xx gateway family), plus 408.
 * 429 is flow control (`RetryPolicy`): waiting it out does not use up the attempts.
 */
const retryableStatus: ReadonlySet<number> = new Set([408, 413, 429, 499, 500, 502, 503, 504])

/** A failure worth another attempt; becomes a domain error once the attempts run out. */
class Retryable extends Data.TaggedError("Retryable")<{
  readonly status?: number
  readonly detail: string
  /** The body arrived but is not what the protocol describes (JSON that fails the schema). */
  readonly malformed: boolean
  readonly retryAfterMs?: number
}> {}

type AttemptError = Retryable | VendorAuthError | VendorRequestError

/** What one endpoint makes of a successful body; `Left` = the body is broken (retried). */
type BodyDecoder<A> = (json: unknown) => Either.Either<A, string>
/** Decodes a body from its text, or answers undefined to leave it to `JSON.parse` and a `BodyDecoder`. */
type TextDecoder<A> = (body: string) => Either.Either<A, string> | undefined

// -- one budget per API key across the process --------------------------------------------------

interface Gate {
  refs: number
  readonly scope: Scope.CloseableScope
  readonly run: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

/**
 * Rate limiter and in-flight bound per API key, shared by every client in the process that uses the
 * same key (reference counted: the limiter lives until the last client's scope closes). Keyed by a
 * hash of the key so the registry never holds the secret. The first client's `rateLimitPerMinute`
 * sets the budget for that key.
 */
const gates = globalValue(Symbol.for("tapehouse/MassiveRest/gates"), () => ({
  lock: Effect.unsafeMakeSemaphore(1),
  byKey: new Map<string, Gate>()
}))

const keyId = (apiKey: Option.Option<Redacted.Redacted<string>>): string =>
  Option.match(apiKey, {
    onNone: () => "anonymous",
    onSome: (key) => createHash("sha256").update(Redacted.value(key)).digest("hex").slice(0, 16)
  })

const acquireGate = (id: string, perMinute: number): Effect.Effect<Gate, never, Scope.Scope> =>
  Effect.acquireRelease(
    gates.lock.withPermits(1)(
      Effect.gen(function* () {
        const existing = gates.byKey.get(id)
        if (existing !== undefined) {
          existing.refs++
          return existing
        }
        const scope = yield* Scope.make()
        // Fixed window: `perMinute` starts, then wait for the minute to turn, as the vendor counts.
        const limiter =
          perMinute > 0
            ? yield* RateLimiter.make({
                limit: perMinute,
                interval: "1 minute",
                algorithm: "fixed-window"
              }).pipe(Scope.extend(scope))
            : undefined
        const inFlight = yield* Effect.makeSemaphore(maxInFlight)
        const gate: Gate = {
          refs: 1,
          scope,
          run: (effect) => inFlight.withPermits(1)(limiter === undefined ? effect : limiter(effect))
        }
        gates.byKey.set(id, gate)
        return gate
      })
    ),
    (gate) =>
      gates.lock.withPermits(1)(
        Effect.suspend(() => {
          gate.refs--
          if (gate.refs > 0) return Effect.void
          gates.byKey.delete(id)
          return Scope.close(gate.scope, Exit.void)
        })
      )
  )

// -- helpers --------------------------------------------------------------------------------------

/**
 * `Retry-After` as delta-seconds or an HTTP-date, in ms from now; undefined when absent or unreadable.
 * Fractional seconds ("0.25") are read too, though the standard has whole seconds only.
 */
export const parseRetryAfter = (value: string | undefined, nowMs: number): number | undefined => {
  if (value === undefined) return undefined
  const v = value.trim()
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000)
  const at = Date.parse(v)
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs)
}

/**
 * The path and query of a `next_url`, to be sent to the configured base URL: the host in `next_url`
 * is ignored (the key never goes to another host) and a stray `apiKey` parameter is dropped.
 */
export const nextPath = (nextUrl: string): string => {
  const url = new URL(nextUrl, "http://base.invalid")
  url.searchParams.delete("apiKey")
  return url.pathname + url.search
}

/** A ticker as a path segment: percent-encoded, but `:` (in `O:`/`I:` tickers) kept readable. */
const tickerSegment = (ticker: string): string => encodeURIComponent(ticker).replace(/%3A/gi, ":")

const isIndex = (ticker: string): boolean => ticker.startsWith("I:")

/** A duration for messages: "850 ms", "12.5 s", "10 min". */
const formatMs = (ms: number): string =>
  ms < 1000
    ? `${Math.round(ms)} ms`
    : ms < 120_000
      ? `${Number((ms / 1000).toFixed(1))} s`
      : `${Number((ms / 60_000).toFixed(1))} min`

const excerpt = (body: string): string => (body.length > 120 ? body.slice(0, 120) + "…" : body)

const schemaDecoder =
  <A, I>(schema: Schema.Schema<A, I>): BodyDecoder<A> =>
  (json) =>
    Either.mapLeft(Schema.decodeUnknownEither(schema)(json, { errors: "first" }), (e) =>
      ParseResult.TreeFormatter.formatErrorSync(e)
    )

interface DecodedPage {
  readonly envelope: typeof Wire.AggregatesEnvelopeHead.Type
  /** The bars, not yet decoded: each is checked alone, so that one bad bar is rejected alone. */
  readonly results: ReadonlyArray<unknown>
  readonly next: string | undefined
}

/** A page's envelope and its bars decoded by a codec. */
interface DecodedBars<A> {
  readonly envelope: DecodedPage["envelope"]
  readonly next: string | undefined
  readonly bars: Array<A>
  readonly rejected: Array<Rejected>
  /** The page's first bar as sent, for the schema drift check (a plain object, or its JSON text). */
  readonly sample: unknown
}

const decodeAggregatesHead = schemaDecoder(Wire.AggregatesEnvelopeHead)

const decodeAggregates: BodyDecoder<DecodedPage> = (json) =>
  Either.flatMap(decodeAggregatesHead(json), (envelope): Either.Either<DecodedPage, string> => {
    const results = Wire.resultsOf(json)
    if (typeof results === "string") return Either.left(results)
    if (envelope.next_url === undefined) return Either.right({ envelope, results, next: undefined })
    try {
      return Either.right({ envelope, results, next: nextPath(envelope.next_url) })
    } catch {
      return Either.left(`next_url ${JSON.stringify(envelope.next_url)} is not a URL`)
    }
  })

interface DecodedUpcoming {
  readonly days: ReadonlyArray<UpcomingMarketDay>
  readonly skipped: ReadonlyArray<string>
}

const decodeUpcoming: BodyDecoder<DecodedUpcoming> = (json) =>
  Either.flatMap(
    schemaDecoder(Wire.MarketStatusUpcoming)(json),
    (entries): Either.Either<DecodedUpcoming, string> => {
      const days: Array<UpcomingMarketDay> = []
      const skipped: Array<string> = []
      for (const e of entries) {
        if (e.exchange.toUpperCase() !== "NYSE") continue
        if (e.status === "closed") {
          days.push({ exchange: e.exchange, name: e.name, date: e.date, status: "closed" })
        } else if (e.status === "early-close") {
          const openMs = e.open === undefined ? Number.NaN : Date.parse(e.open)
          const closeMs = e.close === undefined ? Number.NaN : Date.parse(e.close)
          if (Number.isNaN(openMs) || Number.isNaN(closeMs)) {
            return Either.left(`early close on ${e.date} has unreadable open/close ${e.open} / ${e.close}`)
          }
          days.push({
            exchange: e.exchange,
            name: e.name,
            date: e.date,
            status: "early-close",
            openMs,
            closeMs
          })
        } else {
          skipped.push(`${e.date} (${e.status})`)
        }
      }
      return Either.right({ days, skipped })
    }
  )

// -- make -----------------------------------------------------------------------------------------

export const make: Effect.Effect<MassiveRestShape, never, HttpClient.HttpClient | AppConfig | Scope.Scope> =
  Effect.gen(function* () {
    const config = yield* AppConfig
    const { massive, retry } = config
    const baseUrl = massive.restUrl.replace(/\/+$/, "")
    const attempts = Math.max(1, retry.attempts)
    const gate = yield* acquireGate(keyId(massive.apiKey), massive.rateLimitPerMinute)
    const counters = RequestStats.makeCounters()
    // Each request, retries included, is an operation the stale-operation watchdog watches.
    const performance = yield* Performance.current
    const endpoint: NetworkError.Endpoint = {
      url: baseUrl,
      setting: "sources.massive.rest_url / TAPEHOUSE_MASSIVE_URL",
      localServer: "the simulator (tapehouse sim serve)"
    }

    const withAuth = Option.match(massive.apiKey, {
      onNone: () => (request: HttpClientRequest.HttpClientRequest) => request,
      // The only place the key is unwrapped: it travels in this header and nowhere else.
      onSome: (key) => HttpClientRequest.bearerToken(Redacted.value(key))
    })
    const http = (yield* HttpClient.HttpClient).pipe(
      HttpClient.mapRequest((request) =>
        request.pipe(
          HttpClientRequest.prependUrl(baseUrl),
          withAuth,
          HttpClientRequest.acceptJson,
          HttpClientRequest.setHeader("User-Agent", userAgent)
        )
      )
    )

    /**
     * One exchange: gated (in-flight bound, then rate limiter), counted, timed out, body read as
     * text. Network failures say which host, the system's cause and what to check.
     */
    const exchange = (path: string) =>
      Effect.zipRight(
        Effect.sync(counters.request),
        http.get(path).pipe(
          Effect.flatMap((response) =>
            Effect.map(response.text, (body) => ({
              status: response.status,
              headers: response.headers,
              body
            }))
          ),
          Effect.timeoutFail({
            duration: Duration.millis(massive.requestTimeoutMs),
            onTimeout: () =>
              new Retryable({
                detail: NetworkError.describeTimeout(
                  endpoint,
                  massive.requestTimeoutMs,
                  "sources.massive.request_timeout_ms"
                ),
                malformed: false
              })
          }),
          Effect.catchTags({
            RequestError: (e) =>
              Effect.fail(
                new Retryable({
                  detail: NetworkError.describeNetworkError(e.cause ?? e.description, endpoint),
                  malformed: false
                })
              ),
            ResponseError: (e) =>
              Effect.fail(
                new Retryable({
                  status: e.response.status,
                  detail: NetworkError.describeBrokenBody(
                    e.cause ?? e.description,
                    endpoint,
                    e.response.status
                  ),
                  malformed: false
                })
              )
          })
        )
      ).pipe(gate.run)

    const attempt = <A>(
      path: string,
      decode: BodyDecoder<A>,
      fromText?: TextDecoder<A>
    ): Effect.Effect<A, AttemptError> =>
      Effect.flatMap(exchange(path), ({ status, headers, body }): Effect.Effect<A, AttemptError> => {
        if (status >= 200 && status < 300) {
          const scanned = fromText?.(body)
          if (scanned !== undefined)
            return Either.isRight(scanned)
              ? Effect.succeed(scanned.right)
              : Effect.fail(new Retryable({ status, detail: scanned.left, malformed: true }))
          let json: unknown
          try {
            json = JSON.parse(body)
          } catch (e) {
            const why = e instanceof Error ? e.message : String(e)
            return Effect.fail(
              new Retryable({
                status,
                detail: `body is not JSON (${why}): ${excerpt(body)}`,
                malformed: false
              })
            )
          }
          const decoded = decode(json)
          return Either.isRight(decoded)
            ? Effect.succeed(decoded.right)
            : Effect.fail(new Retryable({ status, detail: decoded.left, malformed: true }))
        }
        const text = Wire.errorText(body)
        if (status === 401 || status === 403)
          return Effect.fail(new VendorAuthError({ vendor, status, detail: text, keyEnv: massive.keyEnv }))
        if (retryableStatus.has(status)) {
          return Effect.map(Clock.currentTimeMillis, (now) => {
            const retryAfterMs = parseRetryAfter(headers["retry-after"], now)
            return new Retryable({
              status,
              detail: text,
              malformed: false,
              ...(retryAfterMs === undefined ? {} : { retryAfterMs })
            })
          }).pipe(Effect.flip)
        }
        return Effect.fail(new VendorRequestError({ vendor, request: path, status, detail: text }))
      })

    /** The log line for a retry about to wait `delayMs`: info for a 429 (flow control), warning for an error. */
    const retryLog = (
      path: string,
      e: Retryable,
      decision: RetryPolicy.Decision & { _tag: "Retry" },
      nowMs: number
    ) => {
      const status = e.status === undefined ? "" : `HTTP ${e.status}: `
      const source = decision.fromRetryAfter ? " (Retry-After)" : ""
      if (e.status === 429) {
        const held = nowMs - (decision.state.throttledSinceMs ?? nowMs)
        return Effect.logInfo(
          `Massive request ${path} throttled (${status}${e.detail}); retry in ${decision.delayMs} ms${source}, throttled for ${formatMs(held)} so far of ${formatMs(retry.maxThrottleWaitMs)} allowed`
        )
      }
      return Effect.logWarning(
        `Massive request ${path} failed (${status}${e.detail}); attempt ${decision.state.errors + 1} of ${attempts} in ${decision.delayMs} ms${source}`
      )
    }

    /** The domain error for a request that ran out of one of its budgets. */
    const giveUp = (
      path: string,
      e: Retryable,
      decision: RetryPolicy.Decision & { _tag: "GiveUp" }
    ): MassiveRestError => {
      const { errors, throttles } = decision.state
      if (decision.budget === "throttle")
        return new VendorRequestError({
          vendor,
          request: path,
          status: 429,
          detail:
            `throttled for ${formatMs(decision.throttledForMs)} (${throttles} answer(s) of HTTP 429, the last: ${e.detail}); ` +
            `waiting another ${formatMs(decision.nextDelayMs)} would pass retry.http.max_throttle_wait_ms (${retry.maxThrottleWaitMs} ms). ` +
            "Raise that key, or lower sources.massive.rate_limit_per_minute (--rate-limit) if other jobs share this API key"
        })
      const throttled = throttles === 0 ? "" : `; ${throttles} throttled answer(s) were waited out besides`
      const detail = `${e.detail} (after ${errors} attempt${errors === 1 ? "" : "s"}${throttled})`
      return e.malformed
        ? new VendorDecodeError({ vendor, request: path, detail })
        : new VendorRequestError({
            vendor,
            request: path,
            ...(e.status === undefined ? {} : { status: e.status }),
            detail
          })
    }

    /**
     * The whole pipeline for one GET: attempts, retried by `RetryPolicy` (errors use up `attempts`;
     * 429s wait within `maxThrottleWaitMs`), then domain errors only.
     */
    const request = <A>(
      path: string,
      decode: BodyDecoder<A>,
      fromText?: TextDecoder<A>
    ): Effect.Effect<A, MassiveRestError> => {
      const loop = (state: RetryPolicy.RetryState): Effect.Effect<A, MassiveRestError> =>
        Effect.catchTag(attempt(path, decode, fromText), "Retryable", (e) =>
          Effect.gen(function* () {
            const throttled = e.status === 429
            if (throttled) counters.throttled()
            const now = yield* Clock.currentTimeMillis
            const jitter = RetryPolicy.jitterOf(yield* Random.next)
            const failure = {
              throttled,
              ...(e.retryAfterMs === undefined ? {} : { retryAfterMs: e.retryAfterMs })
            }
            const decision = RetryPolicy.decide(retry, state, failure, now, jitter)
            if (decision._tag === "GiveUp") return yield* Effect.fail(giveUp(path, e, decision))
            yield* retryLog(path, e, decision, now)
            yield* Effect.sleep(Duration.millis(decision.delayMs))
            if (throttled) counters.waitedOnThrottle(decision.delayMs)
            else counters.errorRetry()
            return yield* loop(decision.state)
          })
        )
      return loop(RetryPolicy.initial).pipe(performance.track("fetch", "massive-rest", `GET ${path}`))
    }

    const drift = yield* Effect.serviceOption(SchemaDrift.SchemaDrift)
    /** The first bar of a page through the schema drift check (its text parsed: one small object a page). */
    const observeBar = (sample: unknown): Effect.Effect<void> => {
      if (Option.isNone(drift) || sample === undefined) return Effect.void
      let bar = sample
      if (typeof sample === "string")
        try {
          bar = JSON.parse(sample)
        } catch {
          return Effect.void
        }
      return drift.value.observe(AGGREGATES_SOURCE, aggregateBarShape, bar)
    }

    const adjustedParam = (ticker: string): Record<string, string> =>
      isIndex(ticker) ? {} : { adjusted: String(massive.adjusted) }

    const aggregates: MassiveRestShape["aggregates"] = <A>(
      req: AggregatesRequest,
      codec: Wire.BarCodec<A>
    ) => {
      const query = new URLSearchParams({
        ...adjustedParam(req.ticker),
        sort: "asc",
        limit: String(massive.pageLimit)
      })
      const first = `/v2/aggs/ticker/${tickerSegment(req.ticker)}/range/${req.multiplier}/${req.timespan}/${req.from}/${req.to}?${query}`
      const decodePage: BodyDecoder<DecodedBars<A>> = (json) =>
        Either.map(decodeAggregates(json), ({ envelope, results, next }) => {
          const bars: Array<A> = []
          const rejected: Array<Rejected> = []
          Wire.decodeAggregateBars(results, req.ticker, codec, bars, rejected)
          return { envelope, next, bars, rejected, sample: results[0] }
        })
      // The usual page reads straight from the text into records; any other takes `decodePage`.
      const scanPage: TextDecoder<DecodedBars<A>> = (body) => {
        const scanned = scanAggregatesBody(body, req.ticker, codec)
        if (scanned === undefined) return undefined
        return Either.map(decodeAggregates(scanned.head), ({ envelope, next }) => ({
          envelope,
          next,
          bars: scanned.bars,
          rejected: [],
          sample: scanned.firstBar
        }))
      }
      const fetchPage = (path: string, page: number) =>
        Effect.flatMap(request(path, decodePage, scanPage), ({ envelope, bars, rejected, next, sample }) => {
          if (next === path) {
            return Effect.fail(
              new VendorDecodeError({
                vendor,
                request: path,
                detail: "next_url points back at the same page"
              })
            )
          }
          const result: AggregatesPage<A> = { bars, rejected, page }
          return Effect.as(
            Effect.zipRight(
              observeBar(sample),
              Effect.logDebug(
                `Massive aggregates ${req.ticker} page ${page}: ${bars.length} bars, ${rejected.length} rejected${next === undefined ? ", last page" : ""}`
              ).pipe(
                Effect.annotateLogs({
                  request: path,
                  ...(envelope.request_id === undefined ? {} : { requestId: envelope.request_id })
                })
              )
            ),
            [
              result,
              next === undefined ? Option.none() : Option.some({ path: next, page: page + 1 })
            ] as const
          )
        })
      return Stream.paginateEffect({ path: first, page: 1 }, (s) => fetchPage(s.path, s.page)).pipe(
        Stream.withSpan("MassiveRest.aggregates", { attributes: { ticker: req.ticker } })
      )
    }

    const dailyOpenClose = Effect.fn("MassiveRest.dailyOpenClose")(function* (ticker: string, date: string) {
      const query = new URLSearchParams(adjustedParam(ticker)).toString()
      const path = `/v1/open-close/${tickerSegment(ticker)}/${date}${query === "" ? "" : "?" + query}`
      const body = yield* request(path, schemaDecoder(Wire.OpenClose))
      return {
        symbol: body.symbol,
        // `from` is a date, or an ISO timestamp for indices
        date: body.from.slice(0, 10),
        open: body.open,
        high: body.high,
        low: body.low,
        close: body.close,
        volume: body.volume ?? null,
        preMarket: body.preMarket ?? null,
        afterHours: body.afterHours ?? null
      } satisfies DailyOpenClose
    })

    const marketStatusNow: MassiveRestShape["marketStatusNow"] = request(
      "/v1/marketstatus/now",
      schemaDecoder(Wire.MarketStatusNow)
    ).pipe(
      Effect.map((s) => ({
        market: s.market,
        serverTime: s.serverTime,
        earlyHours: s.earlyHours,
        afterHours: s.afterHours
      })),
      Effect.withSpan("MassiveRest.marketStatusNow")
    )

    const upcomingMarketDays: MassiveRestShape["upcomingMarketDays"] = request(
      "/v1/marketstatus/upcoming",
      decodeUpcoming
    ).pipe(
      Effect.tap(({ skipped }) =>
        skipped.length === 0
          ? Effect.void
          : Effect.logWarning(
              `Massive upcoming market days: skipped NYSE entries with an unknown status: ${skipped.join(", ")}`
            )
      ),
      Effect.map(({ days }) => days),
      Effect.withSpan("MassiveRest.upcomingMarketDays")
    )

    return MassiveRest.of({
      aggregates,
      dailyOpenClose,
      marketStatusNow,
      upcomingMarketDays,
      stats: Effect.sync(counters.snapshot),
      getJson: (path, schema) => request(path, schemaDecoder(schema)),
      observeDrift: (source, shape, sample) =>
        Option.isNone(drift) || sample === undefined
          ? Effect.void
          : drift.value.observe(source, shape, sample)
    })
  })

/** Talks HTTP to `massive.restUrl` (the real API or the simulator) through Node's HTTP client. */
export const Live: Layer.Layer<MassiveRest, never, AppConfig> = Layer.scoped(MassiveRest, make).pipe(
  Layer.provide(NodeHttpClient.layerUndici)
)

// -- Test -----------------------------------------------------------------------------------------

export interface TestData {
  /** Bars per ticker, in any order; served sorted by `ts`. */
  readonly bars?: Readonly<Record<string, ReadonlyArray<StockBar>>>
  readonly upcoming?: ReadonlyArray<UpcomingMarketDay>
  /** Bars per page (default 50000, the API's maximum `limit`). */
  readonly pageSize?: number
  /** JSON bodies `getJson` answers, by path and query exactly as requested; other paths are 404. */
  readonly responses?: Readonly<Record<string, unknown>>
}

/** A range bound as epoch ms: a YYYY-MM-DD `from` is New York midnight, a `to` date includes that whole day. */
const boundMs = (bound: string | number, end: boolean): number => {
  if (typeof bound === "number") return end ? bound + 1 : bound
  if (/^\d+$/.test(bound)) return end ? Number(bound) + 1 : Number(bound)
  return newYorkTimeToEpochMs(end ? addDays(bound, 1) : bound, 0, 0)
}

/**
 * In memory, no HTTP: `aggregates` filters `data.bars[ticker]` to [from, to] (multiplier and timespan
 * are ignored: the data is served at its own granularity), makes each bar a record through the
 * request's codec (an index codec drops volume, VWAP and trade count) and pages it by `pageSize`;
 * `dailyOpenClose` is derived from the day's bars (404 when there are none).
 */
export const Test = (data: TestData): Layer.Layer<MassiveRest> => {
  const pageSize = Math.max(1, data.pageSize ?? 50_000)
  const sorted = new Map<string, ReadonlyArray<StockBar>>(
    Object.entries(data.bars ?? {}).map(([ticker, bars]) => [ticker, [...bars].sort((a, b) => a.ts - b.ts)])
  )
  const range = (ticker: string, fromMs: number, toMs: number): ReadonlyArray<StockBar> =>
    (sorted.get(ticker) ?? []).filter((b) => b.ts >= fromMs && b.ts < toMs)

  return Layer.succeed(
    MassiveRest,
    MassiveRest.of({
      aggregates: <A>(req: AggregatesRequest, codec: Wire.BarCodec<A>) => {
        const bars = range(req.ticker, boundMs(req.from, false), boundMs(req.to, true))
        const pages = Math.max(1, Math.ceil(bars.length / pageSize))
        return Stream.range(1, pages).pipe(
          Stream.map(
            (page): AggregatesPage<A> => ({
              bars: bars
                .slice((page - 1) * pageSize, page * pageSize)
                .map((b) =>
                  codec.toRecord(
                    req.ticker,
                    b.ts,
                    b.open,
                    b.high,
                    b.low,
                    b.close,
                    b.volume,
                    b.vwap ?? undefined,
                    b.trades ?? undefined
                  )
                ),
              rejected: [],
              page
            })
          )
        )
      },
      dailyOpenClose: (ticker, date) => {
        const bars = range(ticker, boundMs(date, false), boundMs(date, true))
        const first = bars[0]
        const last = bars[bars.length - 1]
        if (first === undefined || last === undefined) {
          return Effect.fail(
            new VendorRequestError({
              vendor,
              request: `/v1/open-close/${tickerSegment(ticker)}/${date}`,
              status: 404,
              detail: "Data not found."
            })
          )
        }
        let high = first.high
        let low = first.low
        let volume = 0
        for (const b of bars) {
          if (b.high > high) high = b.high
          if (b.low < low) low = b.low
          volume += b.volume
        }
        return Effect.succeed({
          symbol: ticker,
          date,
          open: first.open,
          high,
          low,
          close: last.close,
          volume,
          preMarket: null,
          afterHours: null
        })
      },
      marketStatusNow: Effect.map(Clock.currentTimeMillis, (now) => ({
        market: "closed",
        serverTime: new Date(now).toISOString(),
        earlyHours: false,
        afterHours: false
      })),
      upcomingMarketDays: Effect.succeed(data.upcoming ?? []),
      // no HTTP, so nothing to count
      stats: Effect.succeed(RequestStats.empty),
      getJson: (path, schema) => {
        const body = data.responses?.[path]
        if (body === undefined)
          return Effect.fail(
            new VendorRequestError({ vendor, request: path, status: 404, detail: "Not found." })
          )
        return Effect.mapError(
          Schema.decodeUnknown(schema)(body, { errors: "first" }),
          (e) =>
            new VendorDecodeError({
              vendor,
              request: path,
              detail: ParseResult.TreeFormatter.formatErrorSync(e)
            })
        )
      },
      // No drift check in memory: the fixtures are what the decoders expect.
      observeDrift: () => Effect.void
    })
  )
}

/** Massive's `/v1/marketstatus/upcoming` as the calendar's holiday provider. */
export const Holidays: Layer.Layer<HolidaysPort.Holidays, never, MassiveRest> = Layer.effect(
  HolidaysPort.Holidays,
  Effect.map(MassiveRest, (rest) =>
    HolidaysPort.Holidays.of({
      source: "Massive /v1/marketstatus/upcoming",
      upcoming: rest.upcomingMarketDays
    })
  )
)
