import { describe, expect, it } from "@effect/vitest"
import { nyseDay } from "../../src/calendar/nyseRules.js"
import { StockBars1s } from "../../src/domain/StockBar.js"
import { addDays, newYorkTimeToEpochMs } from "../../src/domain/time.js"
import { dayBarsFor, rangeBars, SYMBOLS, secondBars } from "../../src/sim/syntheticMarket.js"

const session = (date: string) => {
  const d = nyseDay(date)
  if (d._tag !== "open") throw new Error(`${date} is not a trading day`)
  return d
}

describe("syntheticMarket.secondBars", () => {
  it("is deterministic: the same bytes when regenerated", () => {
    const first = JSON.stringify(secondBars("SPY", "2024-03-04"))
    // Push the day out of the generator's cache, then regenerate it.
    for (let i = 1; i <= 40; i++) secondBars("QQQ", addDays("2023-01-01", i))
    expect(JSON.stringify(secondBars("SPY", "2024-03-04"))).toBe(first)
  })

  it("produces valid bars: OHLC, vwap in range, integer volume and trades, whole cents", () => {
    const problems: Array<string> = []
    const cents = (p: number) => Math.round(p * 100) / 100 === p
    for (const symbol of SYMBOLS) {
      for (const date of ["2016-06-01", "2024-03-04", "2024-11-29"]) {
        const bars = secondBars(symbol, date)
        expect(bars.length).toBeGreaterThan(0)
        for (const b of bars) {
          const where = `${symbol} ${b.ts}`
          for (const rule of StockBars1s.rules) {
            const broken = rule(b)
            if (broken !== undefined) problems.push(`${where}: ${broken}`)
          }
          if (b.symbol !== symbol) problems.push(`${where}: symbol ${b.symbol}`)
          if (b.vwap === null || b.vwap < b.low || b.vwap > b.high) problems.push(`${where}: vwap ${b.vwap}`)
          if (!Number.isInteger(b.volume) || b.volume < 1) problems.push(`${where}: volume ${b.volume}`)
          if (b.trades === null || !Number.isInteger(b.trades) || b.trades < 1)
            problems.push(`${where}: trades`)
          if (!cents(b.open) || !cents(b.high) || !cents(b.low) || !cents(b.close))
            problems.push(`${where}: cents`)
        }
      }
    }
    expect(problems.slice(0, 10)).toEqual([])
  })

  it("stays inside the regular session, ascending, on whole seconds", () => {
    const s = session("2024-03-04")
    const bars = secondBars("SPY", "2024-03-04")
    expect(bars[0]!.ts).toBeGreaterThanOrEqual(s.openMs)
    expect(bars.at(-1)!.ts).toBeLessThan(s.closeMs)
    expect(bars.every((b, i) => b.ts % 1000 === 0 && (i === 0 || b.ts > bars[i - 1]!.ts))).toBe(true)
  })

  it("ends at 13:00 on an early-close day", () => {
    const bars = secondBars("SPY", "2024-11-29")
    const close = newYorkTimeToEpochMs("2024-11-29", 13, 0)
    expect(bars.at(-1)!.ts).toBeLessThan(close)
    expect(bars.at(-1)!.ts).toBeGreaterThanOrEqual(close - 60_000)
    expect(bars[0]!.ts).toBe(newYorkTimeToEpochMs("2024-11-29", 9, 30))
  })

  it("is empty on weekends, holidays, for unknown symbols and outside the calendar years", () => {
    expect(secondBars("SPY", "2024-03-02")).toEqual([])
    expect(secondBars("SPY", "2024-03-03")).toEqual([])
    expect(secondBars("SPY", "2024-12-25")).toEqual([])
    expect(secondBars("SPY", "2024-03-29")).toEqual([]) // Good Friday
    expect(secondBars("ZZZZ", "2024-03-04")).toEqual([])
    expect(secondBars("spy", "2024-03-04")).toEqual([])
    expect(secondBars("SPY", "2010-03-04")).toEqual([])
  })

  it("omits seconds without trades: more gaps midday and for less liquid symbols", () => {
    const spy = secondBars("SPY", "2024-03-04")
    expect(spy.length).toBeGreaterThan(20_000)
    expect(spy.length).toBeLessThan(23_400)
    expect(secondBars("DIA", "2024-03-04").length).toBeLessThan(spy.length * 0.7)
    const open = session("2024-03-04").openMs
    const inWindow = (from: number, to: number) => spy.filter((b) => b.ts >= open + from && b.ts < open + to)
    const first30 = inWindow(0, 1_800_000)
    const midday30 = inWindow(3 * 3_600_000, 3 * 3_600_000 + 1_800_000)
    expect(first30.length).toBeGreaterThan(midday30.length)
    // U-shaped volume: the first and last half hours are busier than midday.
    const volume = (bars: ReadonlyArray<{ volume: number }>) => bars.reduce((a, b) => a + b.volume, 0)
    expect(volume(first30)).toBeGreaterThan(volume(midday30))
    expect(volume(inWindow(6 * 3_600_000, 6.5 * 3_600_000))).toBeGreaterThan(volume(midday30))
  })

  it("has plausible prices for early 2024", () => {
    const close = (s: string) => secondBars(s, "2024-03-01").at(-1)!.close
    expect(close("SPY")).toBeGreaterThan(480)
    expect(close("SPY")).toBeLessThan(540)
    expect(close("QQQ")).toBeGreaterThan(410)
    expect(close("QQQ")).toBeLessThan(470)
  })

  it("continues across days: each open is near the previous trading day's close", () => {
    for (const symbol of ["SPY", "TSLA", "DIA"]) {
      let previous: number | undefined
      // Across weekends, Good Friday 2024 and a DST change.
      for (let d = "2024-03-01"; d <= "2024-04-12"; d = addDays(d, 1)) {
        const bars = secondBars(symbol, d)
        if (bars.length === 0) continue
        if (previous !== undefined) expect(Math.abs(bars[0]!.open / previous - 1)).toBeLessThan(0.02)
        previous = bars.at(-1)!.close
      }
    }
    // Far apart dates are still consistent with their neighbours (no iteration from 2015).
    const a = secondBars("SPY", "2031-06-05").at(-1)!.close
    const b = secondBars("SPY", "2031-06-06")[0]!.open
    expect(Math.abs(b / a - 1)).toBeLessThan(0.02)
  })
})

