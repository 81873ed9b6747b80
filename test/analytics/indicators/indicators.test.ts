/**
 * Each indicator on a short series whose values are worked out here from its definition (README
 * "Analytics definitions"), warm-up included.
 */
import { describe, expect, it } from "vitest"
import { PeriodReturn, SessionVwap } from "../../../src/analytics/indicators/momentum.js"
import { Ema, WilderAverage, Window } from "../../../src/analytics/indicators/movingAverages.js"
import { Macd, Rsi } from "../../../src/analytics/indicators/oscillators.js"
import { Atr, Bollinger, RealizedVolatility } from "../../../src/analytics/indicators/volatility.js"

const expectSeries = (
  actual: ReadonlyArray<number | undefined>,
  expected: ReadonlyArray<number | undefined>
) => {
  expect(actual.length).toBe(expected.length)
  expected.forEach((e, i) => {
    if (e === undefined) expect([i, actual[i]]).toEqual([i, undefined])
    else expect(actual[i]).toBeCloseTo(e, 12)
  })
}

describe("moving averages", () => {
  it("EMA(3): α = 1/2, seeded by the mean of the first three values", () => {
    const ema = new Ema(3)
    // seed (2 + 4 + 6)/3 = 4; then 4 + (8 − 4)/2 = 6; 6 + (4 − 6)/2 = 5; 5 + (1 − 5)/2 = 3
    expectSeries(
      [2, 4, 6, 8, 4, 1].map((x) => ema.update(x)),
      [undefined, undefined, 4, 6, 5, 3]
    )
    expect(ema.value).toBe(3)
  })

  it("Wilder(3): seeded by the mean, then (A·2 + x)/3", () => {
    const w = new WilderAverage(3)
    expectSeries(
      [3, 6, 9, 12, 0].map((x) => w.update(x)),
      [undefined, undefined, 6, 8, 16 / 3]
    )
  })

  it("rejects a period that is not a whole number ≥ 1", () => {
    expect(() => new Ema(0)).toThrow(/whole number ≥ 1, not 0/)
    expect(() => new Window(2.5)).toThrow(RangeError)
  })

  it("a window keeps the last n values, oldest first", () => {
    const w = new Window(3)
    expect([1, 2, 3, 4].map((x) => w.push(x))).toEqual([undefined, undefined, undefined, 1])
    expect([w.at(0), w.at(1), w.at(2), w.full]).toEqual([2, 3, 4, true])
  })
})

describe("RSI (Wilder)", () => {
  it("RSI(3) on 10, 11, 10, 12, 13, 11", () => {
    // changes +1 −1 +2 +1 −2; seed: gain (1 + 0 + 2)/3 = 1, loss 1/3 → RS 3 → 75
    // +1: gain (2 + 1)/3 = 1, loss (2/3)/3 = 2/9 → RS 4.5 → 100 − 100/5.5
    // −2: gain 2/3, loss (4/9 + 2)/3 = 22/27 → RS 9/11 → 45
    const rsi = new Rsi(3)
    expectSeries(
      [10, 11, 10, 12, 13, 11].map((x) => rsi.update(x)),
      [undefined, undefined, undefined, 75, 100 - 100 / 5.5, 45]
    )
  })

  it("RSI(14) comes with the 15th value; 100 on a rise without losses, 50 when flat", () => {
    const rising = new Rsi(14)
    const values = Array.from({ length: 15 }, (_, i) => rising.update(100 + i))
    expect(values.slice(0, 14).every((v) => v === undefined)).toBe(true)
    expect(values[14]).toBe(100)
    const flat = new Rsi(14)
    for (let i = 0; i < 20; i++) flat.update(7)
    expect(flat.value).toBe(50)
  })
})

describe("MACD", () => {
  it("MACD(2, 3, 2) on 1, 2, 4, 8, 16", () => {
    // EMA2 (α 2/3): 3/2, 19/6, 115/18, 691/54 from the 2nd value; EMA3 (α 1/2): 7/3, 31/6, 127/12 from the 3rd
    // macd = 5/6, 11/9, 239/108; signal (EMA2 of macd): (5/6 + 11/9)/2 = 37/36, then 589/324
    const macd = new Macd(2, 3, 2)
    const out = [1, 2, 4, 8, 16].map((x) => {
      const m = macd.update(x)
      return [m.macd, m.signal, m.histogram] as const
    })
    expectSeries(
      out.map((o) => o[0]),
      [undefined, undefined, 5 / 6, 11 / 9, 239 / 108]
    )
    expectSeries(
      out.map((o) => o[1]),
      [undefined, undefined, undefined, 37 / 36, 589 / 324]
    )
    expectSeries(
      out.map((o) => o[2]),
      [undefined, undefined, undefined, 7 / 36, 32 / 81]
    )
  })

  it("MACD(12, 26, 9): the line from the 26th value, the signal from the 34th", () => {
    const macd = new Macd()
    const firsts = { macd: 0, signal: 0 }
    for (let i = 1; i <= 40; i++) {
      const m = macd.update(Math.sin(i))
      if (m.macd !== undefined && firsts.macd === 0) firsts.macd = i
      if (m.signal !== undefined && firsts.signal === 0) firsts.signal = i
    }
    expect(firsts).toEqual({ macd: 26, signal: 34 })
  })
})

