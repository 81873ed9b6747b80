/**
 * ThetaTerminal: the ThetaData terminal's HTTP API, as far as tapehouse uses it — the expirations
 * of an option root, and the first-order greeks at 1-minute interval of one expiration on one day.
 * `Live` speaks v3 (`/v3/...`, port 25503) or the legacy v2 (`/v2/...`, port 25510) as
 * `sources.thetadata.api` says; both give the same records. `Test` reads canned CSV from memory
 * through the same parser.
 *
 * Status codes (../shared/specs/thetadata.md §4): 472 is "no data", an outcome and not a failure;
 * 471/473 fail at once naming the tier the endpoint needs; 429 (throttled) waits for its
 * Retry-After; 474 (terminal disconnected upstream), 5xx and 571 are retried with backoff within
 * `retry.http`. The greeks body streams: it is parsed chunk by chunk and never held whole.
 */
import { HttpClient, type HttpClientResponse } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Channel, Chunk, Clock, Context, Data, Duration, Effect, Layer, Random, Stream } from "effect"
import { AppConfig } from "../../config/AppConfig.js"
import * as NetworkError from "../networkError.js"
import * as RetryPolicy from "../retryPolicy.js"
import { utf8Text } from "./bodyText.js"
import { splitFields } from "./csvText.js"
import {
  ThetaProtocolError,
  ThetaRequestError,
  ThetaResponseCut,
  type ThetaTerminalError,
  ThetaTerminalNotRunning,
  ThetaTierError
} from "./errors.js"
import { type BodyParser, type DecodeThreadStopped, hereParser, type Parsed } from "./greeksBodyParser.js"
import type { GreeksBatch, ThetaApi } from "./greeksCsv.js"
import * as DecodeThread from "./greeksDecodeThread.js"
import { isoDateOf } from "./wallClock.js"

export interface GreeksRequest {
  /** The option root, e.g. `SPXW`. */
  readonly symbol: string
  /** YYYY-MM-DD. */
  readonly expiration: string
  /** The trading day, YYYY-MM-DD. */
  readonly date: string
}

/** A piece of a greeks answer: rows read (and rows rejected, with their line numbers), or "no data" (472). */
export type GreeksPart =
  | ({ readonly _tag: "Rows" } & GreeksBatch)
  | { readonly _tag: "NoData"; readonly detail: string }

export interface ThetaTerminalShape {
  readonly api: ThetaApi
  /** The base URL spoken to. */
  readonly url: string
  /** The expirations of `symbol` (YYYY-MM-DD, ascending); none when the terminal has no data (472). */
  readonly expirations: (symbol: string) => Effect.Effect<ReadonlyArray<string>, ThetaTerminalError>
  /**
   * First-order greeks at 1-minute interval of one expiration on one day, streamed as parts. A
   * 472 answer is one `NoData` part. A body that breaks off ends the stream with
   * `ThetaResponseCut` after a last part that rejects the cut row.
   */
  readonly greeks: (request: GreeksRequest) => Stream.Stream<GreeksPart, ThetaTerminalError>
}

export class ThetaTerminal extends Context.Tag("tapehouse/ThetaTerminal")<
  ThetaTerminal,
  ThetaTerminalShape
>() {}

// ---------------------------------------------------------------------------------------------

/** The least subscription tier of each endpoint (the v3 OpenAPI's `x-min-subscription`). */
const TIER = { expirations: "FREE", greeks: "STANDARD" } as const

const compactDate = (date: string): string => date.replaceAll("-", "")

/** Path and query of each request, per API. */
export const paths = {
  expirations: (api: ThetaApi, symbol: string): string =>
    api === "v3"
      ? `/v3/option/list/expirations?${new URLSearchParams({ symbol, format: "csv" })}`
      : `/v2/list/expirations?${new URLSearchParams({ root: symbol })}`,
  greeks: (api: ThetaApi, r: GreeksRequest): string =>
    api === "v3"
      ? `/v3/option/history/greeks/first_order?${new URLSearchParams({
          symbol: r.symbol,
          expiration: compactDate(r.expiration),
          date: compactDate(r.date),
          interval: "1m",
          format: "csv"
        })}`
      : `/v2/bulk_hist/option/greeks?${new URLSearchParams({
          root: r.symbol,
          exp: compactDate(r.expiration),
          start_date: compactDate(r.date),
          end_date: compactDate(r.date),
          ivl: "60000",
          use_csv: "true"
        })}`
}

