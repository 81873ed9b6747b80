/**
 * MassiveSim: a local, deterministic simulator of the Massive (Polygon.io) REST API on
 * 127.0.0.1, serving the synthetic market. Our client, the official clients and curl can be
 * pointed at it. Endpoints: custom aggregates (with `next_url` pagination on the simulator's
 * own origin), daily open/close, market status now/upcoming; auth by `apiKey` query parameter
 * or `Authorization: Bearer`; scripted faults (`faults`, or `POST /__sim/faults` over HTTP).
 * The bars come from the synthetic market unless a `bars` provider is given (e.g. a stored day
 * read from the lake); the WebSocket half (`MassiveSocketSim`) attaches to `server`.
 */
import type * as http from "node:http"
import { Context, Effect, Layer, type Scope } from "effect"
import { nyseDay } from "../calendar/nyseRules.js"
import type { StockBar } from "../domain/StockBar.js"
import { addDays, isIsoDate, newYorkTimeToEpochMs } from "../domain/time.js"
import { CONTROL_PREFIX, type ControlHandler, makeControls } from "./core/controls.js"
import { type Fault, type FaultSwitch, makeFaultSwitch } from "./core/faults.js"
import { makeHttpFaults, registerFaultControls } from "./core/httpFaults.js"
import { listen, type SimStartError } from "./core/httpHost.js"
import { json, type Reply, requestIdFactory, writeReply } from "./core/reply.js"
import { marketStatusNow, upcoming } from "./marketStatus.js"
import { makePageTextCache, type PageText } from "./pageTextCache.js"
import { indexSecondBars } from "./syntheticIndices.js"
import {
  dayBarsFor,
  isKnownSymbol,
  merge,
  rangeBars,
  rangeFrom,
  secondBars,
  sessionOf,
  TIMESPANS,
  type Timespan
} from "./syntheticMarket.js"

/**
 * Per-second bars of one symbol on one New York trading date (YYYY-MM-DD), ascending; empty
 * when there are none. Must be synchronous and cheap to call repeatedly (cache inside).
 */
export type BarProvider = (symbol: string, date: string) => ReadonlyArray<StockBar>

/** Publish delay after a bar's start: the second closes at s + 1000, the bar goes out 2 s later. */
export const PUBLISH_DELAY_MS = 3000

export interface MassiveSimOptions {
  /** 0 (default) = a free port. */
  readonly port?: number
  readonly host?: "127.0.0.1"
  /** Accepted keys; undefined = any non-empty key. */
  readonly apiKeys?: ReadonlyArray<string>
  /** Caps bars per aggregates page below the requested `limit`, to force pagination. */
  readonly pageSize?: number
  /** Clock for `/v1/marketstatus/*`, epoch ms; default `Date.now`. */
  readonly now?: () => number
  /**
   * Whether bars and daily bars after the clock are held back, as the real API does (a future date
   * answers without results); default true. A stored-day replay serves its whole day.
   */
  readonly holdBackFuture?: boolean
  /** Requests per minute before answering 429 with the vendor's body; default unlimited. */
  readonly rateLimitPerMinute?: number
  /**
   * The per-second bars the aggregates and open-close endpoints serve (coarser bars are merged
   * from them); default `secondBars` of the synthetic market.
   */
  readonly bars?: BarProvider
  /**
   * More markets by ticker prefix (`I:` indices, `O:` option contracts): their per-second bars and
   * how the wire writes them. Tickers without a matching prefix are the stocks of `bars`. Default:
   * the synthetic indices (I:VIX) when `bars` is the synthetic market too, none otherwise.
   */
  readonly markets?: ReadonlyArray<PrefixMarket>
}

/** Bars of tickers with a prefix (`I:VIX`, `O:SPY…`), written the way the vendor writes that asset class. */
export interface PrefixMarket {
  readonly prefix: string
  readonly bars: BarProvider
  /** `index`: only o/h/l/c/t (no volume, VWAP or trade count; no `adjusted` in the envelope). */
  readonly wire: "stock" | "index"
}

