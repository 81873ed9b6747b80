/**
 * MassiveSocket: the Massive (formerly Polygon.io) WebSocket feed. `Live` speaks the protocol
 * (connected → auth → auth_success → subscribe), reconnects with backoff for as long as the
 * stream is consumed, and re-subscribes after every reconnect; `Test` replays scripted frames.
 */
import { Socket } from "@effect/platform"
import {
  type Cause,
  Chunk,
  Clock,
  Context,
  Data,
  Deferred,
  Duration,
  Effect,
  Exit,
  Layer,
  Mailbox,
  Option,
  Queue,
  Random,
  Redacted,
  Stream
} from "effect"
import * as WS from "ws"
import { AppConfig } from "../../config/AppConfig.js"
import { VendorAuthError } from "../../domain/errors.js"
import * as SchemaDrift from "../../monitor/SchemaDrift.js"
import type { LiveEvent } from "../../runners/LiveFeed.js"
import * as FrameDecoder from "./FrameDecoder.js"
import type { AggregateCodec } from "./wsWire.js"
import * as Wire from "./wsWire.js"

export type Cluster = "stocks" | "options" | "indices"

/** What comes off the socket: the generic live events, carrying records of the subscriber's dataset. */
export type SocketEvent<A> = LiveEvent<A>

export interface SubscribeRequest<A> {
  readonly cluster: Cluster
  /** Channels as the protocol writes them, e.g. "A.SPY". */
  readonly subscriptions: ReadonlyArray<string>
  /** How the dataset reads the aggregates of these channels. */
  readonly codec: AggregateCodec<A>
  /**
   * Channels this connection takes over while it runs (from another connection of the same feed):
   * each batch is subscribed at once on the open connection, and with the others after every reconnect.
   */
  readonly more?: Queue.Dequeue<ReadonlyArray<string>>
}

export interface MassiveSocketShape {
  /**
   * Connects and streams events until the consumer stops. Never ends by itself: connection
   * losses become `Disconnected` events followed by a reconnect. Fails only on `auth_failed`
   * (a wrong key is not retried).
   */
  readonly events: <A>(request: SubscribeRequest<A>) => Stream.Stream<SocketEvent<A>, VendorAuthError>
}

export class MassiveSocket extends Context.Tag("tapehouse/MassiveSocket")<
  MassiveSocket,
  MassiveSocketShape
>() {}

// ---------------------------------------------------------------------------------------------
// Implementation
//
// One connection attempt is one "round": (back off) → open → handshake → data → `Disconnected`.
// `Stream.forever` repeats rounds; each round's scope owns its socket, so the socket is closed before
// the next round sleeps. The only failure that leaves the stream is `VendorAuthError`.
//
// Order and back-pressure. `socket.runRaw`'s handler is called synchronously from the socket's
// `message` listener, in arrival order; it offers the frame text synchronously (`unsafeOffer`) to a
// per-connection `Mailbox`, stamped with the time it came off the socket (its `receivedAt`, however
// long it then waits for the consumer), and returns nothing (a handler that returned an Effect would
// be forked, losing order). The mailbox has no capacity of its own (a full bounded mailbox would
// drop on `unsafeOffer`); instead the client stops reading the TCP socket (`ws.pause()`) once
// `highWaterMark` frames are waiting, and resumes when the consumer has taken them. Frames already read from the
// socket when it pauses are still delivered, so the memory held is bounded by `highWaterMark` frames
// plus one socket read, and nothing is ever dropped; while paused the kernel and then the server
// buffer, and a server that gives up sends `slow_consumer` (handled as a disconnect). The stream
// decodes each pulled chunk of frames synchronously (`Stream.mapChunks`, one `JSON.parse` per frame).
//
// Why `ws` directly rather than `NodeSocket.layerWebSocketConstructor`: that layer picks
// `globalThis.WebSocket` when it exists (Node ≥ 22), which has neither `ping()` nor `pause()`, so
// neither the keep-alive ping nor TCP back-pressure would be possible there. The socket itself is
// still `Socket.makeWebSocket` from @effect/platform; only its constructor is `ws` (what NodeSocket
// uses on Node 20 anyway), wrapped to keep a handle on the instance.
// ---------------------------------------------------------------------------------------------

