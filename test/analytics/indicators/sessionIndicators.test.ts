import { describe, expect, it } from "vitest"
import {
  type IndicatorValues,
  SessionIndicators
} from "../../../src/analytics/indicators/sessionIndicators.js"

const series = (n: number, shockAt = Number.POSITIVE_INFINITY) =>
  Array.from({ length: n }, (_, i) => {
    const close = 500 + Math.sin(i / 17) * 2 + (i >= shockAt ? 25 : 0)
    return { high: close + 0.05, low: close - 0.05, close, vwap: close, volume: i % 3 === 0 ? 0 : 100 }
  })

const run = (bars: ReturnType<typeof series>): ReadonlyArray<IndicatorValues> => {
  const s = new SessionIndicators()
  return bars.map((b) => s.update(b.high, b.low, b.close, b.vwap, b.volume))
}

describe("SessionIndicators", () => {
  it("each value appears when its definition first allows it (1-based second)", () => {
    const out = run(series(400))
    const first = Object.fromEntries(
      Object.keys(out[399]!).map((k) => [
        k,
        out.findIndex((v) => v[k as keyof IndicatorValues] !== undefined) + 1
      ])
    )
    expect(first).toEqual({
      return1s: 2,
      return5s: 6,
      return15s: 16,
      return60s: 61,
      return300s: 301,
      rsi14: 15,
      ema9: 9,
      ema21: 21,
      macd: 26,
      macdSignal: 34,
      macdHistogram: 34,
      bollingerMiddle: 20,
      bollingerUpper: 20,
      bollingerLower: 20,
      atr14: 14,
      vwapDistance: 2,
      realizedVol60s: 61,
      realizedVol300s: 301
    })
  })

  it("no look-ahead: a later shock changes nothing before it", () => {
    const calm = run(series(600))
    const shocked = run(series(600, 450))
    expect(shocked.slice(0, 450)).toEqual(calm.slice(0, 450))
    expect(shocked[450]!.return1s).not.toEqual(calm[450]!.return1s)
  })
})
