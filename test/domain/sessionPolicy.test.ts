/**
 * The registry names each dataset's session policy for commands that must not load its feed
 * (`status --dataset` lists the days a range should hold); it must say what the feed says.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { AppConfig } from "../../src/config/AppConfig.js"
import { datasetNames, entryOf } from "../../src/domain/datasets.js"
import { MassiveRest } from "../../src/sources/massive/MassiveRest.js"
import { testConfig } from "../support/fixtures.js"

const layers = Layer.mergeAll(
  Layer.mock(MassiveRest, {}),
  Layer.succeed(AppConfig, testConfig("/nonexistent", "http://127.0.0.1:9"))
)

describe("the registry's session policy", () => {
  it.effect("is the one of every dataset's feed", () =>
    Effect.gen(function* () {
      for (const name of datasetNames) {
        const entry = entryOf(name)
        // Feeds of other vendors need their own source service to be built.
        if (entry.vendor !== "Massive") continue
        const module = yield* Effect.promise(() => entry.feed())
        const feed = yield* module.make
        expect([name, entry.sessionPolicy ?? "nyse"]).toEqual([name, feed.sessionPolicy ?? "nyse"])
      }
    }).pipe(Effect.provide(layers))
  )
})
