/**
 * MassiveSocketSim: the WebSocket half of the Massive simulator, attached to a running
 * `MassiveSim` (same host and port). It speaks the vendor protocol (spec §11): `connected` on
 * open, `auth`, `subscribe`/`unsubscribe` with comma lists and `A.*`, every frame a JSON array;
 * and it replays one trading day ("the session") as a live feed of per-second `A` aggregates.
 *
 * The session
 * - Each per-second bar is published about 2 s after its second closes (at `s + 3000` session
 *   time); the bars of one publish second form one frame (several symbols per frame), filtered
 *   per connection by its subscriptions.
 * - Session time runs at `speed` × Effect Clock time from `fromMs` (default: the session open),
 *   paced with `Effect.sleep` (TestClock drives it in tests). Bars before `fromMs` are never sent
 *   (but count towards `av`, `a` and `op`). A client gets only what is published while it is
 *   subscribed, as on the live feed.
 * - `"max"` publishes as fast as the subscribers read: it waits while no client is subscribed
 *   and while any subscriber has more than `backpressureBytes` not yet written to its socket.
 *   At a numeric speed a subscriber that falls `slowConsumerBytes` behind gets `slow_consumer`
 *   and is closed, as the vendor does.
 * - The clock starts (`start`) when the first client subscribes on `/stocks` (default), when
 *   `make` runs (`"now"`), or only when `start` is run (`"manual"`, e.g. at a scripted time).
 * - After the last bar (and pending corrections) the session is finished; connections stay open.
 *
 * Faults (`faults.inject` or `POST /__sim/ws-faults`, `GET` lists, `DELETE` clears) apply to the
 * next `times` occasions: connection open (`max-connections`), auth (`no-auth-reply`,
 * `auth-failed`), the next data frame sent to a subscribed connection (`drop`, `malformed`,
 * `non-array`, `unknown-event`, `slow-consumer`), or the session (`correction`, `burst`).
 * `GET /__sim/ws-stats` returns `stats()`.
 */
import type { IncomingMessage } from "node:http"
import type { Duplex } from "node:stream"
import {
  type Clock,
  Context,
  Deferred,
  Duration,
  Effect,
  Either,
  Exit,
  Layer,
  ParseResult,
  Schema,
  type Scope
} from "effect"
import { type RawData, type WebSocket, WebSocketServer } from "ws"
import type { StockBar } from "../domain/StockBar.js"
import { newYorkTimeToEpochMs } from "../domain/time.js"
import { type BarProvider, MassiveSim, type MassiveSimServer, PUBLISH_DELAY_MS } from "./MassiveSim.js"
import { SYMBOLS, sessionOf } from "./syntheticMarket.js"

// ---------------------------------------------------------------------------------------------
// Faults

export const WsFault = Schema.Union(
  /**
   * Close the TCP connection abruptly (no close frame): after `afterFrames` more data frames
   * (default 0: instead of the next one), counted from the first data frame sent at or after
   * session time `atSessionMs` (default: the next data frame).
   */
  Schema.Struct({
    kind: Schema.Literal("drop"),
    afterFrames: Schema.optional(Schema.Int.pipe(Schema.nonNegative())),
    atSessionMs: Schema.optional(Schema.Number)
  }),
  /** Never answer the next auth message. */
  Schema.Struct({ kind: Schema.Literal("no-auth-reply") }),
  /** Answer the next auth message with `auth_failed`, whatever the key. */
  Schema.Struct({ kind: Schema.Literal("auth-failed") }),
  /** Before the next data frame, send its first half alone (not JSON). */
  Schema.Struct({ kind: Schema.Literal("malformed") }),
  /** Before the next data frame, send its first event as a bare JSON object. */
  Schema.Struct({ kind: Schema.Literal("non-array") }),
  /** Add an `{"ev":"ZZ",…}` event at the end of the next data frame. */
  Schema.Struct({ kind: Schema.Literal("unknown-event") }),
  /** The next connection gets `connected`, then a `max_connections` status, then a close (1008). */
  Schema.Struct({ kind: Schema.Literal("max-connections") }),
  /** Instead of the next data frame: a `slow_consumer` status, then a close (1008). */
  Schema.Struct({ kind: Schema.Literal("slow-consumer") }),
  /**
   * Re-send the last published bar of `symbol` (default: the last symbol published) with close
   * +0.01, high raised to it and volume +100, `afterSeconds` session seconds later (default 5).
   */
  Schema.Struct({
    kind: Schema.Literal("correction"),
    symbol: Schema.optional(Schema.String),
    afterSeconds: Schema.optional(Schema.Int.pipe(Schema.between(0, 900)))
  }),
  /** Publish the next `seconds` of the session at once (numeric speeds; a no-op at "max"). */
  Schema.Struct({ kind: Schema.Literal("burst"), seconds: Schema.Int.pipe(Schema.positive()) })
)
export type WsFault = typeof WsFault.Type
export type WsFaultKind = WsFault["kind"]

