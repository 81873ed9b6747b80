/**
 * When a vendor request is tried again, and how long it waits first. Two budgets, kept apart:
 *
 * - errors (5xx, timeouts, broken bodies, network errors) use up `attempts`, with exponential
 *   backoff and jitter from `baseDelayMs` up to `maxDelayMs`, or the server's Retry-After;
 * - a 429 is flow control, not a failure: it never uses up `attempts`. It waits for its
 *   Retry-After, or without one on its own backoff from `baseDelayMs` (doubling with each 429 to
 *   the same request), each wait capped at `maxRetryAfterMs`. From the request's first 429, a
 *   retry that would come later than `maxThrottleWaitMs` is not made.
 *
 * Pure: the caller brings the clock reading and the jitter factor.
 */

export interface RetrySettings {
  /** Tries per request for errors, the first included. */
  readonly attempts: number
  readonly baseDelayMs: number
  readonly maxDelayMs: number
  readonly maxRetryAfterMs: number
  readonly maxThrottleWaitMs: number
}

export interface RetryState {
  /** Failed tries so far (429s not counted). */
  readonly errors: number
  /** 429 answers so far. */
  readonly throttles: number
  /** Clock time of the request's first 429. */
  readonly throttledSinceMs: number | undefined
}

export const initial: RetryState = { errors: 0, throttles: 0, throttledSinceMs: undefined }

export interface Failure {
  /** HTTP 429. */
  readonly throttled: boolean
  /** The server's Retry-After, in ms from now. */
  readonly retryAfterMs?: number
}

export type Decision =
  | {
      readonly _tag: "Retry"
      readonly delayMs: number
      /** The delay is the server's Retry-After (possibly cut to `maxRetryAfterMs`). */
      readonly fromRetryAfter: boolean
      readonly state: RetryState
    }
  | {
      readonly _tag: "GiveUp"
      /** `attempts`: errors used up the attempts; `throttle`: the next wait would pass `maxThrottleWaitMs`. */
      readonly budget: "attempts" | "throttle"
      readonly state: RetryState
      /** For `throttle`: time since the first 429, and the wait that was not started. */
      readonly throttledForMs: number
      readonly nextDelayMs: number
    }

/** Jitter factors are drawn from [0.8, 1.2), as `Schedule.jittered` does. */
export const jitterOf = (random01: number): number => 0.8 + 0.4 * random01

const backoff = (baseMs: number, step: number, jitter: number, capMs: number): number =>
  Math.round(Math.min(baseMs * 2 ** step * jitter, capMs))

/** What to do after `failure`, the request having gone through `state` so far. */
export const decide = (
  settings: RetrySettings,
  state: RetryState,
  failure: Failure,
  nowMs: number,
  jitter: number
): Decision => {
  const retryAfter =
    failure.retryAfterMs === undefined ? undefined : Math.min(failure.retryAfterMs, settings.maxRetryAfterMs)
  if (failure.throttled) {
    const since = state.throttledSinceMs ?? nowMs
    const next: RetryState = { ...state, throttles: state.throttles + 1, throttledSinceMs: since }
    const delayMs =
      retryAfter ?? backoff(settings.baseDelayMs, state.throttles, jitter, settings.maxRetryAfterMs)
    const throttledForMs = nowMs - since
    if (throttledForMs + delayMs > settings.maxThrottleWaitMs)
      return { _tag: "GiveUp", budget: "throttle", state: next, throttledForMs, nextDelayMs: delayMs }
    return { _tag: "Retry", delayMs, fromRetryAfter: retryAfter !== undefined, state: next }
  }
  const next: RetryState = { ...state, errors: state.errors + 1 }
  if (next.errors >= Math.max(1, settings.attempts))
    return {
      _tag: "GiveUp",
      budget: "attempts",
      state: next,
      throttledForMs: state.throttledSinceMs === undefined ? 0 : nowMs - state.throttledSinceMs,
      nextDelayMs: 0
    }
  const delayMs = retryAfter ?? backoff(settings.baseDelayMs, state.errors, jitter, settings.maxDelayMs)
  return { _tag: "Retry", delayMs, fromRetryAfter: retryAfter !== undefined, state: next }
}