/** The expirations in a v3 CSV list (`symbol,expiration`, read by header) or a v2 JSON list. */
export const parseExpirations = (api: ThetaApi, body: string): ReadonlyArray<string> | string => {
  const out: Array<string> = []
  if (api === "v2") {
    let json: unknown
    try {
      json = JSON.parse(body)
    } catch {
      return `the expirations list is not JSON: ${body.slice(0, 120)}`
    }
    const response = (json as { response?: unknown } | null)?.response
    if (!Array.isArray(response)) return "the expirations list has no `response` array"
    for (const v of response) {
      const d = isoDateOf(String(v))
      if (d === undefined) return `expiration ${JSON.stringify(v)} is not a YYYYMMDD date`
      out.push(d)
    }
  } else {
    const lines = body.split(/\r?\n/)
    const header = splitFields(lines[0] ?? "") ?? []
    const at = header.indexOf("expiration")
    if (at < 0) return `the expirations CSV header ${JSON.stringify(lines[0] ?? "")} has no expiration column`
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!
      if (line === "") continue
      const d = isoDateOf(splitFields(line)?.[at] ?? "")
      if (d === undefined) return `line ${i + 1} ${JSON.stringify(line)} holds no expiration date`
      out.push(d)
    }
  }
  return [...new Set(out)].sort()
}

/** Statuses worth another attempt: throttled (429), disconnected upstream (474), server trouble. */
const RETRYABLE: ReadonlySet<number> = new Set([429, 474, 500, 502, 503, 504, 571])

class Retryable extends Data.TaggedError("Retryable")<{
  readonly status?: number
  readonly detail: string
  readonly retryAfterMs?: number
}> {}

/** A body that sent nothing for the request timeout: treated as cut. */
class BodyStalled extends Data.TaggedError("BodyStalled")<{ readonly ms: number }> {}

type Opened =
  | { readonly _tag: "Body"; readonly response: HttpClientResponse.HttpClientResponse }
  | { readonly _tag: "NoData"; readonly detail: string }

const errorText = (body: string): string => {
  const t = body.trim().replace(/^:/, "")
  return t === "" ? "empty body" : t.length > 200 ? `${t.slice(0, 200)}…` : t
}

/** `Retry-After` as seconds (fractions allowed) or an HTTP date, in ms from now. */
const parseRetryAfter = (value: string | undefined, nowMs: number): number | undefined => {
  if (value === undefined) return undefined
  const v = value.trim()
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000)
  const at = Date.parse(v)
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs)
}

const parsePart = (
  parsed: GreeksBatch | string,
  request: string
): Effect.Effect<GreeksPart, ThetaProtocolError> =>
  typeof parsed === "string"
    ? Effect.fail(new ThetaProtocolError({ request, detail: parsed }))
    : Effect.succeed(rowsPart(parsed))

/** A batch as a part; its `rows` stay unbuilt until read. */
const rowsPart = (batch: GreeksBatch): GreeksPart => ({
  _tag: "Rows",
  columns: batch.columns,
  rejected: batch.rejected,
  get rows() {
    return batch.rows
  }
})

const nonEmpty = (p: GreeksPart): boolean =>
  p._tag === "NoData" || p.columns.length > 0 || p.rejected.length > 0

/**
 * A watchdog over a body's chunks: `saw` counts each chunk, `stalled` fails with `BodyStalled` once
 * none has come for `ms` (noticed within a quarter of `ms` more). It runs beside the parsed stream,
 * raced per batch of rows: `Stream.timeoutFail` (or `interruptWhen`) on the chunks themselves forks
 * a fiber per 60 KB chunk, which cost a fifth of the backfill's CPU. Quiet time counts while the
 * stream runs, pulled or not: its consumer (the backfill) pulls without pause until the body ends.
 */
