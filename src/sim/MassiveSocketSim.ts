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
import { Context, Effect, Either, Layer, Metric, MetricLabel, type Scope } from "effect"
import type { WebSocket } from "ws"
import type { StockBar } from "../domain/StockBar.js"
import {
  type Cluster,
  type ClusterFeed,
  corrected,
  type Group,
  makeTimeline,
  type Published
} from "./aggregateTimeline.js"
import { badControl, type ControlHandler, decodeControlList } from "./core/controls.js"
import { type Entitlements, entitlementsControl, makeEntitlements } from "./core/entitlements.js"
import { makeReplayClock, type Speed } from "./core/replayClock.js"
import { type HandshakeHooks, handleClientFrame, isSubscribed, type Subscriber } from "./core/wsHandshake.js"
import {
  closePolicy,
  makePeer,
  onDrain,
  rawText,
  release,
  sendText,
  terminateWhenFlushed
} from "./core/wsPeer.js"
import { attachWebSocket } from "./core/wsServer.js"
import { type BarProvider, MassiveSim, type MassiveSimServer, PUBLISH_DELAY_MS } from "./MassiveSim.js"
import {
  DATA_FAULTS,
  makeWsFaultSwitch,
  WS_FAULT_KINDS,
  type WsFault,
  type WsFaultKind,
  WsFaultRequests,
  type WsFaultSwitch
} from "./socketFaults.js"
import { CLUSTERS, PROTOCOL, statusFrame } from "./socketProtocol.js"
import { SYMBOLS } from "./syntheticMarket.js"

// ---------------------------------------------------------------------------------------------
// API

export type { Cluster, ClusterFeed } from "./aggregateTimeline.js"
export {
  type PendingWsFault,
  WsFault,
  type WsFaultKind,
  WsFaultRequest,
  WsFaultRequests,
  type WsFaultSwitch
} from "./socketFaults.js"