/** What `POST /__sim/ws-faults` accepts: a fault or an array of them, each with optional `times`. */
export const WsFaultRequest = Schema.extend(
  WsFault,
  Schema.Struct({ times: Schema.optional(Schema.Int.pipe(Schema.positive())) })
)
export const WsFaultRequests = Schema.Union(WsFaultRequest, Schema.Array(WsFaultRequest))

export interface PendingWsFault {
  readonly fault: WsFault
  readonly remaining: number
}

export interface WsFaultSwitch {
  /** Queues a fault for the next `times` occasions (default 1). */
  readonly inject: (fault: WsFault, options?: { readonly times?: number }) => void
  readonly clear: () => void
  readonly pending: () => ReadonlyArray<PendingWsFault>
  /** Takes one use of the first queued fault `accepts` agrees to. Used by the simulator. */
  readonly take: (accepts: (fault: WsFault) => boolean) => WsFault | undefined
}

const makeWsFaultSwitch = (onInject: () => void): WsFaultSwitch => {
  let queue: Array<{ readonly fault: WsFault; remaining: number }> = []
  return {
    inject: (fault, options = {}) => {
      const times = options.times ?? 1
      if (!Number.isInteger(times) || times < 1)
        throw new RangeError(`times must be a positive integer, got ${times}`)
      queue.push({ fault, remaining: times })
      onInject()
    },
    clear: () => {
      queue = []
    },
    pending: () => queue.map((e) => ({ fault: e.fault, remaining: e.remaining })),
    take: (accepts) => {
      for (let i = 0; i < queue.length; i++) {
        const e = queue[i]!
        if (!accepts(e.fault)) continue
        e.remaining--
        if (e.remaining <= 0) queue.splice(i, 1)
        return e.fault
      }
      return undefined
    }
  }
}

const WS_FAULT_KINDS: ReadonlyArray<WsFaultKind> = [
  "drop",
  "no-auth-reply",
  "auth-failed",
  "malformed",
  "non-array",
  "unknown-event",
  "max-connections",
  "slow-consumer",
  "correction",
  "burst"
]
const DATA_FAULTS = new Set<WsFaultKind>(["drop", "malformed", "non-array", "unknown-event", "slow-consumer"])

// ---------------------------------------------------------------------------------------------
// API

export type Cluster = "stocks" | "options" | "indices"
export type Speed = number | "max"

export interface MassiveSocketSimOptions {
  /** The trading date to replay, YYYY-MM-DD (its regular session). */
  readonly date: string
  /** Session seconds per clock second, or "max" (as fast as the subscribers read). */
  readonly speed: Speed
  /** Per-second bars; default the REST simulator's provider (`sim.bars`). */
  readonly bars?: BarProvider
  /** The tickers of the feed (what `A.*` covers); default the synthetic market's symbols. */
  readonly symbols?: ReadonlyArray<string>
  /**
   * What each cluster replays; default `/stocks` only, with `bars` and `symbols`. Every cluster's
   * bars are published on the same session clock, each on its own connections.
   */
  readonly clusters?: ReadonlyArray<ClusterFeed>
  /** Connections one API key may hold at once on one cluster; past it the newest gets `max_connections`. */
  readonly maxConnectionsPerCluster?: number
  /** Channels one connection may subscribe; past it each further channel gets an `error` status. */
  readonly maxChannelsPerConnection?: number
  /**
   * When the session clock starts: at the first subscribe (default), once every cluster of
   * `clusters` has a subscriber (`every-cluster`), at `make`, or only via `start`.
   */
  readonly start?: "subscribe" | "every-cluster" | "now" | "manual"
  /**
   * Clusters whose client subscribes only once the replay has begun (an option chain drawn from the
   * `op` of the underlying's first aggregate): `every-cluster` starts without them, and at `max`
   * speed the replay holds after its first second until each has a subscriber.
   */
  readonly lateClusters?: ReadonlyArray<Cluster>
  /** Session time (epoch ms) the clock starts at; default the session open. */
  readonly fromMs?: number
  /** Accepted keys; default the REST simulator's rule (`sim.acceptsKey`). */
  readonly apiKeys?: ReadonlyArray<string>
  /** "max": bytes not yet written to a subscriber's socket before the replay waits; default 1 MiB. */
  readonly backpressureBytes?: number
  /** Numeric speeds: bytes not yet written before a subscriber gets `slow_consumer`; default 64 MiB. */
  readonly slowConsumerBytes?: number
}

/** One cluster's replay: its tickers, their per-second bars, and the wire shape of its aggregates. */
export interface ClusterFeed {
  readonly cluster: Cluster
  readonly symbols: ReadonlyArray<string>
  readonly bars: BarProvider
  /** `index`: aggregates without volume keys (spec §11.4, indices). */
  readonly wire: "stock" | "index"
}

