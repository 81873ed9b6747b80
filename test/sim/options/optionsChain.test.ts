import { describe, expect, it } from "vitest"
import { nyseDay } from "../../../src/calendar/nyseRules.js"
import { formatOptionTicker, parseOptionTicker } from "../../../src/domain/optionTicker.js"
import { addDays, datesBetween, dayOfWeek, newYorkTimeToEpochMs } from "../../../src/domain/time.js"
import { bsmPrice } from "../../../src/sim/options/blackScholes.js"
import {
  contractAsOf,
  contractsListed,
  expirationsBetween,
  listingDate,
  optionSecondBars,
  RATE,
  RULES,
  smileVol,
  theoretical,
  tradeProbability,
  underlyingOpen
} from "../../../src/sim/options/optionsChain.js"
import { secondBars } from "../../../src/sim/syntheticMarket.js"

const DAY = "2024-03-05"
const open = (d: string) => nyseDay(d)._tag === "open"

describe("OCC tickers", () => {
  it("format and parse round trip, strikes in thousandths", () => {
    const parts = {
      underlying: "SPY",
      expirationDate: "2024-03-05",
      type: "call" as const,
      strikeMilli: 512_000
    }
    expect(formatOptionTicker(parts)).toBe("O:SPY240305C00512000")
    expect(parseOptionTicker("O:SPY240305C00512000")).toEqual(parts)
    expect(parseOptionTicker("EVRI240119C00002500")).toEqual({
      underlying: "EVRI",
      expirationDate: "2024-01-19",
      type: "call",
      strikeMilli: 2500
    })
    expect(parseOptionTicker("O:SPY241305C00512000")).toBeUndefined()
    expect(parseOptionTicker("SPY")).toBeUndefined()
  })
})

describe("expirations", () => {
  it("SPY, QQQ and IWM expire every trading day", () => {
    const days = datesBetween("2024-03-01", "2024-04-05").filter(open)
    for (const u of ["SPY", "QQQ", "IWM"])
      expect(expirationsBetween(u, "2024-03-01", "2024-04-05")).toEqual(days)
  })

  it("the others expire on Fridays, on Thursday when Friday is a holiday (Good Friday 2024-03-29)", () => {
    const exps = expirationsBetween("AAPL", "2024-03-01", "2024-04-12")
    expect(exps).toEqual([
      "2024-03-01",
      "2024-03-08",
      "2024-03-15",
      "2024-03-22",
      "2024-03-28",
      "2024-04-05",
      "2024-04-12"
    ])
    for (const e of exps) expect(dayOfWeek(e) === 5 || e === "2024-03-28").toBe(true)
    expect(expirationsBetween("TSLA", "2024-03-01", "2024-04-12")).toEqual(exps)
  })

  it("an expiration is listed 14 (daily) or 35 (Friday) calendar days ahead, on a trading day", () => {
    expect(listingDate("SPY", "2024-03-19")).toBe("2024-03-05")
    expect(listingDate("AAPL", "2024-04-12")).toBe("2024-03-08")
    expect(listingDate("SPY", "2024-03-18")).toBe("2024-03-04") // 03-04 is a Monday
    expect(listingDate("SPY", "2024-03-16")).toBe("2024-03-04") // 14 days before is Saturday 03-02
  })
})

describe("strikes and listing", () => {
  it("SPY lists $1 strikes covering ±1 % of the open for every expiration of the next week", () => {
    const o = underlyingOpen("SPY", DAY)!
    const contracts = contractsListed("SPY", DAY, DAY, addDays(DAY, 7))
    const exps = [...new Set(contracts.map((c) => c.expirationDate))]
    expect(exps).toEqual(expirationsBetween("SPY", DAY, addDays(DAY, 7)))
    for (const e of exps) {
      const strikes = new Set(contracts.filter((c) => c.expirationDate === e).map((c) => c.strikeMilli))
      for (let k = Math.ceil(o * 0.99); k <= Math.floor(o * 1.01); k++)
        expect(strikes.has(k * 1000)).toBe(true)
      for (const s of strikes) expect(s % 1000).toBe(0)
    }
    // Calls and puts on every strike, both listed the same day.
    const calls = contracts.filter((c) => c.type === "call").map((c) => c.ticker.replace(/C(\d{8})$/, "P$1"))
    expect(contracts.filter((c) => c.type === "put").map((c) => c.ticker)).toEqual(calls)
  })

  it("strike steps: AAPL and TSLA $2.50, MSFT $5", () => {
    for (const [u, step] of [
      ["AAPL", 2500],
      ["TSLA", 2500],
      ["MSFT", 5000]
    ] as const) {
      const cs = contractsListed(u, DAY, DAY, addDays(DAY, 10))
      expect(cs.length).toBeGreaterThan(0)
      for (const c of cs) expect(c.strikeMilli % step).toBe(0)
      expect(RULES[u]!.strikeStepMilli).toBe(step)
    }
  })

  it("as_of: a contract exists from its listing day to its expiration", () => {
    const exp = "2024-03-19"
    const listed = listingDate("SPY", exp)
    expect(contractsListed("SPY", addDays(listed, -1), exp, exp)).toEqual([])
    const first = contractsListed("SPY", listed, exp, exp)
    expect(first.length).toBeGreaterThan(50)
    for (const c of first) expect(c.listedDate).toBe(listed)
    // Strikes are added as the price moves, never removed.
    const later = contractsListed("SPY", exp, exp, exp)
    expect(later.length).toBeGreaterThanOrEqual(first.length)
    const tickers = new Set(later.map((c) => c.ticker))
    for (const c of first) expect(tickers.has(c.ticker)).toBe(true)
    for (const c of later) expect(contractAsOf(c.ticker, c.listedDate)).toEqual(c)
    for (const c of later) expect(contractAsOf(c.ticker, addDays(c.listedDate, -1))).toBeUndefined()
    expect(contractAsOf("O:SPY240319C09999000", exp)).toBeUndefined()
    expect(contractAsOf("O:SPY240316C00510000", exp)).toBeUndefined() // a Saturday
  })
})

