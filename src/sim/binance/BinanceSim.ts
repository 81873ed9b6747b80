/**
 * BinanceSim: Binance spot and USDⓈ-M market data on one loopback port, as the spec describes
 * them (`../shared/specs/binance.md`).
 *
 * - REST: `/api/v3/{ping,time,exchangeInfo,depth}` (spot) and `/fapi/v1/{ping,time,exchangeInfo,
 *   depth}` (USD-M), each answer with `X-MBX-USED-WEIGHT-1M`; past the minute's weight limit 429
 *   with `Retry-After`, and a request before that wait is over a 418 ban (`requestWeight.ts`).
 * - WebSocket: spot `/ws/<streams>`, `/ws` and `/stream?streams=a/b` (combined, `{stream, data}`);
 *   USD-M the same under `/public` (the 2026 URL split). Diff-depth streams `<sym>@depth[@100ms]`
 *   (futures also `@500ms`), the live control messages (`wsControl.ts`), server pings every
 *   `pingIntervalMs` with a disconnect when no pong echoes one within `pongTimeoutMs`, at most
 *   `messageRateLimit` incoming messages a second (pings and pongs count; past it: closed with
 *   1008), and a lifetime cap (`maxConnectionMs`, 24 h).
 * - The market (`depthMarket.ts`): seeded synthetic books advancing in 50 ms steps of the Effect
 *   clock at `rate` events a second per symbol; the REST snapshot at `lastUpdateId` equals the book
 *   built from every event up to it, so a correct client syncs with zero gaps.
 * - REST routes and their errors: `restRoutes.ts`.
 * - Faults: `binanceFaults.ts` (`/__sim/binance-faults`: dropped messages, stale snapshot,
 *   disconnect, `serverShutdown`) and the core HTTP faults (`/__sim/faults`: status, `slow`,
 *   truncated, dropped connection). `/__sim/binance-weight` changes a venue's weight limit;
 *   `GET /__sim/binance-stats` returns `stats()`.
 */
import type * as http from "node:http"
import { Context, Effect, Layer, type Scope } from "effect"
import type { WebSocket } from "ws"
import { CONTROL_PREFIX, makeControls } from "../core/controls.js"
import { type FaultSwitch, makeFaultSwitch } from "../core/faults.js"
import { makeHttpFaults, registerFaultControls } from "../core/httpFaults.js"
import { listen, type SimStartError } from "../core/httpHost.js"
import { type Reply, requestIdFactory, writeReply } from "../core/reply.js"
import {
  closePolicy,
  makePeer,
  rawText,
  release,
  sendText,
  terminateWhenFlushed,
  type WsPeer
} from "../core/wsPeer.js"
import { attachWebSocket } from "../core/wsServer.js"
import { type BinanceFaults, binanceFaultsControl, makeBinanceFaults } from "./binanceFaults.js"
import { CATALOG, DEFAULT_WEIGHT_LIMIT, type SymbolSpec, type Venue } from "./catalog.js"
import { type DepthMarket, makeDepthMarket } from "./depthMarket.js"
import type { DepthMessage } from "./depthStream.js"
import {
  makeRequestWeight,
  type RequestWeight,
  USED_WEIGHT_HEADER,
  weightLimitControl
} from "./requestWeight.js"
import { binanceError, makeRestRoutes, statusBody } from "./restRoutes.js"
import { handleControl } from "./wsControl.js"

// ---------------------------------------------------------------------------------------------
// API

export type { Venue } from "./catalog.js"

type PerVenue<A> = Partial<Readonly<Record<Venue, A>>>

