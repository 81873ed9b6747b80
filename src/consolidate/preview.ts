/**
 * A few rows of a consolidated day, for a terminal: the option rows of the busiest second of the
 * underlying around 10:00 New York (the most contracts traded), and the underlying's features then.
 */
import type { OptionEnriched, UnderlyingFeature } from "../domain/Consolidated.js"
import { newYorkTimeToEpochMs } from "../domain/time.js"

const fixed = (x: number | null, digits: number) => (x === null ? "-" : x.toFixed(digits))

export interface Preview {
  readonly ts: number
  readonly header: ReadonlyArray<string>
  readonly options: ReadonlyArray<ReadonlyArray<string>>
  readonly features: ReadonlyArray<ReadonlyArray<string>>
  readonly featureHeader: ReadonlyArray<string>
}

/** Up to `n` option rows of one second with their features; undefined when the day has no option row with an iv. */
export const previewOf = (
  date: string,
  options: ReadonlyArray<OptionEnriched>,
  features: ReadonlyArray<UnderlyingFeature>,
  n = 6
): Preview | undefined => {
  const from = newYorkTimeToEpochMs(date, 10, 0)
  const counts = new Map<number, number>()
  for (const r of options)
    if (r.iv !== null && r.ts >= from && r.ts < from + 600_000) counts.set(r.ts, (counts.get(r.ts) ?? 0) + 1)
  let ts: number | undefined
  for (const [t, c] of counts)
    if (ts === undefined || c > counts.get(ts)! || (c === counts.get(ts) && t < ts)) ts = t
  if (ts === undefined) return undefined
  const at = options.filter((r) => r.ts === ts && r.iv !== null).slice(0, n)
  const feature = features.find((f) => f.ts === ts)
  return {
    ts,
    header: [
      "contract",
      "close",
      "underlying",
      "dte",
      "moneyness",
      "iv",
      "delta",
      "gamma",
      "theta/yr",
      "vega"
    ],
    options: at.map((r) => [
      r.symbol,
      fixed(r.close, 4),
      fixed(r.underlying_price, 2),
      String(r.dte),
      fixed(r.moneyness, 5),
      fixed(r.iv, 6),
      fixed(r.delta, 4),
      fixed(r.gamma, 4),
      fixed(r.theta, 2),
      fixed(r.vega, 4)
    ]),
    featureHeader: [
      "symbol",
      "close",
      "filled",
      "return_60s",
      "rsi_14",
      "macd",
      "vwap_distance",
      "rv_300s",
      "vix",
      "news_60m"
    ],
    features:
      feature === undefined
        ? []
        : [
            [
              feature.symbol,
              fixed(feature.close, 2),
              String(feature.filled),
              fixed(feature.return_60s, 6),
              fixed(feature.rsi_14, 2),
              fixed(feature.macd, 4),
              fixed(feature.vwap_distance, 6),
              fixed(feature.realized_vol_300s, 6),
              fixed(feature.vix, 2),
              `${feature.news_count_60m} (net ${feature.news_sentiment_60m})`
            ]
          ]
  }
}