describe("volatility", () => {
  it("Bollinger(4, 2) with the population standard deviation", () => {
    const b = new Bollinger(4, 2)
    const out = [1, 2, 3, 4, 10].map((x) => b.update(x))
    expect(out.slice(0, 3)).toEqual([undefined, undefined, undefined])
    // [1, 2, 3, 4]: mean 2.5, variance (2.25 + 0.25 + 0.25 + 2.25)/4 = 1.25
    expect(out[3]!.middle).toBeCloseTo(2.5, 14)
    expect(out[3]!.upper).toBeCloseTo(2.5 + 2 * Math.sqrt(1.25), 14)
    expect(out[3]!.lower).toBeCloseTo(2.5 - 2 * Math.sqrt(1.25), 14)
    // [2, 3, 4, 10]: mean 4.75, variance (7.5625 + 3.0625 + 0.5625 + 27.5625)/4 = 9.6875
    expect(out[4]!.upper).toBeCloseTo(4.75 + 2 * Math.sqrt(9.6875), 14)
  })

  it("Bollinger bands close up on a flat series (no digits lost to running sums)", () => {
    const b = new Bollinger()
    for (let i = 0; i < 25; i++) b.update(512.37 + (i < 3 ? 1 : 0))
    // Σx² − (Σx)²/n would leave about sqrt(512² · 1e-16) ≈ 5e-6 of noise; two passes leave rounding only.
    expect(b.value!.middle).toBeCloseTo(512.37, 12)
    expect(b.value!.upper - b.value!.lower).toBeLessThan(1e-10)
  })

  it("ATR(3), Wilder: true ranges 2, 2, 3, 4.5 (gap down), 4 (gap up)", () => {
    const atr = new Atr(3)
    const bars: ReadonlyArray<readonly [number, number, number]> = [
      [10, 8, 9], // h − l = 2 (no previous close)
      [11, 9, 10], // max(2, |11 − 9|, |9 − 9|) = 2
      [13, 10, 11.5], // max(3, 3, 0) = 3 → seed 7/3
      [11, 7, 8], // max(4, 0.5, 4.5) = 4.5 → (14/3 + 4.5)/3 = 55/18
      [12, 11, 11.5] // max(1, 4, 3) = 4 → (110/18 + 4)/3 = 91/27
    ]
    expectSeries(
      bars.map(([h, l, c]) => atr.update(h, l, c)),
      [undefined, undefined, 7 / 3, 55 / 18, 91 / 27]
    )
  })

  it("realized volatility over 2 s: sqrt of the sum of the last two squared log returns", () => {
    const rv = new RealizedVolatility(2)
    const r1 = Math.log(101 / 100)
    const r2 = Math.log(100 / 101)
    const r3 = Math.log(102 / 100)
    expectSeries(
      [100, 101, 100, 102].map((x) => rv.update(x)),
      [undefined, undefined, Math.sqrt(r1 * r1 + r2 * r2), Math.sqrt(r2 * r2 + r3 * r3)]
    )
  })

  it("realized volatility over 60 s stays the definition over a long series, and 0 when flat", () => {
    const prices = Array.from(
      { length: 5000 },
      (_, i) => 500 * Math.exp(0.001 * Math.sin(i * 0.7) + 1e-5 * i)
    )
    const rv = new RealizedVolatility(60)
    const out = prices.map((p) => rv.update(p))
    expect(out[59]).toBeUndefined()
    for (const i of [60, 61, 999, 4999]) {
      let sum = 0
      for (let j = i - 59; j <= i; j++) sum += Math.log(prices[j]! / prices[j - 1]!) ** 2
      expect(out[i]! / Math.sqrt(sum)).toBeCloseTo(1, 12)
    }
    const flat = new RealizedVolatility(60)
    for (let i = 0; i < 200; i++) flat.update(i < 100 ? 500 + (i % 2) : 500)
    expect(flat.value).toBe(0)
  })
})

describe("momentum", () => {
  it("the return over 2 s: x_t / x_{t−2} − 1", () => {
    const r = new PeriodReturn(2)
    expectSeries(
      [100, 102, 105, 103].map((x) => r.update(x)),
      [undefined, undefined, 0.05, 103 / 102 - 1]
    )
  })

  it("the distance from the session VWAP: price / (Σ vwap·v / Σ v) − 1, undefined before any volume", () => {
    const v = new SessionVwap()
    expect(v.update(10, 10, 0)).toBeUndefined()
    expect(v.update(10, 10, 100)).toBe(0)
    // (10·100 + 10.8·300)/400 = 10.6
    expect(v.update(11, 10.8, 300)).toBeCloseTo(11 / 10.6 - 1, 14)
    // A second without trades leaves the VWAP where it was.
    expect(v.update(12, 12, 0)).toBeCloseTo(12 / 10.6 - 1, 14)
    expect(v.vwap).toBeCloseTo(10.6, 14)
  })
})
