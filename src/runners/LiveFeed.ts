/**
 * The live side of a feed: what the stream runner needs from a vendor to capture a dataset as it
 * happens. A feed opens one or more connections (each with its own reconnects), each a stream of
 * `LiveEvent`s carrying the dataset's records; a poller (news) is a connection too. The runner takes
 * it from there: queue, pipeline, sinks, gap repair, the close.
 */
import type { Effect, Stream } from "effect"
import type { TradingSession } from "../calendar/MarketCalendar.js"
import type { Rejected } from "../domain/Dataset.js"
import type { VendorAuthError } from "../domain/errors.js"
import type { VendorError } from "./Feed.js"

/** What comes off a live connection, in order. */
export type LiveEvent<A> =
  /** Authenticated and subscribed (the first connection and every reconnect). */
  | { readonly _tag: "Connected"; readonly at: number; readonly attempt: number }
  /** The connection was lost (or closed by the server); a reconnect follows. */
  | { readonly _tag: "Disconnected"; readonly at: number; readonly reason: string }
  /** Records of one frame (or one poll), decoded, in order; `receivedAt`: when they came off the wire. */
  | { readonly _tag: "Records"; readonly records: ReadonlyArray<A>; readonly receivedAt: number }
  /**
   * A large frame not decoded yet: decoding is most of what a frame costs, so it is left to the
   * consumer (once, on a worker thread, and not at all before a queue writes it to its spill as it
   * came). `LiveFeed.decodeFrames` gives its events.
   */
  | {
      readonly _tag: "Frame"
      readonly raw: string
      readonly receivedAt: number
      /** How many events it holds, for a queue that bounds its memory in records. */
      readonly count: number
    }
  /** Frames or events that could not be decoded: quarantine. */
  | { readonly _tag: "Rejected"; readonly rejected: ReadonlyArray<Rejected>; readonly receivedAt: number }
  /** Events of a type this client does not read (schema drift): counted, skipped, reported. */
  | { readonly _tag: "Unknown"; readonly ev: string; readonly count: number; readonly sample: string }
  /**
   * Where a resumable feed (`LiveFeed.resumable`) stands once the events before it are committed:
   * opaque text (a poller's checkpoint) the runner stores after the sinks commit them, and passes
   * back to `connect` at the next start.
   */
  | { readonly _tag: "Position"; readonly position: string }
  /**
   * This connection ends for good and its instruments go on `to`, another connection of the feed
   * (the vendor refused it: more connections than the account may hold). The last event of the
   * connection; `message` says why and what to change, for the one alert the runner raises.
   */
  | {
      readonly _tag: "Moved"
      readonly instruments: ReadonlyArray<string>
      readonly to: string
      readonly message: string
      readonly at: number
    }
  /** Status messages worth reporting (slow_consumer, max_connections, error …). */
  | { readonly _tag: "Status"; readonly status: string; readonly message: string; readonly at: number }

/** The events of each frame, in frame order. */
export type PerFrame<A> = ReadonlyArray<ReadonlyArray<LiveEvent<A>>>

/** One live connection of a feed: the instruments it carries and its events. */
export interface LiveConnection<A> {
  /** Names it in logs, alerts and the ledger, e.g. "options#2". */
  readonly id: string
  readonly instruments: ReadonlyArray<string>
  /**
   * Never ends by itself: losses are `Disconnected` events followed by a reconnect, except after a
   * `Moved` event (its instruments went to another connection). Fails only when the vendor refuses
   * it for good (a wrong key, no entitlement).
   */
  readonly events: Stream.Stream<LiveEvent<A>, VendorAuthError>
  /**
   * A poller's last poll at the close (resumable feeds), once `events` has stopped: from `position`
   * (the last one stored, after the sinks committed), what was published before the session's close
   * and not delivered yet, as `Records` then a `Position`. A poll on a timer may last have run well
   * before the close; this one runs after it, so the capture ends with everything published in the
   * session, and an always-open feed ends in a replay as soon as the replayed day is over.
   */
  readonly closingPoll?: (
    position: string | undefined
  ) => Effect.Effect<ReadonlyArray<LiveEvent<A>>, VendorError>
}

export interface LiveFeed<A> {
  /**
   * What a stream of `instruments` subscribes to in `session`, when that is only known once the
   * session opens (an option chain: the contracts near its underlying's official open). Without it,
   * the instruments themselves. Subjects are what connections carry, gaps track and REST repairs;
   * the instruments stay the scope of the day's checkpoints and of a reconciliation's replace.
   */
  readonly subjectsFor?: (
    instruments: ReadonlyArray<string>,
    session: TradingSession
  ) => Effect.Effect<ReadonlyArray<string>, VendorError>
  /**
   * The connections that carry `subjects` (one, or several when a vendor caps them per connection).
   * A resumable feed starts from `resume.position` (the last one stored), or from the session's
   * open without one.
   */
  readonly connect: (
    subjects: ReadonlyArray<string>,
    resume?: { readonly session: TradingSession; readonly position: string | undefined }
  ) => ReadonlyArray<LiveConnection<A>>
  /**
   * It asks for what it has not seen from a position of its own (a poller), emitted as `Position`
   * events: the runner stores the position after the sinks commit, instead of repairing gaps
   * through REST or watching for quiet subjects (news can be quiet for hours).
   */
  readonly resumable?: boolean
  /** Decodes undecoded `Frame`s: synchronously for small ones, on a worker thread for large ones. */
  readonly decodeFrames: (
    frames: ReadonlyArray<string>,
    receivedAt: ReadonlyArray<number>
  ) => PerFrame<A> | Promise<PerFrame<A>>
  /** Starts the frame decoder (a worker thread); settles when it is ready or could not start. */
  readonly warmUp: () => Promise<void>
  /** The instrument a record belongs to, as subscribed (SPY, O:SPY…, I:VIX): for quiet-symbol alerts. */
  readonly subject: (a: A) => string
  /**
   * The vendor's clock, epoch ms, when it keeps one (a replay reports its session time); undefined
   * when it cannot be read. Fails only on a refused key.
   */
  readonly vendorClock: Effect.Effect<number | undefined, VendorAuthError>
}