describe("pricing", () => {
  it("the smile is a + c·x + b·x² with x = k/√t capped at ±3", () => {
    const a = RULES.SPY!.atmVol
    expect(smileVol("SPY", 0, 0.01)).toBeCloseTo(a, 15)
    const t = 0.01
    const k = 0.02 // x = 0.2
    expect(smileVol("SPY", k, t)).toBeCloseTo(a - 0.1 * 0.2 + 0.05 * 0.04, 15)
    expect(smileVol("SPY", -k, t)).toBeCloseTo(a + 0.1 * 0.2 + 0.05 * 0.04, 15)
    expect(smileVol("SPY", -1, t)).toBeCloseTo(a + 0.3 + 0.45, 15)
    expect(smileVol("SPY", 0.5, 0)).toBe(a)
  })

  it("a bar's close is the model price at the second, unrounded (floored at $0.01); the model is BSM on the smile", () => {
    const o = underlyingOpen("SPY", DAY)!
    const ticker = formatOptionTicker({
      underlying: "SPY",
      expirationDate: "2024-03-06",
      type: "put",
      strikeMilli: Math.round(o) * 1000
    })
    const bars = optionSecondBars(ticker, DAY)
    expect(bars.length).toBeGreaterThan(1000)
    const spy = secondBars("SPY", DAY)
    const expiryMs = newYorkTimeToEpochMs("2024-03-06", 16, 0)
    for (const b of bars.filter((_, i) => i % 97 === 0)) {
      const th = theoretical(ticker, b.ts + 500)!
      expect(th.ts).toBe(b.ts)
      expect(b.close).toBe(Math.max(0.01, th.price))
      expect(b.low).toBeLessThanOrEqual(Math.min(b.open, b.close))
      expect(b.high).toBeGreaterThanOrEqual(Math.max(b.open, b.close))
      // Independently: the spot is the underlying's last close at or before this second.
      const last = spy.filter((s) => s.ts <= b.ts).at(-1)
      expect(th.spot).toBe(last === undefined ? spy[0]!.open : last.close)
      const t = (expiryMs - b.ts - 1000) / (365 * 86_400_000)
      expect(th.t).toBeCloseTo(t, 15)
      const forward = th.spot * Math.exp((RATE - 0.013) * t)
      const sigma = smileVol("SPY", Math.log(th.strike / forward), t)
      expect(th.sigma).toBeCloseTo(sigma, 14)
      const price = bsmPrice({
        type: "put",
        spot: th.spot,
        strike: th.strike,
        t,
        rate: RATE,
        dividendYield: 0.013,
        sigma
      })
      expect(th.price).toBeCloseTo(price, 12)
    }
    expect(theoretical(ticker, newYorkTimeToEpochMs(DAY, 9, 0))).toBeUndefined()
    expect(theoretical(ticker, newYorkTimeToEpochMs("2024-03-07", 10, 0))).toBeUndefined()
  })
})

describe("sparse trades", () => {
  it("near the money most seconds trade, far strikes almost none, deterministically", () => {
    const o = underlyingOpen("SPY", DAY)!
    const at = (strike: number) =>
      formatOptionTicker({
        underlying: "SPY",
        expirationDate: "2024-03-06",
        type: "call",
        strikeMilli: strike * 1000
      })
    const seconds = 23_400
    const atm = optionSecondBars(at(Math.round(o)), DAY)
    const far = optionSecondBars(at(Math.round(o * 1.05)), DAY)
    expect(atm.length / seconds).toBeGreaterThan(0.25)
    expect(far.length / seconds).toBeLessThan(0.01)
    expect(far.length).toBeLessThan(atm.length / 20)
    expect(tradeProbability("SPY", 0, 0.01)).toBe(RULES.SPY!.liquidity)
    expect(tradeProbability("SPY", 0.05, 0.01)).toBeLessThan(tradeProbability("SPY", 0.01, 0.01))
    // Bars have o/h/l/c/v/vw/n like stock aggregates, vw inside [l, h].
    for (const b of atm.slice(0, 500)) {
      expect(b.volume).toBeGreaterThanOrEqual(b.trades!)
      expect(b.vwap!).toBeGreaterThanOrEqual(b.low)
      expect(b.vwap!).toBeLessThanOrEqual(b.high)
      expect(b.low).toBeGreaterThanOrEqual(0.01)
    }
    expect(optionSecondBars(at(Math.round(o)), DAY)).toBe(atm)
    // Not alive: before listing, after expiry, on a weekend.
    expect(optionSecondBars(at(Math.round(o)), "2024-03-07")).toEqual([])
    expect(optionSecondBars(at(Math.round(o)), "2024-03-09")).toEqual([])
  })
})