export interface WsConnectionStats {
  readonly id: number
  readonly cluster: Cluster
  readonly authenticated: boolean
  /** Channels as subscribed, e.g. "A.SPY", "A.*". */
  readonly subscriptions: ReadonlyArray<string>
  /** Every frame sent (status frames included). */
  readonly framesSent: number
  /** Frames carrying events (fault frames included). */
  readonly dataFrames: number
  /** `A` events sent (corrections included). */
  readonly barsSent: number
  /** Faults applied to this connection, in order. */
  readonly faults: ReadonlyArray<WsFaultKind>
  readonly open: boolean
}

export interface WsStats {
  readonly connectionsOpened: number
  readonly connectionsOpen: number
  readonly framesSent: number
  /** Distinct bars the session published so far (whether or not anyone was subscribed). */
  readonly barsPublished: number
  readonly correctionsPublished: number
  /** Session faults applied (`correction`, `burst`). */
  readonly sessionFaults: ReadonlyArray<WsFaultKind>
  readonly connections: ReadonlyArray<WsConnectionStats>
}

export interface MassiveSocketSimServer {
  /** `ws://127.0.0.1:PORT` (clients append `/stocks`, `/options` or `/indices`). */
  readonly url: string
  readonly date: string
  readonly speed: Speed
  readonly faults: WsFaultSwitch
  /** Starts the session clock now if it is not running yet (idempotent). */
  readonly start: Effect.Effect<void>
  /** Succeeds once the session clock runs. */
  readonly started: Effect.Effect<void>
  /** Succeeds once the last bar (and every pending correction) is published. */
  readonly finished: Effect.Effect<void>
  readonly isFinished: () => boolean
  /** Session time, epoch ms: `fromMs` until started; at "max", the last publish time. */
  readonly sessionTimeMs: () => number
  readonly stats: () => WsStats
  /** The corrected bars published so far (as the lake should end up holding them). */
  readonly corrections: () => ReadonlyArray<StockBar>
}

export class MassiveSocketSim extends Context.Tag("tapehouse/MassiveSocketSim")<
  MassiveSocketSim,
  MassiveSocketSimServer
>() {}

// ---------------------------------------------------------------------------------------------
// Wire

export { PUBLISH_DELAY_MS }

const CLUSTERS: Readonly<Record<string, Cluster>> = {
  "/stocks": "stocks",
  "/options": "options",
  "/indices": "indices"
}

const statusFrame = (status: string, message: string): string =>
  JSON.stringify([{ ev: "status", status, message }])

const round4 = (x: number) => Math.round(x * 10_000) / 10_000
const round2 = (x: number) => Math.round(x * 100) / 100

/** A second aggregate as the vendor sends it (spec §11.4); indices carry no volume keys. */
interface AEvent {
  readonly ev: "A"
  readonly sym: string
  readonly v?: number
  readonly av?: number
  readonly op: number
  readonly vw?: number
  readonly o: number
  readonly c: number
  readonly h: number
  readonly l: number
  readonly a?: number
  readonly z?: number
  readonly s: number
  readonly e: number
}

interface Published {
  readonly cluster: Cluster
  /** `A.SPY`: the channel that carries it. */
  readonly channel: string
  readonly json: string
  readonly event: AEvent
  readonly bar: StockBar
}

/** How long a `max` replay holds for its late clusters' subscribers (wall time). */
const LATE_CLUSTER_WAIT = "30 seconds"

interface Group {
  readonly pub: number
  readonly events: ReadonlyArray<Published>
}

interface SymbolState {
  readonly cluster: Cluster
  readonly wire: ClusterFeed["wire"]
  readonly sym: string
  readonly bars: ReadonlyArray<StockBar>
  i: number
  av: number
  notional: number
  readonly op: number
}

const published = (cluster: Cluster, event: AEvent, bar: StockBar): Published => ({
  cluster,
  channel: `A.${event.sym}`,
  json: JSON.stringify(event),
  event,
  bar
})

const nextEvent = (st: SymbolState, b: StockBar): Published => {
  if (st.wire === "index")
    return published(
      st.cluster,
      {
        ev: "A",
        sym: st.sym,
        op: st.op,
        o: b.open,
        c: b.close,
        h: b.high,
        l: b.low,
        s: b.ts,
        e: b.ts + 1000
      },
      b
    )
  st.av += b.volume
  const vw = b.vwap ?? round4((b.high + b.low + b.close) / 3)
  st.notional += vw * b.volume
  const a = st.av > 0 ? round4(st.notional / st.av) : vw
  const z = b.trades !== null && b.trades > 0 ? Math.round(b.volume / b.trades) : b.volume
  return published(
    st.cluster,
    {
      ev: "A",
      sym: st.sym,
      v: b.volume,
      av: st.av,
      op: st.op,
      vw,
      o: b.open,
      c: b.close,
      h: b.high,
      l: b.low,
      a,
      z,
      s: b.ts,
      e: b.ts + 1000
    },
    b
  )
}

