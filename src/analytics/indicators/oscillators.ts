/**
 * RSI and MACD as incremental state machines over one series (one value per second, no look-ahead).
 */
import { Ema, WilderAverage } from "./movingAverages.js"

/**
 * RSI(n), Wilder's: with the changes d_t = x_t − x_{t−1}, gains max(d, 0) and losses max(−d, 0)
 * each smoothed by Wilder's average (seeded by the mean of the first n changes, so the first RSI
 * comes with the (n+1)-th value), RSI = 100 − 100/(1 + avgGain/avgLoss); 100 when avgLoss = 0 and
 * avgGain > 0, 50 when both are 0 (a flat series).
 */
export class Rsi {
  private previous: number | undefined = undefined
  private readonly gains: WilderAverage
  private readonly losses: WilderAverage
  private current: number | undefined = undefined

  constructor(readonly period = 14) {
    this.gains = new WilderAverage(period)
    this.losses = new WilderAverage(period)
  }

  get value(): number | undefined {
    return this.current
  }

  update(x: number): number | undefined {
    const previous = this.previous
    this.previous = x
    if (previous === undefined) return undefined
    const d = x - previous
    const gain = this.gains.update(Math.max(d, 0))
    const loss = this.losses.update(Math.max(-d, 0))
    if (gain === undefined || loss === undefined) return undefined
    this.current = loss === 0 ? (gain === 0 ? 50 : 100) : 100 - 100 / (1 + gain / loss)
    return this.current
  }
}

/**
 * MACD(fast, slow, signal): macd = EMA_fast(x) − EMA_slow(x) (from the slow-th value), signal =
 * EMA_signal of the macd values (seeded by the mean of the first `signal` of them, so from value
 * slow + signal − 1), histogram = macd − signal. Each field is undefined until it exists.
 */
export class Macd {
  private readonly fastEma: Ema
  private readonly slowEma: Ema
  private readonly signalEma: Ema
  macd: number | undefined = undefined
  signal: number | undefined = undefined
  histogram: number | undefined = undefined

  constructor(fast = 12, slow = 26, signal = 9) {
    this.fastEma = new Ema(fast)
    this.slowEma = new Ema(slow)
    this.signalEma = new Ema(signal)
  }

  update(x: number): this {
    const fast = this.fastEma.update(x)
    const slow = this.slowEma.update(x)
    if (fast === undefined || slow === undefined) return this
    this.macd = fast - slow
    this.signal = this.signalEma.update(this.macd)
    this.histogram = this.signal === undefined ? undefined : this.macd - this.signal
    return this
  }
}
