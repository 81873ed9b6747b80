/**
 * The live option chain's subjects at the open: from the `op` the stocks feed noted when it comes in
 * time, through REST when it is late; against the simulator over loopback, the band computed here.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Option } from "effect"
import type { TradingSession } from "../../../src/calendar/MarketCalendar.js"
import { nyseDay } from "../../../src/calendar/nyseRules.js"
import { AppConfig } from "../../../src/config/AppConfig.js"
import { addDays, newYorkTimeToEpochMs } from "../../../src/domain/time.js"
import * as MassiveSim from "../../../src/sim/MassiveSim.js"
import { optionsMarket, registerOptionContracts } from "../../../src/sim/options/optionsSim.js"
import { secondBars } from "../../../src/sim/syntheticMarket.js"
import * as MassiveRest from "../../../src/sources/massive/MassiveRest.js"
import * as OfficialOpens from "../../../src/sources/massive/OfficialOpens.js"
import { chainSubjectsFor } from "../../../src/sources/massive/optionChainLive.js"
import { listContracts } from "../../../src/sources/massive/optionContracts.js"
import { testConfig } from "../../support/fixtures.js"

const DAY = "2024-03-05"

const sessionOf = (date: string): TradingSession => {
  const d = nyseDay(date)
  if (d._tag !== "open") throw new Error(`${date} is not a trading day`)
  return d
}

/** The simulator at 10:00 of DAY (the day not over: no daily open/close yet) and the REST client. */
const simAndClient = Effect.gen(function* () {
  const sim = yield* MassiveSim.make({
    now: () => newYorkTimeToEpochMs(DAY, 10, 0),
    markets: [optionsMarket]
  })
  registerOptionContracts(sim)
  const context = yield* Layer.build(
    MassiveRest.Live.pipe(Layer.provide(Layer.succeed(AppConfig, testConfig("/tmp/th", sim.url))))
  )
  return Context.get(context, MassiveRest.MassiveRest)
})

/** The contracts within ±1 % of `open` expiring within 7 days, computed here from the day's whole chain. */
const expectedAround = (rest: MassiveRest.MassiveRestShape, open: number) =>
  Effect.map(listContracts(rest, { underlying: "SPY", asOf: DAY }), (all) =>
    all
      .filter(
        (c) =>
          c.expirationDate >= DAY &&
          c.expirationDate <= addDays(DAY, 7) &&
          c.strike >= open * 0.99 &&
          c.strike <= open * 1.01
      )
      .map((c) => c.ticker)
      .sort()
  )

describe("option chain at the open", () => {
  it.scopedLive("from the op the stocks feed noted", () =>
    Effect.gen(function* () {
      const rest = yield* simAndClient
      const opens = OfficialOpens.make()
      // Not the simulator's open: the band follows the op it was given.
      const op = Math.round(secondBars("SPY", DAY)[0]!.open) + 3
      opens.note("SPY", op)
      const subjects = yield* chainSubjectsFor(rest, Option.some(opens), { maxDte: 7, openWaitMs: 60_000 })(
        ["SPY"],
        sessionOf(DAY)
      )
      const expected = yield* expectedAround(rest, op)
      expect([...subjects].sort()).toEqual(expected)
      expect(expected.length).toBeGreaterThan(40)
    })
  )

  it.scopedLive(
    "op late (nothing noted within the wait): through REST, the first per-second bar's open",
    () =>
      Effect.gen(function* () {
        const rest = yield* simAndClient
        const subjects = yield* chainSubjectsFor(rest, Option.some(OfficialOpens.make()), {
          maxDte: 7,
          openWaitMs: 50
        })(["SPY"], sessionOf(DAY))
        const open = secondBars("SPY", DAY)[0]!.open
        expect([...subjects].sort()).toEqual(yield* expectedAround(rest, open))
      })
  )
})
