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

export interface MarketTime {
  /** Current market time, epoch ms. */
  readonly now: Effect.Effect<number>
  /** Records the event time of a received bar (the bar's start). Synchronous, hot path. */
  readonly observe: (eventTimeMs: number) => void
  /** Asks the vendor for its clock again (replays only; a no-op against the real vendor). */
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
    const sync = Effect.gen(function* () {
      const local = yield* Clock.currentTimeMillis
      const vendor = yield* vendorClock
      if (vendor === undefined) return
      offset = Math.abs(vendor - local) > REPLAY_THRESHOLD_MS ? vendor - local : 0
    })
    yield* sync
    const time: MarketTime = {
      now: Effect.map(Clock.currentTimeMillis, (t) => Math.max(t + offset, newestEvent + PUBLISH_DELAY_MS)),
      observe: (eventTimeMs) => {
        if (eventTimeMs > newestEvent) newestEvent = eventTimeMs
      },
      resync: Effect.suspend(() => (offset === 0 ? Effect.void : sync)),
      isReplay: () => offset !== 0
    }
    return time
  })