const stallWatch = (ms: number) => {
  let seen = 0
  const stalled: Effect.Effect<never, BodyStalled> = Effect.gen(function* () {
    let lastSeen = seen
    let quietSince = yield* Clock.currentTimeMillis
    const step = Duration.millis(Math.max(1, Math.floor(ms / 4)))
    for (;;) {
      yield* Effect.sleep(step)
      const now = yield* Clock.currentTimeMillis
      if (seen !== lastSeen) {
        lastSeen = seen
        quietSince = now
      } else if (now - quietSince >= ms) return yield* new BodyStalled({ ms })
    }
  })
  return {
    saw: () => {
      seen++
    },
    stalled
  }
}

/** The text stream's own failure: the body broke off. */
interface Cut<E> {
  readonly _tag: "Cut"
  readonly error: E
}

/**
 * Parts of a CSV body arriving in chunks: parsed chunk by chunk (`parserOf` picks the parser at the
 * first chunk: in this thread, or on the decoding thread) in one stream step that hands on only
 * whole batches (a batch is ~8k rows, a network chunk ~400), so the steps after it run per batch;
 * when the chunk stream fails (the body broke off), a last part rejects the unfinished row and the
 * stream fails with `ThetaResponseCut`.
 */
const greeksFrom = <X, E>(
  request: string,
  chunks: Stream.Stream<X, E>,
  parserOf: (first: X | undefined) => BodyParser<X>,
  describeCut: (e: E) => string,
  stalled?: Effect.Effect<never, E>
): Stream.Stream<GreeksPart, ThetaProtocolError | ThetaResponseCut | ThetaRequestError> =>
  Stream.suspend(() => {
    let parser: BodyParser<X> | undefined
    // Picked at the first chunk (a body with none: at its end).
    const parserFor = (first: X | undefined): BodyParser<X> => {
      parser ??= parserOf(first)
      return parser
    }
    type Out = Channel.Channel<
      Chunk.Chunk<Parsed>,
      Chunk.Chunk<X>,
      Cut<E> | DecodeThreadStopped,
      Cut<E>,
      unknown,
      unknown
    >
    const written = (parsed: Array<Parsed>, then: Out): Out =>
      parsed.length === 0 ? then : Channel.zipRight(Channel.write(Chunk.unsafeFromArray(parsed)), then)
    // Most network chunks complete no batch: they are passed over here, not handed on as empty
    // chunks (which `Stream.mapChunks` would do), so every step after this one, the stall race
    // included, runs once per batch and not once per chunk.
    const batches: Out = Channel.readWith({
      onInput: (chunk: Chunk.Chunk<X>) => {
        const out: Array<Parsed> = []
        let p: BodyParser<X> | undefined
        for (const x of chunk) {
          p = parserFor(x)
          for (const parsed of p.push(x)) out.push(parsed)
        }
        if (p === undefined || !p.busy()) return written(out, batches)
        const settle: Out = Channel.flatMap(Channel.fromEffect(p.settle), (more) => written(more, batches))
        return written(out, settle)
      },
      onFailure: Channel.fail,
      onDone: () =>
        Channel.flatMap(Channel.fromEffect(Effect.suspend(() => parserFor(undefined).end)), (parsed) =>
          written(parsed, Channel.void)
        )
    })
    const parsed: Stream.Stream<Parsed, Cut<E> | DecodeThreadStopped> = chunks.pipe(
      Stream.mapError((error): Cut<E> => ({ _tag: "Cut", error })),
      Stream.pipeThroughChannel(batches)
    )
    const watched =
      stalled === undefined
        ? parsed
        : parsed.pipe(
            Stream.interruptWhen(Effect.mapError(stalled, (error): Cut<E> => ({ _tag: "Cut", error })))
          )
    return watched.pipe(
      Stream.mapEffect((p) => parsePart(p, request)),
      Stream.catchAll(
        (e): Stream.Stream<GreeksPart, ThetaProtocolError | ThetaResponseCut | ThetaRequestError> => {
          if (e._tag === "ThetaProtocolError") return Stream.fail(e)
          if (e._tag === "DecodeThreadStopped") return Stream.fail(decodeStopped(request, e))
          return Stream.unwrap(
            Effect.match(parserFor(undefined).cut, {
              onFailure: (
                stopped
              ): Stream.Stream<GreeksPart, ThetaProtocolError | ThetaResponseCut | ThetaRequestError> =>
                Stream.fail(decodeStopped(request, stopped)),
              onSuccess: ({
                parsed,
                lines
              }): Stream.Stream<GreeksPart, ThetaProtocolError | ThetaResponseCut | ThetaRequestError> =>
                Stream.concat(
                  Stream.fromIterable(parsed).pipe(Stream.mapEffect((p) => parsePart(p, request))),
                  Stream.fail(
                    new ThetaResponseCut({ request, line: lines + 1, detail: describeCut(e.error) })
                  )
                )
            })
          )
        }
      ),
      Stream.filter(nonEmpty),
      Stream.ensuring(Effect.sync(() => parser?.close()))
    )
  })

