/**
 * MassiveSocket against a real `ws` server on loopback that scripts the protocol. Timeouts and
 * backoff run on the TestClock: the test waits (in real time) until the client has registered the
 * sleep it expects, checks its length, then moves the clock.
 */
import { describe, expect, it } from "@effect/vitest"
import {
  Cause,
  Chunk,
  Deferred,
  Effect,
  Exit,
  Fiber,
  Layer,
  Logger,
  LogLevel,
  Option,
  Queue,
  Redacted,
  Stream,
  TestClock
} from "effect"
import { WebSocket, WebSocketServer, type WebSocket as WsSocket } from "ws"
import { AppConfig, type AppConfigShape } from "../../../src/config/AppConfig.js"
import { VendorAuthError } from "../../../src/domain/errors.js"
import type { StockBar } from "../../../src/domain/StockBar.js"
import type { LiveEvent } from "../../../src/runners/LiveFeed.js"
import { codec } from "../../../src/sources/massive/stockBarsFeed.js"

type SocketEvent = LiveEvent<StockBar>

import { defaults as bookDefaults, defaultThetadata } from "../../../src/config/loadConfig.js"
import * as SchemaDrift from "../../../src/monitor/SchemaDrift.js"
import * as MassiveSocket from "../../../src/sources/massive/MassiveSocket.js"

const KEY = "ws-test-key-SECRET-7f3a"
// Every backoff delay lies in [BASE_MS, MAX_MS]; the client's other timers (the connected grace
// below it, keep-alive checks and the auth timeout above it) never do. TestClock keeps the sleeps
// of interrupted fibers (a handshake's grace that ended early) in its list, so a timer in that
// range could pass for the backoff the tests look for.
const BASE_MS = 1000
const MAX_MS = 4000
const GRACE_MS = 500
const OPTIONS: MassiveSocket.Options = {
  openTimeoutMs: 5000,
  connectedGraceMs: GRACE_MS,
  authTimeoutMs: 5000,
  pingIntervalMs: 25_000,
  deadAfterMs: 60_000,
  keepAliveCheckMs: 5000,
  healthyAfterMs: 30_000,
  highWaterMark: 16
}

const makeConfig = (wsUrl: string, key: string | null = KEY): AppConfigShape => ({
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
    restUrl: "http://127.0.0.1:1",
    wsUrl,
    feed: "realtime",
    apiKey: key === null ? Option.none() : Option.some(Redacted.make(key)),
    adjusted: true,
    rateLimitPerMinute: 0,
    pageLimit: 50_000,
    requestTimeoutMs: 10_000,
    calendarFromApi: false
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
    reconnectBaseDelayMs: BASE_MS,
    reconnectMaxDelayMs: MAX_MS
  }
})

// -- the scripted server --------------------------------------------------------------------------

interface ServerConn {
  /** 1-based connection number. */
  readonly n: number
  readonly ws: WsSocket
  /** Text messages received from the client, in order. */
  readonly received: Array<string>
  pings: number
  closedByClient: boolean
}

interface Script {
  /** Called when a client connects; the default sends `connected`. */
  readonly onConnection?: (c: ServerConn) => void
  /** Called for each client message; the default answers auth and subscribe like the real server. */
  readonly onMessage?: (c: ServerConn, message: { action: string; params: string }) => void
  readonly autoPong?: boolean
}

const send = (c: ServerConn, events: ReadonlyArray<unknown>): void => c.ws.send(JSON.stringify(events))
const status = (s: string, message: string) => ({ ev: "status", status: s, message })

const sendConnected = (c: ServerConn) => send(c, [status("connected", "Connected Successfully")])

/** What the real server does: auth with the right key → auth_success; subscribe → one success per channel. */
const answer = (c: ServerConn, m: { action: string; params: string }): void => {
  if (m.action === "auth") {
    send(
      c,
      m.params === KEY
        ? [status("auth_success", "authenticated")]
        : [status("auth_failed", "authentication failed")]
    )
  } else if (m.action === "subscribe") {
    send(
      c,
      m.params.split(",").map((ch) => status("success", `subscribed to: ${ch}`))
    )
  }
}