/** A route the simulator serves beside its own (options contracts, news …): a reply, or undefined to pass. */
export type RouteHandler = (url: URL, requestId: string) => Reply | undefined

export type AuthKind = "query" | "bearer" | "both" | "none"

export interface RecordedRequest {
  readonly method: string
  /** Path without the query string. */
  readonly path: string
  /** Query parameters, `apiKey` removed. */
  readonly query: Readonly<Record<string, string>>
  readonly auth: AuthKind
  /** Status sent; 0 when the connection was dropped without an answer. */
  readonly status: number
  /** The scripted fault or limit that shaped the answer, if any. */
  readonly fault?: Fault["kind"] | "rate-limit"
}

export interface MassiveSimServer {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  readonly url: string
  readonly port: number
  /** The underlying server (the WebSocket simulator attaches to it). */
  readonly server: http.Server
  readonly faults: FaultSwitch
  /** API requests received so far (control paths under `/__sim/` are not recorded). */
  readonly requests: () => ReadonlyArray<RecordedRequest>
  readonly clearRequests: () => void
  /** The bar provider the REST endpoints serve. */
  readonly bars: BarProvider
  /** The key rule of `apiKeys`: a non-empty key that is listed (any non-empty key when unset). */
  readonly acceptsKey: (key: string) => boolean
  /**
   * Adds a control endpoint under `/__sim/` (e.g. `/__sim/ws-faults`); returns its remover.
   * A POST/PUT body is parsed as JSON before the handler runs.
   */
  readonly registerControl: (path: string, handler: ControlHandler) => () => void
  /** Adds API routes (tried before the built-in ones' 404); returns its remover. */
  readonly registerRoute: (handler: RouteHandler) => () => void
  /** Today on the simulator's clock, epoch ms (what `/v1/marketstatus/now` reports). */
  readonly now: () => number
}

// The core's shapes under the names routes and callers import from here.
export type { ControlHandler, ControlRequest } from "./core/controls.js"
export { SimStartError } from "./core/httpHost.js"
export { json, type Reply } from "./core/reply.js"

export class MassiveSim extends Context.Tag("tapehouse/MassiveSim")<MassiveSim, MassiveSimServer>() {}

// ---------------------------------------------------------------------------------------------
// Responses

const MAX_LIMIT = 50_000
const DEFAULT_LIMIT = 5_000

export const errorBody = (status: number, requestId: string, error: string): Reply =>
  json(status, { status: "ERROR", request_id: requestId, error })

export const notFound = (requestId: string, message: string): Reply =>
  json(404, { status: "NOT_FOUND", request_id: requestId, message })

const RATE_LIMIT_MESSAGE =
  "You've exceeded the maximum requests per minute, please wait or upgrade your subscription to continue. https://massive.com/pricing"

/** The body a `status` fault sends when it brings none of its own. */
const faultBody = (status: number, requestId: string): Reply => {
  if (status === 429) return errorBody(429, requestId, RATE_LIMIT_MESSAGE)
  if (status === 401) return errorBody(401, requestId, "Unknown API Key")
  if (status === 403)
    return json(403, {
      status: "NOT_AUTHORIZED",
      request_id: requestId,
      message: "You are not entitled to this data. Please upgrade your plan at https://massive.com/pricing"
    })
  if (status === 404) return notFound(requestId, "Data not found.")
  if (status >= 500) return errorBody(status, requestId, "Internal server error. Please try again later.")
  return errorBody(status, requestId, `Simulated HTTP ${status}.`)
}

// ---------------------------------------------------------------------------------------------
// Aggregates

const parseTime = (s: string, end: boolean): number | undefined => {
  if (/^\d{1,16}$/.test(s)) return Number(s)
  if (!isIsoDate(s)) return undefined
  return end ? newYorkTimeToEpochMs(addDays(s, 1), 0, 0) - 1 : newYorkTimeToEpochMs(s, 0, 0)
}