const decodeStopped = (request: string, e: DecodeThreadStopped): ThetaRequestError =>
  new ThetaRequestError({
    request,
    detail: `${e.detail} while it read the answer; nothing of it was committed: run again`
  })

/** `greeksFrom` a body arriving as text, parsed in this thread. */
export const greeksFromText = <E>(
  api: ThetaApi,
  request: string,
  text: Stream.Stream<string, E>,
  describeCut: (e: E) => string
): Stream.Stream<GreeksPart, ThetaProtocolError | ThetaResponseCut | ThetaRequestError> =>
  greeksFrom(request, text, () => hereParser(api, { chunk: (t: string) => t, rest: () => "" }), describeCut)

/** Where a body's CSV is parsed: on the decoding thread when it can (see greeksDecodeThread.ts), or here. */
export type DecodeWhere = "auto" | "here"

/**
 * `greeksFrom` a body arriving as UTF-8 bytes, decoded with the parsing (no stream step of its own),
 * cut with `BodyStalled` when no chunk arrives for `stallMs`.
 */
export const greeksFromBytes = <E>(
  api: ThetaApi,
  request: string,
  bytes: Stream.Stream<Uint8Array, E>,
  stallMs: number,
  describeCut: (e: E | BodyStalled) => string,
  where: DecodeWhere = "auto"
): Stream.Stream<GreeksPart, ThetaProtocolError | ThetaResponseCut | ThetaRequestError> =>
  Stream.suspend(() => {
    const watch = stallWatch(stallMs)
    const parserOf = (first: Uint8Array | undefined): BodyParser<Uint8Array> => {
      const onThread = where === "auto" && first !== undefined ? DecodeThread.threadParser(api) : undefined
      if (onThread === undefined) DecodeThread.countedHere()
      const parser = onThread ?? hereParser(api, utf8Text())
      return {
        ...parser,
        push: (x) => {
          watch.saw()
          return parser.push(x)
        }
      }
    }
    return greeksFrom<Uint8Array, E | BodyStalled>(request, bytes, parserOf, describeCut, watch.stalled)
  })

