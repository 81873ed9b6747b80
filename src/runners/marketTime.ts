/**
 * Market time for a stream: the local Clock, shifted by the vendor's own clock when the two
 * disagree by more than a minute (a replay: `tapehouse simulate` serves a past day and reports
 * its session time as the vendor's clock), and never behind the newest event received plus
 * the feed's publish delay. Against the real vendor the shift is zero and this is the Clock.
 */
import { Clock, Effect } from "effect"
import type { VendorAuthError } from "../domain/errors.js"

/** Per-second bars are published about 2 s after their second closes. */
export const PUBLISH_DELAY_MS = 2000
const REPLAY_THRESHOLD_MS = 60_000
/**
 * A replay's offset that moved by at most this between two reads is steady (a replay at real
 * speed: the vendor's clock has whole seconds, so two reads of it differ by up to a second).
 */
export const STEADY_OFFSET_MS = 1500
/** Resyncs of a steady replay back off, doubling from every second to at most this. */
export const MAX_RESYNC_EVERY_MS = 60_000
const MIN_RESYNC_EVERY_MS = 1000

export interface MarketTime {
  /** Current market time, epoch ms. */
  readonly now: Effect.Effect<number>
  /** Records the event time of a received bar (the bar's start). Synchronous, hot path. */
  readonly observe: (eventTimeMs: number) => void
  /**
   * Asks the vendor for its clock again (replays only; a no-op against the real vendor). A replay
   * faster than real time is read at every call (at most once a second); one whose offset stays
   * put is read less and less often (up to once a minute): each read is an HTTP request.
   */
  readonly resync: Effect.Effect<void, VendorAuthError>
  /** True when the vendor's clock is not ours (a replay). */
  readonly isReplay: () => boolean
}

/**
 * `vendorClock`: the vendor's clock (epoch ms), undefined when it cannot be read; it fails only on a
 * refused key (`LiveFeed.vendorClock`).
 */
export const make = (vendorClock: Effect.Effect<number | undefined, VendorAuthError>) =>
  Effect.gen(function* () {
    let offset = 0
    let newestEvent = Number.NEGATIVE_INFINITY
    let resyncEvery = MIN_RESYNC_EVERY_MS
    let nextResyncAt = Number.NEGATIVE_INFINITY
    const sync = Effect.gen(function* () {
      const local = yield* Clock.currentTimeMillis
      const vendor = yield* vendorClock
      if (vendor === undefined) return
      const before = offset
      offset = Math.abs(vendor - local) > REPLAY_THRESHOLD_MS ? vendor - local : 0
      resyncEvery =
        Math.abs(offset - before) <= STEADY_OFFSET_MS
          ? Math.min(MAX_RESYNC_EVERY_MS, resyncEvery * 2)
          : MIN_RESYNC_EVERY_MS
      nextResyncAt = local + resyncEvery
    })
    yield* sync
    const time: MarketTime = {
      now: Effect.map(Clock.currentTimeMillis, (t) => Math.max(t + offset, newestEvent + PUBLISH_DELAY_MS)),
      observe: (eventTimeMs) => {
        if (eventTimeMs > newestEvent) newestEvent = eventTimeMs
      },
      resync: Effect.suspend(() =>
        offset === 0
          ? Effect.void
          : Effect.flatMap(Clock.currentTimeMillis, (t) => (t < nextResyncAt ? Effect.void : sync))
      ),
      isReplay: () => offset !== 0
    }
    return time
  })
