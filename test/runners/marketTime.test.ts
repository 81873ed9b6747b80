/** Market time against a replay: how often the vendor's clock is read again (each read is an HTTP request). */
import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import * as MarketTime from "../../src/runners/marketTime.js"

const REPLAY_START = Date.parse("2024-03-05T14:30:00Z")

/** A vendor clock replaying a past day at `speed` from the test clock's 0, counting its reads. */
const replayClock = (speed: number) => {
  let reads = 0
  const read = Effect.map(TestClock.currentTimeMillis, (local) => {
    reads++
    // Whole seconds, as the vendor's `serverTime` has.
    return Math.floor((REPLAY_START + local * speed) / 1000) * 1000
  })
  return { read, reads: () => reads }
}

/** Calls `resync` once a second for `seconds` (as the flush loop does), advancing the test clock. */
const tick = (clock: MarketTime.MarketTime, seconds: number) =>
  Effect.gen(function* () {
    for (let i = 0; i < seconds; i++) {
      yield* TestClock.adjust("1 second")
      yield* clock.resync
    }
  })

describe("MarketTime", () => {
  it.effect("a replay at real speed is read less and less often, at most once a minute", () =>
    Effect.gen(function* () {
      const vendor = replayClock(1)
      const clock = yield* MarketTime.make(vendor.read)
      expect(clock.isReplay()).toBe(true)
      yield* tick(clock, 600)
      // 1 + reads at 1, 2, 4, 8, 16, 32 s, then one a minute: about 15 in ten minutes, not 600.
      expect(vendor.reads()).toBeLessThan(20)
      expect(vendor.reads()).toBeGreaterThanOrEqual(10)
      // Market time still follows the replay, within its whole-second reads.
      const now = yield* clock.now
      expect(Math.abs(now - (REPLAY_START + 600_000))).toBeLessThanOrEqual(2000)
    })
  )

  it.effect("a replay faster than real time is read at every resync, and market time keeps up", () =>
    Effect.gen(function* () {
      const vendor = replayClock(60)
      const clock = yield* MarketTime.make(vendor.read)
      yield* tick(clock, 120)
      expect(vendor.reads()).toBe(121)
      const now = yield* clock.now
      expect(Math.abs(now - (REPLAY_START + 120 * 60_000))).toBeLessThanOrEqual(1000)
    })
  )

  it.effect("against the real vendor (no offset) resync reads nothing", () =>
    Effect.gen(function* () {
      let reads = 0
      const clock = yield* MarketTime.make(
        Effect.map(TestClock.currentTimeMillis, (t) => {
          reads++
          return t
        })
      )
      yield* tick(clock, 60)
      expect(clock.isReplay()).toBe(false)
      expect(reads).toBe(1)
    })
  )
})