const vendor = "Massive"

/** `ws` client options; `closeTimeout` (ws ≥ 8.18) is missing from @types/ws 8.18. */
const wsOptions: WS.ClientOptions & { readonly closeTimeout: number } = { closeTimeout: 2_000 }

/** Timings and limits of the Live client. The defaults suit the real feed; tests shrink them. */
export interface Options {
  /** TCP + WebSocket handshake. */
  readonly openTimeoutMs?: number
  /** How long to wait for the `connected` status before sending `auth` anyway. */
  readonly connectedGraceMs?: number
  /** `auth` sent, no `auth_success` within this: a failed connection (reconnect). */
  readonly authTimeoutMs?: number
  /** A WebSocket ping this often (the Go client uses 25 s). */
  readonly pingIntervalMs?: number
  /**
   * No frame, ping or pong for this long: the connection is dead (reconnect). Checked every
   * `keepAliveCheckMs`, so it is noticed within `deadAfterMs + keepAliveCheckMs`.
   */
  readonly deadAfterMs?: number
  /** How often the keep-alive fiber looks at the connection. */
  readonly keepAliveCheckMs?: number
  /** A connection that stayed subscribed this long resets the backoff. */
  readonly healthyAfterMs?: number
  /** Frames waiting for the consumer before the client stops reading the socket. */
  readonly highWaterMark?: number
}

export const defaultOptions: Required<Options> = {
  openTimeoutMs: 10_000,
  connectedGraceMs: 2_000,
  authTimeoutMs: 10_000,
  pingIntervalMs: 25_000,
  deadAfterMs: 60_000,
  keepAliveCheckMs: 5_000,
  healthyAfterMs: 30_000,
  highWaterMark: 1_000
}

/**
 * Delay before reconnect number `failures` (1 = first after a loss): exponential from `baseMs`,
 * jittered to 50–150 % by `random` (in [0, 1)), kept within [baseMs, maxMs].
 */
export const reconnectDelayMs = (failures: number, baseMs: number, maxMs: number, random: number): number => {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(0, failures - 1), 30))
  return Math.round(Math.min(maxMs, Math.max(baseMs, exponential * (0.5 + random))))
}

/** The connection is over; `events` (statuses seen during the handshake) go out before `Disconnected`. */
class ConnectionLost extends Data.TaggedError("ConnectionLost")<{
  readonly reason: string
  /** `max_connections`: wait the maximum delay before the next attempt. */
  readonly maxDelay: boolean
  readonly events: ReadonlyArray<SocketEvent<unknown>>
}> {}

/** Raised by the keep-alive fiber: nothing received (frame, ping, pong) for too long. */
class ConnectionDead extends Data.TaggedError("ConnectionDead")<{ readonly idleMs: number }> {}

type StatusEvent = Extract<SocketEvent<never>, { readonly _tag: "Status" }>
type ReadError = Socket.SocketError | ConnectionDead

/** A frame's text and when it came off the socket (epoch ms): its `receivedAt`, whenever it is decoded. */
interface Arrived {
  readonly text: string
  readonly at: number
}

interface Connection {
  readonly mailbox: Mailbox.Mailbox<Arrived, ReadError>
  /** Done when the socket is open, or failed when it could not open. */
  readonly opened: Deferred.Deferred<void, Socket.SocketError>
  write: (text: string) => Effect.Effect<void, Socket.SocketError>
  ws: WS.WebSocket | undefined
  /** Frames offered and not yet taken by the consumer. */
  pending: number
  paused: boolean
  /** Something arrived since the keep-alive fiber last looked. */
  activity: boolean
  /** A disconnect status (`max_connections` …) ended the connection. */
  stop: StatusEvent | undefined
  /** Why reading failed, once it has. */
  error: string | undefined
}

const causeText = (cause: unknown): string => {
  if (typeof cause === "object" && cause !== null && "message" in cause) {
    const message = (cause as { readonly message: unknown }).message
    if (typeof message === "string" && message !== "") return message
  }
  return typeof cause === "string" ? cause : "unknown error"
}

