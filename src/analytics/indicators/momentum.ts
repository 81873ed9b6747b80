/**
 * Returns over N seconds and the distance from the session VWAP, as incremental state machines.
 */
import { Window } from "./movingAverages.js"

/**
 * The simple return over the last n seconds: x_t / x_{t−n} − 1. Defined from the (n+1)-th value.
 */
export class PeriodReturn {
  private readonly window: Window

  constructor(readonly seconds: number) {
    // The current value and the n before it.
    this.window = new Window(seconds + 1)
  }

  update(x: number): number | undefined {
    this.window.push(x)
    return this.window.full ? x / this.window.at(0) - 1 : undefined
  }
}

/**
 * The session VWAP, Σ(vwap_i·v_i)/Σ v_i over the session's bars so far (each bar's own volume-weighted
 * price times its volume: the session's traded notional), and the distance of the last price from
 * it, price/VWAP − 1. Undefined until some volume has traded. One instance per session.
 */
export class SessionVwap {
  private notional = 0
  private volume = 0

  get vwap(): number | undefined {
    return this.volume > 0 ? this.notional / this.volume : undefined
  }

  /** Adds a bar (volume 0 for a second without trades) and returns price/VWAP − 1. */
  update(price: number, barVwap: number, barVolume: number): number | undefined {
    if (barVolume > 0) {
      this.notional += barVwap * barVolume
      this.volume += barVolume
    }
    const vwap = this.vwap
    return vwap === undefined ? undefined : price / vwap - 1
  }
}
