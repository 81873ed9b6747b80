/**
 * Bollinger bands, ATR and realized volatility as incremental state machines over per-second bars.
 */
import { WilderAverage, Window } from "./movingAverages.js"

export interface Bands {
  readonly middle: number
  readonly upper: number
  readonly lower: number
}

/**
 * Bollinger(n, k): middle = the simple mean of the last n values, upper/lower = middle ± k·σ with σ
 * the population standard deviation of those n values (divided by n, as Bollinger defines it).
 * Undefined before the n-th value. Each update sums the window afresh (two passes, n operations):
 * running sums of squares lose every digit when prices are near-flat.
 */
export class Bollinger {
  private readonly window: Window
  private current: Bands | undefined = undefined

  constructor(
    readonly period = 20,
    readonly width = 2
  ) {
    this.window = new Window(period)
  }

  get value(): Bands | undefined {
    return this.current
  }

  update(x: number): Bands | undefined {
    this.window.push(x)
    if (!this.window.full) return undefined
    const n = this.period
    let sum = 0
    for (let i = 0; i < n; i++) sum += this.window.at(i)
    const middle = sum / n
    let squares = 0
    for (let i = 0; i < n; i++) {
      const d = this.window.at(i) - middle
      squares += d * d
    }
    const band = this.width * Math.sqrt(squares / n)
    this.current = { middle, upper: middle + band, lower: middle - band }
    return this.current
  }
}

/**
 * ATR(n), Wilder's: the true range TR_t = max(h_t − l_t, |h_t − c_{t−1}|, |l_t − c_{t−1}|) (h_1 − l_1
 * for the first bar), smoothed by Wilder's average seeded by the mean of the first n TRs: defined
 * from the n-th bar.
 */
export class Atr {
  private previousClose: number | undefined = undefined
  private readonly average: WilderAverage

  constructor(readonly period = 14) {
    this.average = new WilderAverage(period)
  }

  get value(): number | undefined {
    return this.average.value
  }

  update(high: number, low: number, close: number): number | undefined {
    const pc = this.previousClose
    const tr = pc === undefined ? high - low : Math.max(high - low, Math.abs(high - pc), Math.abs(low - pc))
    this.previousClose = close
    return this.average.update(tr)
  }
}

/**
 * Realized volatility over the last n seconds: sqrt(Σ r_i²) over the last n one-second log returns
 * r_i = ln(x_i/x_{i−1}), not annualised (× sqrt(23,400·252/n) gives an annual figure on trading
 * time). Defined from the (n+1)-th value. The sum is kept incrementally and recomputed from the
 * window every n updates, so rounding cannot drift (nor leave a negative sum on a flat stretch).
 */
export class RealizedVolatility {
  private previous: number | undefined = undefined
  private readonly window: Window
  private sum = 0
  private sinceRecompute = 0
  private current: number | undefined = undefined

  constructor(readonly seconds: number) {
    this.window = new Window(seconds)
  }

  get value(): number | undefined {
    return this.current
  }

  update(x: number): number | undefined {
    const previous = this.previous
    this.previous = x
    if (previous === undefined) return undefined
    const r = Math.log(x / previous)
    const out = this.window.push(r * r)
    this.sum += r * r - (out ?? 0)
    if (++this.sinceRecompute === this.seconds) {
      this.sinceRecompute = 0
      let s = 0
      for (let i = 0; i < this.window.length; i++) s += this.window.at(i)
      this.sum = s
    }
    if (!this.window.full) return undefined
    this.current = Math.sqrt(Math.max(0, this.sum))
    return this.current
  }
}