const describeError = (e: ReadError | Cause.NoSuchElementException, t: Required<Options>): string => {
  if (e._tag === "ConnectionDead") return `no frame and no pong for ${e.idleMs} ms`
  if (e._tag === "NoSuchElementException") return "connection ended"
  if (e.reason === "Close") {
    return `connection closed (code ${e.code}${e.closeReason ? `: ${e.closeReason}` : ""})`
  }
  if (e.reason === "OpenTimeout") return `could not connect within ${t.openTimeoutMs} ms`
  if (e.reason === "Open") return `could not connect: ${causeText(e.cause)}`
  return `${e.reason.toLowerCase()} error: ${causeText(e.cause)}`
}

const isDisconnectStatus = (e: SocketEvent<unknown>): e is StatusEvent =>
  e._tag === "Status" && Wire.disconnectStatuses.has(e.status)

/**
 * A disconnect status (`max_connections` …): start the close handshake. Frames the server sent before
 * its close frame are still delivered, in order; the read side then ends with the close, and the
 * round reports the status as the reason.
 */
const noteStop = (conn: Connection, e: StatusEvent): void => {
  if (conn.stop !== undefined) return
  conn.stop = e
  if (conn.ws !== undefined) conn.ws.close(1000, "disconnect status received")
  else conn.mailbox.unsafeDone(Exit.void)
}

/** The consumer took `n` frames: resume reading once half the high-water mark is free again. */
const taken = (conn: Connection, n: number, highWaterMark: number): void => {
  conn.pending -= n
  if (conn.paused && conn.pending <= highWaterMark / 2) {
    conn.paused = false
    conn.ws?.resume()
  }
}

/** A connection's frames are sampled for schema drift at most this often (the first of a chunk). */
export const DRIFT_SAMPLE_EVERY_MS = 100

/** The names schema drift of WebSocket aggregates is reported under. */
export const WS_AGGREGATES_SOURCE = "massive-ws-aggregates"
export const WS_INDEX_AGGREGATES_SOURCE = "massive-ws-index-aggregates"
const aggregateEventShape = SchemaDrift.shapeOf(Wire.AggregateEvent)
const indexEventShape = SchemaDrift.shapeOf(Wire.IndexAggregateEvent)

/** The first event object of a frame (`[{...},...]`), parsed alone; undefined when it is not one. */
export const firstEventOf = (frame: string): Record<string, unknown> | undefined => {
  const start = frame.indexOf("{")
  const end = start < 0 ? -1 : frame.indexOf("}", start)
  if (end < 0) return undefined
  try {
    const event: unknown = JSON.parse(frame.slice(start, end + 1))
    return typeof event === "object" && event !== null ? (event as Record<string, unknown>) : undefined
  } catch {
    // A `}` inside a string value: not worth a full parse for a sample.
    return undefined
  }
}

