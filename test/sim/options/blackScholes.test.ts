import { describe, expect, it } from "vitest"
import { bsmPrice, erfc, normCdf } from "../../../src/sim/options/blackScholes.js"
import { haveGreeksFixtures, referenceRows } from "../../analytics/greeksFixtures.js"

describe.skipIf(!haveGreeksFixtures)("bsmPrice against ../shared/fixtures/greeks/bsm-reference.csv", () => {
  it("meets |ours − ref| ≤ 1e-9 × max(1, |ref|) on every row", () => {
    const rows = referenceRows()
    expect(rows.length).toBeGreaterThan(300)
    const misses = rows.filter((r) => {
      const ours = bsmPrice({
        type: r.call ? "call" : "put",
        spot: r.spot,
        strike: r.strike,
        t: r.t,
        rate: r.rate,
        dividendYield: r.q,
        sigma: r.sigma
      })
      return !(Math.abs(ours - r.price) <= 1e-9 * Math.max(1, Math.abs(r.price)))
    })
    expect(misses.map((r) => r.case)).toEqual([])
  })

  it("reproduces Hull's textbook anchors", () => {
    const base = { spot: 42, strike: 40, t: 0.5, rate: 0.1, dividendYield: 0, sigma: 0.2 }
    expect(bsmPrice({ ...base, type: "call" })).toBeCloseTo(4.7594, 4)
    expect(bsmPrice({ ...base, type: "put" })).toBeCloseTo(0.8086, 4)
  })
})

describe("normal distribution", () => {
  it("erfc and the normal CDF at known points, tails included", () => {
    expect(erfc(0)).toBe(1)
    expect(erfc(0.5)).toBeCloseTo(0.4795001221869535, 15)
    expect(erfc(2)).toBeCloseTo(0.004677734981047266, 16)
    expect(erfc(-1)).toBeCloseTo(1.8427007929497148, 15)
    expect(normCdf(-10) / 7.619853024160527e-24).toBeCloseTo(1, 12)
    expect(normCdf(1.96)).toBeCloseTo(0.9750021048517795, 15)
    expect(erfc(30)).toBe(0)
  })

  it("prices at or after expiry are intrinsic", () => {
    const o = { spot: 510, strike: 505, t: 0, rate: 0.05, dividendYield: 0.01, sigma: 0.2 }
    expect(bsmPrice({ ...o, type: "call" })).toBe(5)
    expect(bsmPrice({ ...o, type: "put" })).toBe(0)
  })
})
