/**
 * Scripted faults in order: "the next N occasions", or "one occasion in N" (`every`), optionally
 * only where a path matches. What a fault is and what an occasion is (a request, a connection, a
 * frame) belong to the simulator that takes them; the queue only counts.
 */

export interface QueueOptions {
  /** How many matching occasions the fault applies to; default 1, or unlimited with `every`. */
  readonly times?: number
  /**
   * Apply to one matching occasion in `every` (the every-th, the 2·every-th, …) and let the
   * others through: a deterministic storm. Occasions an earlier queued fault took are not
   * counted, so a second `every` fault hits "one in N of the others".
   */
  readonly every?: number
  /** Only occasions whose path matches; default every one. */
  readonly path?: RegExp
}

export interface Queued<F> {
  readonly fault: F
  /** Uses left; `null` = until cleared. */
  readonly remaining: number | null
  readonly every?: number
  readonly path?: string
}

export interface FaultQueue<F> {
  /** Queues `fault`; faults are tried in the order queued, the first that takes an occasion answers it. */
  readonly inject: (fault: F, options?: QueueOptions) => void
  readonly clear: () => void
  readonly pending: () => ReadonlyArray<Queued<F>>
  /**
   * Takes one use of the first queued fault that matches `path` (undefined: only faults without
   * a path) and that `accepts` agrees to.
   */
  readonly take: (path: string | undefined, accepts: (fault: F) => boolean) => F | undefined
}

interface Entry<F> {
  readonly fault: F
  /** Uses left (`Infinity` = until cleared). */
  remaining: number
  readonly every: number
  /** Matching occasions this entry has seen, for `every`. */
  seen: number
  readonly path: RegExp | undefined
}

const positiveInt = (name: string, n: number) => {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer, got ${n}`)
}

export const makeFaultQueue = <F>(): FaultQueue<F> => {
  let queue: Array<Entry<F>> = []
  return {
    inject: (fault, opts = {}) => {
      const every = opts.every ?? 1
      positiveInt("every", every)
      const times = opts.times ?? (opts.every === undefined ? 1 : Number.POSITIVE_INFINITY)
      if (opts.times !== undefined) positiveInt("times", times)
      queue.push({ fault, remaining: times, every, seen: 0, path: opts.path })
    },
    clear: () => {
      queue = []
    },
    pending: () =>
      queue.map((e) => ({
        fault: e.fault,
        remaining: Number.isFinite(e.remaining) ? e.remaining : null,
        ...(e.every > 1 ? { every: e.every } : {}),
        ...(e.path ? { path: e.path.source } : {})
      })),
    take: (path, accepts) => {
      for (let i = 0; i < queue.length; i++) {
        const e = queue[i]!
        if (e.path !== undefined) {
          if (path === undefined) continue
          e.path.lastIndex = 0
          if (!e.path.test(path)) continue
        }
        if (!accepts(e.fault)) continue
        e.seen++
        if (e.seen % e.every !== 0) continue
        e.remaining--
        if (e.remaining <= 0) queue.splice(i, 1)
        return e.fault
      }
      return undefined
    }
  }
}
