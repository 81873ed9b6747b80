/**
 * On the simulator's options (src/sim/options/optionsChain.ts, README "How the simulator prices an
 * option"), the implied volatility recovered from a bar equals the documented smile. The inputs are
 * rebuilt here from the documentation, as a consumer of the bars would: the spot is the underlying's
 * last trade at or before the end of the second, t runs from the end of the second to the
 * expiration's 16:00 New York close in years of 365 days, r = 5 %, q the underlying's yield.
 */
import { describe, expect, it } from "vitest"
import { bsmGreeks } from "../../src/analytics/bsm.js"
import { impliedVolatility } from "../../src/analytics/impliedVolatility.js"
import type { StockBar } from "../../src/domain/StockBar.js"
import { addDays, newYorkTimeToEpochMs } from "../../src/domain/time.js"
import { contractsListed, optionSecondBars, theoretical } from "../../src/sim/options/optionsChain.js"
import { secondBars } from "../../src/sim/syntheticMarket.js"

const DAY = "2024-03-05"
const YEAR_MS = 365 * 86_400_000
/** README: r = 5 %; the level a (at-the-money volatility) and dividend yield q per underlying. */
const RATE = 0.05
const DOCUMENTED: Readonly<Record<string, { readonly a: number; readonly q: number }>> = {
  SPY: { a: 0.13, q: 0.013 },
  QQQ: { a: 0.17, q: 0.006 },
  TSLA: { a: 0.52, q: 0 }
}

/** σ(k, t) = a + c·x + b·x², k = ln(K/F), x = clamp(k/√t, −3, 3), b = 0.05, c = −0.10. */
const documentedSmile = (a: number, k: number, t: number) => {
  const x = Math.max(-3, Math.min(3, k / Math.sqrt(t)))
  return a - 0.1 * x + 0.05 * x * x
}

interface Sample {
  readonly ticker: string
  readonly call: boolean
  readonly strike: number
  readonly bar: StockBar
  readonly spot: number
  readonly t: number
  readonly q: number
  readonly sigma: number
}

/** Every 50th bar of a spread of contracts: near and far strikes, 0 to 10 days, calls and puts. */
const samples = (): ReadonlyArray<Sample> => {
  const out: Array<Sample> = []
  for (const [underlying, { a, q }] of Object.entries(DOCUMENTED)) {
    const underlyingBars = secondBars(underlying, DAY)
    const contracts = contractsListed(underlying, DAY, DAY, addDays(DAY, 10)).filter((_, i) => i % 7 === 0)
    for (const c of contracts) {
      const strike = c.strikeMilli / 1000
      const expiryMs = newYorkTimeToEpochMs(c.expirationDate, 16, 0)
      let j = -1
      for (const [i, bar] of optionSecondBars(c.ticker, DAY).entries()) {
        while (j + 1 < underlyingBars.length && underlyingBars[j + 1]!.ts <= bar.ts) j++
        if (i % 50 !== 0) continue
        const spot = j < 0 ? underlyingBars[0]!.open : underlyingBars[j]!.close
        const t = (expiryMs - (bar.ts + 1000)) / YEAR_MS
        const k = Math.log(strike / (spot * Math.exp((RATE - q) * t)))
        out.push({
          ticker: c.ticker,
          call: c.type === "call",
          strike,
          bar,
          spot,
          t,
          q,
          sigma: documentedSmile(a, k, t)
        })
      }
    }
  }
  return out
}

describe("implied volatility on the simulator's options", () => {
  const all = samples()

  it("the model price of each sampled bar gives back the documented smile within 1e-6 where vega ≥ 1e-3", () => {
    let checked = 0
    const misses: Array<string> = []
    for (const s of all) {
      // The simulator's own pricing at that second (the bar's close is this, floored at $0.01).
      const model = theoretical(s.ticker, s.bar.ts)!
      expect([model.spot, model.t]).toEqual([s.spot, s.t])
      const vega = bsmGreeks(s.call, s.spot, s.strike, s.t, RATE, s.q, s.sigma).vega
      if (vega < 1e-3) continue
      checked++
      const res = impliedVolatility(s.call, s.spot, s.strike, s.t, RATE, s.q, model.price)
      if (res._tag === "NoSolution") misses.push(`${s.ticker} ${s.bar.ts}: ${res.reason}`)
      else if (!(Math.abs(res.iv - s.sigma) <= 1e-6))
        misses.push(`${s.ticker} ${s.bar.ts}: ${res.iv} vs ${s.sigma}`)
    }
    expect(checked).toBeGreaterThan(1000)
    expect(misses).toEqual([])
  })

  it("the bar's close is the model price, unrounded: its implied volatility is the documented smile", () => {
    let checked = 0
    const misses: Array<string> = []
    for (const s of all) {
      if (s.bar.close <= 0.01) continue // floored at one cent
      const vega = bsmGreeks(s.call, s.spot, s.strike, s.t, RATE, s.q, s.sigma).vega
      if (vega < 1e-3) continue
      checked++
      const res = impliedVolatility(s.call, s.spot, s.strike, s.t, RATE, s.q, s.bar.close)
      if (res._tag === "NoSolution") misses.push(`${s.ticker} ${s.bar.ts}: ${res.reason}`)
      else if (!(Math.abs(res.iv - s.sigma) <= 1e-6))
        misses.push(`${s.ticker} ${s.bar.ts}: ${res.iv} vs ${s.sigma}`)
    }
    expect(checked).toBeGreaterThan(1000)
    expect(misses).toEqual([])
  })
})
