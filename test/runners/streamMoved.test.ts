/**
 * The stream runner when a feed moves a connection's instruments onto another (the vendor refused
 * the connection: `max_connections`), on the TestClock over a whole session of 2024-03-04. SPY
 * streams on stocks#1 all day; QQQ on stocks#2 until 10:00, when stocks#2 is refused for good and
 * QQQ goes on stocks#1, whose first QQQ bars come at 10:05. The window QQQ missed is a gap in the
 * ledger, repaired through REST; one alert; the stats show the one connection left.
 */
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Fiber, Layer, Stream, TestClock } from "effect"
import * as MarketCalendar from "../../src/calendar/MarketCalendar.js"
import { AppConfig } from "../../src/config/AppConfig.js"
import { compareByKey } from "../../src/domain/Dataset.js"
import { type StockBar, StockBars1s } from "../../src/domain/StockBar.js"
import { newYorkTimeToEpochMs } from "../../src/domain/time.js"
import * as Alerts from "../../src/monitor/Alerts.js"
import * as Checkpoints from "../../src/pipeline/Checkpoints.js"
import type { LiveConnection, LiveEvent } from "../../src/runners/LiveFeed.js"
import * as StreamRunner from "../../src/runners/stream.js"
import { secondBars } from "../../src/sim/syntheticMarket.js"
import { readPartition } from "../../src/sinks/ParquetSink.js"
import * as Quarantine from "../../src/sinks/Quarantine.js"
import * as SinksLive from "../../src/sinks/SinksLive.js"
import * as FrameDecoder from "../../src/sources/massive/FrameDecoder.js"
import * as MassiveRest from "../../src/sources/massive/MassiveRest.js"
import * as MassiveSocket from "../../src/sources/massive/MassiveSocket.js"
import * as StockBarsFeed from "../../src/sources/massive/stockBarsFeed.js"
import { tempDir, testConfig } from "../support/fixtures.js"

const DATE = "2024-03-04"
const ny = (h: number, m: number) => newYorkTimeToEpochMs(DATE, h, m)
const OPEN = ny(9, 30)
const CLOSE = ny(16, 0)
const MOVED_AT = ny(10, 0)
const TAKEN_OVER_AT = ny(10, 5)
const spy = secondBars("SPY", DATE)
const qqq = secondBars("QQQ", DATE)
const asStreamed = (b: StockBar): StockBar => ({ ...b, trades: null })

type Step = { readonly at: number; readonly event: LiveEvent<StockBar> }

/** A frame per minute, 2 s after it, of `bars` within [from, to). */
const minutes = (bars: (m: number) => ReadonlyArray<StockBar>, from: number, to: number): Array<Step> => {
  const out: Array<Step> = []
  for (let m = from; m < to; m += 60_000) {
    const at = m + 62_000
    out.push({ at, event: { _tag: "Records", records: bars(m).map(asStreamed), receivedAt: at } })
  }
  return out
}
const within = (bars: ReadonlyArray<StockBar>, m: number) =>
  bars.filter((b) => b.ts >= m && b.ts < m + 60_000)

const scripted = (steps: ReadonlyArray<Step>, then: "end" | "hang"): Stream.Stream<LiveEvent<StockBar>> =>
  Stream.fromIterable(steps).pipe(
    Stream.mapEffect(({ at, event }) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sleep(Math.max(0, at - now))).pipe(
        Effect.as(event)
      )
    ),
    Stream.concat(then === "hang" ? Stream.never : Stream.empty)
  )

const connections: ReadonlyArray<LiveConnection<StockBar>> = [
  {
    id: "stocks#1",
    instruments: ["SPY"],
    events: scripted(
      [
        { at: OPEN, event: { _tag: "Connected", at: OPEN, attempt: 1 } },
        // QQQ's bars come on this connection from 10:05 (the minute its subscribe took effect).
        ...minutes((m) => [...within(spy, m), ...(m >= TAKEN_OVER_AT ? within(qqq, m) : [])], OPEN, CLOSE)
      ],
      "hang"
    )
  },
  {
    id: "stocks#2",
    instruments: ["QQQ"],
    events: scripted(
      [
        { at: OPEN, event: { _tag: "Connected", at: OPEN, attempt: 1 } },
        ...minutes((m) => within(qqq, m), OPEN, MOVED_AT - 60_000),
        {
          at: MOVED_AT + 1,
          event: {
            _tag: "Moved",
            instruments: ["QQQ"],
            to: "stocks#1",
            message: "refused: raise options.contracts_per_connection",
            at: MOVED_AT + 1
          }
        }
      ],
      "end"
    )
  }
]