const encodeCursor = (limit: number, sort: "asc" | "desc", adjusted: boolean): string =>
  Buffer.from(`limit=${limit}&sort=${sort}&adjusted=${adjusted}`).toString("base64url")

const decodeCursor = (cursor: string): URLSearchParams | undefined => {
  const text = Buffer.from(cursor.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString("utf8")
  return /^[\w=&.-]*$/.test(text) && text.includes("=") ? new URLSearchParams(text) : undefined
}

/** A bar as the vendor writes it. Building objects and stringifying once is about twice as fast as templates. */
const barWire = (b: StockBar) =>
  b.vwap === null
    ? { v: b.volume, o: b.open, c: b.close, h: b.high, l: b.low, t: b.ts, n: b.trades ?? 0 }
    : { v: b.volume, vw: b.vwap, o: b.open, c: b.close, h: b.high, l: b.low, t: b.ts, n: b.trades ?? 0 }

/** An index value bar: no volume keys at all (spec §7). */
const indexWire = (b: StockBar) => ({ o: b.open, c: b.close, h: b.high, l: b.low, t: b.ts })

const UNIT_MS: Record<Timespan, number> = {
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 7 * 86_400_000,
  month: 31 * 86_400_000,
  quarter: 92 * 86_400_000,
  year: 366 * 86_400_000
}

const take = (bars: Iterable<StockBar>, n: number): Array<StockBar> => {
  const out: Array<StockBar> = []
  if (n <= 0) return out
  for (const b of bars) {
    out.push(b)
    if (out.length >= n) break
  }
  return out
}

const round2 = (x: number) => Math.round(x * 100) / 100

/** Makes `count` bars of the page invalid (high below low), spread over the page. */
const corrupt = (page: Array<StockBar>, count: number): void => {
  const n = Math.min(count, page.length)
  const stride = Math.max(1, Math.floor(page.length / n))
  for (let j = 0; j < n; j++) {
    const i = j * stride
    const b = page[i]!
    page[i] = { ...b, high: b.low, low: round2(b.high + 0.01) }
  }
}

// ---------------------------------------------------------------------------------------------
// Markets: the synthetic one (default), or per-second bars from a provider

interface Market {
  readonly range: (
    symbol: string,
    multiplier: number,
    timespan: Timespan,
    fromMs: number,
    toMs: number,
    sort: "asc" | "desc"
  ) => Iterable<StockBar>
  readonly dayBar: (symbol: string, date: string) => StockBar | undefined
  /** Whether the ticker can have data (gates the `repeat-rows` fault). */
  readonly known: (symbol: string) => boolean
}

/** The synthetic indices, served beside the synthetic stocks. */
export const SYNTHETIC_MARKETS: ReadonlyArray<PrefixMarket> = [
  { prefix: "I:", bars: indexSecondBars, wire: "index" }
]

const SYNTHETIC: Market = {
  range: rangeBars,
  dayBar: (symbol, date) => dayBarsFor(symbol, date, 1, "day")[0],
  known: isKnownSymbol
}

/** A market serving `provider`'s per-second bars, merged into coarser bars the way the synthetic market does. */
const providerMarket = (provider: BarProvider): Market => {
  const dayCache = new Map<string, StockBar | null>()
  const dayBar = (symbol: string, date: string): StockBar | undefined => {
    const key = `${symbol}|${date}`
    let bar = dayCache.get(key)
    if (bar === undefined) {
      const seconds = sessionOf(date)._tag === "closed" ? [] : provider(symbol, date)
      bar =
        seconds.length === 0
          ? null
          : merge(symbol, newYorkTimeToEpochMs(date, 0, 0), seconds, 0, seconds.length)
      if (dayCache.size >= 20_000) dayCache.clear()
      dayCache.set(key, bar)
    }
    return bar ?? undefined
  }

  const source = {
    secondBars: provider,
    dailyBar: (symbol: string, date: string) => dayBar(symbol, date) ?? null
  }
  const range: Market["range"] = (symbol, multiplier, timespan, fromMs, toMs, sort) =>
    rangeFrom(source, symbol, multiplier, timespan, fromMs, toMs, sort)

  return { range, dayBar, known: () => true }
}

// ---------------------------------------------------------------------------------------------
// Server

const AGGS_RE = /^\/v2\/aggs\/ticker\/([^/]+)\/range\/([^/]+)\/([^/]+)\/([^/]+)\/([^/]+)\/?$/
const OPEN_CLOSE_RE = /^\/v1\/open-close\/([^/]+)\/([^/]+)\/?$/

const safeDecode = (s: string): string | undefined => {
  try {
    return decodeURIComponent(s)
  } catch {
    return undefined
  }
}

/** Stands for the `results` array in the envelope's JSON until the page's text replaces it. */
const RESULTS_MARK = "\u0000results\u0000"
const RESULTS_MARK_JSON = JSON.stringify(RESULTS_MARK)

/** An aggregates answer: the envelope, in the vendor's order of keys, around the page's `results`. */
const aggregatesBody = (
  ticker: string,
  wire: "stock" | "index",
  adjusted: boolean,
  page: PageText,
  requestId: string,
  nextUrl: string | undefined
): string => {
  const n = page.count
  const envelope = JSON.stringify({
    ticker,
    queryCount: n,
    resultsCount: n,
    // Index aggregates carry no `adjusted` (spec §7).
    ...(wire === "index" ? {} : { adjusted }),
    ...(n === 0 ? {} : { results: RESULTS_MARK }),
    status: "OK",
    request_id: requestId,
    count: n,
    ...(nextUrl === undefined ? {} : { next_url: nextUrl })
  })
  return n === 0 ? envelope : envelope.replace(RESULTS_MARK_JSON, () => page.results)
}

/** Characters of aggregates pages' text the simulator keeps (about as many bytes): a tracked chain's day. */
const PAGE_TEXT_CHARS = 160_000_000

const makeServer = (
  options: MassiveSimOptions
): Effect.Effect<MassiveSimServer, SimStartError, Scope.Scope> =>
  Effect.gen(function* () {
    const now = options.now ?? Date.now
    const holdBackFuture = options.holdBackFuture ?? true
    const faults = makeFaultSwitch(
      options.rateLimitPerMinute === undefined ? {} : { rateLimitPerMinute: options.rateLimitPerMinute }
    )
    const nextRequestId = requestIdFactory()
    const bars = options.bars ?? secondBars
    const stocks = bars === secondBars ? SYNTHETIC : providerMarket(bars)
    const markets = options.markets ?? (options.bars === undefined ? SYNTHETIC_MARKETS : [])
    const prefixed = markets.map((m) => ({ ...m, market: providerMarket(m.bars) }))
    /** The market a ticker belongs to, and how the wire writes its bars. */
    const marketOf = (ticker: string) => {
      for (const m of prefixed) if (ticker.startsWith(m.prefix)) return m
      return { market: stocks, wire: "stock" as const }
    }
    const pageTexts = makePageTextCache(PAGE_TEXT_CHARS)
    const routes: Array<RouteHandler> = []
    const acceptsKey = (key: string) =>
      key.length > 0 && (options.apiKeys === undefined || options.apiKeys.includes(key))
    const controls = makeControls()
    registerFaultControls(controls, faults)
    let recorded: Array<RecordedRequest> = []
    controls.register("/__sim/requests", (request) => {
      if (request.method === "GET") return { status: 200, body: recorded }
      if (request.method !== "DELETE") return undefined
      recorded = []
      return { status: 200, body: { status: "OK" } }
    })
    // Set once listening, before any request can arrive: `next_url` is on the simulator's origin.
    let origin = ""

    const aggregates = (url: URL, m: RegExpExecArray, requestId: string): Reply => {
      const ticker = safeDecode(m[1]!)
      const multiplier = Number(m[2])
      const timespan = m[3] as Timespan
      const fromText = m[4]!
      const toText = m[5]!
      if (ticker === undefined || ticker.length === 0) return errorBody(400, requestId, "Invalid ticker.")
      if (!Number.isInteger(multiplier) || multiplier < 1)
        return errorBody(400, requestId, `Invalid multiplier '${m[2]}': use a positive integer.`)
      if (!TIMESPANS.includes(timespan))
        return errorBody(400, requestId, `Invalid timespan '${m[3]}': use one of ${TIMESPANS.join(", ")}.`)
      const fromMs = parseTime(fromText, false)
      const toMs = parseTime(toText, true)
      if (fromMs === undefined)
        return errorBody(
          400,
          requestId,
          "Could not parse the time parameter: 'from'. Use YYYY-MM-DD or Unix MS Timestamps"
        )
      if (toMs === undefined)
        return errorBody(
          400,
          requestId,
          "Could not parse the time parameter: 'to'. Use YYYY-MM-DD or Unix MS Timestamps"
        )

      // A cursor carries the original query; explicit parameters are ignored when it is present.
      const cursorText = url.searchParams.get("cursor")
      const cursor = cursorText === null ? undefined : decodeCursor(cursorText)
      if (cursorText !== null && cursor === undefined) return errorBody(400, requestId, "Invalid cursor.")
      const params = cursor ?? url.searchParams
      const sortText = params.get("sort") ?? "asc"
      if (sortText !== "asc" && sortText !== "desc")
        return errorBody(400, requestId, `Invalid sort '${sortText}': use asc or desc.`)
      const sort: "asc" | "desc" = sortText
      const adjustedText = (params.get("adjusted") ?? "true").toLowerCase()
      if (adjustedText !== "true" && adjustedText !== "false")
        return errorBody(400, requestId, `Invalid adjusted '${adjustedText}': use true or false.`)
      const adjusted = adjustedText === "true"
      const limitText = params.get("limit")
      const limit = limitText === null ? DEFAULT_LIMIT : Number(limitText)
      if (!Number.isInteger(limit) || limit < 1)
        return errorBody(
          400,
          requestId,
          `Invalid limit '${limitText}': use an integer from 1 to ${MAX_LIMIT}.`
        )
      if (limit > MAX_LIMIT)
        return errorBody(400, requestId, `Limit ${limit} is above the maximum of ${MAX_LIMIT}.`)
      const perPage = Math.min(limit, options.pageSize ?? limit)
      const { market, wire } = marketOf(ticker)

      // Like the real API: nothing after the clock (a future date answers OK without results), and
      // a bar only once its second is over and published.
      const publishedTo = holdBackFuture ? Math.min(toMs, now() - PUBLISH_DELAY_MS) : toMs
      /** The next page's URL: the same query from the next bar on, the query in its cursor. */
      const nextUrlOf = (nextTs: number | undefined): string | undefined => {
        if (nextTs === undefined) return undefined
        const from = sort === "asc" ? String(nextTs) : fromText
        const to = sort === "asc" ? toText : String(nextTs)
        return `${origin}/v2/aggs/ticker/${encodeURIComponent(ticker)}/range/${multiplier}/${timespan}/${from}/${to}?cursor=${encodeCursor(limit, sort, adjusted)}`
      }
      // History already written once is answered from its text (pageTextCache.ts), unless the clock
      // holds some of it back or a data fault is queued (those rewrite the page).
      const cacheKey =
        publishedTo === toMs &&
        !faults
          .pending()
          .some(
            (p) =>
              p.fault.kind === "repeat-rows" ||
              p.fault.kind === "ohlc-violation" ||
              p.fault.kind === "extra-keys"
          )
          ? `${ticker}|${multiplier}|${timespan}|${fromMs}|${toMs}|${sort}|${perPage}|${wire}`
          : undefined
      const cached = cacheKey === undefined ? undefined : pageTexts.get(cacheKey)
      if (cached !== undefined)
        return {
          status: 200,
          body: aggregatesBody(ticker, wire, adjusted, cached, requestId, nextUrlOf(cached.nextTs))
        }
      const all = take(market.range(ticker, multiplier, timespan, fromMs, publishedTo, sort), perPage + 1)
      const next = all.length > perPage ? all[perPage] : undefined
      const page = next === undefined ? all : all.slice(0, perPage)

      // Scripted data faults.
      const repeat = faults.take(
        url.pathname,
        (f) => f.kind === "repeat-rows" && cursor !== undefined && market.known(ticker)
      )
      if (repeat?.kind === "repeat-rows") {
        const window = (repeat.count + 1) * multiplier * UNIT_MS[timespan] + 10 * UNIT_MS.day
        const previous =
          sort === "asc"
            ? take(
                market.range(ticker, multiplier, timespan, fromMs - window, fromMs - 1, "desc"),
                repeat.count
              )
            : take(market.range(ticker, multiplier, timespan, toMs + 1, toMs + window, "asc"), repeat.count)
        page.unshift(...previous.reverse())
      }
      const violation = faults.take(url.pathname, (f) => f.kind === "ohlc-violation" && page.length > 0)
      if (violation?.kind === "ohlc-violation") corrupt(page, violation.count)

      const extra = faults.take(url.pathname, (f) => f.kind === "extra-keys" && page.length > 0)
      const toWire = wire === "index" ? indexWire : barWire
      const text: PageText = {
        results: JSON.stringify(
          extra?.kind === "extra-keys" ? page.map((b) => ({ ...toWire(b), ...extra.keys })) : page.map(toWire)
        ),
        count: page.length,
        nextTs: next?.ts
      }
      if (cacheKey !== undefined) pageTexts.set(cacheKey, text)
      return {
        status: 200,
        body: aggregatesBody(ticker, wire, adjusted, text, requestId, nextUrlOf(text.nextTs))
      }
    }

    const openClose = (m: RegExpExecArray, requestId: string): Reply => {
      const ticker = safeDecode(m[1]!) ?? ""
      const date = m[2]!
      if (!isIsoDate(date)) return errorBody(400, requestId, `Invalid date '${date}': use YYYY-MM-DD.`)
      const { market, wire } = marketOf(ticker)
      const day = market.dayBar(ticker, date)
      // A day not over yet has no daily open/close, as for an unknown ticker.
      const session = nyseDay(date)
      const over = session._tag === "open" ? session.closeMs : newYorkTimeToEpochMs(date, 0, 0)
      if (day === undefined || (holdBackFuture && now() < over)) return notFound(requestId, "Data not found.")
      // No extended-hours simulation: pre-market and after-hours prints sit next to the open and close.
      const offset = ((date.charCodeAt(9) % 7) - 3.5) / 1000
      return json(200, {
        status: "OK",
        // Indices report the day as an ISO timestamp and carry no volume (spec §4).
        from: wire === "index" ? `${date}T00:00:00.000Z` : date,
        symbol: ticker,
        open: day.open,
        high: day.high,
        low: day.low,
        close: day.close,
        ...(wire === "index" ? {} : { volume: day.volume }),
        afterHours: round2(day.close * (1 + offset / 2)),
        preMarket: round2(day.open * (1 - offset))
      })
    }

    const route = (url: URL, requestId: string): (() => Reply) | undefined => {
      const path = url.pathname
      for (const extra of routes) {
        const reply = extra(url, requestId)
        if (reply !== undefined) return () => reply
      }
      const aggs = AGGS_RE.exec(path)
      if (aggs) return () => aggregates(url, aggs, requestId)
      const oc = OPEN_CLOSE_RE.exec(path)
      if (oc) return () => openClose(oc, requestId)
      if (path === "/v1/marketstatus/now" || path === "/v1/marketstatus/now/")
        return () => json(200, marketStatusNow(now()))
      if (path === "/v1/marketstatus/upcoming" || path === "/v1/marketstatus/upcoming/")
        return () => json(200, upcoming(now()))
      return undefined
    }

    const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
      const url = new URL(req.url ?? "/", origin || "http://127.0.0.1")
      const requestId = nextRequestId()
      if (url.pathname.startsWith(CONTROL_PREFIX))
        return controls.handle(req, url.pathname, requestId, (reply) => writeReply(res, requestId, reply))

      const query: Record<string, string> = {}
      for (const [k, v] of url.searchParams) if (k !== "apiKey") query[k] = v
      const queryKey = url.searchParams.get("apiKey")
      const bearer = /^Bearer\s+(\S.*)$/i.exec(req.headers.authorization ?? "")?.[1]?.trim()
      const auth: AuthKind =
        queryKey !== null
          ? bearer !== undefined
            ? "both"
            : "query"
          : bearer !== undefined
            ? "bearer"
            : "none"
      const record = (status: number, fault?: RecordedRequest["fault"]) =>
        recorded.push({
          method: req.method ?? "GET",
          path: url.pathname,
          query,
          auth,
          status,
          ...(fault === undefined ? {} : { fault })
        })
      const send = (reply: Reply, fault?: RecordedRequest["fault"]) => {
        record(reply.status, fault)
        writeReply(res, requestId, reply)
      }

      const handler = route(url, requestId)
      if (handler === undefined) return send(notFound(requestId, `Unknown path ${url.pathname}.`))
      if (req.method !== "GET" && req.method !== "HEAD")
        return send(errorBody(405, requestId, `Method ${req.method} is not allowed; use GET.`))

      const keys = [queryKey, bearer].filter(
        (k): k is string => k !== null && k !== undefined && k.length > 0
      )
      if (keys.length === 0) return send(errorBody(401, requestId, "API Key was not provided"))
      if (!keys.some(acceptsKey)) return send(errorBody(401, requestId, "Unknown API Key"))
      httpFaults.answer({ req, res, path: url.pathname, requestId, handler, send, record })
    }

    const host = yield* listen(
      { simulator: "Massive", ...(options.port === undefined ? {} : { port: options.port }) },
      handle
    )
    origin = host.url
    const httpFaults = makeHttpFaults(faults, faultBody, host.later)
    return MassiveSim.of({
      url: host.url,
      port: host.port,
      server: host.server,
      faults,
      requests: () => recorded.slice(),
      clearRequests: () => {
        recorded = []
      },
      bars,
      acceptsKey,
      registerControl: controls.register,
      registerRoute: (handler) => {
        routes.push(handler)
        return () => {
          const i = routes.indexOf(handler)
          if (i >= 0) routes.splice(i, 1)
        }
      },
      now
    })
  })

/**
 * Starts the simulator on 127.0.0.1; it stops when the scope closes (server closed, open
 * connections destroyed, pending delayed answers cancelled).
 */
export const make = (
  options: MassiveSimOptions = {}
): Effect.Effect<MassiveSimServer, SimStartError, Scope.Scope> => makeServer(options)

/** The simulator as a scoped layer. */
export const layer = (options: MassiveSimOptions = {}): Layer.Layer<MassiveSim, SimStartError> =>
  Layer.scoped(MassiveSim, make(options))

/**
 * Runs the simulator in the foreground until interrupted (`tapehouse sim serve`); `onReady`
 * runs once it listens, e.g. to print its URL.
 */
export const serve = <E = never, R = never>(
  options: MassiveSimOptions = {},
  onReady: (server: MassiveSimServer) => Effect.Effect<void, E, R> = () => Effect.void
): Effect.Effect<never, SimStartError | E, R> =>
  Effect.scoped(Effect.flatMap(make(options), (server) => Effect.zipRight(onReady(server), Effect.never)))
