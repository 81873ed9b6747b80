import { describe, expect, it } from "@effect/vitest"
import * as RetryPolicy from "../../src/sources/retryPolicy.js"

const settings: RetryPolicy.RetrySettings = {
  attempts: 3,
  baseDelayMs: 500,
  maxDelayMs: 1500,
  maxRetryAfterMs: 10_000,
  maxThrottleWaitMs: 30_000
}
const error: RetryPolicy.Failure = { throttled: false }
const throttled: RetryPolicy.Failure = { throttled: true }

/** Runs `failures` through `decide` at the given clock times, with no jitter. */
const walk = (
  failures: ReadonlyArray<readonly [RetryPolicy.Failure, number]>,
  over: Partial<RetryPolicy.RetrySettings> = {}
) => {
  let state = RetryPolicy.initial
  return failures.map(([failure, now]) => {
    const decision = RetryPolicy.decide({ ...settings, ...over }, state, failure, now, 1)
    state = decision.state
    return decision
  })
}

describe("RetryPolicy.decide", () => {
  it("errors use up the attempts, with exponential delays capped at maxDelayMs", () => {
    const decisions = walk([
      [error, 0],
      [error, 1],
      [error, 2]
    ])
    expect(decisions.map((d) => (d._tag === "Retry" ? d.delayMs : d.budget))).toEqual([500, 1000, "attempts"])
    expect(
      walk(
        [
          [error, 0],
          [error, 0],
          [error, 0],
          [error, 0],
          [error, 0]
        ],
        { attempts: 5 }
      ).map((d) => d._tag === "Retry" && d.delayMs)
    ).toEqual([500, 1000, 1500, 1500, false])
  })

  it("a 429 never uses up the attempts; its own backoff doubles per 429 and stops at maxRetryAfterMs", () => {
    const decisions = walk(Array.from({ length: 8 }, (_, i) => [throttled, i] as const))
    expect(decisions.every((d) => d._tag === "Retry")).toBe(true)
    expect(decisions.map((d) => d._tag === "Retry" && d.delayMs)).toEqual([
      500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000
    ])
    expect(decisions.at(-1)?.state).toEqual({ errors: 0, throttles: 8, throttledSinceMs: 0 })
  })

  it("errors between 429s still end the request at the third", () => {
    const decisions = walk([
      [error, 0],
      [throttled, 10],
      [throttled, 20],
      [error, 30],
      [throttled, 40],
      [error, 50]
    ])
    expect(decisions.map((d) => d._tag)).toEqual(["Retry", "Retry", "Retry", "Retry", "Retry", "GiveUp"])
    expect(decisions.at(-1)).toMatchObject({ budget: "attempts", state: { errors: 3, throttles: 3 } })
  })

  it("Retry-After is honoured, cut to maxRetryAfterMs, for 429s and errors alike", () => {
    const [a, b] = walk([
      [{ throttled: true, retryAfterMs: 7000 }, 0],
      [{ throttled: false, retryAfterMs: 60_000 }, 7000]
    ])
    expect(a).toMatchObject({ _tag: "Retry", delayMs: 7000, fromRetryAfter: true })
    expect(b).toMatchObject({ _tag: "Retry", delayMs: 10_000, fromRetryAfter: true })
  })

  it("the throttle budget counts from the first 429: a retry may end at it, not past it", () => {
    const wait = { throttled: true, retryAfterMs: 10_000 }
    const decisions = walk([
      [wait, 5000],
      [wait, 15_000],
      [wait, 25_000],
      [wait, 35_000]
    ])
    expect(decisions.map((d) => d._tag)).toEqual(["Retry", "Retry", "Retry", "GiveUp"])
    expect(decisions[3]).toMatchObject({ budget: "throttle", throttledForMs: 30_000, nextDelayMs: 10_000 })
  })

  it("jitter scales the computed delays, not a Retry-After", () => {
    const jittered = RetryPolicy.decide(settings, RetryPolicy.initial, throttled, 0, RetryPolicy.jitterOf(1))
    expect(jittered).toMatchObject({ delayMs: 600 })
    expect(RetryPolicy.jitterOf(0)).toBe(0.8)
    const told = RetryPolicy.decide(
      settings,
      RetryPolicy.initial,
      { throttled: true, retryAfterMs: 2000 },
      0,
      1.2
    )
    expect(told).toMatchObject({ delayMs: 2000 })
  })
})
