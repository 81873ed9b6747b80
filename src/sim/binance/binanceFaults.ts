/**
 * The Binance simulator's own faults, queued in order (core `faultQueue`) and matched against an
 * occasion's path `<venue>:<stream>` for the WebSocket ones (e.g. `spot:btcusdt@depth@100ms`) or
 * `<venue>:<SYMBOL>` for the snapshot one. Driven from code (`inject`) or over HTTP
 * (`POST /__sim/binance-faults`). HTTP transport faults (an error status, `slow`, a cut body, a
 * dropped connection) are the core ones at `/__sim/faults`.
 */
import { Schema } from "effect"
import { type ControlHandler, faultControl } from "../core/controls.js"
import { makeFaultQueue, type Queued, type QueueOptions } from "../core/faultQueue.js"

export const BinanceFault = Schema.Union(
  /** The next depth message of a matching stream is not sent (its ids are spent): a sequence gap. */
  Schema.Struct({ kind: Schema.Literal("drop-events") }),
  /** The next REST depth snapshot of a matching symbol is a copy from `ageMs` ago (default 10 s). */
  Schema.Struct({
    kind: Schema.Literal("stale-snapshot"),
    ageMs: Schema.optional(Schema.Int.pipe(Schema.between(0, 3_600_000)))
  }),
  /** The connection about to get a matching data frame is dropped (TCP, no close frame). */
  Schema.Struct({ kind: Schema.Literal("disconnect") }),
  /**
   * The connection about to get a matching data frame gets a `serverShutdown` event instead, keeps
   * its data for `closeAfterMs` (default 1000), then is closed.
   */
  Schema.Struct({
    kind: Schema.Literal("server-shutdown"),
    closeAfterMs: Schema.optional(Schema.Int.pipe(Schema.between(0, 600_000)))
  })
)
export type BinanceFault = typeof BinanceFault.Type
export type BinanceFaultKind = BinanceFault["kind"]

export const BINANCE_FAULT_KINDS: ReadonlyArray<BinanceFaultKind> = [
  "drop-events",
  "stale-snapshot",
  "disconnect",
  "server-shutdown"
]

export const BinanceFaultRequest = Schema.extend(
  BinanceFault,
  Schema.Struct({
    times: Schema.optional(Schema.Int.pipe(Schema.positive())),
    every: Schema.optional(Schema.Int.pipe(Schema.positive())),
    /** A regex source matched against the occasion's path. */
    path: Schema.optional(Schema.String)
  })
)
export const BinanceFaultRequests = Schema.Union(BinanceFaultRequest, Schema.Array(BinanceFaultRequest))

export interface BinanceFaults {
  readonly inject: (fault: BinanceFault, options?: QueueOptions) => void
  readonly clear: () => void
  readonly pending: () => ReadonlyArray<Queued<BinanceFault>>
  /** One use of the first queued fault of one of `kinds` matching `path`. */
  readonly take: <K extends BinanceFaultKind>(
    path: string,
    kinds: ReadonlySet<K>
  ) => Extract<BinanceFault, { kind: K }> | undefined
  /** Whether any fault is queued (the hot path skips the lookups when none is). */
  readonly any: () => boolean
}

export const makeBinanceFaults = (): BinanceFaults => {
  const queue = makeFaultQueue<BinanceFault>()
  let count = 0
  return {
    inject: (fault, options) => {
      queue.inject(fault, options)
      count = queue.pending().length
    },
    clear: () => {
      queue.clear()
      count = 0
    },
    pending: queue.pending,
    take: <K extends BinanceFaultKind>(path: string, kinds: ReadonlySet<K>) => {
      if (count === 0) return undefined
      const taken = queue.take(path, (f) => kinds.has(f.kind as K))
      count = queue.pending().length
      return taken as Extract<BinanceFault, { kind: K }> | undefined
    },
    any: () => count > 0
  }
}

/** `GET` lists the pending faults, `POST` queues one or a list, `DELETE` clears them. */
export const binanceFaultsControl = (faults: BinanceFaults): ControlHandler =>
  faultControl(faults, BinanceFaultRequests, "a Binance fault", BINANCE_FAULT_KINDS)