/** Lets real file I/O finish between clock steps. */
const settle = Effect.promise(() => new Promise<void>((r) => setTimeout(r, 3)))

beforeAll(() => FrameDecoder.warmUp(), 30_000)

describe("stream runner: a connection's instruments moved onto another", () => {
  it.scoped(
    "the window they missed is a repaired gap, one alert, the stats show the connection left",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* tempDir()
        const base = testConfig(dataDir, "http://127.0.0.1:1")
        // Minute frames: a flush every 5 minutes writes 78 part files instead of 390 (the test's time).
        const config = { ...base, stream: { ...base.stream, flushIntervalMs: 300_000 } }
        yield* TestClock.setTime(ny(9, 0))
        const context = yield* Layer.build(
          Layer.mergeAll(
            MassiveSocket.Test([]),
            MassiveRest.Test({ bars: { SPY: spy, QQQ: qqq } }),
            MarketCalendar.Test,
            Layer.effect(Checkpoints.Checkpoints, Checkpoints.make(dataDir)),
            Quarantine.Live,
            SinksLive.fromConfig,
            Alerts.Test
          ).pipe(Layer.provideMerge(Layer.succeed(AppConfig, config)))
        )
        const fiber = yield* StockBarsFeed.makeLive.pipe(
          Effect.flatMap((feed) =>
            StreamRunner.run(
              { ...feed, live: { ...feed.live, connect: () => connections } },
              { instruments: ["SPY", "QQQ"], source: "massive-stocks", reconcile: false }
            )
          ),
          Effect.scoped,
          Effect.provide(context),
          Effect.fork
        )
        for (let step = 0; step < 1000; step++) {
          yield* TestClock.adjust("5 minutes")
          for (let i = 0; i < 6; i++) yield* settle
          if ((yield* Fiber.poll(fiber))._tag === "Some") break
        }
        const report = yield* Fiber.join(fiber)

        // One gap: QQQ, from the second after its last bar on stocks#2 to its first bar on stocks#1.
        const gaps = report.continuity.filter((c) => c.kind === "gap")
        const lastBefore = Math.max(...qqq.filter((b) => b.ts < MOVED_AT - 60_000).map((b) => b.ts))
        const firstAfter = Math.min(...qqq.filter((b) => b.ts >= TAKEN_OVER_AT).map((b) => b.ts))
        expect(gaps).toEqual([
          expect.objectContaining({
            symbols: "QQQ",
            status: "repaired",
            start: lastBefore + 1000,
            end: firstAfter,
            rows: qqq.filter((b) => b.ts > lastBefore && b.ts < firstAfter).length
          })
        ])

        // Nothing lost: the lake holds both symbols' day.
        const lake = yield* readPartition(dataDir, StockBars1s, DATE)
        const day = [...spy, ...qqq].sort(compareByKey(StockBars1s))
        expect([...lake].sort(compareByKey(StockBars1s)).map(asStreamed)).toEqual(day.map(asStreamed))

        // One alert naming the setting; the move is neither a disconnect nor a reconnect.
        const alerts = yield* Alerts.collected.pipe(Effect.provide(context))
        expect(alerts.filter((a) => a.kind === "max-connections").map((a) => a.message)).toEqual([
          "refused: raise options.contracts_per_connection"
        ])
        expect(alerts.filter((a) => a.kind === "disconnect")).toEqual([])
        expect(report.stats.reconnects).toBe(0)
        expect([...report.stats.connections.keys()]).toEqual(["stocks#1"])
      }),
    120_000
  )
})
