/** The Massive simulator serving news on a clock the test sets, and the real REST client (undici) pointed at it. */
import { Context, Effect, Layer } from "effect"
import { AppConfig } from "../../src/config/AppConfig.js"
import * as MassiveSim from "../../src/sim/MassiveSim.js"
import * as NewsRoute from "../../src/sim/newsRoute.js"
import * as MassiveRest from "../../src/sources/massive/MassiveRest.js"
import { testConfig } from "./fixtures.js"

export const newsStack = (nowMs: number) =>
  Effect.gen(function* () {
    const clock = { now: nowMs }
    const sim = yield* MassiveSim.make({ now: () => clock.now })
    NewsRoute.register(sim)
    // Built in the caller's scope, so the HTTP client lives as long as the test.
    const context = yield* Layer.build(
      MassiveRest.Live.pipe(
        Layer.provide(Layer.succeed(AppConfig, testConfig("/tmp/tapehouse-news-unused", sim.url)))
      )
    )
    return { sim, rest: Context.get(context, MassiveRest.MassiveRest), clock }
  })
