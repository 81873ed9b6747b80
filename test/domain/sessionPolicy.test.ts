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
        const module = yield* Effect.promise(() => entryOf(name).feed())
        const feed = yield* module.make
        expect([name, entryOf(name).sessionPolicy ?? "nyse"]).toEqual([name, feed.sessionPolicy ?? "nyse"])
      }
    }).pipe(Effect.provide(layers))
  )
})
