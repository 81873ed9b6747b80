/**
 * The WebSocket simulator's scripted faults (`POST /__sim/ws-faults`): what each does, and the
 * switch that queues them for the next `times` occasions (a connection, an auth, a data frame, the
 * session), on the core's fault queue.
 */
import { Schema } from "effect"
import { makeFaultQueue } from "./core/faultQueue.js"

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

export const makeWsFaultSwitch = (onInject: () => void): WsFaultSwitch => {
  const queue = makeFaultQueue<WsFault>()
  return {
    inject: (fault, options = {}) => {
      queue.inject(fault, { times: options.times ?? 1 })
      onInject()
    },
    clear: queue.clear,
    pending: () => queue.pending().map((e) => ({ fault: e.fault, remaining: e.remaining ?? 0 })),
    take: (accepts) => queue.take(undefined, accepts)
  }
}

export const WS_FAULT_KINDS: ReadonlyArray<WsFaultKind> = [
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
/** Faults taken by the next data frame sent to a subscribed connection. */
export const DATA_FAULTS = new Set<WsFaultKind>([
  "drop",
  "malformed",
  "non-array",
  "unknown-event",
  "slow-consumer"
])