describe("syntheticMarket.dayBarsFor", () => {
  const date = "2024-03-04"
  const seconds = secondBars("SPY", date)
  const total = seconds.reduce((a, b) => a + b.volume, 0)

  it("aggregates seconds into minute, hour and day bars", () => {
    const minutes = dayBarsFor("SPY", date, 1, "minute")
    expect(minutes.length).toBe(390)
    expect(minutes.reduce((a, b) => a + b.volume, 0)).toBe(total)
    expect(
      minutes.every((m) => m.ts % 60_000 === 0 && StockBars1s.rules.every((r) => r(m) === undefined))
    ).toBe(true)
    const hours = dayBarsFor("SPY", date, 1, "hour")
    expect(hours.length).toBe(7) // 09:00 (from 09:30) to 15:00
    const [day] = dayBarsFor("SPY", date, 1, "day")
    expect(day!.ts).toBe(newYorkTimeToEpochMs(date, 0, 0))
    expect(day!.open).toBe(seconds[0]!.open)
    expect(day!.close).toBe(seconds.at(-1)!.close)
    expect(day!.high).toBe(Math.max(...seconds.map((b) => b.high)))
    expect(day!.low).toBe(Math.min(...seconds.map((b) => b.low)))
    expect(day!.volume).toBe(total)
    expect(dayBarsFor("SPY", date, 5, "minute").length).toBe(78)
    expect(dayBarsFor("SPY", "2024-03-03", 1, "day")).toEqual([])
  })

  it("serves ranges in both orders", () => {
    const from = newYorkTimeToEpochMs("2024-03-01", 0, 0)
    const to = newYorkTimeToEpochMs("2024-03-09", 0, 0)
    const asc = [...rangeBars("SPY", 1, "day", from, to, "asc")]
    const desc = [...rangeBars("SPY", 1, "day", from, to, "desc")]
    expect(asc.length).toBe(6)
    expect(desc.map((b) => b.ts)).toEqual(asc.map((b) => b.ts).reverse())
    const weeks = [...rangeBars("SPY", 1, "week", from, to, "asc")]
    expect(weeks.length).toBe(2)
    expect(weeks.reduce((a, b) => a + b.volume, 0)).toBe(asc.reduce((a, b) => a + b.volume, 0))
  })
})
