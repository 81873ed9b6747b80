import { describe, expect, it } from "vitest"
import {
  emptyValues,
  expiryClock,
  expiryMs,
  fastGreekValues,
  greekValues,
  spxDay,
  strikesOf,
  yearsToExpiry
} from "../../../src/sim/thetadata/spxMarket.js"

describe("fastGreekValues", () => {
  it("quotes the cents of greekValues and agrees with its implied_vol and greeks (0DTE to 2 months, DST day)", () => {
    const fast = emptyValues()
    const slow = emptyValues()
    let rows = 0
    let noFit = 0
    const mismatches: Array<object> = []
    for (const [date, expirations] of [
      ["2024-11-04", ["2024-11-04", "2024-11-05", "2024-11-15", "2024-12-31"]],
      ["2024-03-11", ["2024-03-11", "2024-04-19"]]
    ] as const) {
      const day = spxDay(date)!
      for (const expiration of expirations) {
        const clock = expiryClock(day, expiration)
        for (const strike of strikesOf(day, 100).filter((_, k) => k % 7 === 0))
          for (const call of [true, false])
            for (let i = 0; i < day.minutes; i += 13) {
              const S = day.spotCents[i]! / 100
              fastGreekValues(call, S, strike, clock, i, fast)
              greekValues(call, S, strike, yearsToExpiry(expiryMs(expiration), day.openMs + i * 60_000), slow)
              rows++
              if (slow.ivError === 100) noFit++
              const far = (a: number, b: number, tolerance: number) => !(Math.abs(a - b) <= tolerance)
              if (
                fast.bidCents !== slow.bidCents ||
                fast.askCents !== slow.askCents ||
                (fast.ivError === 100) !== (slow.ivError === 100) ||
                // printed to 4 decimals: equal, or one unit apart on a rounding boundary
                far(fast.impliedVol, slow.impliedVol, 1.0001e-4) ||
                far(fast.ivError, slow.ivError, 1e-6) ||
                (["delta", "theta", "vega", "rho", "epsilon", "lambda"] as const).some((k) =>
                  far(fast[k], slow[k], 1e-6 * Math.max(1, Math.abs(slow[k])))
                )
              )
                mismatches.push({ date, expiration, strike, call, i, fast: { ...fast }, slow: { ...slow } })
            }
      }
    }
    expect(mismatches.slice(0, 3)).toEqual([])
    expect(rows).toBeGreaterThan(10_000)
    expect(noFit).toBeLessThan(rows)
  })
})