export interface BinanceSimOptions {
  /** 0 (default): a free port. */
  readonly port?: number
  /** The same seed gives the same events (default 1). */
  readonly seed?: number
  /** Symbols served (on each venue that lists them); default every catalog symbol. */
  readonly symbols?: ReadonlyArray<string>
  /** Events (level changes) per second per symbol; default 1000. */
  readonly rate?: number
  /** Per-symbol rates, over `rate`. */
  readonly rates?: Readonly<Record<string, number>>
  /** Ticks each side of the mid a book may hold; default max(400, rate / 10). */
  readonly depth?: number
  /** Market time of the first step, epoch ms; default the clock's now. */
  readonly startMs?: number
  /** Request weight per minute; default spot 6000, USD-M 2400. */
  readonly weightLimit?: PerVenue<number>
  /** The first 418 ban's length; default 2 minutes (doubling per ban). */
  readonly banMs?: number
  /** Server pings; default spot 20 s, USD-M 3 min. */
  readonly pingIntervalMs?: PerVenue<number>
  /** No pong echoing a ping within this: disconnect; default spot 1 min, USD-M 10 min. */
  readonly pongTimeoutMs?: PerVenue<number>
  /** Incoming messages a second a connection may send; default spot 5, USD-M 10. */
  readonly messageRateLimit?: PerVenue<number>
  /** A connection's lifetime; default 24 h. */
  readonly maxConnectionMs?: number
  /** Streams per connection; default 1024. */
  readonly maxStreamsPerConnection?: number
  /** Bytes not yet written to a connection before it is dropped as too slow; default 64 MiB. */
  readonly slowConsumerBytes?: number
}

export interface ConnectionStats {
  readonly id: number
  readonly venue: Venue
  readonly combined: boolean
  readonly streams: ReadonlyArray<string>
  readonly framesSent: number
  /** Depth messages sent. */
  readonly dataFrames: number
  readonly open: boolean
  /** Why the server ended it, when it did. */
  readonly endedBy: string | undefined
}

export interface BinanceSimStats {
  readonly connectionsOpened: number
  readonly connectionsOpen: number
  readonly messagesPublished: number
  /** Messages not sent because of `drop-events`. */
  readonly messagesDropped: number
  readonly symbols: ReturnType<DepthMarket["stats"]>
  readonly weight: Readonly<
    Record<Venue, { readonly used: number; readonly limit: number; readonly bans: number }>
  >
  readonly connections: ReadonlyArray<ConnectionStats>
}

export interface BinanceSimUrls {
  readonly spotRest: string
  readonly spotWs: string
  readonly usdmRest: string
  /** Includes `/public`, as `wss://fstream.binance.com/public`. */
  readonly usdmWs: string
}

export interface BinanceSimServer {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string
  readonly urls: BinanceSimUrls
  readonly faults: BinanceFaults
  /** The core HTTP faults (status, slow, truncated, drop-connection). */
  readonly httpFaults: FaultSwitch
  readonly weight: Readonly<Record<Venue, RequestWeight>>
  readonly market: DepthMarket
  readonly stats: () => BinanceSimStats
}

export class BinanceSim extends Context.Tag("tapehouse/BinanceSim")<BinanceSim, BinanceSimServer>() {}

// ---------------------------------------------------------------------------------------------
// Wire constants

const DEFAULT_PING: Record<Venue, number> = { spot: 20_000, usdm: 180_000 }
const DEFAULT_PONG: Record<Venue, number> = { spot: 60_000, usdm: 600_000 }
const DEFAULT_MESSAGE_RATE: Record<Venue, number> = { spot: 5, usdm: 10 }
/** The most market steps run at one wake; past it the market skips time rather than spiral. */
const MAX_CATCH_UP_STEPS = 40

// ---------------------------------------------------------------------------------------------
// Connections

interface Conn extends WsPeer {
  readonly id: number
  readonly venue: Venue
  combined: boolean
  readonly streams: Set<string>
  readonly openedAt: number
  /** Arrival times of incoming messages in the last second. */
  inbound: Array<number>
  pingPayload: string | undefined
  pingSentAt: number
  nextPingAt: number
  shutdownAt: number | undefined
  dataFrames: number
  endedBy: string | undefined
}

interface Target {
  readonly venue: Venue
  readonly combined: boolean
  readonly streams: ReadonlyArray<string>
}

const DISCONNECT_FAULTS: ReadonlySet<"disconnect" | "server-shutdown"> = new Set([
  "disconnect",
  "server-shutdown"
])
const DROP_FAULTS: ReadonlySet<"drop-events"> = new Set(["drop-events"])

// ---------------------------------------------------------------------------------------------
// make

const pick = (symbols: ReadonlyArray<string> | undefined, venue: Venue): ReadonlyArray<SymbolSpec> =>
  symbols === undefined ? CATALOG[venue] : CATALOG[venue].filter((s) => symbols.includes(s.symbol))

