/**
 * Scripted faults for the Massive simulator: "the next N requests matching a path", or "one
 * matching request in N" (`every`), answer with an error status, a truncated body, HTML, a delay,
 * repeated or corrupt rows, or a dropped connection. Driven from code (`inject`) or over HTTP
 * (`POST /__sim/faults`).
 */
import { Schema } from "effect"

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
  /** Destroy the socket without answering. */
  Schema.Struct({ kind: Schema.Literal("drop-connection") })
)
export type Fault = typeof Fault.Type
export type FaultKind = Fault["kind"]

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

export interface InjectOptions {
  /** How many matching requests the fault applies to; default 1, or unlimited with `every`. */
  readonly times?: number
  /**
   * Apply to one matching request in `every` (the every-th, the 2·every-th, …) and let the others
   * through: a deterministic storm. Requests an earlier queued fault took are not counted, so a
   * second `every` fault hits "one in N of the others".
   */
  readonly every?: number
  /** Only requests whose path (without the query) matches; default every API request. */
  readonly path?: RegExp
}

export interface PendingFault {
  readonly fault: Fault
  /** Uses left; `null` = until cleared. */
  readonly remaining: number | null
  readonly every?: number
  readonly path?: string
}

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

interface Entry {
  readonly fault: Fault
  /** Uses left (`Infinity` = until cleared). */
  remaining: number
  readonly every: number
  /** Matching requests this entry has seen, for `every`. */
  seen: number
  readonly path: RegExp | undefined
}

const positiveInt = (name: string, n: number) => {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer, got ${n}`)
}

export const makeFaultSwitch = (options: { readonly rateLimitPerMinute?: number } = {}): FaultSwitch => {
  let queue: Array<Entry> = []
  let rateLimit = options.rateLimitPerMinute
  return {
    inject: (fault, opts = {}) => {
      const every = opts.every ?? 1
      positiveInt("every", every)
      const times = opts.times ?? (opts.every === undefined ? 1 : Number.POSITIVE_INFINITY)
      if (opts.times !== undefined) positiveInt("times", times)
      queue.push({ fault, remaining: times, every, seen: 0, path: opts.path })
    },
    clear: () => {
      queue = []
    },
    pending: () =>
      queue.map((e) => ({
        fault: e.fault,
        remaining: Number.isFinite(e.remaining) ? e.remaining : null,
        ...(e.every > 1 ? { every: e.every } : {}),
        ...(e.path ? { path: e.path.source } : {})
      })),
    take: (path, accepts) => {
      for (let i = 0; i < queue.length; i++) {
        const e = queue[i]!
        if (e.path !== undefined) {
          e.path.lastIndex = 0
          if (!e.path.test(path)) continue
        }
        if (!accepts(e.fault)) continue
        e.seen++
        if (e.seen % e.every !== 0) continue
        e.remaining--
        if (e.remaining <= 0) queue.splice(i, 1)
        return e.fault
      }
      return undefined
    },
    rateLimitPerMinute: () => rateLimit,
    setRateLimitPerMinute: (perMinute) => {
      rateLimit = perMinute
    }
  }
}
