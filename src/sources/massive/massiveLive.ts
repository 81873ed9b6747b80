/**
 * What every Massive live feed shares: its connections on a cluster (one, or several when a limit
 * caps the channels per connection; see connectionShards.ts), the frame decoder for its aggregates, and the vendor's clock
 * (`/v1/marketstatus/now`, which a replay answers with its session time).
 */
import { Duration, Effect } from "effect"
import { VendorAuthError } from "../../domain/errors.js"
import type { LiveFeed } from "../../runners/LiveFeed.js"
import * as ConnectionShards from "./connectionShards.js"
import * as FrameDecoder from "./FrameDecoder.js"
import type { MassiveRestShape } from "./MassiveRest.js"
import type { Cluster, MassiveSocketShape } from "./MassiveSocket.js"
import type { AggregateCodec } from "./wsWire.js"

/** The vendor's clock, or undefined when it cannot be read; a refused API key fails at once. */
export const vendorClock = (rest: MassiveRestShape): Effect.Effect<number | undefined, VendorAuthError> =>
  rest.marketStatusNow.pipe(
    Effect.map((s) => Date.parse(s.serverTime)),
    Effect.timeout(Duration.seconds(5)),
    Effect.map((t) => (Number.isFinite(t) ? t : undefined)),
    Effect.catchIf(
      (e): e is Exclude<typeof e, VendorAuthError> => !(e instanceof VendorAuthError),
      () => Effect.succeed(undefined)
    )
  )

export interface AggregateFeedOptions<A> {
  readonly cluster: Cluster
  readonly codec: AggregateCodec<A>
  /** The instrument a record belongs to, as subscribed. */
  readonly subject: (a: A) => string
  /** Channels per connection at most (undefined: one connection for all). */
  readonly perConnection?: number
  /** The config key of `perConnection`, named when the vendor refuses a connection. */
  readonly perConnectionKey?: string
}

/** A live feed of per-second aggregates (`A.<ticker>`) on one cluster. */
export const aggregateFeed = <A>(
  socket: MassiveSocketShape,
  rest: MassiveRestShape,
  options: AggregateFeedOptions<A>
): LiveFeed<A> => ({
  connect: (instruments) => ConnectionShards.connections(socket, instruments, options),
  decodeFrames: (frames, receivedAt) => FrameDecoder.decodeEach(frames, receivedAt, options.codec),
  warmUp: FrameDecoder.warmUp,
  subject: options.subject,
  vendorClock: vendorClock(rest)
})
