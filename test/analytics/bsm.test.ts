import { describe, expect, it } from "vitest"
import { bsmGreeks } from "../../src/analytics/bsm.js"
import { haveGreeksFixtures, referenceRows } from "./greeksFixtures.js"

const within = (ours: number, ref: number) => Math.abs(ours - ref) <= 1e-9 * Math.max(1, Math.abs(ref))

describe.skipIf(!haveGreeksFixtures)("bsmGreeks against ../shared/fixtures/greeks/bsm-reference.csv", () => {
  it("price and every greek meet |ours − ref| ≤ 1e-9 × max(1, |ref|) on every row", () => {
    const rows = referenceRows()
    expect(rows.length).toBe(370)
    const misses: Array<string> = []
    for (const r of rows) {
      const g = bsmGreeks(r.call, r.spot, r.strike, r.t, r.rate, r.q, r.sigma)
      for (const [name, ours, ref] of [
        ["price", g.price, r.price],
        ["delta", g.delta, r.delta],
        ["gamma", g.gamma, r.gamma],
        ["theta", g.theta, r.theta],
        ["vega", g.vega, r.vega],
        ["rho", g.rho, r.rho]
      ] as const)
        if (!within(ours, ref)) misses.push(`${r.case} ${name}: ours ${ours}, ref ${ref}`)
    }
    expect(misses).toEqual([])
  })
})

describe("bsmGreeks", () => {
  const S = 510
  const K = 505
  const t = 0.02
  const r = 0.05
  const q = 0.013
  const sigma = 0.2

  it("greeks are the derivatives of the price (central differences)", () => {
    for (const call of [true, false]) {
      const g = bsmGreeks(call, S, K, t, r, q, sigma)
      const p = (s: number, tt: number, rr: number, v: number) => bsmGreeks(call, s, K, tt, rr, q, v).price
      const h = 1e-4
      expect(g.delta).toBeCloseTo((p(S + h, t, r, sigma) - p(S - h, t, r, sigma)) / (2 * h), 6)
      expect(g.gamma).toBeCloseTo(
        (p(S + 0.01, t, r, sigma) - 2 * g.price + p(S - 0.01, t, r, sigma)) / 1e-4,
        5
      )
      // Calendar time moving forward shortens the time to expiry.
      expect(g.theta).toBeCloseTo(-(p(S, t + 1e-7, r, sigma) - p(S, t - 1e-7, r, sigma)) / 2e-7, 3)
      expect(g.vega).toBeCloseTo((p(S, t, r, sigma + h) - p(S, t, r, sigma - h)) / (2 * h), 5)
      expect(g.rho).toBeCloseTo((p(S, t, r + h, sigma) - p(S, t, r - h, sigma)) / (2 * h), 5)
    }
  })

  it("put–call parity: C − P = S·e^{−qt} − K·e^{−rt}", () => {
    const c = bsmGreeks(true, S, K, t, r, q, sigma)
    const p = bsmGreeks(false, S, K, t, r, q, sigma)
    expect(c.price - p.price).toBeCloseTo(S * Math.exp(-q * t) - K * Math.exp(-r * t), 12)
    expect(c.delta - p.delta).toBeCloseTo(Math.exp(-q * t), 15)
  })

  it("at or after expiry: intrinsic value, delta ±1 in the money, the other greeks 0", () => {
    expect(bsmGreeks(true, S, K, 0, r, q, sigma)).toEqual({
      price: 5,
      delta: 1,
      gamma: 0,
      theta: 0,
      vega: 0,
      rho: 0
    })
    expect(bsmGreeks(false, S, K, -1, r, q, sigma)).toEqual({
      price: 0,
      delta: 0,
      gamma: 0,
      theta: 0,
      vega: 0,
      rho: 0
    })
  })

  it("zero volatility: the discounted intrinsic value on the forward", () => {
    const g = bsmGreeks(true, S, K, t, r, q, 0)
    expect(g.price).toBeCloseTo(S * Math.exp(-q * t) - K * Math.exp(-r * t), 12)
    expect(g.delta).toBeCloseTo(Math.exp(-q * t), 15)
    expect(g.vega).toBe(0)
    expect(bsmGreeks(false, S, K, t, r, q, 0).price).toBe(0)
  })
})