export type { Speed }

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
   * speed the replay holds after its first second until each has a subscriber (or has refused its
   * client's key: that client does not come back).
   */
  readonly lateClusters?: ReadonlyArray<Cluster>
  /** Session time (epoch ms) the clock starts at; default the session open. */
  readonly fromMs?: number
  /** Accepted keys; default the REST simulator's rule (`sim.acceptsKey`). */
  readonly apiKeys?: ReadonlyArray<string>
  /**
   * Keys limited to some clusters, as a plan is: on any other cluster the key's auth is answered
   * with `auth_failed`. Keys not listed may use every cluster. Changed at run time with
   * `POST /__sim/ws-entitlements {"key": "...", "parts": ["stocks", "indices"] | null}`.
   */
  readonly entitlements?: Readonly<Record<string, ReadonlyArray<Cluster>>>
  /** "max": bytes not yet written to a subscriber's socket before the replay waits; default 1 MiB. */
  readonly backpressureBytes?: number
  /** Numeric speeds: bytes not yet written before a subscriber gets `slow_consumer`; default 64 MiB. */
  readonly slowConsumerBytes?: number
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
  /** Which keys may use which clusters (`options.entitlements`, changed at run time here). */
  readonly entitlements: Entitlements
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

/** How long a `max` replay holds for its late clusters' subscribers (wall time). */
const LATE_CLUSTER_WAIT = "30 seconds"

/** Bars the simulator sent over WebSocket, by cluster (for `simulate --metrics-port`); one update a frame. */
const barsSentMetric = Metric.counter("tapehouse_sim_bars_sent", {
  description: "Bars the simulator sent to WebSocket clients, by cluster.",
  incremental: true
})
const clusterTags = new Map<Cluster, ReadonlyArray<MetricLabel.MetricLabel>>()
const tagsOfCluster = (cluster: Cluster): ReadonlyArray<MetricLabel.MetricLabel> => {
  let tags = clusterTags.get(cluster)
  if (tags === undefined) {
    tags = [MetricLabel.make("cluster", cluster)]
    clusterTags.set(cluster, tags)
  }
  return tags
}

// ---------------------------------------------------------------------------------------------
// Connections

/** One client connection: its transport and handshake state (core) and what this feed counts. */
interface Conn extends Subscriber {
  readonly id: number
  readonly cluster: Cluster
  dataFrames: number
  barsSent: number
  /** Data frames still to send before an armed `drop`. */
  dropAfter: number | undefined
  readonly faults: Array<WsFaultKind>
}

// ---------------------------------------------------------------------------------------------
// make

const SLOW_CONSUMER = "Connection closed: the client is not reading fast enough."
const MAX_CONNECTIONS = "Maximum number of connections exceeded."

/**
 * Attaches the WebSocket simulator to `sim` (upgrades on `/stocks`, `/options`, `/indices`) and
 * prepares the session replay; everything is closed when the scope closes. One per `sim`.
 */
export const make = (
  sim: MassiveSimServer,
  options: MassiveSocketSimOptions
): Effect.Effect<MassiveSocketSimServer, never, Scope.Scope> =>
  Effect.gen(function* () {
    const provider = options.bars ?? sim.bars
    const acceptsKey =
      options.apiKeys === undefined
        ? sim.acceptsKey
        : (key: string) => key.length > 0 && options.apiKeys!.includes(key)
    const entitlements = makeEntitlements(options.entitlements)
    const backpressureBytes = options.backpressureBytes ?? 1 << 20
    const slowConsumerBytes = options.slowConsumerBytes ?? 64 << 20
    const feeds: ReadonlyArray<ClusterFeed> = options.clusters ?? [
      { cluster: "stocks", symbols: options.symbols ?? SYMBOLS, bars: provider, wire: "stock" }
    ]
    const timeline = makeTimeline(options.date, feeds)
    const clock = yield* makeReplayClock(options.speed, options.fromMs ?? timeline.openMs)
    const { paced, fromMs } = clock

    // Session state
    let burstUntil = Number.NEGATIVE_INFINITY
    let barsPublished = 0
    const lastBySymbol = new Map<string, Published>()
    let lastSymbol: string | undefined
    let pendingCorrections: Array<{ readonly due: number; readonly event: Published }> = []
    const correctionsSent: Array<StockBar> = []
    const sessionFaults: Array<WsFaultKind> = []
    const faults = makeWsFaultSwitch(clock.poke)

    // Connections
    const conns = new Set<Conn>()
    let nextId = 0
    let framesSent = 0
    const history: Array<Conn> = []

    const send = (c: Conn, text: string): void => {
      if (sendText(c, text, backpressureBytes)) framesSent++
    }

    const closeWith = (c: Conn, status: string, message: string) => {
      send(c, statusFrame(status, message))
      closePolicy(c, status)
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
          return closeWith(c, "slow_consumer", SLOW_CONSUMER)
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
      if (bars > 0) barsSentMetric.unsafeUpdate(bars, tagsOfCluster(c.cluster))
      if (c.dropAfter !== undefined) {
        c.dropAfter--
        if (c.dropAfter <= 0) terminateWhenFlushed(c)
      }
      if (paced && c.pendingBytes > slowConsumerBytes && !c.ending) {
        c.faults.push("slow-consumer")
        closeWith(c, "slow_consumer", SLOW_CONSUMER)
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
        if (!isSubscribed(c)) continue
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

    const remember = (events: ReadonlyArray<Published>) => {
      for (const e of events) {
        lastBySymbol.set(e.event.sym, e)
        lastSymbol = e.event.sym
      }
    }

    const publishGroup = (group: Group) => {
      clock.published(group.pub)
      const events: Array<Published> = group.events.slice()
      barsPublished += events.length
      remember(group.events)
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
        const now = Math.max(clock.now(), clock.lastPublished() ?? fromMs)
        if (f.kind === "burst") {
          if (paced) burstUntil = Math.max(burstUntil, clock.now() + f.seconds * 1000)
        } else if (f.kind === "correction") {
          const original = lastBySymbol.get(f.symbol ?? lastSymbol!)!
          const due = now + (f.afterSeconds ?? 5) * 1000
          pendingCorrections.push({ due, event: corrected(original) })
          pendingCorrections.sort((a, b) => a.due - b.due)
        }
      }
    }

    const hasSubscriber = () => {
      for (const c of conns) if (isSubscribed(c)) return true
      return false
    }

    const awaitSubscriber: Effect.Effect<void> = Effect.suspend(() =>
      hasSubscriber() ? Effect.void : Effect.flatMap(clock.awaitPoke, () => awaitSubscriber)
    )

    const late = options.lateClusters ?? []
    let lateAwaited = false
    /** Clusters whose auth was refused (a key or plan without them): their client never subscribes. */
    const refusedClusters = new Set<Cluster>()
    /** Until every late cluster has a subscriber, or has refused its client's key. */
    const awaitLate: Effect.Effect<void> = Effect.suspend(() =>
      late.every(
        (cl) => refusedClusters.has(cl) || [...conns].some((o) => o.cluster === cl && isSubscribed(o))
      )
        ? Effect.void
        : Effect.flatMap(clock.awaitPoke, () => awaitLate)
    )

    const awaitDrain: Effect.Effect<void> = Effect.suspend(() => {
      let full: Conn | undefined
      for (const c of conns) if (isSubscribed(c) && c.pendingBytes > backpressureBytes) full = c
      if (full === undefined) return Effect.void
      const c = full
      return Effect.flatMap(
        Effect.async<void>((resume) => {
          const cancel = onDrain(c, () => resume(Effect.void))
          return Effect.sync(cancel)
        }),
        () => awaitDrain
      )
    })

    const replay = Effect.gen(function* () {
      yield* clock.begin
      let group = timeline.next()
      while (group !== undefined) {
        takeSessionFaults()
        if (group.pub < fromMs) {
          // Before the replay's start: accumulates day totals, never sent.
          remember(group.events)
          group = timeline.next()
          continue
        }
        if (paced) {
          if (group.pub > burstUntil && (yield* clock.until(group.pub))) continue
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
        if (paced && (yield* clock.until(next.due))) continue
        pendingCorrections.shift()
        clock.published(Math.max(clock.lastPublished() ?? fromMs, next.due))
        correctionsSent.push(next.event.bar)
        publish(next.due, [next.event])
      }
      yield* clock.finish
    })

    /** Connections `c`'s key holds on its cluster, `c` included. */
    const heldByKey = (c: Conn): number => {
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
      return holding
    }

    const hooks: HandshakeHooks<Conn> = {
      authorize: (c, key) => {
        const fault = faults.take((f) => f.kind === "no-auth-reply" || f.kind === "auth-failed")
        if (fault !== undefined) c.faults.push(fault.kind)
        if (fault?.kind === "no-auth-reply") return "silent"
        const refuse = (refused: string | undefined) => {
          // A replay held for this late cluster goes on at once: a refused key does not retry.
          refusedClusters.add(c.cluster)
          clock.poke()
          return { refused }
        }
        if (fault?.kind === "auth-failed" || key === undefined || !acceptsKey(key)) return refuse(undefined)
        if (!entitlements.allows(key, c.cluster))
          return refuse(`this key is not entitled to the /${c.cluster} cluster`)
        return "accept"
      },
      // One account, one connection per cluster by default: past the limit the newest goes.
      authenticated: (c) => {
        const limit = options.maxConnectionsPerCluster
        if (limit !== undefined && heldByKey(c) > limit) {
          c.faults.push("max-connections")
          closeWith(c, "max_connections", MAX_CONNECTIONS)
        }
      },
      refuseChannel: (c, channel, parsed) => {
        const cap = options.maxChannelsPerConnection
        return !parsed.wildcard && cap !== undefined && !c.channels.has(channel) && c.channels.size >= cap
          ? `too many subscriptions: at most ${cap} channels per connection (${channel})`
          : undefined
      },
      subscribed: () => {
        const start = options.start ?? "subscribe"
        if (start === "subscribe") clock.start()
        // A replay of several clusters for one client capturing them all: none starts ahead.
        else if (
          start === "every-cluster" &&
          feeds.every(
            (f) =>
              late.includes(f.cluster) || [...conns].some((o) => o.cluster === f.cluster && isSubscribed(o))
          )
        )
          clock.start()
        clock.poke()
      }
    }

    const onConnection = (ws: WebSocket, cluster: Cluster) => {
      const c: Conn = {
        ...makePeer(ws),
        id: ++nextId,
        cluster,
        authenticated: false,
        key: undefined,
        channels: new Set(),
        wildcards: new Set(),
        dataFrames: 0,
        barsSent: 0,
        dropAfter: undefined,
        faults: []
      }
      conns.add(c)
      history.push(c)
      ws.on("error", () => {})
      ws.on("close", () => {
        c.open = false
        conns.delete(c)
        release(c)
        clock.poke()
      })
      ws.on("message", (data) => handleClientFrame(c, rawText(data), PROTOCOL, hooks, send))
      send(c, statusFrame("connected", "Connected Successfully"))
      const fault = faults.take((f) => f.kind === "max-connections")
      if (fault !== undefined) {
        c.faults.push(fault.kind)
        closeWith(c, "max_connections", MAX_CONNECTIONS)
      }
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

    const controlFaults: ControlHandler = (request) => {
      if (request.method === "GET") return { status: 200, body: faults.pending() }
      if (request.method === "DELETE") {
        faults.clear()
        return { status: 200, body: { status: "OK", pending: 0 } }
      }
      if (request.method !== "POST")
        return badControl(undefined, `Method ${request.method} is not allowed; use GET, POST or DELETE.`)
      const list = decodeControlList(WsFaultRequests, request.body, "a WebSocket fault", WS_FAULT_KINDS)
      if (Either.isLeft(list)) return badControl(undefined, list.left)
      for (const r of list.right) {
        const { times, ...fault } = r
        faults.inject(fault as WsFault, times === undefined ? {} : { times })
      }
      return { status: 200, body: { status: "OK", pending: faults.pending().length } }
    }

    yield* Effect.acquireRelease(
      Effect.sync(() => [
        sim.registerControl("/__sim/ws-faults", controlFaults),
        sim.registerControl("/__sim/ws-stats", (r) =>
          r.method === "GET"
            ? { status: 200, body: stats() }
            : { status: 400, body: { status: "ERROR", error: "use GET" } }
        ),
        sim.registerControl(
          "/__sim/ws-entitlements",
          entitlementsControl(entitlements, Object.values(CLUSTERS))
        )
      ]),
      (removers) =>
        Effect.sync(() => {
          for (const r of removers) r()
        })
    )
    yield* attachWebSocket(sim.server, CLUSTERS, onConnection, () => {
      for (const c of conns) {
        c.ending = true
        c.ws.terminate()
        release(c)
      }
    })
    yield* Effect.forkScoped(replay)
    if (options.start === "now") clock.start()

    return MassiveSocketSim.of({
      url: sim.url.replace(/^http/, "ws"),
      date: options.date,
      speed: options.speed,
      faults,
      entitlements,
      start: Effect.sync(clock.start),
      started: clock.started,
      finished: clock.finished,
      isFinished: clock.isFinished,
      sessionTimeMs: clock.now,
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