const startServer = (script: Script = {}) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly conns: Array<ServerConn>; readonly wss: WebSocketServer }>(
      (resume) => {
        const conns: Array<ServerConn> = []
        const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, autoPong: script.autoPong ?? true })
        wss.on("connection", (ws) => {
          const c: ServerConn = { n: conns.length + 1, ws, received: [], pings: 0, closedByClient: false }
          conns.push(c)
          ws.on("ping", () => {
            c.pings++
          })
          ws.on("close", () => {
            c.closedByClient = true
          })
          ws.on("message", (data) => {
            const text = String(data)
            c.received.push(text)
            ;(script.onMessage ?? answer)(c, JSON.parse(text))
          })
          ;(script.onConnection ?? sendConnected)(c)
        })
        wss.on("listening", () => {
          const address = wss.address()
          const port = typeof address === "object" && address !== null ? address.port : 0
          resume(Effect.succeed({ url: `ws://127.0.0.1:${port}`, conns, wss }))
        })
      }
    ),
    ({ wss }) =>
      Effect.async<void>((resume) => {
        for (const client of wss.clients) client.terminate()
        wss.close(() => resume(Effect.void))
      })
  )

// -- helpers --------------------------------------------------------------------------------------

/** Waits in real time (not on the TestClock) until `cond` holds. */
const waitFor = (cond: () => boolean, what: string, timeoutMs = 5000) =>
  Effect.gen(function* () {
    const until = Date.now() + timeoutMs
    while (!cond()) {
      if (Date.now() > until) return yield* Effect.die(new Error(`timed out waiting for ${what}`))
      yield* Effect.promise(() => new Promise<void>((r) => setTimeout(r, 5)))
    }
  })

/** Real time for in-flight I/O to land. */
const settle = (ms = 50) => Effect.promise(() => new Promise<void>((r) => setTimeout(r, ms)))

/**
 * Waits until the client sleeps until a moment `lo`..`hi` ms from now (TestClock), returns that delay.
 */
const awaitSleep = (lo: number, hi: number, what: string) =>
  Effect.gen(function* () {
    const now = yield* TestClock.currentTimeMillis
    let found: number | undefined
    const until = Date.now() + 5000
    while (found === undefined) {
      const sleeps = yield* TestClock.sleeps()
      found = Chunk.findFirst(sleeps, (at) => at - now >= lo && at - now <= hi).pipe(Option.getOrUndefined)
      if (found !== undefined) break
      if (Date.now() > until) {
        return yield* Effect.die(
          new Error(
            `no sleep of ${lo}..${hi} ms for ${what}; pending: ${Chunk.toArray(sleeps).map((s) => s - now)}`
          )
        )
      }
      yield* settle(5)
    }
    return found - now
  })

