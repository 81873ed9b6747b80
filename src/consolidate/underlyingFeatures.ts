/**
 * `underlying_features_1s` rows for one underlying and one session: pure, no I/O. One row per
 * second from the underlying's first trade of the session to the last second before the close; a
 * second without a trade repeats the last close (`filled`). Every value at a second reads only
 * bars, VIX values and articles whose time is at or before it (README "Consolidated datasets").
 */
import { SessionIndicators } from "../analytics/indicators/sessionIndicators.js"
import type { UnderlyingFeature } from "../domain/Consolidated.js"
import type { StockBar } from "../domain/StockBar.js"
import { type Series, valueAtOrBefore } from "./asOf.js"

/** One insight or article at its publication time: +1 positive, −1 negative, 0 neutral / none. */
export interface NewsEvent {
  readonly publishedMs: number
  /** 1 for an article (count), 0 for a sentiment-only event. */
  readonly article: 0 | 1
  readonly sentiment: -1 | 0 | 1
}

export interface FeatureInputs {
  readonly symbol: string
  /** The underlying's bars of the day, any order (bars outside [openMs, closeMs) are ignored). */
  readonly bars: ReadonlyArray<StockBar>
  /** The session: its first second and its close, epoch ms. */
  readonly openMs: number
  readonly closeMs: number
  readonly vix: Series
  /** The day's articles mentioning the symbol and its insights, any order. */
  readonly news: ReadonlyArray<NewsEvent>
}

/** The trailing news windows, minutes. */
export const NEWS_WINDOWS = [5, 30, 60] as const

/** Counts and net sentiment over (ts − w, ts] as ts advances: two pointers per window. */
class TrailingNews {
  private readonly events: ReadonlyArray<NewsEvent>
  private head = 0
  private readonly tails: Array<number> = NEWS_WINDOWS.map(() => 0)
  private readonly counts: Array<number> = NEWS_WINDOWS.map(() => 0)
  private readonly sums: Array<number> = NEWS_WINDOWS.map(() => 0)

  constructor(events: ReadonlyArray<NewsEvent>) {
    this.events = [...events].sort((a, b) => a.publishedMs - b.publishedMs)
  }

  /** Advances to ts (non-decreasing) and returns [count, net] per window. */
  at(ts: number): ReadonlyArray<readonly [number, number]> {
    const ev = this.events
    while (this.head < ev.length && ev[this.head]!.publishedMs <= ts) {
      const e = ev[this.head++]!
      for (let w = 0; w < NEWS_WINDOWS.length; w++) {
        this.counts[w]! += e.article
        this.sums[w]! += e.sentiment
      }
    }
    return NEWS_WINDOWS.map((minutes, w) => {
      const from = ts - minutes * 60_000
      while (this.tails[w]! < this.head && ev[this.tails[w]!]!.publishedMs <= from) {
        const e = ev[this.tails[w]!]!
        this.counts[w]! -= e.article
        this.sums[w]! -= e.sentiment
        this.tails[w]!++
      }
      return [this.counts[w]!, this.sums[w]!] as const
    })
  }
}

const orNull = (x: number | undefined): number | null => (x === undefined ? null : x)

export const underlyingFeatures = (inputs: FeatureInputs): Array<UnderlyingFeature> => {
  const bars = inputs.bars
    .filter((b) => b.ts >= inputs.openMs && b.ts < inputs.closeMs)
    .sort((a, b) => a.ts - b.ts)
  const out: Array<UnderlyingFeature> = []
  if (bars.length === 0) return out
  const indicators = new SessionIndicators()
  const news = new TrailingNews(inputs.news)
  let next = 0
  let last = bars[0]!.close
  // Seconds aligned on the session's open.
  const first = inputs.openMs + Math.floor((bars[0]!.ts - inputs.openMs) / 1000) * 1000
  for (let ts = first; ts < inputs.closeMs; ts += 1000) {
    let bar: StockBar | undefined
    while (next < bars.length && bars[next]!.ts < ts + 1000) bar = bars[next++]
    const filled = bar === undefined
    const open = filled ? last : bar!.open
    const high = filled ? last : bar!.high
    const low = filled ? last : bar!.low
    const close = filled ? last : bar!.close
    const volume = filled ? 0 : bar!.volume
    const vwap = filled ? last : (bar!.vwap ?? bar!.close)
    last = close
    const v = indicators.update(high, low, close, vwap, volume)
    const [n5, n30, n60] = news.at(ts)
    out.push({
      symbol: inputs.symbol,
      ts,
      open,
      high,
      low,
      close,
      volume,
      vwap,
      filled,
      return_1s: orNull(v.return1s),
      return_5s: orNull(v.return5s),
      return_15s: orNull(v.return15s),
      return_60s: orNull(v.return60s),
      return_300s: orNull(v.return300s),
      rsi_14: orNull(v.rsi14),
      ema_9: orNull(v.ema9),
      ema_21: orNull(v.ema21),
      macd: orNull(v.macd),
      macd_signal: orNull(v.macdSignal),
      macd_histogram: orNull(v.macdHistogram),
      bollinger_middle: orNull(v.bollingerMiddle),
      bollinger_upper: orNull(v.bollingerUpper),
      bollinger_lower: orNull(v.bollingerLower),
      atr_14: orNull(v.atr14),
      vwap_distance: orNull(v.vwapDistance),
      realized_vol_60s: orNull(v.realizedVol60s),
      realized_vol_300s: orNull(v.realizedVol300s),
      vix: valueAtOrBefore(inputs.vix, ts),
      news_count_5m: n5![0],
      news_sentiment_5m: n5![1],
      news_count_30m: n30![0],
      news_sentiment_30m: n30![1],
      news_count_60m: n60![0],
      news_sentiment_60m: n60![1]
    })
  }
  return out
}
