/**
 * When a streaming flush must start. `flush_interval` bounds how long a received message waits to
 * be durable, so the collect of a flush has to end early enough that its commit (late data,
 * validate, dedupe, every sink) completes within the interval of the batch's oldest arrival.
 *
 * The planner learns how long flushes take, from the moment each was due to the end of its commit,
 * so a timer that fired late, a GC pause and a slow fsync all count, and it plans for the longest
 * of the recent ones, not their average. Latency is bounded by the slow flushes: on the benchmark
 * machine (a cloud VM) the commit of a part file takes about 110 ms, and about 300 ms every few
 * seconds when an fsync stalls (bench/stream.ts). A lead from the average put those flushes and
 * their oldest messages past the bound. A longer lead only makes flushes smaller and more frequent.
 *
 * Until a flush has been measured the lead is half the interval: the first flushes (cold code, a
 * new file) are the slowest.
 */

/** Recent flushes the lead is planned from. */
export const WINDOW = 32
/** The lead never exceeds this share of the interval: a flush collects for at least the rest. */
export const MAX_LEAD_SHARE = 0.8
/** Room above the longest recent flush, as a factor and a constant (ms). */
const HEADROOM_FACTOR = 1.25
const HEADROOM_MS = 20

export interface FlushPlanner {
  /** How long before the oldest message's deadline a flush starts, ms. */
  readonly leadMs: () => number
  /** When the collect of a batch whose oldest message arrived at `oldestArrival` must end. */
  readonly dueAt: (oldestArrival: number) => number
  /** A flush that was due at `dueAt` was durable at `durableAt` (epoch ms). */
  readonly record: (dueAt: number, durableAt: number) => void
}

export const make = (intervalMs: number): FlushPlanner => {
  const recent = new Float64Array(WINDOW)
  let recorded = 0
  /** The longest flush in the window (recomputed per flush: 32 numbers). */
  let longest = 0
  const maxLead = MAX_LEAD_SHARE * intervalMs

  const leadMs = () =>
    recorded === 0 ? intervalMs / 2 : Math.min(maxLead, HEADROOM_FACTOR * longest + HEADROOM_MS)

  return {
    leadMs,
    dueAt: (oldestArrival) => oldestArrival + intervalMs - leadMs(),
    record: (dueAt, durableAt) => {
      recent[recorded % WINDOW] = Math.max(0, durableAt - dueAt)
      recorded++
      longest = Math.max(...recent)
    }
  }
}