export const makeWith = (
  options: Options = {}
): Effect.Effect<MassiveSocketShape, never, AppConfig | Socket.WebSocketConstructor> =>
  Effect.gen(function* () {
    const t: Required<Options> = { ...defaultOptions, ...options }
    const { massive, retry } = yield* AppConfig
    const construct = yield* Socket.WebSocketConstructor
    const baseUrl = massive.wsUrl.replace(/\/+$/, "")
    const baseDelay = Math.max(0, retry.reconnectBaseDelayMs)
    const maxDelay = Math.max(baseDelay, retry.reconnectMaxDelayMs)
    const decoder = new TextDecoder()
    const drift = yield* Effect.serviceOption(SchemaDrift.SchemaDrift)
    /**
     * The first event of a chunk's first frame through the schema drift check; undefined when there
     * is no check or the event is not an aggregate (a status), which does not count as a sample.
     */
    const observeFrame = (frame: string): Effect.Effect<void> | undefined => {
      if (Option.isNone(drift)) return undefined
      const sample = firstEventOf(frame)
      if (sample === undefined || (sample.ev !== "A" && sample.ev !== "AM")) return undefined
      const index = typeof sample.sym === "string" && sample.sym.startsWith("I:")
      return drift.value.observe(
        index ? WS_INDEX_AGGREGATES_SOURCE : WS_AGGREGATES_SOURCE,
        index ? indexEventShape : aggregateEventShape,
        sample
      )
    }

    /** Opens one connection in the current scope. Never fails: open errors surface through `opened`. */
    const open = (url: string) =>
      Effect.gen(function* () {
        const clock = yield* Effect.clock
        const conn: Connection = {
          mailbox: yield* Mailbox.make<Arrived, ReadError>(),
          opened: yield* Deferred.make<void, Socket.SocketError>(),
          write: () => Effect.void,
          ws: undefined,
          pending: 0,
          paused: false,
          activity: false,
          stop: undefined,
          error: undefined
        }
        const markActive = () => {
          conn.activity = true
        }
        const withConstructor = Effect.provideService(
          Socket.WebSocketConstructor,
          (u: string, protocols?: string | Array<string>) => {
            const ws = construct(u, protocols)
            if (ws instanceof WS.WebSocket) {
              conn.ws = ws
              ws.on("pong", markActive)
              ws.on("ping", markActive)
            }
            return ws
          }
        )
        const socket = yield* withConstructor(
          Socket.makeWebSocket(url, {
            closeCodeIsError: () => true,
            openTimeout: Duration.millis(t.openTimeoutMs)
          })
        )
        // In order, synchronously, never dropped (see the header): no Effect is returned.
        const onFrame = (data: string | Uint8Array): void => {
          conn.mailbox.unsafeOffer({
            text: typeof data === "string" ? data : decoder.decode(data),
            at: clock.unsafeCurrentTimeMillis()
          })
          conn.activity = true
          if (++conn.pending >= t.highWaterMark && !conn.paused && conn.ws !== undefined) {
            conn.paused = true
            conn.ws.pause()
          }
        }
        yield* socket
          .runRaw(onFrame, { onOpen: Effect.asVoid(Deferred.succeed(conn.opened, undefined)) })
          .pipe(
            Effect.onExit((exit) => Deferred.done(conn.opened, Exit.asVoid(exit))),
            withConstructor,
            Mailbox.into(conn.mailbox),
            Effect.forkScoped
          )
        conn.write = yield* socket.writer
        // Runs before the socket's own release (`close(1000)`): a paused socket could not read the
        // server's close reply, and the close handshake would hang until `ws`'s close timeout.
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            if (conn.paused) {
              conn.paused = false
              conn.ws?.resume()
            }
          })
        )
        yield* Deferred.await(conn.opened).pipe(
          Effect.zipRight(keepAlive(conn)),
          Effect.ignore,
          Effect.forkScoped
        )
        return conn
      })

    /** Pings every `pingIntervalMs`; ends the connection after `deadAfterMs` without anything received. */
    const keepAlive = (conn: Connection) =>
      Effect.gen(function* () {
        let last = yield* Clock.currentTimeMillis
        let lastPing = last
        while (true) {
          yield* Effect.sleep(Duration.millis(t.keepAliveCheckMs))
          const now = yield* Clock.currentTimeMillis
          // While paused the client is the slow side, not the server: not a sign of a dead link.
          if (conn.activity || conn.paused) {
            conn.activity = false
            last = now
          } else if (now - last >= t.deadAfterMs) {
            conn.mailbox.unsafeDone(Exit.fail(new ConnectionDead({ idleMs: now - last })))
            // No close handshake with a peer that does not answer: drop the TCP connection.
            conn.ws?.terminate()
            return
          }
          if (now - lastPing >= t.pingIntervalMs) {
            lastPing = now
            const ws = conn.ws
            if (ws !== undefined && ws.readyState === WS.WebSocket.OPEN) {
              try {
                ws.ping()
              } catch {
                // the socket is closing; the read side reports why
              }
            }
          }
        }
      })

    const events = <A>(request: SubscribeRequest<A>): Stream.Stream<SocketEvent<A>, VendorAuthError> => {
      if (Option.isNone(massive.apiKey)) {
        return Stream.fail(
          new VendorAuthError({
            vendor,
            keyEnv: massive.keyEnv,
            status: 401,
            detail: "no API key is configured for the WebSocket feed"
          })
        )
      }
      const apiKey = massive.apiKey.value
      const where = `/${request.cluster}`
      const url = `${baseUrl}/${request.cluster}`

      return Stream.suspend(() => {
        /** Per run of the stream: attempts so far, consecutive failures, next delay forced to the max. */
        const state = { attempt: 0, failures: 0, maxDelayNext: false }
        /** What every (re)connect subscribes: the request's channels and those taken over since. */
        const channels = [...request.subscriptions]
        const more = request.more
        /** Subscribes the channels taken over while the connection is open (forked in its round's scope). */
        const subscribeMore = (conn: Connection) =>
          more === undefined
            ? Effect.void
            : Queue.take(more).pipe(
                Effect.flatMap((batch) => {
                  for (const c of batch) channels.push(c)
                  // A failed write is a lost connection: the read side reports it, the reconnect subscribes.
                  return Effect.zipRight(
                    Effect.ignore(conn.write(Wire.subscribeMessage(batch))),
                    Effect.logInfo(`Massive WebSocket ${where}: took over ${batch.length} channel(s)`)
                  )
                }),
                Effect.forever,
                Effect.forkScoped
              )

        const lost = (attempt: number, reason: string, forceMax: boolean, connectedAt: number | undefined) =>
          Effect.gen(function* () {
            const now = yield* Clock.currentTimeMillis
            if (connectedAt !== undefined && now - connectedAt >= t.healthyAfterMs) state.failures = 0
            state.failures++
            state.maxDelayNext = forceMax
            yield* Effect.logWarning(
              `Massive WebSocket ${where} disconnected (attempt ${attempt}): ${reason}`
            )
            return { _tag: "Disconnected", at: now, reason } satisfies SocketEvent<A> as SocketEvent<A>
          })

        const handshake = (conn: Connection, before: Array<SocketEvent<A>>, subscribe: string | undefined) =>
          Effect.gen(function* () {
            const clock = yield* Effect.clock
            yield* Deferred.await(conn.opened)
            let authSent = false
            let deadline = clock.unsafeCurrentTimeMillis() + t.connectedGraceMs
            const sendAuth = Effect.suspend(() => {
              authSent = true
              deadline = clock.unsafeCurrentTimeMillis() + t.authTimeoutMs
              // The only place the key is unwrapped: it goes into this message and nowhere else.
              return conn.write(Wire.authMessage(Redacted.value(apiKey)))
            })
            while (true) {
              const wait = Math.max(0, deadline - clock.unsafeCurrentTimeMillis())
              const next = yield* Effect.timeoutOption(conn.mailbox.take, Duration.millis(wait))
              if (Option.isNone(next)) {
                if (authSent) {
                  return yield* new ConnectionLost({
                    reason: `no auth reply within ${t.authTimeoutMs} ms`,
                    maxDelay: false,
                    events: before
                  })
                }
                yield* Effect.logInfo(
                  `Massive WebSocket ${where}: no "connected" status within ${t.connectedGraceMs} ms; authenticating anyway`
                )
                yield* sendAuth
                continue
              }
              taken(conn, 1, t.highWaterMark)
              const frame = Wire.decodeFrame(next.value.text, next.value.at, request.codec)
              for (let i = 0; i < frame.length; i++) {
                const event = frame[i]!
                if (event._tag !== "Status") {
                  before.push(event)
                  continue
                }
                switch (event.status) {
                  case "connected":
                    if (!authSent) yield* sendAuth
                    break
                  case "auth_success":
                    if (subscribe !== undefined) yield* conn.write(subscribe)
                    return frame.slice(i + 1)
                  case "auth_failed":
                    return yield* new VendorAuthError({
                      vendor,
                      keyEnv: massive.keyEnv,
                      status: 401,
                      detail: `WebSocket auth_failed: ${event.message}`
                    })
                  default:
                    before.push(event)
                    if (event.status === "auth_timeout" || Wire.disconnectStatuses.has(event.status)) {
                      return yield* new ConnectionLost({
                        reason: `status ${event.status}: ${event.message}`,
                        maxDelay: event.status === "max_connections",
                        events: before
                      })
                    }
                }
              }
            }
          }).pipe(
            Effect.catchTags({
              SocketError: (e) =>
                Effect.fail(
                  new ConnectionLost({ reason: describeError(e, t), maxDelay: false, events: before })
                ),
              ConnectionDead: (e) =>
                Effect.fail(
                  new ConnectionLost({ reason: describeError(e, t), maxDelay: false, events: before })
                ),
              NoSuchElementException: (e) =>
                Effect.fail(
                  new ConnectionLost({ reason: describeError(e, t), maxDelay: false, events: before })
                )
            })
          )

        /** Frames after the handshake, decoded per pulled chunk, until the connection ends. */
        const data = (conn: Connection): Stream.Stream<SocketEvent<A>> => {
          /** When this connection's last frame was sampled for schema drift (receive time). */
          let sampledAt = Number.NEGATIVE_INFINITY
          return Mailbox.toStream(conn.mailbox).pipe(
            Stream.mapChunksEffect((frames) => {
              taken(conn, frames.length, t.highWaterMark)
              const first = Chunk.head(frames)
              const out: Array<SocketEvent<A>> = []
              for (const { text: frame, at } of frames) {
                // Large frames of aggregates go on undecoded (see the `Frame` event); one that may
                // hold a status is decoded here, so a disconnect notice is never missed.
                if (FrameDecoder.isLarge(frame) && !frame.includes('"status"')) {
                  out.push({
                    _tag: "Frame",
                    raw: frame,
                    receivedAt: at,
                    count: FrameDecoder.eventCount(frame)
                  })
                  continue
                }
                const decoded = Wire.decodeFrame(frame, at, request.codec)
                for (let i = 0; i < decoded.length; i++) {
                  const e = decoded[i]!
                  out.push(e)
                  if (e._tag === "Status" && isDisconnectStatus(e)) noteStop(conn, e)
                }
              }
              const events = Chunk.unsafeFromArray(out)
              if (first._tag === "None" || first.value.at - sampledAt < DRIFT_SAMPLE_EVERY_MS)
                return Effect.succeed(events)
              const observed = observeFrame(first.value.text)
              if (observed === undefined) return Effect.succeed(events)
              sampledAt = first.value.at
              return Effect.as(observed, events)
            }),
            Stream.catchAll((e) => {
              conn.error = describeError(e, t)
              return Stream.empty
            })
          )
        }

        const round: Stream.Stream<SocketEvent<A>, VendorAuthError> = Stream.unwrapScoped(
          Effect.gen(function* () {
            if (state.attempt > 0) {
              const forced = state.maxDelayNext
              const delay = forced
                ? maxDelay
                : reconnectDelayMs(state.failures, baseDelay, maxDelay, yield* Random.next)
              yield* forced
                ? Effect.logWarning(
                    `Massive WebSocket ${where}: max_connections — another client is using this account's connection; reconnecting in ${delay} ms (attempt ${state.attempt + 1})`
                  )
                : Effect.logInfo(
                    `Massive WebSocket ${where}: reconnecting in ${delay} ms (attempt ${state.attempt + 1})`
                  )
              yield* Effect.sleep(Duration.millis(delay))
            }
            const attempt = ++state.attempt
            const clock = yield* Effect.clock
            if (more !== undefined) for (const batch of yield* Queue.takeAll(more)) channels.push(...batch)
            const conn = yield* open(url)
            const before: Array<SocketEvent<A>> = []
            const subscribe = channels.length === 0 ? undefined : Wire.subscribeMessage(channels)
            const outcome = yield* Effect.either(handshake(conn, before, subscribe))
            if (outcome._tag === "Left") {
              const e = outcome.left
              if (e._tag === "VendorAuthError") {
                yield* Effect.logError(`Massive WebSocket ${where}: ${e.detail}; not retrying`)
                return yield* e
              }
              const disconnected = yield* lost(attempt, e.reason, e.maxDelay, undefined)
              // Statuses and data read during the handshake of this connection: of this subscription.
              return Stream.fromIterable([...(e.events as ReadonlyArray<SocketEvent<A>>), disconnected])
            }
            const connectedAt = clock.unsafeCurrentTimeMillis()
            yield* Effect.logInfo(
              `Massive WebSocket ${where} connected (attempt ${attempt}); subscribed to ${channels.length} channel(s)`
            )
            yield* subscribeMore(conn)
            const after = outcome.right
            for (const e of after) if (isDisconnectStatus(e)) noteStop(conn, e)
            const connected: SocketEvent<A> = { _tag: "Connected", at: connectedAt, attempt }
            return Stream.fromIterable([...before, connected, ...after]).pipe(
              Stream.concat(data(conn)),
              Stream.concat(
                Stream.fromEffect(
                  Effect.suspend(() =>
                    conn.stop !== undefined
                      ? lost(
                          attempt,
                          `status ${conn.stop.status}: ${conn.stop.message}`,
                          conn.stop.status === "max_connections",
                          connectedAt
                        )
                      : lost(attempt, conn.error ?? "connection ended", false, connectedAt)
                  )
                )
              )
            )
          })
        )
        return Stream.forever(round)
      })
    }

    return MassiveSocket.of({ events })
  })

