import { describe, expect, it } from "vitest"
import { bsmGreeks } from "../../src/analytics/bsm.js"
import { IV_REASONS, impliedVolatility } from "../../src/analytics/impliedVolatility.js"
import { boundsRows, haveGreeksFixtures, referenceRows } from "./greeksFixtures.js"

describe.skipIf(!haveGreeksFixtures)("impliedVolatility against ../shared/fixtures/greeks", () => {
  it("recovers sigma within 1e-8 on every bsm-reference row with vega ≥ 1e-3, and never NaN", () => {
    const rows = referenceRows()
    const informative = rows.filter((r) => r.vega >= 1e-3)
    expect(informative.length).toBe(292)
    const misses: Array<string> = []
    for (const r of informative) {
      const res = impliedVolatility(r.call, r.spot, r.strike, r.t, r.rate, r.q, r.price)
      if (res._tag === "NoSolution") misses.push(`${r.case}: ${res.reason}`)
      else if (!(Math.abs(res.iv - r.sigma) <= 1e-8)) misses.push(`${r.case}: ${res.iv} vs ${r.sigma}`)
    }
    expect(misses).toEqual([])
    // The rows whose price carries too little information: a finite positive number or a reason.
    for (const r of rows.filter((r) => r.vega < 1e-3)) {
      const res = impliedVolatility(r.call, r.spot, r.strike, r.t, r.rate, r.q, r.price)
      if (res._tag === "Solved") expect(res.iv).toBeGreaterThan(0)
      else expect(Object.values(IV_REASONS)).toContain(res.reason)
    }
  })

  it("gives no number and the expected reason on every iv-bounds row", () => {
    const rows = boundsRows()
    expect(rows.length).toBe(7)
    for (const r of rows)
      expect([r.case, impliedVolatility(r.call, r.spot, r.strike, r.t, r.rate, r.q, r.price)]).toEqual([
        r.case,
        { _tag: "NoSolution", reason: r.expected }
      ])
  })
})

describe("impliedVolatility", () => {
  it("inverts the price over a grid of moneyness, expiries and volatilities (both branches)", () => {
    const misses: Array<string> = []
    let checked = 0
    for (const call of [true, false])
      for (const strike of [300, 450, 490, 505, 510, 515, 530, 600, 800])
        for (const seconds of [30, 600, 7200, 86_400, 30 * 86_400, 365 * 86_400])
          for (const sigma of [0.02, 0.08, 0.15, 0.3, 0.6, 1.2, 3]) {
            const t = seconds / 31_536_000
            const g = bsmGreeks(call, 510, strike, t, 0.05, 0.013, sigma)
            const res = impliedVolatility(call, 510, strike, t, 0.05, 0.013, g.price)
            if (res._tag === "Solved") expect(res.iv).toBeGreaterThan(0)
            if (g.vega < 1e-3) continue
            checked++
            if (res._tag === "NoSolution")
              misses.push(`${call} ${strike} ${seconds}s ${sigma}: ${res.reason}`)
            else if (!(Math.abs(res.iv - sigma) <= 1e-8))
              misses.push(`${call} ${strike} ${seconds}s ${sigma}: ${res.iv}`)
          }
    expect(checked).toBeGreaterThan(300)
    expect(misses).toEqual([])
  })

  it("ends with a number or a reason on arbitrary prices, never NaN", () => {
    let seed = 12345
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
      return seed / 4294967296
    }
    for (let i = 0; i < 20_000; i++) {
      const spot = 1 + random() * 1000
      const strike = spot * Math.exp((random() - 0.5) * 4)
      const t = random() < 0.1 ? random() * 1e-6 : random() * 3
      const price = random() < 0.5 ? random() * spot : random() * 1e-3
      const res = impliedVolatility(random() < 0.5, spot, strike, t, 0.05, 0.01, price)
      if (res._tag === "Solved") expect(Number.isFinite(res.iv) && res.iv > 0).toBe(true)
      else expect(Object.values(IV_REASONS)).toContain(res.reason)
    }
  })

  it("names what is wrong with the inputs", () => {
    const iv = (price: number, t = 0.01, spot = 510) => impliedVolatility(true, spot, 500, t, 0.05, 0, price)
    expect(iv(Number.NaN)).toEqual({ _tag: "NoSolution", reason: IV_REASONS.invalidInput })
    expect(iv(10, 0.01, 0)).toEqual({ _tag: "NoSolution", reason: IV_REASONS.invalidInput })
    expect(iv(10, -1)).toEqual({ _tag: "NoSolution", reason: IV_REASONS.expired })
    // In the money, exactly at the discounted intrinsic value: no time value.
    const intrinsic = 510 - 500 * Math.exp(-0.05 * 0.01)
    expect(iv(intrinsic)).toEqual({ _tag: "NoSolution", reason: IV_REASONS.noTimeValue })
    expect(iv(intrinsic + 1e-3)._tag).toBe("Solved")
  })
})
