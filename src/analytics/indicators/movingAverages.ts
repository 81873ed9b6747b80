/**
 * Moving averages as incremental state machines: `update` takes the next value and returns the
 * average after it, or undefined while warming up; `value` reads the current one. O(1) per update.
 */

const checkPeriod = (period: number): void => {
  if (!Number.isInteger(period) || period < 1)
    throw new RangeError(`a period must be a whole number ≥ 1, not ${period}`)
}

/**
 * The exponential moving average EMA(n), α = 2/(n+1), seeded by the simple average of the first n
 * values: EMA_n = mean(x_1..x_n), then EMA_t = EMA_{t−1} + α·(x_t − EMA_{t−1}). Undefined before
 * the n-th value.
 */
export class Ema {
  private count = 0
  private sum = 0
  private current: number | undefined = undefined
  private readonly alpha: number

  constructor(readonly period: number) {
    checkPeriod(period)
    this.alpha = 2 / (period + 1)
  }

  get value(): number | undefined {
    return this.current
  }

  update(x: number): number | undefined {
    if (this.current !== undefined) return (this.current += this.alpha * (x - this.current))
    this.sum += x
    if (++this.count === this.period) this.current = this.sum / this.period
    return this.current
  }
}

/**
 * Wilder's smoothing (the running moving average of RSI and ATR), seeded like the EMA by the simple
 * average of the first n values, then A_t = (A_{t−1}·(n − 1) + x_t)/n, i.e. an EMA with α = 1/n.
 */
export class WilderAverage {
  private count = 0
  private sum = 0
  private current: number | undefined = undefined

  constructor(readonly period: number) {
    checkPeriod(period)
  }

  get value(): number | undefined {
    return this.current
  }

  update(x: number): number | undefined {
    if (this.current !== undefined)
      return (this.current = (this.current * (this.period - 1) + x) / this.period)
    this.sum += x
    if (++this.count === this.period) this.current = this.sum / this.period
    return this.current
  }
}

/** The last n values, oldest first by `at(0)`: a fixed ring, O(1) per push. */
export class Window {
  private readonly values: Float64Array
  private next = 0
  private filled = 0

  constructor(readonly size: number) {
    checkPeriod(size)
    this.values = new Float64Array(size)
  }

  get length(): number {
    return this.filled
  }

  get full(): boolean {
    return this.filled === this.size
  }

  /** Adds x; returns the value it pushed out (undefined until the window is full). */
  push(x: number): number | undefined {
    const out = this.full ? this.values[this.next] : undefined
    this.values[this.next] = x
    this.next = (this.next + 1) % this.size
    if (this.filled < this.size) this.filled++
    return out
  }

  /** The i-th oldest value held (0 = oldest). */
  at(i: number): number {
    return this.values[(this.next - this.filled + i + this.size) % this.size]!
  }
}