export const make: Effect.Effect<ThetaTerminalShape, never, HttpClient.HttpClient | AppConfig> = Effect.gen(
  function* () {
    const { thetadata, retry } = yield* AppConfig
    const api = thetadata.api
    const baseUrl = thetadata.url.replace(/\/+$/, "")
    const attempts = Math.max(1, retry.attempts)
    const endpoint: NetworkError.Endpoint = {
      url: baseUrl,
      setting: "sources.thetadata.url / TAPEHOUSE_THETADATA_URL",
      localServer: "the terminal, or the simulator (tapehouse sim thetadata)"
    }
    const http = yield* HttpClient.HttpClient

    const attempt = (path: string, tier: string): Effect.Effect<Opened, Retryable | ThetaTerminalError> =>
      http.get(baseUrl + path).pipe(
        Effect.timeoutFail({
          duration: Duration.millis(thetadata.requestTimeoutMs),
          onTimeout: () =>
            new Retryable({
              detail: NetworkError.describeTimeout(
                endpoint,
                thetadata.requestTimeoutMs,
                "sources.thetadata.request_timeout_ms"
              )
            })
        }),
        Effect.catchTags({
          RequestError: (e) =>
            NetworkError.systemCause(e.cause)?.code === "ECONNREFUSED"
              ? Effect.fail(new ThetaTerminalNotRunning({ url: baseUrl, api }))
              : Effect.fail(
                  new Retryable({
                    detail: NetworkError.describeNetworkError(e.cause ?? e.description, endpoint)
                  })
                ),
          ResponseError: (e) =>
            Effect.fail(
              new Retryable({
                status: e.response.status,
                detail: NetworkError.describeBrokenBody(e.cause ?? e.description, endpoint, e.response.status)
              })
            )
        }),
        Effect.flatMap((response): Effect.Effect<Opened, Retryable | ThetaTerminalError> => {
          const status = response.status
          if (status >= 200 && status < 300) return Effect.succeed({ _tag: "Body", response })
          return Effect.gen(function* () {
            const detail = errorText(yield* Effect.orElseSucceed(response.text, () => ""))
            if (status === 472) return { _tag: "NoData", detail } as const
            if (status === 471 || status === 473)
              return yield* Effect.fail(new ThetaTierError({ request: path, status, tier, detail }))
            if (RETRYABLE.has(status)) {
              const now = yield* Clock.currentTimeMillis
              const retryAfterMs = parseRetryAfter(response.headers["retry-after"], now)
              return yield* Effect.fail(
                new Retryable({ status, detail, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) })
              )
            }
            // An unknown path or parameters: most often a v2 client talking to a v3 terminal or back.
            const hint =
              status === 404 || status === 410
                ? `; check sources.thetadata.api (${api} now) against the terminal at ${baseUrl}`
                : ""
            return yield* Effect.fail(new ThetaRequestError({ request: path, status, detail: detail + hint }))
          })
        })
      )

    const retryLog = (path: string, e: Retryable, decision: RetryPolicy.Decision & { _tag: "Retry" }) => {
      const wait = `${decision.delayMs} ms${decision.fromRetryAfter ? " (Retry-After)" : ""}`
      if (e.status === 429)
        return Effect.logInfo(
          `ThetaData terminal throttled ${path} (HTTP 429: ${e.detail}); retry in ${wait}`
        )
      const next = `attempt ${decision.state.errors + 1} of ${attempts} in ${wait}`
      if (e.status === 474)
        return Effect.logWarning(
          `The ThetaData terminal is disconnected from ThetaData's servers (HTTP 474: ${e.detail}); retrying ${path}, ${next}`
        )
      const status = e.status === undefined ? "" : `HTTP ${e.status}: `
      return Effect.logWarning(`ThetaData request ${path} failed (${status}${e.detail}); ${next}`)
    }

    const giveUp = (path: string, e: Retryable, decision: RetryPolicy.Decision & { _tag: "GiveUp" }) => {
      const { errors, throttles } = decision.state
      const detail =
        decision.budget === "throttle"
          ? `throttled (HTTP 429) ${throttles} time(s) for ${decision.throttledForMs} ms; waiting ${decision.nextDelayMs} ms more would pass retry.http.max_throttle_wait_ms (${retry.maxThrottleWaitMs} ms). Run fewer requests at once, or raise that key`
          : e.status === 474
            ? `the terminal stayed disconnected from ThetaData's servers (HTTP 474: ${e.detail}) through ${errors} attempt(s); check the terminal's window or log for its connection to ThetaData (MDDS), then rerun`
            : `${e.detail} (after ${errors} attempt(s))`
      return new ThetaRequestError({
        request: path,
        ...(e.status === undefined ? {} : { status: e.status }),
        detail
      })
    }

    /** One GET through the retry policy: a 2xx body, or "no data", or a domain error. */
    const open = (path: string, tier: string): Effect.Effect<Opened, ThetaTerminalError> => {
      const loop = (state: RetryPolicy.RetryState): Effect.Effect<Opened, ThetaTerminalError> =>
        Effect.catchTag(attempt(path, tier), "Retryable", (e) =>
          Effect.gen(function* () {
            const now = yield* Clock.currentTimeMillis
            const jitter = RetryPolicy.jitterOf(yield* Random.next)
            const failure = {
              throttled: e.status === 429,
              ...(e.retryAfterMs === undefined ? {} : { retryAfterMs: e.retryAfterMs })
            }
            const decision = RetryPolicy.decide(retry, state, failure, now, jitter)
            if (decision._tag === "GiveUp") return yield* Effect.fail(giveUp(path, e, decision))
            yield* retryLog(path, e, decision)
            yield* Effect.sleep(Duration.millis(decision.delayMs))
            return yield* loop(decision.state)
          })
        )
      return loop(RetryPolicy.initial)
    }

    const expirations = (symbol: string) => {
      const path = paths.expirations(api, symbol)
      return Effect.flatMap(open(path, TIER.expirations), (opened) =>
        opened._tag === "NoData"
          ? Effect.succeed<ReadonlyArray<string>>([])
          : Effect.flatMap(
              Effect.catchTag(opened.response.text, "ResponseError", (e) =>
                Effect.fail(
                  new ThetaRequestError({
                    request: path,
                    status: e.response.status,
                    detail: NetworkError.describeBrokenBody(
                      e.cause ?? e.description,
                      endpoint,
                      e.response.status
                    )
                  })
                )
              ),
              (body) => {
                const parsed = parseExpirations(api, body)
                return typeof parsed === "string"
                  ? Effect.fail(new ThetaProtocolError({ request: path, detail: parsed }))
                  : Effect.succeed(parsed)
              }
            )
      ).pipe(Effect.withSpan("ThetaTerminal.expirations"))
    }

    /** One page of greeks, then (v2) the page its `Next-Page` header names. */
    const page = (path: string): Stream.Stream<GreeksPart, ThetaTerminalError> =>
      Stream.unwrap(
        // The decoding thread loads while the terminal prepares its answer.
        Effect.map(Effect.zipRight(Effect.sync(DecodeThread.prepare), open(path, TIER.greeks)), (opened) => {
          if (opened._tag === "NoData") return Stream.succeed<GreeksPart>(opened)
          const ms = thetadata.requestTimeoutMs
          // A body that stalls is cut after the request timeout, so a download never hangs on it.
          const body = greeksFromBytes(api, path, opened.response.stream, ms, (e) =>
            e._tag === "BodyStalled"
              ? `nothing arrived for ${e.ms} ms (sources.thetadata.request_timeout_ms)`
              : NetworkError.describeBrokenBody(e.cause ?? e.description, endpoint, opened.response.status)
          )
          const next = opened.response.headers["next-page"]
          if (next === undefined || next === "" || next === "null") return body
          const url = new URL(next, baseUrl)
          return Stream.concat(
            body,
            Stream.suspend(() => page(url.pathname + url.search))
          )
        })
      )

    return ThetaTerminal.of({
      api,
      url: baseUrl,
      expirations,
      greeks: (request) => page(paths.greeks(api, request))
    })
  }
)