const captureLogs = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => {
    lines.push(`${logLevel.label} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
  })
  return {
    lines,
    layer: Layer.merge(Logger.replace(Logger.defaultLogger, logger), Logger.minimumLogLevel(LogLevel.Debug))
  }
}

/** Starts consuming `events` in the background; `seen` fills in order. */
const run = (
  url: string,
  subscriptions: ReadonlyArray<string> = ["A.SPY", "A.QQQ"],
  key: string | null = KEY
) =>
  Effect.gen(function* () {
    const logs = captureLogs()
    const socket = yield* MassiveSocket.MassiveSocket.pipe(
      Effect.provide(
        MassiveSocket.layer(OPTIONS).pipe(Layer.provide(Layer.succeed(AppConfig, makeConfig(url, key))))
      )
    )
    const seen: Array<SocketEvent> = []
    const fiber = yield* socket.events({ cluster: "stocks", subscriptions, codec }).pipe(
      Stream.runForEach((e) => Effect.sync(() => seen.push(e))),
      Effect.provide(logs.layer),
      Effect.forkScoped
    )
    return { seen, fiber, logs: logs.lines }
  })

const tags = (seen: ReadonlyArray<SocketEvent>) => seen.map((e) => e._tag)
const barTs = (seen: ReadonlyArray<SocketEvent>) =>
  seen.flatMap((e) => (e._tag === "Records" ? e.records.map((b) => `${b.symbol}@${b.ts}`) : []))

const agg = (sym: string, s: number) => ({
  ev: "A",
  sym,
  v: 100,
  av: 1000,
  op: 10,
  vw: 10.05,
  o: 10,
  c: 10.1,
  h: 10.2,
  l: 9.9,
  a: 10,
  z: 5,
  s,
  e: s + 1000
})

const AUTH = JSON.stringify({ action: "auth", params: KEY })
const SUBSCRIBE = JSON.stringify({ action: "subscribe", params: "A.SPY,A.QQQ" })

/** Answers auth/subscribe, and once subscribed sends `frames(c)`. */
const streaming = (
  frames: (c: ServerConn) => ReadonlyArray<string>,
  extra: Partial<Script> = {}
): Script => ({
  ...extra,
  onMessage: (c, m) => {
    answer(c, m)
    if (m.action === "subscribe") for (const frame of frames(c)) c.ws.send(frame)
  }
})

// -- tests ----------------------------------------------------------------------------------------

describe("MassiveSocket.Live against a loopback ws server", () => {
  it.scoped("happy path: auth after connected, one subscribe with the exact params, bars in order", () =>
    Effect.gen(function* () {
      const frames = Array.from({ length: 40 }, (_, f) =>
        JSON.stringify([agg("SPY", f * 1000), agg("QQQ", f * 1000)])
      )
      const server = yield* startServer(streaming(() => frames))
      const { seen, logs } = yield* run(server.url)
      yield* waitFor(() => barTs(seen).length === 80, "80 bars")
      yield* settle()

      const c = server.conns[0]!
      expect(server.conns).toHaveLength(1)
      expect(c.received).toEqual([AUTH, SUBSCRIBE])
      expect(seen[0]).toMatchObject({ _tag: "Connected", attempt: 1 })
      expect(barTs(seen)).toEqual(frames.flatMap((_, f) => [`SPY@${f * 1000}`, `QQQ@${f * 1000}`]))
      const firstBars = seen.find((e) => e._tag === "Records")
      expect(firstBars).toMatchObject({
        _tag: "Records",
        records: [
          {
            symbol: "SPY",
            ts: 0,
            open: 10,
            high: 10.2,
            low: 9.9,
            close: 10.1,
            volume: 100,
            vwap: 10.05,
            trades: null
          },
          { symbol: "QQQ" }
        ]
      })
      // subscribe confirmations are reported, nothing is Rejected or Disconnected
      expect(seen.filter((e) => e._tag === "Status").map((e) => (e as { message: string }).message)).toEqual([
        "subscribed to: A.SPY",
        "subscribed to: A.QQQ"
      ])
      expect(tags(seen)).not.toContain("Rejected")
      expect(tags(seen)).not.toContain("Disconnected")
      expect(logs.some((l) => l.startsWith("INFO") && l.includes("connected (attempt 1)"))).toBe(true)
      expect(logs.join("\n")).not.toContain(KEY)
    })
  )

  it.scoped(
    "receivedAt is when a frame came off the socket, not when a busy consumer got to it (Clock)",
    () =>
      Effect.gen(function* () {
        const server = yield* startServer(streaming(() => [JSON.stringify([agg("SPY", 0)])]))
        const socket = yield* MassiveSocket.MassiveSocket.pipe(
          Effect.provide(
            MassiveSocket.layer(OPTIONS).pipe(Layer.provide(Layer.succeed(AppConfig, makeConfig(server.url))))
          )
        )
        const seen: Array<SocketEvent> = []
        const busy = yield* Deferred.make<void>()
        // The consumer stops pulling after the first bars (a pipeline held up by a flush).
        yield* socket.events({ cluster: "stocks", subscriptions: ["A.SPY"], codec }).pipe(
          Stream.runForEach((e) =>
            Effect.sync(() => seen.push(e)).pipe(
              Effect.zipRight(
                e._tag === "Records" && barTs(seen).length === 1 ? Deferred.await(busy) : Effect.void
              )
            )
          ),
          Effect.provide(Logger.minimumLogLevel(LogLevel.None)),
          Effect.forkScoped
        )
        yield* waitFor(() => barTs(seen).length === 1, "the first bars")
        // Two more frames come off the socket, at 5 s and 6 s (the stream reads one chunk ahead of
        // its consumer, so the second waits in the client); the consumer gets to them at 9 s.
        yield* TestClock.setTime(5000)
        send(server.conns[0]!, [agg("SPY", 1000)])
        yield* settle()
        yield* TestClock.setTime(6000)
        send(server.conns[0]!, [agg("SPY", 2000)])
        yield* settle()
        yield* TestClock.setTime(9000)
        yield* Deferred.succeed(busy, undefined)
        yield* waitFor(() => barTs(seen).length === 3, "the later bars")
        expect(seen.filter((e) => e._tag === "Records").map((e) => e.receivedAt)).toEqual([0, 5000, 6000])
      })
  )

  it.scoped(
    "back-pressure: a slow consumer pauses the socket; 3000 frames arrive complete and in order",
    () =>
      Effect.gen(function* () {
        const frames = Array.from({ length: 3000 }, (_, f) => JSON.stringify([agg("SPY", f)]))
        // count the client's pause/resume calls on the ws socket
        const calls = { pause: 0, resume: 0 }
        const { pause, resume } = WebSocket.prototype
        yield* Effect.acquireRelease(
          Effect.sync(() => {
            WebSocket.prototype.pause = function (this: WebSocket) {
              calls.pause++
              pause.call(this)
            }
            WebSocket.prototype.resume = function (this: WebSocket) {
              calls.resume++
              resume.call(this)
            }
          }),
          () =>
            Effect.sync(() => {
              WebSocket.prototype.pause = pause
              WebSocket.prototype.resume = resume
            })
        )
        const server = yield* startServer(streaming(() => frames))
        const socket = yield* MassiveSocket.MassiveSocket.pipe(
          Effect.provide(
            MassiveSocket.layer(OPTIONS).pipe(Layer.provide(Layer.succeed(AppConfig, makeConfig(server.url))))
          )
        )
        const seen: Array<SocketEvent> = []
        let slow = 20
        yield* socket.events({ cluster: "stocks", subscriptions: ["A.SPY"], codec }).pipe(
          // the first pulls are slow (real time), so frames pile up past the high-water mark
          Stream.runForEach((e) =>
            Effect.zipRight(
              slow-- > 0 ? settle(10) : Effect.void,
              Effect.sync(() => seen.push(e))
            )
          ),
          Effect.provide(Logger.minimumLogLevel(LogLevel.None)),
          Effect.forkScoped
        )
        yield* waitFor(() => barTs(seen).length === 3000, "3000 bars", 20_000)
        expect(barTs(seen)).toEqual(frames.map((_, f) => `SPY@${f}`))
        expect(server.conns).toHaveLength(1)
        expect(calls.pause).toBeGreaterThan(0)
        expect(calls.resume).toBe(calls.pause)
      })
  )

  it.scoped("sends auth even when `connected` arrives late (after the grace period on the Clock)", () =>
    Effect.gen(function* () {
      const server = yield* startServer({
        onConnection: () => {},
        onMessage: (c, m) => {
          if (m.action === "auth") sendConnected(c)
          answer(c, m)
        }
      })
      const { seen } = yield* run(server.url)
      yield* waitFor(() => server.conns.length === 1, "a connection")
      const grace = yield* awaitSleep(GRACE_MS, GRACE_MS, "the connected grace period")
      expect(grace).toBe(GRACE_MS)
      yield* settle()
      expect(server.conns[0]!.received).toEqual([]) // still waiting for `connected`
      yield* TestClock.adjust(GRACE_MS)
      yield* waitFor(() => seen.some((e) => e._tag === "Connected"), "Connected")
      yield* waitFor(() => server.conns[0]!.received.length === 2, "the subscribe")
      expect(server.conns[0]!.received).toEqual([AUTH, SUBSCRIBE])
      expect(tags(seen).filter((t) => t === "Disconnected")).toEqual([])
    })
  )

  it.scoped("auth_failed fails the stream with VendorAuthError and never reconnects", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      const { fiber, seen, logs } = yield* run(server.url, ["A.SPY"], "wrong-key-SECRET")
      const exit = yield* Fiber.await(fiber)
      const error = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      expect(Option.getOrUndefined(error)).toBeInstanceOf(VendorAuthError)
      expect(Option.getOrThrow(error).detail).toBe("WebSocket auth_failed: authentication failed")
      yield* TestClock.adjust(MAX_MS * 4)
      yield* settle(100)
      expect(server.conns).toHaveLength(1)
      expect(server.conns[0]!.received).toEqual([
        JSON.stringify({ action: "auth", params: "wrong-key-SECRET" })
      ])
      expect(tags(seen)).toEqual([])
      expect(logs.join("\n")).not.toContain("wrong-key-SECRET")
    })
  )

  it.scoped(
    "server never answers auth: after the auth timeout, Disconnected, backoff, reconnect, re-auth",
    () =>
      Effect.gen(function* () {
        const server = yield* startServer({
          onMessage: (c, m) => {
            if (c.n > 1) answer(c, m) // the first connection ignores auth
          }
        })
        const { seen } = yield* run(server.url)
        yield* waitFor(() => server.conns[0]?.received.length === 1, "auth on connection 1")
        expect(yield* awaitSleep(5000, 5000, "the auth timeout")).toBe(5000)
        yield* TestClock.adjust(5000)
        yield* waitFor(() => seen.some((e) => e._tag === "Disconnected"), "Disconnected")
        expect(seen[0]).toMatchObject({ _tag: "Disconnected", reason: "no auth reply within 5000 ms" })
        const delay = yield* awaitSleep(BASE_MS, BASE_MS * 1.5, "the reconnect backoff")
        yield* waitFor(() => server.conns[0]!.closedByClient, "connection 1 closed by the client")
        expect(server.conns).toHaveLength(1)
        yield* TestClock.adjust(delay)
        yield* waitFor(() => seen.some((e) => e._tag === "Connected"), "Connected")
        expect(server.conns).toHaveLength(2)
        // `Connected` is emitted right after the subscribe is sent: wait for the server to read it.
        yield* waitFor(() => server.conns[1]!.received.length === 2, "subscribe on connection 2")
        expect(server.conns[1]!.received).toEqual([AUTH, SUBSCRIBE])
        expect(seen.find((e) => e._tag === "Connected")).toMatchObject({ attempt: 2 })
      })
  )

  it.scoped(
    "connection dropped mid-stream: Disconnected, backoff on the Clock, reconnect, re-auth, re-subscribe, data continues",
    () =>
      Effect.gen(function* () {
        const server = yield* startServer(
          streaming((c) =>
            c.n === 1
              ? [JSON.stringify([agg("SPY", 0)]), JSON.stringify([agg("SPY", 1000)])]
              : [JSON.stringify([agg("SPY", 2000)]), JSON.stringify([agg("SPY", 3000)])]
          )
        )
        const { seen, logs } = yield* run(server.url)
        yield* waitFor(() => barTs(seen).length === 2, "the first two bars")
        server.conns[0]!.ws.terminate() // TCP drop, no close frame
        yield* waitFor(() => seen.some((e) => e._tag === "Disconnected"), "Disconnected")
        const disconnected = seen.find((e) => e._tag === "Disconnected")
        expect(disconnected).toMatchObject({ reason: "connection closed (code 1006)" })

        const delay = yield* awaitSleep(BASE_MS, BASE_MS * 1.5, "the reconnect backoff")
        yield* TestClock.adjust(delay - 1)
        yield* settle()
        expect(server.conns).toHaveLength(1) // not before the delay
        yield* TestClock.adjust(1)
        yield* waitFor(() => barTs(seen).length === 4, "the bars of connection 2")

        expect(server.conns).toHaveLength(2)
        for (const c of server.conns) expect(c.received).toEqual([AUTH, SUBSCRIBE])
        expect(barTs(seen)).toEqual(["SPY@0", "SPY@1000", "SPY@2000", "SPY@3000"])
        expect(
          tags(seen).filter((t) => t === "Connected" || t === "Disconnected" || t === "Records")
        ).toEqual(["Connected", "Records", "Records", "Disconnected", "Connected", "Records", "Records"])
        expect(
          seen.filter((e) => e._tag === "Connected").map((e) => (e as { attempt: number }).attempt)
        ).toEqual([1, 2])
        const text = logs.join("\n")
        expect(text).toMatch(
          /WARN Massive WebSocket \/stocks disconnected \(attempt 1\): connection closed \(code 1006\)/
        )
        expect(text).toContain(`reconnecting in ${delay} ms (attempt 2)`)
        expect(text).not.toContain(KEY)
      })
  )

  it.scoped("backoff grows while connections keep failing, capped at the max", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ onConnection: (c) => c.ws.terminate() })
      const { seen } = yield* run(server.url)
      const delays: Array<number> = []
      for (let i = 1; i <= 5; i++) {
        yield* waitFor(() => seen.filter((e) => e._tag === "Disconnected").length === i, `Disconnected ${i}`)
        const expected = Math.min(MAX_MS, BASE_MS * 2 ** (i - 1))
        const delay = yield* awaitSleep(
          Math.max(BASE_MS, expected / 2),
          Math.min(MAX_MS, expected * 1.5),
          `backoff ${i}`
        )
        delays.push(delay)
        yield* TestClock.adjust(delay)
      }
      expect(server.conns.length).toBeGreaterThanOrEqual(5)
      expect(delays.every((d) => d >= BASE_MS && d <= MAX_MS)).toBe(true)
      expect(delays[4]!).toBeGreaterThanOrEqual(MAX_MS / 2)
    })
  )

  it.scoped(
    "malformed and non-array frames become Rejected, unknown ev becomes Unknown, good bars still flow",
    () =>
      Effect.gen(function* () {
        const server = yield* startServer(
          streaming(() => [
            "this is not json",
            JSON.stringify(agg("SPY", 0)),
            JSON.stringify([{ ...agg("SPY", 1000), h: "10.2" }, agg("SPY", 2000)]),
            JSON.stringify([
              { ev: "T", sym: "SPY", p: 1, s: 1, t: 1 },
              { ev: "T", sym: "SPY", p: 2, s: 1, t: 2 }
            ]),
            JSON.stringify([agg("SPY", 3000)])
          ])
        )
        const { seen } = yield* run(server.url)
        yield* waitFor(() => barTs(seen).length === 2, "two good bars")
        const rejected = seen.flatMap((e) => (e._tag === "Rejected" ? e.rejected : []))
        expect(rejected.map((r) => r.reason)).toEqual([
          "frame is not JSON",
          "frame is not a JSON array",
          "A event SPY (s=1000) field h is string, expected a number"
        ])
        expect(rejected[0]!.record).toEqual({ frame: "this is not json" })
        expect(seen.filter((e) => e._tag === "Unknown")).toEqual([
          {
            _tag: "Unknown",
            ev: "T",
            count: 2,
            sample: JSON.stringify({ ev: "T", sym: "SPY", p: 1, s: 1, t: 1 })
          }
        ])
        expect(barTs(seen)).toEqual(["SPY@2000", "SPY@3000"])
        expect(tags(seen)).not.toContain("Disconnected")
      })
  )

  it.scoped(
    "max_connections: Status event, the client closes, Disconnected, reconnect only after the max delay",
    () =>
      Effect.gen(function* () {
        const server = yield* startServer(
          streaming((c) =>
            c.n === 1
              ? [
                  JSON.stringify([agg("SPY", 0)]),
                  // the server does not close: the client must
                  JSON.stringify([status("max_connections", "Maximum number of connections exceeded.")])
                ]
              : [JSON.stringify([agg("SPY", 1000)])]
          )
        )
        const { seen, logs } = yield* run(server.url)
        yield* waitFor(() => seen.some((e) => e._tag === "Disconnected"), "Disconnected")
        yield* waitFor(() => server.conns[0]!.closedByClient, "connection 1 closed by the client")
        const statusEvent = seen.find((e) => e._tag === "Status" && e.status === "max_connections")
        expect(statusEvent).toMatchObject({ message: "Maximum number of connections exceeded." })
        expect(seen.find((e) => e._tag === "Disconnected")).toMatchObject({
          reason: "status max_connections: Maximum number of connections exceeded."
        })
        expect(yield* awaitSleep(MAX_MS, MAX_MS, "the max backoff")).toBe(MAX_MS)
        yield* TestClock.adjust(MAX_MS - 1)
        yield* settle()
        expect(server.conns).toHaveLength(1)
        yield* TestClock.adjust(1)
        yield* waitFor(() => barTs(seen).length === 2, "the bar of connection 2")
        expect(server.conns[1]!.received).toEqual([AUTH, SUBSCRIBE])
        expect(
          logs.some((l) => l.startsWith("WARN") && l.includes("another client is using this account"))
        ).toBe(true)
      })
  )

  it.scoped(
    "channels taken over: subscribed at once on the open connection, and with the others after a reconnect",
    () =>
      Effect.gen(function* () {
        const server = yield* startServer()
        const socket = yield* MassiveSocket.MassiveSocket.pipe(
          Effect.provide(
            MassiveSocket.layer(OPTIONS).pipe(Layer.provide(Layer.succeed(AppConfig, makeConfig(server.url))))
          )
        )
        const more = yield* Queue.unbounded<ReadonlyArray<string>>()
        const seen: Array<SocketEvent> = []
        yield* socket.events({ cluster: "stocks", subscriptions: ["A.SPY", "A.QQQ"], codec, more }).pipe(
          Stream.runForEach((e) => Effect.sync(() => seen.push(e))),
          Effect.forkScoped
        )
        yield* waitFor(() => server.conns[0]?.received.length === 2, "the first subscribe")
        yield* Queue.offer(more, ["A.IWM", "A.DIA"])
        yield* waitFor(
          () => server.conns[0]!.received.length === 3,
          "the subscribe of the channels taken over"
        )
        expect(server.conns[0]!.received).toEqual([
          AUTH,
          SUBSCRIBE,
          JSON.stringify({ action: "subscribe", params: "A.IWM,A.DIA" })
        ])
        server.conns[0]!.ws.terminate()
        yield* waitFor(() => seen.some((e) => e._tag === "Disconnected"), "Disconnected")
        yield* TestClock.adjust(yield* awaitSleep(BASE_MS, MAX_MS, "the backoff"))
        yield* waitFor(() => server.conns[1]?.received.length === 2, "the subscribe after the reconnect")
        expect(server.conns[1]!.received).toEqual([
          AUTH,
          JSON.stringify({ action: "subscribe", params: "A.SPY,A.QQQ,A.IWM,A.DIA" })
        ])
      })
  )

  it.scoped("slow_consumer: Status, Disconnected, reconnect after the ordinary backoff", () =>
    Effect.gen(function* () {
      const server = yield* startServer(
        streaming((c) => {
          if (c.n === 1) {
            setTimeout(() => c.ws.close(1008, "slow consumer"), 20)
            return [JSON.stringify([agg("SPY", 0), status("slow_consumer", "client is too slow")])]
          }
          return [JSON.stringify([agg("SPY", 1000)])]
        })
      )
      const { seen } = yield* run(server.url)
      yield* waitFor(() => seen.some((e) => e._tag === "Disconnected"), "Disconnected")
      expect(tags(seen).slice(0, 3)).toEqual(["Connected", "Status", "Status"]) // subscription confirmations
      const i = seen.findIndex((e) => e._tag === "Status" && e.status === "slow_consumer")
      expect(seen[i - 1]).toMatchObject({ _tag: "Records" })
      expect(seen[i + 1]).toMatchObject({
        _tag: "Disconnected",
        reason: "status slow_consumer: client is too slow"
      })
      const delay = yield* awaitSleep(BASE_MS, BASE_MS * 1.5, "the reconnect backoff")
      yield* TestClock.adjust(delay)
      yield* waitFor(() => barTs(seen).length === 2, "the bar of connection 2")
      expect(barTs(seen)).toEqual(["SPY@0", "SPY@1000"])
    })
  )

  it.scoped("keep-alive: pings every 25 s; a pong keeps a quiet connection alive", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      const { seen } = yield* run(server.url)
      yield* waitFor(() => seen.some((e) => e._tag === "Connected"), "Connected")
      for (let t = 0; t < 90_000; t += 5000) {
        yield* TestClock.adjust(5000)
        yield* settle(10)
      }
      expect(server.conns[0]!.pings).toBe(3)
      expect(tags(seen)).not.toContain("Disconnected")
    })
  )

  it.scoped("keep-alive: no frame and no pong for 60 s counts as dead: Disconnected and reconnect", () =>
    Effect.gen(function* () {
      const server = yield* startServer({ autoPong: false })
      const { seen } = yield* run(server.url)
      yield* waitFor(() => seen.some((e) => e._tag === "Connected"), "Connected")
      yield* settle()
      for (let t = 0; t < 70_000 && !seen.some((e) => e._tag === "Disconnected"); t += 5000) {
        yield* TestClock.adjust(5000)
        yield* settle(10)
      }
      yield* waitFor(() => seen.some((e) => e._tag === "Disconnected"), "Disconnected")
      expect(server.conns[0]!.pings).toBe(2)
      expect(seen.find((e) => e._tag === "Disconnected")).toMatchObject({
        reason: "no frame and no pong for 60000 ms"
      })
      const delay = yield* awaitSleep(BASE_MS, BASE_MS * 1.5, "the reconnect backoff")
      yield* TestClock.adjust(delay)
      yield* waitFor(() => seen.filter((e) => e._tag === "Connected").length === 2, "Connected again")
    })
  )

  it.scoped("nothing listening: Disconnected with the reason, then retries", () =>
    Effect.gen(function* () {
      const { seen } = yield* run("ws://127.0.0.1:1")
      yield* waitFor(() => seen.some((e) => e._tag === "Disconnected"), "Disconnected")
      expect((seen[0] as { reason: string }).reason).toMatch(/^could not connect: .*ECONNREFUSED/)
      const delay = yield* awaitSleep(BASE_MS, BASE_MS * 1.5, "the reconnect backoff")
      yield* TestClock.adjust(delay)
      yield* waitFor(() => seen.filter((e) => e._tag === "Disconnected").length === 2, "a second attempt")
    })
  )

  it.scoped("no API key: fails with VendorAuthError without connecting", () =>
    Effect.gen(function* () {
      const server = yield* startServer()
      const { fiber } = yield* run(server.url, ["A.SPY"], null)
      const exit = yield* Fiber.await(fiber)
      const error = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      expect(Option.getOrUndefined(error)).toBeInstanceOf(VendorAuthError)
      yield* settle()
      expect(server.conns).toHaveLength(0)
    })
  )
})

describe("MassiveSocket.Live with a SchemaDrift service", () => {
  it.scoped(
    "frames carrying the vendor's new dv and dav report one drift per field, and the bars still flow",
    () =>
      Effect.gen(function* () {
        const frames = Array.from({ length: 20 }, (_, f) =>
          JSON.stringify([{ ...agg("SPY", f * 1000), dv: "100.5", dav: "1000.5" }, agg("QQQ", f * 1000)])
        )
        const server = yield* startServer(streaming(() => frames))
        const observed: Array<{ source: string; drift: ReadonlyArray<string> }> = []
        const drift = Layer.succeed(
          SchemaDrift.SchemaDrift,
          SchemaDrift.SchemaDrift.of({
            observe: (source, shape, sample) =>
              Effect.sync(() =>
                observed.push({
                  source,
                  drift: SchemaDrift.diffRecord(shape, sample as Record<string, unknown>).map(
                    (d) => `${d.kind} ${d.field}`
                  )
                })
              )
          })
        )
        const socket = yield* MassiveSocket.MassiveSocket.pipe(
          Effect.provide(
            MassiveSocket.layer(OPTIONS).pipe(
              Layer.provide(Layer.merge(Layer.succeed(AppConfig, makeConfig(server.url)), drift))
            )
          )
        )
        const seen: Array<SocketEvent> = []
        yield* socket.events({ cluster: "stocks", subscriptions: ["A.SPY", "A.QQQ"], codec }).pipe(
          Stream.runForEach((e) => Effect.sync(() => seen.push(e))),
          Effect.forkScoped
        )
        yield* waitFor(() => barTs(seen).length === 40, "40 bars")
        // Sampled (at most every 100 ms of receive time on the Clock, which stands still here): the
        // first aggregate, with its new fields.
        expect(observed).toEqual([
          { source: MassiveSocket.WS_AGGREGATES_SOURCE, drift: ["new dv", "new dav"] }
        ])
      })
  )
})

describe("MassiveSocket.reconnectDelayMs", () => {
  it("doubles from the base, jitters 50-150 %, stays within [base, max]", () => {
    expect(MassiveSocket.reconnectDelayMs(1, 1000, 30_000, 0.5)).toBe(1000)
    expect(MassiveSocket.reconnectDelayMs(2, 1000, 30_000, 0.5)).toBe(2000)
    expect(MassiveSocket.reconnectDelayMs(4, 1000, 30_000, 0.5)).toBe(8000)
    expect(MassiveSocket.reconnectDelayMs(4, 1000, 30_000, 0)).toBe(4000)
    expect(MassiveSocket.reconnectDelayMs(4, 1000, 30_000, 0.999)).toBe(11_992)
    expect(MassiveSocket.reconnectDelayMs(1, 1000, 30_000, 0)).toBe(1000)
    expect(MassiveSocket.reconnectDelayMs(50, 1000, 30_000, 0.9)).toBe(30_000)
  })
})

describe("MassiveSocket.Test", () => {
  it.effect("replays frames, disconnects and pauses as Live would decode them", () =>
    Effect.gen(function* () {
      const layer = MassiveSocket.Test([
        JSON.stringify([agg("SPY", 0)]),
        "garbage",
        { disconnect: "connection closed (code 1006)" },
        { sleepMs: 1000 },
        JSON.stringify([agg("SPY", 1000)])
      ])
      const socket = yield* Effect.provide(MassiveSocket.MassiveSocket, layer)
      const fiber = yield* Effect.fork(
        Stream.runCollect(socket.events({ cluster: "stocks", subscriptions: [], codec }))
      )
      yield* TestClock.adjust(1000)
      const events = Chunk.toArray(yield* Fiber.join(fiber))
      expect(tags(events)).toEqual([
        "Connected",
        "Records",
        "Rejected",
        "Disconnected",
        "Connected",
        "Records"
      ])
      expect(events[4]).toMatchObject({ attempt: 2 })
      expect(events[5]).toMatchObject({ receivedAt: 1000 })
    })
  )

  it.effect("authFailed fails the stream", () =>
    Effect.gen(function* () {
      const socket = yield* Effect.provide(
        MassiveSocket.MassiveSocket,
        MassiveSocket.Test([{ authFailed: "bad key" }])
      )
      const error = yield* Effect.flip(
        Stream.runDrain(socket.events({ cluster: "stocks", subscriptions: [], codec }))
      )
      expect(error).toBeInstanceOf(VendorAuthError)
    })
  )
})
