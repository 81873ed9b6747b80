/**
 * The pacing of a replay: session time runs at `speed` × Effect Clock time from `fromMs` once
 * started, or, at "max", follows what the replay has published (as fast as its readers go). The
 * replay loop sleeps until a session time on the Clock (the TestClock in tests) and can be woken
 * early from callbacks (`poke`: a fault injected, a subscriber arrived).
 */
import { type Clock, Deferred, Duration, Effect, Exit } from "effect"

/** Session seconds per clock second, or "max". */
export type Speed = number | "max"

export interface ReplayClock {
  readonly speed: Speed
  /** A numeric speed: the session follows the clock. */
  readonly paced: boolean
  readonly fromMs: number
  /** Lets the replay start (idempotent). */
  readonly start: () => void
  /** The replay loop's first step: waits for `start`, then starts the session clock. */
  readonly begin: Effect.Effect<void>
  /** Succeeds once the session clock runs. */
  readonly started: Effect.Effect<void>
  /** The replay published up to session time `ms` (at "max", session time follows it). */
  readonly published: (ms: number) => void
  readonly lastPublished: () => number | undefined
  /** The replay is over. */
  readonly finish: Effect.Effect<void>
  readonly finished: Effect.Effect<void>
  readonly isFinished: () => boolean
  /** Session time, epoch ms: `fromMs` until started; at "max", the last publish time. */
  readonly now: () => number
  /** Wakes the replay loop if it waits (`until`, `awaitPoke`). */
  readonly poke: () => void
  /** Paced: sleeps until the session reaches `sessionMs`; true when woken early by `poke`. */
  readonly until: (sessionMs: number) => Effect.Effect<boolean>
  /** Waits for the next `poke`. */
  readonly awaitPoke: Effect.Effect<void>
}

export const makeReplayClock = (speed: Speed, fromMs: number): Effect.Effect<ReplayClock, never, never> =>
  Effect.gen(function* () {
    const clock: Clock.Clock = yield* Effect.clock
    const paced = speed !== "max"
    if (paced && !(Number.isFinite(speed) && speed > 0))
      return yield* Effect.dieMessage(`A replay's speed must be a positive number or "max", got ${speed}`)
    const gate = yield* Deferred.make<void>()
    const running = yield* Deferred.make<void>()
    const done = yield* Deferred.make<void>()
    let startClock: number | undefined
    let lastPub: number | undefined
    let over = false
    let wake: (() => void) | undefined

    const now = (): number => {
      if (over) return Math.max(lastPub ?? fromMs, fromMs)
      if (startClock === undefined) return fromMs
      if (!paced) return lastPub ?? fromMs
      return fromMs + speed * (clock.unsafeCurrentTimeMillis() - startClock)
    }
    const awaitWake = Effect.async<boolean>((resume) => {
      wake = () => resume(Effect.succeed(true))
      return Effect.sync(() => {
        wake = undefined
      })
    })
    /** The clock time (whole ms, never early) at which the session reaches `sessionMs`. */
    const clockAt = (sessionMs: number) => startClock! + Math.ceil((sessionMs - fromMs) / (speed as number))

    return {
      speed,
      paced,
      fromMs,
      start: () => {
        Deferred.unsafeDone(gate, Exit.void)
      },
      begin: Effect.gen(function* () {
        yield* Deferred.await(gate)
        startClock = clock.unsafeCurrentTimeMillis()
        yield* Deferred.succeed(running, undefined)
      }),
      started: Deferred.await(running),
      published: (ms) => {
        lastPub = ms
      },
      lastPublished: () => lastPub,
      finish: Effect.suspend(() => {
        over = true
        return Deferred.succeed(done, undefined)
      }),
      finished: Deferred.await(done),
      isFinished: () => over,
      now,
      poke: () => {
        const w = wake
        wake = undefined
        w?.()
      },
      until: (sessionMs) => {
        const wait = clockAt(sessionMs) - clock.unsafeCurrentTimeMillis()
        return wait > 0
          ? Effect.raceFirst(Effect.as(Effect.sleep(Duration.millis(wait)), false), awaitWake)
          : Effect.succeed(false)
      },
      awaitPoke: Effect.asVoid(awaitWake)
    }
  })
