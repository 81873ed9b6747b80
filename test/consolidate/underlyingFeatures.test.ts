import { describe, expect, it } from "vitest"
import { SessionIndicators } from "../../src/analytics/indicators/sessionIndicators.js"
import { seriesOf } from "../../src/consolidate/asOf.js"
import { enrichOptionBars } from "../../src/consolidate/optionsEnrichment.js"
import { type NewsEvent, underlyingFeatures } from "../../src/consolidate/underlyingFeatures.js"
import type { StockBar } from "../../src/domain/StockBar.js"
import { newYorkTimeToEpochMs } from "../../src/domain/time.js"
import { RATE } from "../../src/sim/options/optionsChain.js"
import { simDay } from "./simDay.js"

const DAY = "2024-03-05"
const OPEN = newYorkTimeToEpochMs(DAY, 9, 30)
const CLOSE = newYorkTimeToEpochMs(DAY, 16, 0)
const closes = <A extends { readonly ts: number; readonly close: number }>(rows: ReadonlyArray<A>) =>
  seriesOf(
    rows,
    (b) => b.ts,
    (b) => b.close
  )

const bar = (second: number, close: number, volume = 10): StockBar => ({
  symbol: "SPY",
  ts: OPEN + second * 1000,
  open: close - 0.1,
  high: close + 0.2,
  low: close - 0.3,
  close,
  volume,
  vwap: close - 0.05,
  trades: 1
})

describe("underlying_features_1s rows", () => {
  it("one row per second from the first trade to the close, forward-filled and flagged where no trade", () => {
    const rows = underlyingFeatures({
      symbol: "SPY",
      bars: [bar(2, 100), bar(3, 101), bar(6, 99)],
      openMs: OPEN,
      closeMs: CLOSE,
      vix: closes([
        { ts: OPEN + 3000, close: 15 },
        { ts: OPEN + 5000, close: 16 }
      ]),
      news: []
    })
    expect(rows.length).toBe(23_400 - 2)
    expect(rows[0]!.ts).toBe(OPEN + 2000)
    expect(rows.at(-1)!.ts).toBe(CLOSE - 1000)
    expect(rows.slice(0, 5).map((r) => [r.close, r.filled, r.volume, r.vix])).toEqual([
      [100, false, 10, null],
      [101, false, 10, 15],
      [101, true, 0, 15],
      [101, true, 0, 16],
      [99, false, 10, 16]
    ])
    // A filled second is a flat bar at the last close.
    expect([rows[2]!.open, rows[2]!.high, rows[2]!.low, rows[2]!.vwap]).toEqual([101, 101, 101, 101])
    expect(rows[1]!.return_1s).toBeCloseTo(0.01, 12)
    expect(rows[4]!.return_1s).toBeCloseTo(99 / 101 - 1, 12)
    expect(rows[0]!.return_1s).toBeNull()
    // The indicators are the analytics' own, fed the same seconds.
    const reference = new SessionIndicators()
    const expected = rows.slice(0, 40).map((r) => reference.update(r.high, r.low, r.close, r.vwap, r.volume))
    expect(rows.slice(0, 40).map((r) => [r.ema_9, r.rsi_14, r.atr_14, r.vwap_distance])).toEqual(
      expected.map((v) => [v.ema9 ?? null, v.rsi14 ?? null, v.atr14 ?? null, v.vwapDistance ?? null])
    )
  })

  it("counts news and nets sentiment over (ts − w, ts]", () => {
    const at = (second: number) => OPEN + second * 1000
    const news: Array<NewsEvent> = [
      { publishedMs: at(0) - 3_600_000, article: 1, sentiment: 0 }, // exactly 60 min before 09:30: out
      { publishedMs: at(0) - 1_800_000 + 1, article: 1, sentiment: 0 },
      { publishedMs: at(0) - 1_800_000 + 1, article: 0, sentiment: 1 },
      { publishedMs: at(10), article: 1, sentiment: 0 },
      { publishedMs: at(10), article: 0, sentiment: -1 },
      { publishedMs: at(10) + 1, article: 0, sentiment: -1 }
    ]
    const rows = underlyingFeatures({
      symbol: "SPY",
      bars: [bar(0, 100)],
      openMs: OPEN,
      closeMs: CLOSE,
      vix: closes([]),
      news
    })
    const window = (i: number) => {
      const r = rows[i]!
      return [
        r.news_count_5m,
        r.news_sentiment_5m,
        r.news_count_30m,
        r.news_sentiment_30m,
        r.news_count_60m,
        r.news_sentiment_60m
      ]
    }
    expect(window(0)).toEqual([0, 0, 1, 1, 1, 1])
    // At 09:30:10 the 30-minute window starts after 09:00:10: the 09:00:00.001 article is out of it.
    expect(window(10)).toEqual([1, -1, 1, -1, 2, 0])
    expect(window(11)).toEqual([1, -2, 1, -2, 2, -1])
    expect(window(311)).toEqual([0, 0, 1, -2, 2, -1])
  })
})

describe("no look-ahead", () => {
  it("a shock appended after T changes no row before T", () => {
    const day = simDay("SPY", DAY, 0.003, 0)
    const T = newYorkTimeToEpochMs(DAY, 12, 0)
    const build = (d: typeof day, news: ReadonlyArray<NewsEvent>) => {
      const underlying = closes(d.underlying)
      const vix = closes(d.vix)
      return {
        features: underlyingFeatures({
          symbol: "SPY",
          bars: d.underlying,
          openMs: OPEN,
          closeMs: CLOSE,
          vix,
          news
        }),
        options: enrichOptionBars(d.options, { underlying, vix, rate: RATE, dividendYield: 0.013 })
      }
    }
    const before = build(day, [{ publishedMs: T - 600_000, article: 1, sentiment: 1 }])
    // After T: the underlying gaps 20 % down, VIX doubles, news piles up, and an option trades wildly.
    const shocked = {
      underlying: day.underlying.map((b) =>
        b.ts >= T
          ? { ...b, open: b.open * 0.8, high: b.high * 0.8, low: b.low * 0.8, close: b.close * 0.8 }
          : b
      ),
      vix: [...day.vix.map((b) => (b.ts >= T ? { ...b, close: b.close * 2 } : b))],
      options: [
        ...day.options.map((b) => (b.ts >= T ? { ...b, close: b.close * 3, high: b.high * 3 } : b)),
        { ...day.options[0]!, ts: T, close: 50, high: 50 }
      ]
    }
    const after = build(shocked, [
      { publishedMs: T - 600_000, article: 1, sentiment: 1 },
      { publishedMs: T, article: 1, sentiment: -1 },
      { publishedMs: T + 60_000, article: 1, sentiment: -1 }
    ])
    const earlier = <R extends { readonly ts: number }>(rows: ReadonlyArray<R>) =>
      rows.filter((r) => r.ts < T)
    expect(earlier(before.features).length).toBe(9000)
    expect(earlier(after.features)).toEqual(earlier(before.features))
    expect(earlier(before.options).length).toBeGreaterThan(1000)
    expect(earlier(after.options)).toEqual(earlier(before.options))
    // And the shock shows from T on.
    const at = (rows: ReadonlyArray<{ readonly ts: number; readonly close: number }>) =>
      rows.find((r) => r.ts === T)!.close
    expect(at(after.features)).toBeCloseTo(at(before.features) * 0.8, 9)
  })
})