/** `makeWith` with the default timings. */
export const make: Effect.Effect<MassiveSocketShape, never, AppConfig | Socket.WebSocketConstructor> =
  makeWith()

/** `ws` as the WebSocket constructor (see the header for why not `NodeSocket.layerWebSocketConstructor`). */
const wsConstructor: Layer.Layer<Socket.WebSocketConstructor> = Layer.succeed(
  Socket.WebSocketConstructor,
  (url, protocols) =>
    // `closeTimeout`: how long `close()` waits for the server's close frame before dropping the TCP
    // connection; `ws`'s 30 s default is a timer that would hold the process open after a session.
    new WS.WebSocket(url, protocols, wsOptions) as unknown as globalThis.WebSocket
)

/** Live client with custom timings (tests use short ones). */
export const layer = (options: Options): Layer.Layer<MassiveSocket, never, AppConfig> =>
  Layer.effect(MassiveSocket, makeWith(options)).pipe(Layer.provide(wsConstructor))

/** Connects to `massive.wsUrl` with the key from config, over `ws`. */
export const Live: Layer.Layer<MassiveSocket, never, AppConfig> = layer({})

// -- Test -----------------------------------------------------------------------------------------

/**
 * One step of a scripted feed: a raw server frame (decoded exactly as Live decodes it), a lost
 * connection (`Disconnected` with that reason, then `Connected` with the next attempt number), a
 * refused key (the stream fails with `VendorAuthError`), or a pause on the Clock.
 */
