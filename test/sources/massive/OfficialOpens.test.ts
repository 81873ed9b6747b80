/** The day's official opens: noted by the stocks feed as it decodes `op`, read by the feeds that start from them. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Option } from "effect"
import { AppConfig } from "../../../src/config/AppConfig.js"
import * as MassiveRest from "../../../src/sources/massive/MassiveRest.js"
import * as MassiveSocket from "../../../src/sources/massive/MassiveSocket.js"
import * as OfficialOpens from "../../../src/sources/massive/OfficialOpens.js"
import * as StockBarsFeed from "../../../src/sources/massive/stockBarsFeed.js"
import { testConfig } from "../../support/fixtures.js"

const aggregate = (sym: string, op: number, s: number) => ({
  ev: "A",
  sym,
  v: 100,
  av: 1000,
  op,
  vw: 501,
  o: 500,
  c: 502,
  h: 503,
  l: 499,
  a: 501,
  z: 10,
  s,
  e: s + 1000
})

describe("OfficialOpens", () => {
  it.effect("get waits for the first open noted; later ones and non-numbers change nothing", () =>
    Effect.gen(function* () {
      const opens = OfficialOpens.make()
      const waiting = yield* Effect.fork(opens.get("SPY"))
      yield* Effect.yieldNow()
      expect(yield* Fiber.poll(waiting)).toEqual(Option.none())
      opens.note("SPY", Number.NaN)
      opens.note("QQQ", 430.5)
      opens.note("SPY", 512.25)
      opens.note("SPY", 600)
      expect(yield* Fiber.join(waiting)).toBe(512.25)
      expect(yield* opens.get("SPY")).toBe(512.25)
      expect(yield* opens.get("QQQ")).toBe(430.5)
    })
  )

  it.effect(
    "the stocks feed notes the op of the aggregates it decodes (small frames here, large ones on the worker)",
    () =>
      Effect.gen(function* () {
        const opens = OfficialOpens.make()
        const feed = yield* StockBarsFeed.makeLive.pipe(
          Effect.provide(
            Layer.mergeAll(
              MassiveRest.Test({}),
              MassiveSocket.Test([]),
              Layer.succeed(OfficialOpens.OfficialOpens, opens)
            ).pipe(
              Layer.provideMerge(Layer.succeed(AppConfig, testConfig("/tmp/unused", "http://127.0.0.1:1")))
            )
          )
        )
        const small = JSON.stringify([aggregate("SPY", 512.25, 1709562600000)])
        const large = JSON.stringify(
          Array.from({ length: 400 }, (_, i) => aggregate(`S${i}`, 100 + i, 1709562600000))
        )
        yield* Effect.promise(async () => feed.live.decodeFrames([small, large], [1, 2]))
        expect(yield* opens.get("SPY")).toBe(512.25)
        expect(yield* opens.get("S399")).toBe(499)
      })
  )
})
