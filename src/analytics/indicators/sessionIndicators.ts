/**
 * Every indicator of `underlying_features_1s` for one underlying and one session, updated once per
 * second in time order (feed every second of the session: a second without trades as a bar with
 * h = l = c = the last price and volume 0). Each value at a second uses only that second and the
 * ones before it.
 */

import { PeriodReturn, SessionVwap } from "./momentum.js"
import { Ema } from "./movingAverages.js"
import { Macd, Rsi } from "./oscillators.js"
import { Atr, Bollinger, RealizedVolatility } from "./volatility.js"

export interface IndicatorValues {
  readonly return1s: number | undefined
  readonly return5s: number | undefined
  readonly return15s: number | undefined
  readonly return60s: number | undefined
  readonly return300s: number | undefined
  readonly rsi14: number | undefined
  readonly ema9: number | undefined
  readonly ema21: number | undefined
  readonly macd: number | undefined
  readonly macdSignal: number | undefined
  readonly macdHistogram: number | undefined
  readonly bollingerMiddle: number | undefined
  readonly bollingerUpper: number | undefined
  readonly bollingerLower: number | undefined
  readonly atr14: number | undefined
  readonly vwapDistance: number | undefined
  readonly realizedVol60s: number | undefined
  readonly realizedVol300s: number | undefined
}

export class SessionIndicators {
  private readonly r1 = new PeriodReturn(1)
  private readonly r5 = new PeriodReturn(5)
  private readonly r15 = new PeriodReturn(15)
  private readonly r60 = new PeriodReturn(60)
  private readonly r300 = new PeriodReturn(300)
  private readonly rsi = new Rsi(14)
  private readonly ema9 = new Ema(9)
  private readonly ema21 = new Ema(21)
  private readonly macd = new Macd(12, 26, 9)
  private readonly bollinger = new Bollinger(20, 2)
  private readonly atr = new Atr(14)
  private readonly vwap = new SessionVwap()
  private readonly rv60 = new RealizedVolatility(60)
  private readonly rv300 = new RealizedVolatility(300)

  /** The next second's bar: its high, low, close (last price), volume-weighted price and volume. */
  update(high: number, low: number, close: number, barVwap: number, volume: number): IndicatorValues {
    const macd = this.macd.update(close)
    const bands = this.bollinger.update(close)
    return {
      return1s: this.r1.update(close),
      return5s: this.r5.update(close),
      return15s: this.r15.update(close),
      return60s: this.r60.update(close),
      return300s: this.r300.update(close),
      rsi14: this.rsi.update(close),
      ema9: this.ema9.update(close),
      ema21: this.ema21.update(close),
      macd: macd.macd,
      macdSignal: macd.signal,
      macdHistogram: macd.histogram,
      bollingerMiddle: bands?.middle,
      bollingerUpper: bands?.upper,
      bollingerLower: bands?.lower,
      atr14: this.atr.update(high, low, close),
      vwapDistance: this.vwap.update(close, barVwap, volume),
      realizedVol60s: this.rv60.update(close),
      realizedVol300s: this.rv300.update(close)
    }
  }
}