export type TestStep =
  | string
  | { readonly disconnect: string }
  | { readonly authFailed: string }
  | { readonly sleepMs: number }

export interface TestOptions {
  /** After the last step: end the stream (default), or stay open like the real feed until interrupted. */
  readonly then?: "end" | "hang"
}

/**
 * In memory, no socket: every `events` call replays `script` from the start, beginning with
 * `Connected` (attempt 1). Subscriptions are ignored.
 */
export const Test = (
  script: ReadonlyArray<TestStep>,
  options: TestOptions = {}
): Layer.Layer<MassiveSocket> =>
  Layer.succeed(
    MassiveSocket,
    MassiveSocket.of({
      events: <A>(request: SubscribeRequest<A>) =>
        Stream.suspend(() => {
          let attempt = 1
          const step = (s: TestStep): Effect.Effect<ReadonlyArray<SocketEvent<A>>, VendorAuthError> =>
            Effect.flatMap(
              Clock.currentTimeMillis,
              (now): Effect.Effect<ReadonlyArray<SocketEvent<A>>, VendorAuthError> => {
                if (typeof s === "string") return Effect.succeed(Wire.decodeFrame(s, now, request.codec))
                if ("disconnect" in s) {
                  attempt++
                  return Effect.succeed([
                    { _tag: "Disconnected", at: now, reason: s.disconnect },
                    { _tag: "Connected", at: now, attempt }
                  ])
                }
                if ("authFailed" in s) {
                  return Effect.fail(
                    new VendorAuthError({
                      vendor,
                      keyEnv: "MASSIVE_API_KEY",
                      status: 401,
                      detail: `WebSocket auth_failed: ${s.authFailed}`
                    })
                  )
                }
                return Effect.as(Effect.sleep(Duration.millis(s.sleepMs)), [])
              }
            )
          const replay = Stream.fromEffect(
            Effect.map(
              Clock.currentTimeMillis,
              (at): SocketEvent<A> => ({ _tag: "Connected", at, attempt: 1 })
            )
          ).pipe(Stream.concat(Stream.fromIterable(script).pipe(Stream.mapConcatEffect(step))))
          return options.then === "hang" ? Stream.concat(replay, Stream.never) : replay
        })
    })
  )
