/**
 * Scripted faults of a simulator's HTTP API: "the next N requests matching a path", or "one
 * matching request in N" (`every`), answer with an error status, a truncated body, HTML, a delay,
 * repeated or corrupt rows, or a dropped connection. Driven from code (`inject`) or over HTTP
 * (`POST /__sim/faults`).
 */
import { Schema } from "effect"
import { makeFaultQueue, type Queued, type QueueOptions } from "./faultQueue.js"

export const Fault = Schema.Union(
  /** Answer with this status (429 storms, 5xx bursts, 403); a vendor-like JSON body unless `body` is given. */
  Schema.Struct({
    kind: Schema.Literal("status"),
    status: Schema.Int.pipe(Schema.between(100, 599)),
    retryAfter: Schema.optional(Schema.String),
    body: Schema.optional(Schema.String)
  }),
  /** Declare the full Content-Length, send half of the body, then close the socket. */
  Schema.Struct({ kind: Schema.Literal("truncated") }),
  /** 200 with an HTML page instead of JSON (a proxy or gateway error page). */
  Schema.Struct({ kind: Schema.Literal("non-json") }),
  /** Wait `delayMs` before answering normally. */
  Schema.Struct({ kind: Schema.Literal("slow"), delayMs: Schema.Int.pipe(Schema.between(0, 600_000)) }),
  /**
   * An aggregates page that follows a `next_url` (has a `cursor`) also starts with the last
   * `count` bars of the previous page, as a buggy pagination would. First pages do not match.
   */
  Schema.Struct({ kind: Schema.Literal("repeat-rows"), count: Schema.Int.pipe(Schema.positive()) }),
  /** Corrupt `count` bars of an aggregates page (high below low). Pages without bars do not match. */
  Schema.Struct({ kind: Schema.Literal("ohlc-violation"), count: Schema.Int.pipe(Schema.positive()) }),
  /**
   * Add these members to every bar of an aggregates page, as a vendor that starts sending new
   * fields would (in 2026 Massive added `dv` and `dav`, fractional volumes as strings). Pages
   * without bars do not match.
   */
  Schema.Struct({
    kind: Schema.Literal("extra-keys"),
    keys: Schema.Record({
      key: Schema.String,
      value: Schema.Union(Schema.String, Schema.Number, Schema.Boolean)
    })
  }),
  /** Destroy the socket without answering. */
  Schema.Struct({ kind: Schema.Literal("drop-connection") }),
  /** Break `count` rows of a CSV answer (the ThetaData simulator): each loses its last field. */
  Schema.Struct({ kind: Schema.Literal("malformed-rows"), count: Schema.Int.pipe(Schema.positive()) })
)
export type Fault = typeof Fault.Type
export type FaultKind = Fault["kind"]

export const FAULT_KINDS: ReadonlyArray<FaultKind> = [
  "status",
  "truncated",
  "non-json",
  "slow",
  "repeat-rows",
  "ohlc-violation",
  "extra-keys",
  "drop-connection",
  "malformed-rows"
]

/** The faults that shape the answer itself; the others change a page's rows and are the routes' to apply. */
export const TRANSPORT_KINDS: ReadonlySet<FaultKind> = new Set<FaultKind>([
  "status",
  "truncated",
  "non-json",
  "slow",
  "drop-connection"
])

/**
 * What `POST /__sim/faults` accepts: one fault (or an array of them) plus `times`, `every` and
 * `path` (a regex source), as in `InjectOptions`.
 */
export const FaultRequest = Schema.extend(
  Fault,
  Schema.Struct({
    times: Schema.optional(Schema.Int.pipe(Schema.positive())),
    every: Schema.optional(Schema.Int.pipe(Schema.positive())),
    path: Schema.optional(Schema.String)
  })
)
export const FaultRequests = Schema.Union(FaultRequest, Schema.Array(FaultRequest))

export type InjectOptions = QueueOptions
export type PendingFault = Queued<Fault>

export interface FaultSwitch {
  /**
   * Queues a fault for the next `times` matching requests, or for one in `every` of them. Faults
   * are tried in the order queued; the first that takes a request answers it.
   */
  readonly inject: (fault: Fault, options?: InjectOptions) => void
  /** Removes every queued fault (the rate limit stays). */
  readonly clear: () => void
  /** Queued faults with their remaining count. */
  readonly pending: () => ReadonlyArray<PendingFault>
  /**
   * Takes one use of the first queued fault that matches `path` and that `accepts` agrees to.
   * Used by the simulator.
   */
  readonly take: (path: string, accepts: (fault: Fault) => boolean) => Fault | undefined
  /** Requests per minute allowed before answering 429; undefined = unlimited. */
  readonly rateLimitPerMinute: () => number | undefined
  readonly setRateLimitPerMinute: (perMinute: number | undefined) => void
}

export const makeFaultSwitch = (options: { readonly rateLimitPerMinute?: number } = {}): FaultSwitch => {
  const queue = makeFaultQueue<Fault>()
  let rateLimit = options.rateLimitPerMinute
  return {
    inject: queue.inject,
    clear: queue.clear,
    pending: queue.pending,
    take: queue.take,
    rateLimitPerMinute: () => rateLimit,
    setRateLimitPerMinute: (perMinute) => {
      rateLimit = perMinute
    }
  }
}
