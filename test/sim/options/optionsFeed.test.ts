import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { nyseDay } from "../../../src/calendar/nyseRules.js"
import * as MassiveSim from "../../../src/sim/MassiveSim.js"
import * as MassiveSocketSim from "../../../src/sim/MassiveSocketSim.js"
import { optionSecondBars, underlyingOpen } from "../../../src/sim/options/optionsChain.js"
import { nearTheMoney, optionsClusterFeed } from "../../../src/sim/options/optionsSim.js"
import { authed, subscribe } from "../wsClient.js"

const DAY = "2024-03-05"
const session = nyseDay(DAY)
if (session._tag !== "open") throw new Error("test day must be a trading day")

describe("the /options cluster", () => {
  it("publishes the contracts near the money: calls and puts within the band, expiring within maxDte", () => {
    const open = underlyingOpen("SPY", DAY)!
    const tickers = nearTheMoney(DAY, { underlyings: ["SPY"], band: 0.01, maxDte: 7 })
    expect(tickers.length).toBeGreaterThan(40)
    for (const t of tickers) {
      const strike = Number(t.slice(-8)) / 1000
      expect(Math.abs(strike - open)).toBeLessThanOrEqual(open * 0.01)
      expect(`20${t.slice(5, 11)}` >= DAY.replace(/-/g, "")).toBe(true)
    }
  })

  it.scoped("replays A.O:… per-second aggregates of the chain's bars", () =>
    Effect.gen(function* () {
      const sim = yield* MassiveSim.make()
      const feed = optionsClusterFeed(DAY, { underlyings: ["SPY"], band: 0.002, maxDte: 1 })
      expect(feed.symbols.length).toBeGreaterThan(0)
      const fromMs = session.closeMs - 120_000
      const sock = yield* MassiveSocketSim.make(sim, {
        date: DAY,
        speed: "max",
        start: "now",
        fromMs,
        clusters: [feed]
      })
      const c = yield* authed(`${sock.url}/options`)
      yield* subscribe(c, "A.*")
      const expected = feed.symbols
        .flatMap((t) => optionSecondBars(t, DAY))
        // Published from fromMs on: bars are sent PUBLISH_DELAY_MS after their start.
        .filter((b) => b.ts + MassiveSim.PUBLISH_DELAY_MS >= fromMs)
        .sort((a, b) => a.ts - b.ts || (a.symbol < b.symbol ? -1 : 1))
      expect(expected.length).toBeGreaterThan(0)
      yield* c.waitFor(() => c.aggregates().length >= expected.length)
      const got = c.aggregates().map((e) => [e.sym, e.s, e.o, e.h, e.l, e.c, e.v])
      expect(got).toEqual(expected.map((b) => [b.symbol, b.ts, b.open, b.high, b.low, b.close, b.volume]))
      expect(c.aggregates().every((e) => e.ev === "A" && e.e - e.s === 1000 && e.otc === undefined)).toBe(
        true
      )
    })
  )
})