export const Live: Layer.Layer<ThetaTerminal, never, AppConfig> = Layer.effect(ThetaTerminal, make).pipe(
  Layer.provide(NodeHttpClient.layerUndici)
)

export interface TestData {
  readonly api?: ThetaApi
  /** Expirations per symbol (YYYY-MM-DD). */
  readonly expirations?: Readonly<Record<string, ReadonlyArray<string>>>
  /** The CSV body of a greeks request (in `api`'s columns), or undefined for "no data" (472). */
  readonly greeks?: (request: GreeksRequest) => string | undefined
}

/** In memory: canned bodies read through the same CSV parser as `Live`. */
export const Test = (data: TestData): Layer.Layer<ThetaTerminal> => {
  const api = data.api ?? "v3"
  return Layer.succeed(
    ThetaTerminal,
    ThetaTerminal.of({
      api,
      url: "test:",
      expirations: (symbol) => Effect.succeed([...(data.expirations?.[symbol] ?? [])].sort()),
      greeks: (request) => {
        const body = data.greeks?.(request)
        const path = paths.greeks(api, request)
        return body === undefined
          ? Stream.succeed<GreeksPart>({
              _tag: "NoData",
              detail: "No data for the specified timeframe & contract."
            })
          : greeksFromText(api, path, Stream.succeed(body), () => "")
      }
    })
  )
}