export const make = (
  options: BinanceSimOptions = {}
): Effect.Effect<BinanceSimServer, SimStartError, Scope.Scope> =>
  Effect.gen(function* () {
    const clock = yield* Effect.clock
    const now = () => clock.unsafeCurrentTimeMillis()
    const wallStart = now()
    const rateOf = (symbol: string) => options.rates?.[symbol] ?? options.rate ?? 1000
    const market = makeDepthMarket({
      seed: options.seed ?? 1,
      startMs: options.startMs ?? wallStart,
      ...(options.depth === undefined ? {} : { depth: options.depth }),
      venues: {
        spot: pick(options.symbols, "spot").map((spec) => ({ spec, rate: rateOf(spec.symbol) })),
        usdm: pick(options.symbols, "usdm").map((spec) => ({ spec, rate: rateOf(spec.symbol) }))
      }
    })
    const weight: Record<Venue, RequestWeight> = {
      spot: makeRequestWeight({
        limit: options.weightLimit?.spot ?? DEFAULT_WEIGHT_LIMIT.spot,
        banMs: options.banMs ?? 120_000
      }),
      usdm: makeRequestWeight({
        limit: options.weightLimit?.usdm ?? DEFAULT_WEIGHT_LIMIT.usdm,
        banMs: options.banMs ?? 120_000
      })
    }
    const pingEvery = (v: Venue) => options.pingIntervalMs?.[v] ?? DEFAULT_PING[v]
    const pongWithin = (v: Venue) => options.pongTimeoutMs?.[v] ?? DEFAULT_PONG[v]
    const messageRate = (v: Venue) => options.messageRateLimit?.[v] ?? DEFAULT_MESSAGE_RATE[v]
    const maxConnectionMs = options.maxConnectionMs ?? 24 * 3600_000
    const maxStreams = options.maxStreamsPerConnection ?? 1024
    const slowConsumerBytes = options.slowConsumerBytes ?? 64 << 20
    const faults = makeBinanceFaults()
    const httpFaultSwitch = makeFaultSwitch()

    // -- WebSocket ------------------------------------------------------------------------------

    const conns = new Set<Conn>()
    const history: Array<Conn> = []
    /** `<venue>:<stream>` → its subscribed connections. */
    const subscribers = new Map<string, Set<Conn>>()
    let nextId = 0
    let messagesPublished = 0
    let messagesDropped = 0

    const subscribe = (c: Conn, stream: string) => {
      const key = `${c.venue}:${stream}`
      let set = subscribers.get(key)
      if (set === undefined) subscribers.set(key, (set = new Set()))
      set.add(c)
    }
    const unsubscribe = (c: Conn, stream: string) => subscribers.get(`${c.venue}:${stream}`)?.delete(c)

    const end = (c: Conn, why: string, how: "close" | "drop" | "policy", code = 1000) => {
      if (c.ending) return
      c.endedBy = why
      if (how === "drop") terminateWhenFlushed(c)
      else if (how === "policy") closePolicy(c, why)
      else {
        c.ending = true
        c.ws.close(code, why)
      }
    }

    const shutdownFrame = (c: Conn, t: number) => {
      const event = `{"e":"serverShutdown","E":${t}}`
      return c.combined ? `{"stream":"!serverShutdown","data":${event}}` : event
    }

    const sendData = (c: Conn, text: string, path: string) => {
      if (faults.any()) {
        const fault = faults.take(path, DISCONNECT_FAULTS)
        if (fault?.kind === "disconnect") return end(c, "disconnect fault", "drop")
        if (fault?.kind === "server-shutdown" && c.shutdownAt === undefined) {
          const t = now()
          sendText(c, shutdownFrame(c, t), slowConsumerBytes)
          c.shutdownAt = t + (fault.closeAfterMs ?? 1000)
        }
      }
      if (!sendText(c, text, slowConsumerBytes)) return
      c.dataFrames++
      if (c.pendingBytes > slowConsumerBytes) end(c, "slow consumer", "drop")
    }

    const publish = (venue: Venue, m: DepthMessage) => {
      const subs = subscribers.get(`${venue}:${m.stream}`)
      if (subs === undefined || subs.size === 0) return
      const path = `${venue}:${m.stream}`
      if (faults.any() && faults.take(path, DROP_FAULTS) !== undefined) {
        messagesDropped++
        return
      }
      messagesPublished++
      let wrapped: string | undefined
      for (const c of subs) {
        if (c.combined) {
          wrapped ??= `{"stream":"${m.stream}","data":${m.payload}}`
          sendData(c, wrapped, path)
        } else sendData(c, m.payload, path)
      }
    }

    /** Counts one incoming message; past the limit the connection is closed. */
    const inbound = (c: Conn) => {
      const t = now()
      c.inbound.push(t)
      while (c.inbound.length > 0 && c.inbound[0]! <= t - 1000) c.inbound.shift()
      if (c.inbound.length > messageRate(c.venue)) end(c, "too many messages", "policy")
    }

    const onConnection = (ws: WebSocket, target: Target) => {
      const t = now()
      const c: Conn = {
        ...makePeer(ws),
        id: ++nextId,
        venue: target.venue,
        combined: target.combined,
        streams: new Set(),
        openedAt: t,
        inbound: [],
        pingPayload: undefined,
        pingSentAt: 0,
        nextPingAt: t + pingEvery(target.venue),
        shutdownAt: undefined,
        dataFrames: 0,
        endedBy: undefined
      }
      conns.add(c)
      history.push(c)
      for (const s of target.streams) {
        c.streams.add(s)
        subscribe(c, s)
      }
      ws.on("error", () => {})
      ws.on("close", () => {
        c.open = false
        conns.delete(c)
        for (const s of c.streams) unsubscribe(c, s)
        release(c)
      })
      ws.on("ping", () => inbound(c))
      ws.on("pong", (data) => {
        inbound(c)
        // Only a pong echoing the outstanding ping keeps the connection alive.
        if (c.pingPayload !== undefined && data.toString("utf8") === c.pingPayload) {
          c.pingPayload = undefined
          c.nextPingAt = now() + pingEvery(c.venue)
        }
      })
      ws.on("message", (data) => {
        inbound(c)
        if (c.ending) return
        const reply = handleControl(rawText(data), c, {
          activate: (s) => market.activate(c.venue, s),
          subscribed: (s) => subscribe(c, s),
          unsubscribed: (s) => unsubscribe(c, s),
          maxStreams
        })
        sendText(c, reply, slowConsumerBytes)
      })
    }

    /** Pings, pong deadlines, the lifetime cap and scheduled shutdowns. */
    const housekeeping = () => {
      const t = now()
      for (const c of conns) {
        if (c.ending) continue
        if (c.shutdownAt !== undefined && t >= c.shutdownAt) end(c, "server shutdown", "close", 1001)
        else if (t - c.openedAt >= maxConnectionMs) end(c, "connection lifetime", "close", 1001)
        else if (c.pingPayload !== undefined) {
          if (t - c.pingSentAt > pongWithin(c.venue)) end(c, "pong timeout", "drop")
        } else if (t >= c.nextPingAt) {
          c.pingPayload = String(t)
          c.pingSentAt = t
          c.ws.ping(c.pingPayload)
        }
      }
    }

    const wsTarget = (path: string, url: URL): Target | undefined => {
      const venue: Venue = path.startsWith("/public/") || path === "/public" ? "usdm" : "spot"
      const rest = venue === "usdm" ? path.slice("/public".length) : path
      let target: Target | undefined
      if (rest === "/stream") {
        const list = url.searchParams.get("streams")
        target = { venue, combined: true, streams: list ? list.split("/").filter((s) => s.length > 0) : [] }
      } else if (rest === "/ws" || rest.startsWith("/ws/"))
        target = {
          venue,
          combined: false,
          streams: rest
            .split("/")
            .slice(2)
            .filter((s) => s.length > 0)
        }
      if (target === undefined || target.streams.length > maxStreams) return undefined
      return target.streams.every((s) => market.activate(venue, s)) ? target : undefined
    }

    // -- REST -----------------------------------------------------------------------------------

    const { route, refused } = makeRestRoutes({ market, weight, faults, now })

    const nextRequestId = requestIdFactory()
    const controls = makeControls()
    registerFaultControls(controls, httpFaultSwitch)
    let later: (ms: number, f: () => void) => void = () => {}
    const httpFaults = makeHttpFaults(
      httpFaultSwitch,
      (status) => statusBody(status),
      (ms, f) => later(ms, f)
    )

    const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1")
      const requestId = nextRequestId()
      if (url.pathname.startsWith(CONTROL_PREFIX))
        return controls.handle(req, url.pathname, requestId, (reply) => writeReply(res, requestId, reply))
      const r = route(url)
      if (r === undefined)
        return writeReply(
          res,
          requestId,
          binanceError(404, -1000, `Path ${url.pathname}, Method ${req.method} is invalid`)
        )
      const charge = weight[r.venue].charge(r.weight, now())
      // The weight as of this request (with it), as Binance reports it: not re-read when the answer
      // is sent, which may fall in the next minute (a slow reply).
      const withWeight = (reply: Reply): Reply => ({
        ...reply,
        headers: { ...reply.headers, [USED_WEIGHT_HEADER]: String(charge.used) }
      })
      if (charge._tag !== "Ok") return writeReply(res, requestId, withWeight(refused(charge, r.venue)))
      if (req.method !== "GET" && req.method !== "HEAD")
        return writeReply(
          res,
          requestId,
          withWeight(binanceError(405, -1000, `Method ${req.method} is not allowed.`))
        )
      httpFaults.answer({
        req,
        res,
        path: url.pathname,
        requestId,
        handler: r.answer,
        send: (reply) => writeReply(res, requestId, withWeight(reply)),
        record: () => {}
      })
    }

    // -- Controls -------------------------------------------------------------------------------

    const stats = (): BinanceSimStats => {
      const t = now()
      return {
        connectionsOpened: history.length,
        connectionsOpen: conns.size,
        messagesPublished,
        messagesDropped,
        symbols: market.stats(),
        weight: {
          spot: { used: weight.spot.used(t), limit: weight.spot.limit(), bans: weight.spot.bans() },
          usdm: { used: weight.usdm.used(t), limit: weight.usdm.limit(), bans: weight.usdm.bans() }
        },
        connections: history.map((c) => ({
          id: c.id,
          venue: c.venue,
          combined: c.combined,
          streams: [...c.streams],
          framesSent: c.framesSent,
          dataFrames: c.dataFrames,
          open: c.open,
          endedBy: c.endedBy
        }))
      }
    }

    controls.register("/__sim/binance-faults", binanceFaultsControl(faults))
    controls.register("/__sim/binance-weight", weightLimitControl(weight))
    controls.register("/__sim/binance-stats", (r) =>
      r.method === "GET" ? { status: 200, body: stats() } : undefined
    )

    // -- Run ------------------------------------------------------------------------------------

    const host = yield* listen(
      { simulator: "Binance", ...(options.port === undefined ? {} : { port: options.port }) },
      handle
    )
    later = host.later
    yield* attachWebSocket(host.server, wsTarget, onConnection, () => {
      for (const c of conns) {
        c.ending = true
        c.ws.terminate()
        release(c)
      }
    })

    let skipped = 0
    const tick = () => {
      const due = Math.floor((now() - wallStart) / market.stepMs) - skipped
      let behind = due - Math.round((market.nowMs() - (options.startMs ?? wallStart)) / market.stepMs)
      if (behind > MAX_CATCH_UP_STEPS) {
        skipped += behind - MAX_CATCH_UP_STEPS
        behind = MAX_CATCH_UP_STEPS
      }
      for (let i = 0; i < behind; i++) market.step(publish)
      housekeeping()
    }
    yield* Effect.forkScoped(Effect.forever(Effect.zipRight(Effect.sleep(market.stepMs), Effect.sync(tick))))

    const ws = host.url.replace(/^http/, "ws")
    return BinanceSim.of({
      url: host.url,
      urls: { spotRest: host.url, spotWs: ws, usdmRest: host.url, usdmWs: `${ws}/public` },
      faults,
      httpFaults: httpFaultSwitch,
      weight,
      market,
      stats
    })
  })

/** The simulator as a scoped layer. */
export const layer = (options: BinanceSimOptions = {}): Layer.Layer<BinanceSim, SimStartError> =>
  Layer.scoped(BinanceSim, make(options))
