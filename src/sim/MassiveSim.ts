/**
 * MassiveSim: a local, deterministic simulator of the Massive (Polygon.io) REST API on
 * 127.0.0.1, serving the synthetic market. Our client, the official clients and curl can be
 * pointed at it. Endpoints: custom aggregates (with `next_url` pagination on the simulator's
 * own origin), daily open/close, market status now/upcoming; auth by `apiKey` query parameter
 * or `Authorization: Bearer`; scripted faults (`faults`, or `POST /__sim/faults` over HTTP).
 * The bars come from the synthetic market unless a `bars` provider is given (e.g. a stored day
 * read from the lake); the WebSocket half (`MassiveSocketSim`) attaches to `server`.
 */
import * as http from "node:http"
import type { Socket } from "node:net"
import { Context, Effect, Either, Layer, ParseResult, Schema, type Scope } from "effect"
import { earlyClosesOf, holidaysOf, nyseDay } from "../calendar/nyseRules.js"
import type { StockBar } from "../domain/StockBar.js"
import {
  addDays,
  isIsoDate,
  newYorkDate,
  newYorkOffsetMinutes,
  newYorkTimeToEpochMs
} from "../domain/time.js"
import { type Fault, FaultRequests, type FaultSwitch, makeFaultSwitch } from "./faults.js"
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

export interface ControlRequest {
  readonly method: string
  /** The parsed JSON body of a POST/PUT (Left: why it could not be read), undefined otherwise. */
  readonly body: Either.Either<unknown, string> | undefined
}
export type ControlHandler = (request: ControlRequest) => { readonly status: number; readonly body: unknown }

export class MassiveSim extends Context.Tag("tapehouse/MassiveSim")<MassiveSim, MassiveSimServer>() {}

/** The simulator could not listen (port taken, permission). */
export class SimStartError extends Schema.TaggedError<SimStartError>()("SimStartError", {
  host: Schema.String,
  port: Schema.Number,
  detail: Schema.String
}) {
  override get message(): string {
    return `The Massive simulator could not listen on ${this.host}:${this.port} (${this.detail}). Choose another port, or 0 for a free one.`
  }
}

// ---------------------------------------------------------------------------------------------
// Responses

const JSON_TYPE = "application/json; charset=utf-8"
const MAX_LIMIT = 50_000
const DEFAULT_LIMIT = 5_000

export interface Reply {
  readonly status: number
  readonly body: string
  readonly contentType?: string
  readonly headers?: Readonly<Record<string, string>>
}

export const json = (status: number, value: unknown): Reply => ({ status, body: JSON.stringify(value) })

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

const HTML_PAGE = `<!DOCTYPE html>
<html><head><title>502 Bad Gateway</title></head>
<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>
`

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
// Market status

const pad2 = (n: number) => String(n).padStart(2, "0")

const newYorkIso = (ms: number): string => {
  const offset = newYorkOffsetMinutes(ms)
  const local = new Date(Math.floor(ms / 1000) * 1000 + offset * 60_000).toISOString().slice(0, 19)
  const abs = Math.abs(offset)
  return `${local}${offset < 0 ? "-" : "+"}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`
}

const marketStatusNow = (now: number) => {
  const date = newYorkDate(now)
  const day = nyseDay(date)
  let market = "closed"
  let earlyHours = false
  let afterHours = false
  if (day._tag === "open") {
    if (now >= day.openMs && now < day.closeMs) market = "open"
    else if (now >= newYorkTimeToEpochMs(date, 4, 0) && now < day.openMs) {
      market = "extended-hours"
      earlyHours = true
    } else if (now >= day.closeMs && now < newYorkTimeToEpochMs(date, 20, 0)) {
      market = "extended-hours"
      afterHours = true
    }
  }
  // FX trades around the clock from Sunday 17:00 to Friday 17:00 New York time.
  const dow = new Date(`${date}T00:00:00Z`).getUTCDay()
  const fivepm = newYorkTimeToEpochMs(date, 17, 0)
  const fxClosed = dow === 6 || (dow === 5 && now >= fivepm) || (dow === 0 && now < fivepm)
  return {
    market,
    earlyHours,
    afterHours,
    serverTime: newYorkIso(now),
    exchanges: { nyse: market, nasdaq: market, otc: market },
    currencies: { fx: fxClosed ? "closed" : "open", crypto: "open" }
  }
}

