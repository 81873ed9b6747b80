/**
 * Several datasets in one stream process (TestClock): a dataset whose feed is refused for good
 * raises an alert and stops alone, while the other captures to the close.
 */
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Fiber, Layer, Stream, TestClock } from "effect"
import * as MarketCalendar from "../../src/calendar/MarketCalendar.js"
import { AppConfig, type AppConfigShape } from "../../src/config/AppConfig.js"
import { VendorAuthError } from "../../src/domain/errors.js"
import { type StockBar, StockBars1s } from "../../src/domain/StockBar.js"
import { newYorkTimeToEpochMs } from "../../src/domain/time.js"
import * as Alerts from "../../src/monitor/Alerts.js"
import * as Checkpoints from "../../src/pipeline/Checkpoints.js"
import type { LiveEvent } from "../../src/runners/LiveFeed.js"
import * as StreamSet from "../../src/runners/streamSet.js"
import { secondBars } from "../../src/sim/syntheticMarket.js"
import { readPartition } from "../../src/sinks/ParquetSink.js"
import * as Quarantine from "../../src/sinks/Quarantine.js"
import * as SinksLive from "../../src/sinks/SinksLive.js"
import * as FrameDecoder from "../../src/sources/massive/FrameDecoder.js"
import * as MassiveRest from "../../src/sources/massive/MassiveRest.js"
import { MassiveSocket } from "../../src/sources/massive/MassiveSocket.js"
import * as StockBarsFeed from "../../src/sources/massive/stockBarsFeed.js"
import { tempDir, testConfig } from "../support/fixtures.js"

const DATE = "2024-03-04"
const ny = (h: number, m: number) => newYorkTimeToEpochMs(DATE, h, m)
const day = secondBars("SPY", DATE)
/** What the WebSocket carries: no trade counts. */
const asStreamed = (b: StockBar): StockBar => ({ ...b, trades: null })
const settle = Effect.promise(() => new Promise<void>((r) => setTimeout(r, 3)))

/** A frame per minute from 15:50 to 15:55, each published 2 s after its minute. */
const minuteFrames = (): ReadonlyArray<{ at: number; event: LiveEvent<StockBar> }> => {
  const out: Array<{ at: number; event: LiveEvent<StockBar> }> = [
    { at: ny(15, 50), event: { _tag: "Connected", at: ny(15, 50), attempt: 1 } }
  ]
  for (let m = ny(15, 50); m < ny(15, 55); m += 60_000) {
    const at = m + 62_000
    const records = day.filter((b) => b.ts >= m && b.ts < m + 60_000).map(asStreamed)
    out.push({ at, event: { _tag: "Records", records, receivedAt: at } })
  }
  return out
}

const scriptedSocket = Layer.succeed(
  MassiveSocket,
  MassiveSocket.of({
    events: <A>() =>
      Stream.fromIterable(minuteFrames()).pipe(
        Stream.mapEffect(({ at, event }) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sleep(Math.max(0, at - now))).pipe(
            Effect.as(event as LiveEvent<A>)
          )
        ),
        Stream.concat(Stream.never)
      )
  })
)

const services = (config: AppConfigShape) =>
  Layer.mergeAll(
    scriptedSocket,
    MassiveRest.Test({ bars: { SPY: day } }),
    MarketCalendar.Test,
    Layer.effect(Checkpoints.Checkpoints, Checkpoints.make(config.dataDir)),
    Quarantine.Live,
    SinksLive.fromConfig,
    Alerts.Test
  ).pipe(Layer.provideMerge(Layer.succeed(AppConfig, config)))

/** A second dataset of the same shape whose cluster refuses the key. */
const OtherBars = { ...StockBars1s, name: "other_bars_1s" }

beforeAll(() => FrameDecoder.warmUp(), 30_000)

describe("stream set", () => {
  it.scoped(
    "a dataset refused for good raises an alert and stops alone; the other captures to the close",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* tempDir()
        const config = testConfig(dataDir, "http://127.0.0.1:1")
        yield* TestClock.setTime(ny(15, 49))
        const context = yield* Layer.build(services(config))
        const fiber = yield* Effect.gen(function* () {
          const stocks = yield* StockBarsFeed.makeLive
          const refused = {
            ...stocks,
            dataset: OtherBars,
            live: {
              ...stocks.live,
              connect: (instruments: ReadonlyArray<string>) => [
                {
                  id: "other",
                  instruments,
                  events: Stream.fail(
                    new VendorAuthError({
                      vendor: "Massive",
                      status: 401,
                      detail: "auth_failed: not entitled to this cluster",
                      keyEnv: "MASSIVE_API_KEY"
                    })
                  )
                }
              ]
            }
          }
          return yield* StreamSet.runAll([
            StreamSet.erased({
              feed: stocks,
              request: { instruments: ["SPY"], source: "massive-stocks", reconcile: false }
            }),
            StreamSet.erased({
              feed: refused,
              request: { instruments: ["SPY"], source: "other", reconcile: false }
            })
          ])
        }).pipe(Effect.provide(context), Effect.fork)
        for (let step = 0; step < 600; step++) {
          yield* TestClock.adjust("10 seconds")
          for (let i = 0; i < 3; i++) yield* settle
          if ((yield* Fiber.poll(fiber))._tag === "Some") break
        }
        const outcomes = yield* Fiber.join(fiber)
        expect(outcomes.map((o) => [o.source, o._tag])).toEqual([
          ["massive-stocks", "Done"],
          ["other", "Failed"]
        ])
        const failed = outcomes[1]!
        expect(failed._tag === "Failed" && failed.error).toBeInstanceOf(VendorAuthError)
        const stocks = outcomes[0]!
        expect(stocks._tag === "Done" && stocks.report.stoppedBy).toBe("close")

        // Every bar the socket carried is in the lake; the refused dataset wrote nothing.
        const lake = yield* readPartition(dataDir, StockBars1s, DATE)
        const streamed = day.filter((b) => b.ts >= ny(15, 50) && b.ts < ny(15, 54))
        const byTs = new Map(lake.map((b) => [b.ts, b]))
        for (const b of streamed) expect(byTs.get(b.ts)?.close).toBe(b.close)
        expect(yield* readPartition(dataDir, OtherBars, DATE)).toEqual([])

        const alerts = yield* Alerts.collected.pipe(Effect.provide(context))
        const stopped = alerts.filter((a) => a.kind === "error" && a.source === "other")
        expect(stopped).toHaveLength(1)
        expect(stopped[0]!.message).toContain("other_bars_1s stopped: ")
        expect(stopped[0]!.message).toContain("massive-stocks keep capturing")
      }),
    120_000
  )
})
