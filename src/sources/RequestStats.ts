/**
 * What an HTTP client to a vendor did during a run, for the command's summary and log:
 * requests sent, answers that asked it to slow down (429) and the time spent waiting them out,
 * and retries after errors. Vendor-neutral: every REST client keeps one set per instance.
 */

export interface RequestStats {
  /** HTTP requests sent, retries included. */
  readonly requests: number
  /** Answers that asked the client to slow down (HTTP 429). */
  readonly throttled: number
  /** Time spent waiting before retrying throttled requests. */
  readonly throttleWaitMs: number
  /** Retries after errors (5xx, timeouts, broken bodies, network errors); throttles not included. */
  readonly errorRetries: number
}

export const empty: RequestStats = { requests: 0, throttled: 0, throttleWaitMs: 0, errorRetries: 0 }

/** Mutable counters behind a client; `snapshot` copies them. Plain fields: updated synchronously. */
export interface Counters {
  readonly request: () => void
  readonly throttled: () => void
  readonly waitedOnThrottle: (ms: number) => void
  readonly errorRetry: () => void
  readonly snapshot: () => RequestStats
}

export const makeCounters = (): Counters => {
  let stats: RequestStats = empty
  return {
    request: () => {
      stats = { ...stats, requests: stats.requests + 1 }
    },
    throttled: () => {
      stats = { ...stats, throttled: stats.throttled + 1 }
    },
    waitedOnThrottle: (ms) => {
      stats = { ...stats, throttleWaitMs: stats.throttleWaitMs + ms }
    },
    errorRetry: () => {
      stats = { ...stats, errorRetries: stats.errorRetries + 1 }
    },
    snapshot: () => stats
  }
}