const VENDOR_HOLIDAY_NAMES: Readonly<Record<string, string>> = {
  "New Year's Day": "New Years Day",
  "Juneteenth National Independence Day": "Juneteenth",
  "Thanksgiving Day": "Thanksgiving",
  "Christmas Day": "Christmas",
  "Day after Thanksgiving": "Thanksgiving",
  "Christmas Eve": "Christmas"
}
const vendorName = (rule: string): string => {
  const base = rule.replace(/ \(early close\)$/, "")
  return VENDOR_HOLIDAY_NAMES[base] ?? base
}

const upcoming = (now: number) => {
  const from = newYorkDate(now)
  const to = addDays(from, 365)
  const firstYear = Number(from.slice(0, 4))
  const days: Array<{ date: string; name: string; early: boolean }> = []
  for (const year of [firstYear, firstYear + 1]) {
    for (const [date, name] of holidaysOf(year)) days.push({ date, name, early: false })
    for (const [date, name] of earlyClosesOf(year)) days.push({ date, name, early: true })
  }
  const out: Array<Record<string, string>> = []
  for (const d of days
    .filter((d) => d.date >= from && d.date <= to)
    .sort((a, b) => (a.date < b.date ? -1 : 1))) {
    for (const exchange of ["NYSE", "NASDAQ"]) {
      const name = vendorName(d.name)
      if (!d.early) {
        out.push({ exchange, name, date: d.date, status: "closed" })
        continue
      }
      const session = nyseDay(d.date)
      if (session._tag !== "open") continue
      out.push({
        exchange,
        name,
        date: d.date,
        status: "early-close",
        open: new Date(session.openMs).toISOString(),
        close: new Date(session.closeMs).toISOString()
      })
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Server

const AGGS_RE = /^\/v2\/aggs\/ticker\/([^/]+)\/range\/([^/]+)\/([^/]+)\/([^/]+)\/([^/]+)\/?$/
const OPEN_CLOSE_RE = /^\/v1\/open-close\/([^/]+)\/([^/]+)\/?$/

const FAULT_KINDS: ReadonlyArray<Fault["kind"]> = [
  "status",
  "truncated",
  "non-json",
  "slow",
  "repeat-rows",
  "ohlc-violation",
  "drop-connection"
]

const transportKinds = new Set<Fault["kind"]>(["status", "truncated", "non-json", "slow", "drop-connection"])

const requestIdFactory = () => {
  let n = 0
  const word = (x: number) => {
    let h = Math.imul(x ^ 0x5bd1e995, 0x27d4eb2d)
    h ^= h >>> 15
    h = Math.imul(h, 0x85ebca6b)
    h ^= h >>> 13
    return (h >>> 0).toString(16).padStart(8, "0")
  }
  return () => {
    n++
    return word(n) + word(n + 0x1000) + word(n + 0x2000) + word(n + 0x3000)
  }
}

interface Running {
  readonly api: MassiveSimServer
  readonly sockets: Set<Socket>
  readonly timers: Set<NodeJS.Timeout>
}

const safeDecode = (s: string): string | undefined => {
  try {
    return decodeURIComponent(s)
  } catch {
    return undefined
  }
}

const start = (options: MassiveSimOptions): Effect.Effect<Running, SimStartError> =>
  Effect.async<Running, SimStartError>((resume) => {
    const host = options.host ?? "127.0.0.1"
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
    const routes: Array<RouteHandler> = []
    const acceptsKey = (key: string) =>
      key.length > 0 && (options.apiKeys === undefined || options.apiKeys.includes(key))
    const controls = new Map<string, ControlHandler>()
    const sockets = new Set<Socket>()
    const timers = new Set<NodeJS.Timeout>()
    let recorded: Array<RecordedRequest> = []
    let recentRequests: Array<number> = []
    let origin = ""

    const server = http.createServer()
    server.on("connection", (socket) => {
      sockets.add(socket)
      socket.once("close", () => sockets.delete(socket))
    })
    server.on("clientError", (_err, socket) => socket.destroy())

    const write = (res: http.ServerResponse, requestId: string, reply: Reply) => {
      res.writeHead(reply.status, {
        "Content-Type": reply.contentType ?? JSON_TYPE,
        "Content-Length": Buffer.byteLength(reply.body),
        "X-Request-ID": requestId,
        ...reply.headers
      })
      res.end(reply.body)
    }

    const writeTruncated = (res: http.ServerResponse, requestId: string, reply: Reply) => {
      const bytes = Buffer.from(reply.body)
      res.writeHead(reply.status, {
        "Content-Type": reply.contentType ?? JSON_TYPE,
        "Content-Length": bytes.length,
        "X-Request-ID": requestId
      })
      res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => res.socket?.destroy())
    }

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

      let nextUrl: string | undefined
      if (next !== undefined) {
        const from = sort === "asc" ? String(next.ts) : fromText
        const to = sort === "asc" ? toText : String(next.ts)
        nextUrl = `${origin}/v2/aggs/ticker/${encodeURIComponent(ticker)}/range/${multiplier}/${timespan}/${from}/${to}?cursor=${encodeCursor(limit, sort, adjusted)}`
      }
      const n = page.length
      const body = JSON.stringify({
        ticker,
        queryCount: n,
        resultsCount: n,
        // Index aggregates carry no `adjusted` (spec §7).
        ...(wire === "index" ? {} : { adjusted }),
        ...(n === 0 ? {} : { results: page.map(wire === "index" ? indexWire : barWire) }),
        status: "OK",
        request_id: requestId,
        count: n,
        ...(nextUrl === undefined ? {} : { next_url: nextUrl })
      })
      return { status: 200, body }
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

    const readBody = (req: http.IncomingMessage, k: (text: string | undefined) => void) => {
      const chunks: Array<Buffer> = []
      let size = 0
      req.on("data", (c: Buffer) => {
        size += c.length
        if (size <= 1_000_000) chunks.push(c)
      })
      req.on("end", () => k(size > 1_000_000 ? undefined : Buffer.concat(chunks).toString("utf8")))
      req.on("error", () => k(undefined))
    }

    const parseJson = (text: string | undefined): Either.Either<unknown, string> => {
      if (text === undefined) return Either.left("body too large or unreadable")
      try {
        return Either.right(JSON.parse(text) as unknown)
      } catch (e) {
        return Either.left(`not JSON: ${(e as Error).message}`)
      }
    }

    const control = (req: http.IncomingMessage, res: http.ServerResponse, url: URL, requestId: string) => {
      const ok = (value: unknown) => write(res, requestId, json(200, value))
      const bad = (detail: string) => write(res, requestId, errorBody(400, requestId, detail))
      const path = url.pathname.replace(/\/$/, "")
      if (path === "/__sim/faults") {
        if (req.method === "GET") return ok(faults.pending())
        if (req.method === "DELETE") {
          faults.clear()
          return ok({ status: "OK", pending: 0 })
        }
        if (req.method === "POST")
          return readBody(req, (text) => {
            const parsed = parseJson(text)
            if (Either.isLeft(parsed)) return bad(parsed.left)
            const decoded = Schema.decodeUnknownEither(FaultRequests)(parsed.right)
            if (Either.isLeft(decoded)) {
              const issues = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
              const first = issues
                .slice(0, 3)
                .map((i) => `${i.path.join(".") || "body"}: ${i.message}`)
                .join("; ")
              return bad(`not a fault (kind: ${FAULT_KINDS.join(" | ")}): ${first}`.slice(0, 600))
            }
            const list = Array.isArray(decoded.right) ? decoded.right : [decoded.right]
            let regexes: Array<RegExp | undefined>
            try {
              regexes = list.map((r) => (r.path === undefined ? undefined : new RegExp(r.path)))
            } catch (e) {
              return bad(`invalid path regex: ${(e as Error).message}`)
            }
            list.forEach((r, i) => {
              const { times, every, path: _path, ...fault } = r
              const re = regexes[i]
              faults.inject(fault as Fault, {
                ...(times === undefined ? {} : { times }),
                ...(every === undefined ? {} : { every }),
                ...(re ? { path: re } : {})
              })
            })
            return ok({ status: "OK", pending: faults.pending().length })
          })
      }
      if (path === "/__sim/rate-limit" && req.method === "POST")
        return readBody(req, (text) => {
          const parsed = parseJson(text)
          if (Either.isLeft(parsed)) return bad(parsed.left)
          // biome-ignore lint/suspicious/noExplicitAny: request JSON
          const perMinute = (parsed.right as any)?.perMinute
          if (perMinute !== null && !(Number.isInteger(perMinute) && perMinute > 0))
            return bad('expected {"perMinute": <positive integer> | null}')
          faults.setRateLimitPerMinute(perMinute === null ? undefined : perMinute)
          return ok({ status: "OK", perMinute })
        })
      if (path === "/__sim/requests") {
        if (req.method === "GET") return ok(recorded)
        if (req.method === "DELETE") {
          recorded = []
          return ok({ status: "OK" })
        }
      }
      const extra = controls.get(path)
      if (extra !== undefined) {
        const method = req.method ?? "GET"
        const answer = (body: Either.Either<unknown, string> | undefined) => {
          const reply = extra({ method, body })
          write(res, requestId, json(reply.status, reply.body))
        }
        if (method === "POST" || method === "PUT") return readBody(req, (text) => answer(parseJson(text)))
        return answer(undefined)
      }
      return write(
        res,
        requestId,
        notFound(requestId, `No simulator control endpoint ${req.method} ${path}.`)
      )
    }

    server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
      const url = new URL(req.url ?? "/", origin || "http://127.0.0.1")
      const requestId = nextRequestId()
      if (url.pathname.startsWith("/__sim/")) return control(req, res, url, requestId)

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
        write(res, requestId, reply)
      }

      const handler = route(url, requestId)
      if (handler === undefined) return send(notFound(requestId, `Unknown path ${url.pathname}.`))
      if (req.method !== "GET" && req.method !== "HEAD")
        return send(errorBody(405, requestId, `Method ${req.method} is not allowed; use GET.`))

      const keys = [queryKey, bearer].filter(
        (k): k is string => k !== null && k !== undefined && k.length > 0
      )
      if (keys.length === 0) return send(errorBody(401, requestId, "API Key was not provided"))
      const known = keys.some(acceptsKey)
      if (!known) return send(errorBody(401, requestId, "Unknown API Key"))

      const perMinute = faults.rateLimitPerMinute()
      if (perMinute !== undefined) {
        const t = Date.now()
        recentRequests = recentRequests.filter((x) => x > t - 60_000)
        if (recentRequests.length >= perMinute)
          return send(errorBody(429, requestId, RATE_LIMIT_MESSAGE), "rate-limit")
        recentRequests.push(t)
      }

      const fault = faults.take(url.pathname, (f) => transportKinds.has(f.kind))
      switch (fault?.kind) {
        case "drop-connection":
          record(0, fault.kind)
          req.socket.destroy()
          return
        case "status": {
          const base = fault.body === undefined ? faultBody(fault.status, requestId) : undefined
          const body = fault.body ?? base!.body
          let contentType = JSON_TYPE
          if (fault.body !== undefined) {
            try {
              JSON.parse(fault.body)
            } catch {
              contentType = "text/plain; charset=utf-8"
            }
          }
          return send(
            {
              status: fault.status,
              body,
              contentType,
              ...(fault.retryAfter === undefined ? {} : { headers: { "Retry-After": fault.retryAfter } })
            },
            fault.kind
          )
        }
        case "non-json":
          return send({ status: 200, body: HTML_PAGE, contentType: "text/html; charset=utf-8" }, fault.kind)
        case "truncated": {
          const reply = handler()
          record(reply.status, fault.kind)
          return writeTruncated(res, requestId, reply)
        }
        case "slow": {
          const timer = setTimeout(() => {
            timers.delete(timer)
            if (!res.destroyed) send(handler(), fault.kind)
          }, fault.delayMs)
          timers.add(timer)
          return
        }
        default:
          return send(handler())
      }
    })

    const port = options.port ?? 0
    const onError = (e: Error) => {
      resume(Effect.fail(new SimStartError({ host, port, detail: e.message })))
    }
    server.once("error", onError)
    server.listen(port, host, () => {
      server.off("error", onError)
      const address = server.address()
      const actual = typeof address === "object" && address !== null ? address.port : port
      origin = `http://${host}:${actual}`
      resume(
        Effect.succeed({
          sockets,
          timers,
          api: {
            url: origin,
            port: actual,
            server,
            faults,
            requests: () => recorded.slice(),
            clearRequests: () => {
              recorded = []
            },
            bars,
            acceptsKey,
            registerControl: (path, handler) => {
              const key = path.replace(/\/$/, "")
              controls.set(key, handler)
              return () => {
                if (controls.get(key) === handler) controls.delete(key)
              }
            },
            registerRoute: (handler) => {
              routes.push(handler)
              return () => {
                const i = routes.indexOf(handler)
                if (i >= 0) routes.splice(i, 1)
              }
            },
            now
          }
        })
      )
    })
    return Effect.sync(() => {
      server.close()
    })
  })

const stop = (running: Running): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    for (const t of running.timers) clearTimeout(t)
    running.timers.clear()
    running.api.server.close(() => resume(Effect.void))
    for (const s of running.sockets) s.destroy()
  })

/**
 * Starts the simulator on 127.0.0.1; it stops when the scope closes (server closed, open
 * connections destroyed, pending delayed answers cancelled).
 */
export const make = (
  options: MassiveSimOptions = {}
): Effect.Effect<MassiveSimServer, SimStartError, Scope.Scope> =>
  Effect.map(Effect.acquireRelease(start(options), stop), (r) => r.api)

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