const corrected = (p: Published): Published => {
  const c = round2(p.event.c + 0.01)
  const event: AEvent = {
    ...p.event,
    c,
    h: Math.max(p.event.h, c),
    ...(p.event.v === undefined ? {} : { v: p.event.v + 100, av: (p.event.av ?? 0) + 100 })
  }
  return published(p.cluster, event, { ...p.bar, close: c, high: event.h, volume: event.v ?? p.bar.volume })
}

/** The session's bars, merged over clusters and symbols into publish groups, built lazily in order. */
const makeTimeline = (date: string, feeds: ReadonlyArray<ClusterFeed>) => {
  const day = sessionOf(date)
  const states: Array<SymbolState> = []
  const seconds = new Set<number>()
  if (day._tag === "open") {
    for (const feed of feeds)
      for (const sym of [...new Set(feed.symbols)].sort()) {
        const inSession = feed.bars(sym, date).filter((b) => b.ts >= day.openMs && b.ts < day.closeMs)
        const sorted = inSession.every((b, i) => i === 0 || inSession[i - 1]!.ts < b.ts)
          ? inSession
          : inSession.slice().sort((x, y) => x.ts - y.ts)
        if (sorted.length === 0) continue
        for (const b of sorted) seconds.add(b.ts)
        states.push({
          cluster: feed.cluster,
          wire: feed.wire,
          sym,
          bars: sorted,
          i: 0,
          av: 0,
          notional: 0,
          op: sorted[0]!.open
        })
      }
  }
  const order = [...seconds].sort((a, b) => a - b)
  let k = 0
  return {
    openMs: day._tag === "open" ? day.openMs : newYorkTimeToEpochMs(date, 9, 30),
    size: order.length,
    /** The next group, or undefined at the end. Each call advances. */
    next: (): Group | undefined => {
      const ts = order[k]
      if (ts === undefined) return undefined
      k++
      const events: Array<Published> = []
      for (const st of states) {
        const b = st.bars[st.i]
        if (b === undefined || b.ts !== ts) continue
        st.i++
        events.push(nextEvent(st, b))
      }
      return { pub: ts + PUBLISH_DELAY_MS, events }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Connections

interface Conn {
  readonly id: number
  readonly ws: WebSocket
  readonly cluster: Cluster
  authenticated: boolean
  /** The key it authenticated with (limits are per key). */
  key: string | undefined
  readonly channels: Set<string>
  /** Event types subscribed with `<EV>.*`. */
  readonly wildcards: Set<string>
  framesSent: number
  dataFrames: number
  barsSent: number
  pendingBytes: number
  waiters: Array<() => void>
  /** Data frames still to send before an armed `drop`. */
  dropAfter: number | undefined
  /** No more frames: closing or dropped. */
  ending: boolean
  /** Terminate the TCP connection once every frame sent so far is written. */
  dropping: boolean
  open: boolean
  readonly faults: Array<WsFaultKind>
}

const subscribed = (c: Conn): boolean =>
  c.open && !c.ending && c.authenticated && (c.channels.size > 0 || c.wildcards.size > 0)

const rawText = (data: RawData): string =>
  Buffer.isBuffer(data)
    ? data.toString("utf8")
    : Array.isArray(data)
      ? Buffer.concat(data).toString("utf8")
      : Buffer.from(data).toString("utf8")

// ---------------------------------------------------------------------------------------------
// make

/**
 * Attaches the WebSocket simulator to `sim` (upgrades on `/stocks`, `/options`, `/indices`) and
 * prepares the session replay; everything is closed when the scope closes. One per `sim`.
 */
export const make = (
  sim: MassiveSimServer,
  options: MassiveSocketSimOptions
): Effect.Effect<MassiveSocketSimServer, never, Scope.Scope> =>
  Effect.gen(function* () {
    const clock: Clock.Clock = yield* Effect.clock
    const speed = options.speed
    const paced = speed !== "max"
    if (paced && !(Number.isFinite(speed) && speed > 0))
      return yield* Effect.dieMessage(
        `MassiveSocketSim speed must be a positive number or "max", got ${speed}`
      )
    const provider = options.bars ?? sim.bars
    const acceptsKey =
      options.apiKeys === undefined
        ? sim.acceptsKey
        : (key: string) => key.length > 0 && options.apiKeys!.includes(key)
    const backpressureBytes = options.backpressureBytes ?? 1 << 20
    const slowConsumerBytes = options.slowConsumerBytes ?? 64 << 20
    const feeds: ReadonlyArray<ClusterFeed> = options.clusters ?? [
      { cluster: "stocks", symbols: options.symbols ?? SYMBOLS, bars: provider, wire: "stock" }
    ]
    const timeline = makeTimeline(options.date, feeds)
    const fromMs = options.fromMs ?? timeline.openMs

    const gate = yield* Deferred.make<void>()
    const running = yield* Deferred.make<void>()
    const done = yield* Deferred.make<void>()
    const startNow = () => {
      Deferred.unsafeDone(gate, Exit.void)
    }

    // Session state
    let startClock: number | undefined
    let lastPub: number | undefined
    let finished = false
    let burstUntil = Number.NEGATIVE_INFINITY
    let barsPublished = 0
    const lastBySymbol = new Map<string, Published>()
    let lastSymbol: string | undefined
    let pendingCorrections: Array<{ readonly due: number; readonly event: Published }> = []
    const correctionsSent: Array<StockBar> = []
    const sessionFaults: Array<WsFaultKind> = []

    const sessionTimeMs = (): number => {
      if (finished) return Math.max(lastPub ?? fromMs, fromMs)
      if (startClock === undefined) return fromMs
      if (!paced) return lastPub ?? fromMs
      return fromMs + speed * (clock.unsafeCurrentTimeMillis() - startClock)
    }

    // Wake-ups of the replay loop from callbacks (a fault injected, a subscriber arrived).
    let wake: (() => void) | undefined
    const poke = () => {
      const w = wake
      wake = undefined
      w?.()
    }
    const faults = makeWsFaultSwitch(poke)

    // Connections
    const conns = new Set<Conn>()
    let nextId = 0
    let framesSent = 0
    const history: Array<Conn> = []

    const release = (c: Conn) => {
      const ws = c.waiters
      c.waiters = []
      for (const w of ws) w()
    }

    const terminateWhenFlushed = (c: Conn) => {
      c.ending = true
      c.dropping = true
      if (c.pendingBytes <= 0) c.ws.terminate()
    }

    const send = (c: Conn, text: string): void => {
      if (!c.open || c.ending || c.ws.readyState !== c.ws.OPEN) return
      const bytes = Buffer.byteLength(text)
      c.framesSent++
      framesSent++
      c.pendingBytes += bytes
      c.ws.send(text, () => {
        c.pendingBytes -= bytes
        if (c.pendingBytes <= backpressureBytes / 2) release(c)
        if (c.dropping && c.pendingBytes <= 0 && c.open) c.ws.terminate()
      })
    }

    const closeWith = (c: Conn, status: string, message: string) => {
      send(c, statusFrame(status, message))
      c.ending = true
      c.ws.close(1008, status)
    }

    const sendData = (c: Conn, parts: ReadonlyArray<string>, bars: number, pub: number) => {
      if (c.dropAfter !== undefined && c.dropAfter <= 0) return terminateWhenFlushed(c)
      const fault = faults.take(
        (f) =>
          DATA_FAULTS.has(f.kind) &&
          (f.kind !== "drop" || f.atSessionMs === undefined || pub >= f.atSessionMs)
      )
      if (fault !== undefined) c.faults.push(fault.kind)
      let frameParts = parts
      switch (fault?.kind) {
        case "drop":
          c.dropAfter = fault.afterFrames ?? 0
          if (c.dropAfter <= 0) return terminateWhenFlushed(c)
          break
        case "slow-consumer":
          return closeWith(c, "slow_consumer", "Connection closed: the client is not reading fast enough.")
        case "malformed": {
          const frame = `[${parts.join(",")}]`
          send(c, frame.slice(0, Math.max(1, Math.floor(frame.length / 2))))
          c.dataFrames++
          break
        }
        case "non-array":
          send(c, parts[0]!)
          c.dataFrames++
          break
        case "unknown-event": {
          const sym = /"sym":("[^"]*")/.exec(parts[0]!)?.[1] ?? '"SPY"'
          frameParts = [...parts, `{"ev":"ZZ","sym":${sym},"x":1,"t":${pub}}`]
          break
        }
        default:
          break
      }
      send(c, `[${frameParts.join(",")}]`)
      c.dataFrames++
      c.barsSent += bars
      if (c.dropAfter !== undefined) {
        c.dropAfter--
        if (c.dropAfter <= 0) terminateWhenFlushed(c)
      }
      if (paced && c.pendingBytes > slowConsumerBytes && !c.ending) {
        c.faults.push("slow-consumer")
        closeWith(c, "slow_consumer", "Connection closed: the client is not reading fast enough.")
      }
    }

    const publish = (pub: number, events: ReadonlyArray<Published>) => {
      if (events.length === 0) return
      /** A cluster's events of this publish, as one frame's text (`A.*` subscribers). */
      const all = new Map<Cluster, { readonly text: string; readonly count: number }>()
      const allOf = (cluster: Cluster) => {
        let found = all.get(cluster)
        if (found === undefined) {
          const mine = events.filter((e) => e.cluster === cluster)
          found = { text: mine.map((e) => e.json).join(","), count: mine.length }
          all.set(cluster, found)
        }
        return found
      }
      for (const c of conns) {
        if (!subscribed(c)) continue
        if (c.wildcards.has("A")) {
          const { text, count } = allOf(c.cluster)
          if (count > 0) sendData(c, [text], count, pub)
          continue
        }
        const parts: Array<string> = []
        for (const e of events) if (e.cluster === c.cluster && c.channels.has(e.channel)) parts.push(e.json)
        if (parts.length > 0) sendData(c, parts, parts.length, pub)
      }
    }

    const publishGroup = (group: Group) => {
      lastPub = group.pub
      const events: Array<Published> = group.events.slice()
      barsPublished += events.length
      for (const e of group.events) {
        lastBySymbol.set(e.event.sym, e)
        lastSymbol = e.event.sym
      }
      if (pendingCorrections.length > 0) {
        const due = pendingCorrections.filter((p) => p.due <= group.pub)
        if (due.length > 0) {
          pendingCorrections = pendingCorrections.filter((p) => p.due > group.pub)
          for (const p of due) {
            events.push(p.event)
            correctionsSent.push(p.event.bar)
          }
        }
      }
      publish(group.pub, events)
    }

    const takeSessionFaults = () => {
      for (;;) {
        const f = faults.take(
          (x) =>
            x.kind === "burst" ||
            (x.kind === "correction" &&
              (x.symbol === undefined ? lastSymbol !== undefined : lastBySymbol.has(x.symbol)))
        )
        if (f === undefined) return
        sessionFaults.push(f.kind)
        const now = Math.max(sessionTimeMs(), lastPub ?? fromMs)
        if (f.kind === "burst") {
          if (paced) burstUntil = Math.max(burstUntil, sessionTimeMs() + f.seconds * 1000)
        } else if (f.kind === "correction") {
          const original = lastBySymbol.get(f.symbol ?? lastSymbol!)!
          const due = now + (f.afterSeconds ?? 5) * 1000
          pendingCorrections.push({ due, event: corrected(original) })
          pendingCorrections.sort((a, b) => a.due - b.due)
        }
      }
    }

    // Waits (all resumable from callbacks)
    const sleepOrWake = (ms: number): Effect.Effect<boolean> =>
      Effect.raceFirst(
        Effect.as(Effect.sleep(Duration.millis(ms)), false),
        Effect.async<boolean>((resume) => {
          wake = () => resume(Effect.succeed(true))
          return Effect.sync(() => {
            wake = undefined
          })
        })
      )

    const untilClock = (target: number): Effect.Effect<boolean> => {
      const wait = target - clock.unsafeCurrentTimeMillis()
      return wait > 0 ? sleepOrWake(wait) : Effect.succeed(false)
    }

    const hasSubscriber = () => {
      for (const c of conns) if (subscribed(c)) return true
      return false
    }

    const awaitSubscriber: Effect.Effect<void> = Effect.suspend(() =>
      hasSubscriber()
        ? Effect.void
        : Effect.flatMap(
            Effect.async<boolean>((resume) => {
              wake = () => resume(Effect.succeed(true))
              return Effect.sync(() => {
                wake = undefined
              })
            }),
            () => awaitSubscriber
          )
    )

    const late = options.lateClusters ?? []
    let lateAwaited = false
    /** Until every late cluster has a subscriber. */
    const awaitLate: Effect.Effect<void> = Effect.suspend(() =>
      late.every((cl) => [...conns].some((o) => o.cluster === cl && subscribed(o)))
        ? Effect.void
        : Effect.flatMap(
            Effect.async<boolean>((resume) => {
              wake = () => resume(Effect.succeed(true))
              return Effect.sync(() => {
                wake = undefined
              })
            }),
            () => awaitLate
          )
    )

    const awaitDrain: Effect.Effect<void> = Effect.suspend(() => {
      let full: Conn | undefined
      for (const c of conns) if (subscribed(c) && c.pendingBytes > backpressureBytes) full = c
      if (full === undefined) return Effect.void
      const c = full
      return Effect.flatMap(
        Effect.async<void>((resume) => {
          const w = () => resume(Effect.void)
          c.waiters.push(w)
          return Effect.sync(() => {
            c.waiters = c.waiters.filter((x) => x !== w)
          })
        }),
        () => awaitDrain
      )
    })

    /** The clock time (whole ms, never early) at which the session reaches `sessionMs`. */
    const clockAt = (sessionMs: number) => startClock! + Math.ceil((sessionMs - fromMs) / (speed as number))

    const replay = Effect.gen(function* () {
      yield* Deferred.await(gate)
      startClock = clock.unsafeCurrentTimeMillis()
      yield* Deferred.succeed(running, undefined)
      let group = timeline.next()
      while (group !== undefined) {
        takeSessionFaults()
        if (group.pub < fromMs) {
          // Before the replay's start: accumulates day totals, never sent.
          for (const e of group.events) {
            lastBySymbol.set(e.event.sym, e)
            lastSymbol = e.event.sym
          }
          group = timeline.next()
          continue
        }
        if (paced) {
          if (group.pub > burstUntil && (yield* untilClock(clockAt(group.pub)))) continue
        } else {
          yield* awaitSubscriber
          yield* awaitDrain
        }
        publishGroup(group)
        // The first second is out (it carries the `op` a late cluster's client starts from): wait for
        // the late clusters once, for a bounded time (a client that never comes does not stall the rest).
        if (!paced && late.length > 0 && !lateAwaited) {
          lateAwaited = true
          yield* Effect.timeoutOption(awaitLate, LATE_CLUSTER_WAIT)
        }
        group = timeline.next()
      }
      // Corrections still pending after the last bar.
      for (;;) {
        takeSessionFaults()
        const next = pendingCorrections[0]
        if (next === undefined) break
        if (paced && (yield* untilClock(clockAt(next.due)))) continue
        pendingCorrections.shift()
        lastPub = Math.max(lastPub ?? fromMs, next.due)
        correctionsSent.push(next.event.bar)
        publish(next.due, [next.event])
      }
      finished = true
      yield* Deferred.succeed(done, undefined)
    })

    // The WebSocket server
    const onMessage = (c: Conn, text: string) => {
      let msg: unknown
      try {
        msg = JSON.parse(text)
      } catch {
        return send(c, statusFrame("error", "invalid message: not JSON"))
      }
      const fields: Readonly<Record<string, unknown>> =
        typeof msg === "object" && msg !== null ? (msg as Record<string, unknown>) : {}
      const action = fields.action
      const params = fields.params
      if (action === "auth") {
        const fault = faults.take((f) => f.kind === "no-auth-reply" || f.kind === "auth-failed")
        if (fault !== undefined) c.faults.push(fault.kind)
        if (fault?.kind === "no-auth-reply") return
        if (fault?.kind === "auth-failed" || typeof params !== "string" || !acceptsKey(params)) {
          c.authenticated = false
          return send(c, statusFrame("auth_failed", "authentication failed"))
        }
        c.authenticated = true
        c.key = params
        send(c, statusFrame("auth_success", "authenticated"))
        // One account, one connection per cluster by default: past the limit the newest goes.
        const limit = options.maxConnectionsPerCluster
        if (limit !== undefined) {
          let holding = 0
          for (const other of conns)
            if (
              other.open &&
              !other.ending &&
              other.authenticated &&
              other.cluster === c.cluster &&
              other.key === c.key
            )
              holding++
          if (holding > limit) {
            c.faults.push("max-connections")
            closeWith(c, "max_connections", "Maximum number of connections exceeded.")
          }
        }
        return
      }
      if (action === "subscribe" || action === "unsubscribe") {
        if (!c.authenticated) return send(c, statusFrame("auth_required", "authentication required"))
        if (typeof params !== "string")
          return send(c, statusFrame("error", "params must be a comma-separated string of channels"))
        const channels = params
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s.length > 0)
        for (const channel of channels) {
          const dot = channel.indexOf(".")
          if (dot <= 0 || dot === channel.length - 1) {
            send(c, statusFrame("error", `invalid channel: ${channel}`))
            continue
          }
          const ev = channel.slice(0, dot)
          const wildcard = channel.slice(dot + 1) === "*"
          if (action === "subscribe") {
            const cap = options.maxChannelsPerConnection
            if (!wildcard && cap !== undefined && !c.channels.has(channel) && c.channels.size >= cap) {
              send(
                c,
                statusFrame(
                  "error",
                  `too many subscriptions: at most ${cap} channels per connection (${channel})`
                )
              )
              continue
            }
            if (wildcard) c.wildcards.add(ev)
            else c.channels.add(channel)
            send(c, statusFrame("success", `subscribed to: ${channel}`))
          } else {
            if (wildcard) c.wildcards.delete(ev)
            else c.channels.delete(channel)
            send(c, statusFrame("success", `unsubscribed to: ${channel}`))
          }
        }
        if (action === "subscribe" && subscribed(c)) {
          const start = options.start ?? "subscribe"
          if (start === "subscribe") startNow()
          // A replay of several clusters for one client capturing them all: none starts ahead.
          else if (
            start === "every-cluster" &&
            feeds.every(
              (f) =>
                late.includes(f.cluster) || [...conns].some((o) => o.cluster === f.cluster && subscribed(o))
            )
          )
            startNow()
          poke()
        }
        return
      }
      return send(c, statusFrame("error", `unknown action: ${String(action)}`))
    }

    const onConnection = (ws: WebSocket, cluster: Cluster) => {
      const c: Conn = {
        id: ++nextId,
        ws,
        cluster,
        authenticated: false,
        key: undefined,
        channels: new Set(),
        wildcards: new Set(),
        framesSent: 0,
        dataFrames: 0,
        barsSent: 0,
        pendingBytes: 0,
        waiters: [],
        dropAfter: undefined,
        ending: false,
        dropping: false,
        open: true,
        faults: []
      }
      conns.add(c)
      history.push(c)
      ws.on("error", () => {})
      ws.on("close", () => {
        c.open = false
        conns.delete(c)
        release(c)
        poke()
      })
      ws.on("message", (data) => onMessage(c, rawText(data)))
      send(c, statusFrame("connected", "Connected Successfully"))
      const fault = faults.take((f) => f.kind === "max-connections")
      if (fault !== undefined) {
        c.faults.push(fault.kind)
        closeWith(c, "max_connections", "Maximum number of connections exceeded.")
      }
    }

    const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20, perMessageDeflate: false })
    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname.replace(/\/$/, "")
      const cluster = CLUSTERS[path]
      if (cluster === undefined) {
        socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        return
      }
      wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, cluster))
    }

    const stats = (): WsStats => ({
      connectionsOpened: history.length,
      connectionsOpen: conns.size,
      framesSent,
      barsPublished,
      correctionsPublished: correctionsSent.length,
      sessionFaults: sessionFaults.slice(),
      connections: history.map((c) => ({
        id: c.id,
        cluster: c.cluster,
        authenticated: c.authenticated,
        subscriptions: [...c.channels, ...[...c.wildcards].map((ev) => `${ev}.*`)],
        framesSent: c.framesSent,
        dataFrames: c.dataFrames,
        barsSent: c.barsSent,
        faults: c.faults.slice(),
        open: c.open
      }))
    })

    const controlFaults = (request: {
      readonly method: string
      readonly body: Either.Either<unknown, string> | undefined
    }) => {
      const bad = (error: string) => ({ status: 400, body: { status: "ERROR", error } })
      if (request.method === "GET") return { status: 200, body: faults.pending() }
      if (request.method === "DELETE") {
        faults.clear()
        return { status: 200, body: { status: "OK", pending: 0 } }
      }
      if (request.method !== "POST")
        return bad(`Method ${request.method} is not allowed; use GET, POST or DELETE.`)
      if (request.body === undefined || Either.isLeft(request.body))
        return bad(request.body === undefined ? "missing body" : request.body.left)
      const decoded = Schema.decodeUnknownEither(WsFaultRequests)(request.body.right)
      if (Either.isLeft(decoded)) {
        const first = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
          .slice(0, 3)
          .map((i) => `${i.path.join(".") || "body"}: ${i.message}`)
          .join("; ")
        return bad(`not a WebSocket fault (kind: ${WS_FAULT_KINDS.join(" | ")}): ${first}`.slice(0, 600))
      }
      const list = Array.isArray(decoded.right) ? decoded.right : [decoded.right]
      for (const r of list) {
        const { times, ...fault } = r
        faults.inject(fault as WsFault, times === undefined ? {} : { times })
      }
      return { status: 200, body: { status: "OK", pending: faults.pending().length } }
    }

    yield* Effect.acquireRelease(
      Effect.sync(() => {
        sim.server.on("upgrade", onUpgrade)
        const removers = [
          sim.registerControl("/__sim/ws-faults", controlFaults),
          sim.registerControl("/__sim/ws-stats", (r) =>
            r.method === "GET"
              ? { status: 200, body: stats() }
              : { status: 400, body: { status: "ERROR", error: "use GET" } }
          )
        ]
        return removers
      }),
      (removers) =>
        Effect.async<void>((resume) => {
          for (const r of removers) r()
          sim.server.off("upgrade", onUpgrade)
          for (const c of conns) {
            c.ending = true
            c.ws.terminate()
            release(c)
          }
          wss.close(() => resume(Effect.void))
        })
    )
    yield* Effect.forkScoped(replay)
    if (options.start === "now") startNow()

    return MassiveSocketSim.of({
      url: sim.url.replace(/^http/, "ws"),
      date: options.date,
      speed,
      faults,
      start: Effect.sync(startNow),
      started: Deferred.await(running),
      finished: Deferred.await(done),
      isFinished: () => finished,
      sessionTimeMs,
      stats,
      corrections: () => correctionsSent.slice()
    })
  })

/** The WebSocket simulator on the `MassiveSim` in context, as a scoped layer. */
export const layer = (options: MassiveSocketSimOptions): Layer.Layer<MassiveSocketSim, never, MassiveSim> =>
  Layer.scoped(
    MassiveSocketSim,
    Effect.flatMap(MassiveSim, (sim) => make(sim, options))
  )
