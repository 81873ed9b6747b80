/**
 * The synthetic I:VIX: one value per session second that moves against the synthetic SPY, served
 * by the REST simulator for `I:` tickers (no volume keys, no `adjusted`) and replayed on `/indices`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { nyseDay } from "../../src/calendar/nyseRules.js"
import * as MassiveSim from "../../src/sim/MassiveSim.js"
import * as MassiveSocketSim from "../../src/sim/MassiveSocketSim.js"
import { INDEX_SYMBOLS, indexSecondBars } from "../../src/sim/syntheticIndices.js"
import { secondBars } from "../../src/sim/syntheticMarket.js"
import { authed, type Json, subscribe } from "./wsClient.js"

const DAY = "2024-03-04"
const DATES = ["2019-06-03", "2022-10-13", "2024-03-04", "2024-03-05", "2024-11-29"]

/** SPY's last trade at the end of each minute of the session, carried over minutes without one. */
const minuteCloses = (
  bars: ReadonlyArray<{ ts: number; close: number }>,
  openMs: number,
  minutes: number
) => {
  const out: Array<number> = []
  let j = 0
  let last = bars[0]!.close
  for (let m = 0; m < minutes; m++) {
    const end = openMs + (m + 1) * 60_000
    while (j < bars.length && bars[j]!.ts < end) last = bars[j++]!.close
    out.push(last)
  }
  return out
}

const returns = (xs: ReadonlyArray<number>) => xs.slice(1).map((x, i) => Math.log(x / xs[i]!))

const correlation = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => {
  const mean = (xs: ReadonlyArray<number>) => xs.reduce((s, x) => s + x, 0) / xs.length
  const ma = mean(a)
  const mb = mean(b)
  let ab = 0
  let aa = 0
  let bb = 0
  for (let i = 0; i < a.length; i++) {
    ab += (a[i]! - ma) * (b[i]! - mb)
    aa += (a[i]! - ma) ** 2
    bb += (b[i]! - mb) ** 2
  }
  return ab / Math.sqrt(aa * bb)
}

describe("synthetic I:VIX", () => {
  it("moves against SPY: minute returns strongly negatively correlated, and up on the days SPY falls", () => {
    for (const date of DATES) {
      const day = nyseDay(date)
      if (day._tag !== "open") throw new Error(`${date} is not a session`)
      const minutes = Math.round((day.closeMs - day.openMs) / 60_000)
      const vix = minuteCloses(indexSecondBars("I:VIX", date), day.openMs, minutes)
      const spy = minuteCloses(secondBars("SPY", date), day.openMs, minutes)
      expect(correlation(returns(vix), returns(spy)), date).toBeLessThan(-0.6)
      // Over the day: the sign of VIX's move is the opposite of SPY's.
      const spyMove = spy.at(-1)! / spy[0]! - 1
      const vixMove = vix.at(-1)! / vix[0]! - 1
      if (Math.abs(spyMove) > 0.002) expect(Math.sign(vixMove), date).toBe(-Math.sign(spyMove))
    }
  })

  it("has one bar per second of the session, o/h/l/c consistent, a plausible level, no volume", () => {
    for (const date of DATES) {
      const day = nyseDay(date)
      if (day._tag !== "open") throw new Error(`${date} is not a session`)
      const bars = indexSecondBars("I:VIX", date)
      expect(bars.length).toBe((day.closeMs - day.openMs) / 1000)
      // Plain checks, one expectation per day: 23,400 seconds each.
      const wrong = bars.flatMap((b, i) => {
        const problems: Array<string> = []
        if (b.ts !== day.openMs + i * 1000) problems.push("not the next second")
        if (b.low > Math.min(b.open, b.close) || b.high < Math.max(b.open, b.close)) problems.push("ohlc")
        if (b.low <= 10 || b.high >= 25) problems.push("level")
        // Each second opens where the previous one closed.
        if (i > 0 && b.open !== bars[i - 1]!.close) problems.push("open is not the previous close")
        return problems.map((p) => `${new Date(b.ts).toISOString()} ${p}`)
      })
      expect(wrong, date).toEqual([])
    }
    expect(indexSecondBars("I:VIX", "2024-03-09")).toEqual([])
    expect(indexSecondBars("I:NOPE", DAY)).toEqual([])
  })

  it("is deterministic", () => {
    const a = indexSecondBars("I:VIX", "2022-10-13").map((b) => b.close)
    indexSecondBars("I:VIX", "2024-03-04")
    expect(indexSecondBars("I:VIX", "2022-10-13").map((b) => b.close)).toEqual(a)
    expect(INDEX_SYMBOLS).toEqual(["I:VIX"])
  })

  it.scoped("the REST simulator serves it for I: tickers without volume keys and without adjusted", () =>
    Effect.gen(function* () {
      const sim = yield* MassiveSim.make({ holdBackFuture: false })
      const get = (path: string): Effect.Effect<Json> =>
        Effect.promise(() =>
          fetch(`${sim.url}${path}`, { headers: { Authorization: "Bearer k" } }).then((r) => r.json())
        )
      const body = yield* get(`/v2/aggs/ticker/I:VIX/range/1/second/${DAY}/${DAY}?limit=50000`)
      const expected = indexSecondBars("I:VIX", DAY)
      expect(body.ticker).toBe("I:VIX")
      expect("adjusted" in body).toBe(false)
      expect(body.results).toEqual(
        expected.map((b) => ({ o: b.open, c: b.close, h: b.high, l: b.low, t: b.ts }))
      )
      const close = yield* get(`/v1/open-close/I:VIX/${DAY}`)
      expect(close.close).toBe(expected.at(-1)!.close)
      expect("volume" in close).toBe(false)
    })
  )

  it.scoped("the socket simulator replays it on /indices beside SPY on /stocks", () =>
    Effect.gen(function* () {
      const sim = yield* MassiveSim.make()
      const sock = yield* MassiveSocketSim.make(sim, {
        date: DAY,
        speed: "max",
        start: "manual",
        clusters: [
          { cluster: "stocks", symbols: ["SPY"], bars: secondBars, wire: "stock" },
          { cluster: "indices", symbols: INDEX_SYMBOLS, bars: indexSecondBars, wire: "index" }
        ]
      })
      const indices = yield* authed(`${sock.url}/indices`)
      const stocks = yield* authed(`${sock.url}/stocks`)
      yield* subscribe(indices, "A.I:VIX")
      yield* subscribe(stocks, "A.SPY")
      yield* sock.start
      const vix = indexSecondBars("I:VIX", DAY)
      const spy = secondBars("SPY", DAY)
      yield* indices.waitFor(() => indices.aggregates().length >= vix.length)
      yield* stocks.waitFor(() => stocks.aggregates().length >= spy.length)
      const got = indices.aggregates()
      expect(got.map((e: Json) => [e.sym, e.s, e.o, e.h, e.l, e.c])).toEqual(
        vix.map((b) => [b.symbol, b.ts, b.open, b.high, b.low, b.close])
      )
      // Indices aggregates carry no volume keys (spec §11.4).
      expect(got.some((e: Json) => "v" in e || "vw" in e || "av" in e || "a" in e || "z" in e)).toBe(false)
      expect(stocks.aggregates().every((e: Json) => e.sym === "SPY" && typeof e.v === "number")).toBe(true)
    })
  )
})
