/**
 * The stream runner driven by TestClock through a whole scripted session of 2024-03-04:
 * it waits for the open, receives a bar frame per minute, loses the connection 12:00–12:20
 * (repaired through REST), goes silent 14:00–14:16 while connected (stall alert, repaired),
 * writes heartbeats, stops by itself at the close and reconciles the day through REST.
 */
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Clock, Deferred, type Duration, Effect, Fiber, Layer, Stream, TestClock } from "effect"
import * as MarketCalendar from "../../src/calendar/MarketCalendar.js"
import { AppConfig, type AppConfigShape } from "../../src/config/AppConfig.js"
import { compareByKey } from "../../src/domain/Dataset.js"
import { type SinkError, type StorageError, VendorAuthError } from "../../src/domain/errors.js"
import { type StockBar, StockBars1s } from "../../src/domain/StockBar.js"
import { newYorkTimeToEpochMs } from "../../src/domain/time.js"
import * as Alerts from "../../src/monitor/Alerts.js"
import * as Checkpoints from "../../src/pipeline/Checkpoints.js"
import { type OpenSpillFile, openNodeSpillFile } from "../../src/pipeline/SpillQueue.js"
import type { LiveEvent } from "../../src/runners/LiveFeed.js"
import * as StreamRunner from "../../src/runners/stream.js"
import { secondBars } from "../../src/sim/syntheticMarket.js"
import { readPartition } from "../../src/sinks/ParquetSink.js"
import * as Quarantine from "../../src/sinks/Quarantine.js"
import { Sinks } from "../../src/sinks/Sink.js"
import * as SinksLive from "../../src/sinks/SinksLive.js"
import * as FrameDecoder from "../../src/sources/massive/FrameDecoder.js"
import * as MassiveRest from "../../src/sources/massive/MassiveRest.js"
import { MassiveSocket } from "../../src/sources/massive/MassiveSocket.js"
import * as StockBarsFeed from "../../src/sources/massive/stockBarsFeed.js"
import { tempDir, testConfig } from "../support/fixtures.js"

const DATE = "2024-03-04"
const ny = (h: number, m: number) => newYorkTimeToEpochMs(DATE, h, m)
const OPEN = ny(9, 30)
const CLOSE = ny(16, 0)
const day = secondBars("SPY", DATE)
/** What the WebSocket carries: no trade counts. */
const asStreamed = (b: StockBar): StockBar => ({ ...b, trades: null })

/** A frame per minute, published 2 s after the minute, except while disconnected or silent. */
const script = (): Array<{ at: number; event: LiveEvent<StockBar> }> => {
  const out: Array<{ at: number; event: LiveEvent<StockBar> }> = [
    { at: OPEN, event: { _tag: "Connected", at: OPEN, attempt: 1 } }
  ]
  for (let m = OPEN; m < CLOSE; m += 60_000) {
    const at = m + 60_000 + 2000
    if (m === ny(12, 0))
      out.push({
        at: m + 1,
        event: { _tag: "Disconnected", at: m + 1, reason: "server closed the connection (1006)" }
      })
    if (m === ny(12, 20)) out.push({ at: m, event: { _tag: "Connected", at: m, attempt: 2 } })
    const disconnected = m >= ny(12, 0) && m < ny(12, 20)
    const silent = m >= ny(14, 0) && m < ny(14, 16)
    if (disconnected || silent) continue
    const bars = day.filter((b) => b.ts >= m && b.ts < m + 60_000).map(asStreamed)
    out.push({ at, event: { _tag: "Records", records: bars, receivedAt: at } })
  }
  return out
}

const scriptedSocket = (steps: ReadonlyArray<{ at: number; event: LiveEvent<StockBar> }>) =>
  Layer.succeed(
    MassiveSocket,
    MassiveSocket.of({
      // The script is of stock bars, the dataset these tests stream.
      events: <A>() =>
        Stream.fromIterable(steps).pipe(
          Stream.mapEffect(({ at, event }) =>
            Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sleep(Math.max(0, at - now))).pipe(
              Effect.as(event as LiveEvent<A>)
            )
          ),
          Stream.concat(Stream.never)
        )
    })
  )

/** Lets real file I/O finish between clock steps. */
const settle = Effect.promise(() => new Promise<void>((r) => setTimeout(r, 3)))

/** The runner's services: `socket`, the vendor's day of SPY through REST, the lake under `config.dataDir`. */
const runnerLayer = (
  config: AppConfigShape,
  socket: Layer.Layer<MassiveSocket>,
  sinks: Layer.Layer<Sinks, SinkError | StorageError, AppConfig> = SinksLive.fromConfig
) =>
  Layer.mergeAll(
    socket,
    MassiveRest.Test({ bars: { SPY: day } }),
    MarketCalendar.Test,
    Layer.effect(Checkpoints.Checkpoints, Checkpoints.make(config.dataDir)),
    Quarantine.Live,
    sinks,
    Alerts.Test
  ).pipe(Layer.provideMerge(Layer.succeed(AppConfig, config)))

/** The stream runner over the stock bars feed (its live side on the provided socket). */
const runStream = (request: StreamRunner.StreamRequest) =>
  Effect.flatMap(StockBarsFeed.makeLive, (feed) => StreamRunner.run(feed, request))

/** The runner on SPY alone, fed by `steps`, without reconciliation at the close: forked. */
const forkSpyRunner = (
  config: AppConfigShape,
  steps: ReadonlyArray<{ at: number; event: LiveEvent<StockBar> }>,
  sinks?: Layer.Layer<Sinks, SinkError | StorageError, AppConfig>
) =>
  runStream({ instruments: ["SPY"], source: "massive-stocks", reconcile: false }).pipe(
    Effect.scoped,
    Effect.provide(runnerLayer(config, scriptedSocket(steps), sinks)),
    Effect.fork
  )

/**
 * The configured sinks, except that the first append commit signals `inCommit` and then waits for
 * `release` before it writes: a flush held half-way. `appends()` counts append commits.
 */
const holdingFirstAppend = (inCommit: Deferred.Deferred<void>, release: Deferred.Deferred<void>) => {
  let appends = 0
  const layer = Layer.effect(
    Sinks,
    Effect.map(Sinks, (inner) =>
      Sinks.of({
        sinks: inner.sinks,
        recover: inner.recover,
        commit: (write) =>
          write.mode === "append" && appends++ === 0
            ? Deferred.succeed(inCommit, undefined).pipe(
                Effect.zipRight(Deferred.await(release)),
                Effect.zipRight(inner.commit(write))
              )
            : inner.commit(write)
      })
    )
  ).pipe(Layer.provide(SinksLive.fromConfig))
  return { layer, appends: () => appends }
}

/** Advances the TestClock by `step` (letting real I/O run) until `done`, at most `maxSteps` times. */
const stepUntil = (step: Duration.DurationInput, maxSteps: number, done: Effect.Effect<boolean>) =>
  Effect.gen(function* () {
    for (let i = 0; i < maxSteps && !(yield* done); i++) {
      yield* TestClock.adjust(step)
      for (let k = 0; k < 3; k++) yield* settle
    }
  })

// The runner subscribes once the frame decode worker is up: a wait in real time, which under
// TestClock would let the scripted clock run ahead of the feed. Start it before the clock matters.
beforeAll(() => FrameDecoder.warmUp(), 30_000)

describe("stream runner (TestClock, whole session)", () => {
  it.scoped(
    "waits for the open, repairs the disconnect and the stall through REST, beats, alerts once, stops at the close, reconciles",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* tempDir()
        const base = testConfig(dataDir, "http://127.0.0.1:1")
        const config = {
          ...base,
          stream: {
            ...base.stream,
            // A frame a minute: flushing once a minute keeps each frame its own flush, and spares the
            // TestClock a wake-up of the flush loop every second of the session.
            flushIntervalMs: 60_000,
            heartbeatIntervalMs: 300_000,
            stallAfterMs: 900_000
          }
        }
        yield* TestClock.setTime(ny(9, 0))
        const context = yield* Layer.build(runnerLayer(config, scriptedSocket(script())))
        const fiber = yield* runStream({
          instruments: ["SPY"],
          source: "massive-stocks",
          reconcile: true
        }).pipe(Effect.scoped, Effect.provide(context), Effect.fork)
        // Drive the clock minute by minute until the runner returns (file I/O is real, so it may lag).
        for (let step = 0; step < 3000; step++) {
          yield* TestClock.adjust("1 minute")
          for (let i = 0; i < 4; i++) yield* settle
          if ((yield* Fiber.poll(fiber))._tag === "Some") break
        }
        const report = yield* Fiber.join(fiber)

        // Stopped by itself at the close (plus the grace for the last bars).
        expect(report.stoppedBy).toBe("close")
        expect(report.stoppedAt).toBeGreaterThanOrEqual(CLOSE + StreamRunner.CLOSE_GRACE_MS)
        expect(report.stoppedAt).toBeLessThan(CLOSE + 5 * 60_000)

        // Gaps: the reconnect and the stall, both repaired through REST; then the reconciliation.
        const gaps = report.continuity.filter((c) => c.kind === "gap")
        // A gap starts the second after the last bar received (bars are sparse: a second or two early).
        expect(gaps.map((g) => g.status)).toEqual(["repaired", "repaired"])
        expect(gaps[0]!.start).toBeGreaterThan(ny(11, 59))
        expect(gaps[0]!.start).toBeLessThanOrEqual(ny(12, 0))
        expect(gaps[0]!.end).toBeGreaterThanOrEqual(ny(12, 20))
        expect(gaps[1]!.start).toBeGreaterThan(ny(13, 59))
        expect(gaps[1]!.start).toBeLessThanOrEqual(ny(14, 0))
        expect(gaps[1]!.end).toBeGreaterThanOrEqual(ny(14, 16))
        expect(gaps[0]!.rows).toBe(day.filter((b) => b.ts >= ny(12, 0) && b.ts < ny(12, 20)).length)
        expect(gaps[1]!.rows).toBe(day.filter((b) => b.ts >= ny(14, 0) && b.ts < ny(14, 16)).length)
        const reconcile = report.continuity.find((c) => c.kind === "reconcile")
        expect(reconcile).toMatchObject({ status: "verified", rows: 0 })

        // The lake equals the vendor's day, row for row.
        const lake = yield* readPartition(dataDir, StockBars1s, DATE)
        expect([...lake].sort(compareByKey(StockBars1s))).toEqual([...day])

        // One stall alert per silence longer than stall_after (not one per tick), each followed by a
        // recovery: the 20-minute disconnect (no data either) and the 16-minute silence while connected.
        const alerts = yield* Alerts.collected.pipe(Effect.provide(context))
        const stalls = alerts.filter((a) => a.kind === "stall")
        expect(stalls.map((a) => [a.details?.scope, a.details?.connection])).toEqual([
          ["feed", "disconnected"],
          ["feed", "connected"]
        ])
        expect(alerts.filter((a) => a.kind === "recovered")).toHaveLength(2)
        expect(alerts.filter((a) => a.kind === "disconnect")).toHaveLength(1)
        expect(alerts.filter((a) => a.kind === "gap")).toHaveLength(2)

        // Heartbeats were written during the session.
        const heartbeat = JSON.parse(
          yield* Effect.promise(() =>
            NodeFs.readFile(Path.join(dataDir, "state", "heartbeat", "massive-stocks.json"), "utf8")
          )
        ) as { messagesTotal: number; reconnects: number }
        expect(heartbeat.reconnects).toBe(1)
        expect(heartbeat.messagesTotal).toBeGreaterThan(0)

        // The day is done in the checkpoints.
        const days = yield* Effect.flatMap(Checkpoints.make(dataDir), (c) => c.days("stock_bars_1s"))
        expect(days.get(Checkpoints.dayKey("SPY", DATE))).toMatchObject({ status: "done", rows: day.length })
      }),
    120_000
  )

  it.scoped("flushes as the feed goes: every bar is durable within flush_interval of its arrival", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir()
      const config = testConfig(dataDir, "http://127.0.0.1:1")
      const interval = config.stream.flushIntervalMs
      const start = ny(9, 31)
      yield* TestClock.setTime(start)
      // Every 250 ms a frame with the next 15 seconds of SPY, for 6 seconds.
      const steps: Array<{ at: number; event: LiveEvent<StockBar> }> = [
        { at: start, event: { _tag: "Connected", at: start, attempt: 1 } }
      ]
      const arrival = new Map<number, number>()
      for (let k = 0; k < 24; k++) {
        const at = start + 100 + k * 250
        const bars = day.filter((b) => b.ts >= OPEN + k * 15_000 && b.ts < OPEN + (k + 1) * 15_000)
        for (const b of bars) arrival.set(b.ts, at)
        steps.push({ at, event: { _tag: "Records", records: bars.map(asStreamed), receivedAt: at } })
      }
      // Sinks that take no time: commit times are the flush schedule's alone.
      const commits: Array<{ readonly at: number; readonly ts: ReadonlyArray<number> }> = []
      const recording = Layer.succeed(
        Sinks,
        Sinks.of({
          sinks: [],
          recover: () => Effect.succeed([]),
          commit: (write) =>
            Effect.map(Clock.currentTimeMillis, (at) => {
              if (write.dataset.name === StockBars1s.name)
                commits.push({ at, ts: (write.rows as ReadonlyArray<StockBar>).map((b) => b.ts) })
              return []
            })
        })
      )
      const runner = yield* forkSpyRunner(config, steps, recording)
      // 10 ms steps: a timer fires at most a step late, within the planner's smallest lead (20 ms).
      for (let i = 0; i < 800 && commits.reduce((n, c) => n + c.ts.length, 0) < arrival.size; i++) {
        yield* TestClock.adjust("10 millis")
        yield* settle
      }
      yield* Fiber.interrupt(runner)

      const committed = commits.flatMap((c) => c.ts.map((ts) => c.at - arrival.get(ts)!))
      expect(committed).toHaveLength(arrival.size)
      expect(Math.max(...committed)).toBeLessThanOrEqual(interval)
      // Flushed as the feed went, not all at the end: about one flush a second of feed.
      expect(commits.length).toBeGreaterThanOrEqual(5)
    })
  )

  it.scoped(
    "a pipeline held up for 20 minutes is not a stalled feed: no stall alert while bars keep arriving; all committed after",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* tempDir()
        const config = testConfig(dataDir, "http://127.0.0.1:1")
        const start = ny(9, 31)
        yield* TestClock.setTime(start)
        const minute = (k: number) =>
          day.filter((b) => b.ts >= OPEN + k * 60_000 && b.ts < OPEN + (k + 1) * 60_000).map(asStreamed)
        // A minute of bars every minute for 21 minutes: the feed is never silent.
        const steps: Array<{ at: number; event: LiveEvent<StockBar> }> = [
          { at: start, event: { _tag: "Connected", at: start, attempt: 1 } }
        ]
        for (let k = 0; k <= 20; k++) {
          const at = start + k * 60_000
          steps.push({ at, event: { _tag: "Records", records: minute(k), receivedAt: at } })
        }
        const inCommit = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        // The first commit is held: everything after waits in the queue.
        const holding = holdingFirstAppend(inCommit, release)
        const context = yield* Layer.build(runnerLayer(config, scriptedSocket(steps), holding.layer))
        const runner = yield* runStream({
          instruments: ["SPY"],
          source: "massive-stocks",
          reconcile: false
        }).pipe(Effect.scoped, Effect.provide(context), Effect.fork)
        yield* stepUntil("500 millis", 50, Deferred.isDone(inCommit))
        expect(yield* Deferred.isDone(inCommit)).toBe(true)
        for (let k = 0; k < 21; k++) {
          yield* TestClock.adjust("1 minute")
          for (let i = 0; i < 3; i++) yield* settle
        }
        const alerts = yield* Alerts.collected.pipe(Effect.provide(context))
        // Released before asserting: a failed assertion must not leave the commit held.
        yield* Deferred.succeed(release, undefined)
        expect(alerts.filter((a) => a.kind === "stall")).toEqual([])
        const expected = Array.from({ length: 21 }, (_, k) => minute(k)).flat()
        yield* stepUntil(
          "500 millis",
          200,
          Effect.map(
            readPartition(dataDir, StockBars1s, DATE).pipe(Effect.orDie),
            (lake) => lake.length >= expected.length
          )
        )
        yield* Fiber.interrupt(runner)
        expect(yield* readPartition(dataDir, StockBars1s, DATE)).toEqual(expected)
      }),
    60_000
  )

  it.scoped(
    "a socket that fails for good (auth_failed) stops the stream with its error; what arrived is committed",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* tempDir()
        const config = testConfig(dataDir, "http://127.0.0.1:1")
        yield* TestClock.setTime(ny(9, 31))
        const first = day.filter((b) => b.ts >= OPEN && b.ts < OPEN + 60_000).map(asStreamed)
        const failing = Layer.succeed(
          MassiveSocket,
          MassiveSocket.of({
            events: <A>() =>
              Stream.make<Array<LiveEvent<A>>>(
                { _tag: "Connected", at: OPEN, attempt: 1 },
                { _tag: "Records", records: first as ReadonlyArray<A>, receivedAt: ny(9, 31) }
              ).pipe(
                Stream.concat(
                  Stream.fail(
                    new VendorAuthError({
                      vendor: "Massive",
                      status: 401,
                      detail: "authentication failed",
                      keyEnv: "MASSIVE_API_KEY"
                    })
                  )
                )
              )
          })
        )
        const layer = runnerLayer(config, failing)
        const fiber = yield* runStream({
          instruments: ["SPY"],
          source: "massive-stocks",
          reconcile: true
        }).pipe(Effect.scoped, Effect.provide(layer), Effect.fork)
        for (let step = 0; step < 200; step++) {
          yield* TestClock.adjust("1 second")
          for (let i = 0; i < 3; i++) yield* settle
          if ((yield* Fiber.poll(fiber))._tag === "Some") break
        }
        const error = yield* Effect.flip(Fiber.join(fiber))
        expect(error._tag).toBe("VendorAuthError")
        const lake = yield* readPartition(dataDir, StockBars1s, DATE)
        expect(lake).toEqual(first)
      }),
    60_000
  )

  it.scoped(
    "interrupted during a flush (SIGTERM): the flush in progress completes, what is still queued is flushed, nothing is lost",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* tempDir()
        const config = testConfig(dataDir, "http://127.0.0.1:1")
        yield* TestClock.setTime(ny(9, 31))
        const minute = (k: number) =>
          day.filter((b) => b.ts >= OPEN + k * 60_000 && b.ts < OPEN + (k + 1) * 60_000).map(asStreamed)
        // Minute 0 arrives at once; minutes 1 and 2 while the first flush is held in its commit. They
        // come 30 s later, past the 25 s `stepUntil` may take to see the commit begin on a busy machine:
        // arriving before the first flush takes its batch, they would ride in it.
        const steps = [
          { at: ny(9, 31), event: { _tag: "Connected", at: ny(9, 31), attempt: 1 } as LiveEvent<StockBar> },
          {
            at: ny(9, 31),
            event: { _tag: "Records", records: minute(0), receivedAt: ny(9, 31) } as LiveEvent<StockBar>
          },
          {
            at: ny(9, 31) + 30_000,
            event: {
              _tag: "Records",
              records: minute(1),
              receivedAt: ny(9, 31) + 30_000
            } as LiveEvent<StockBar>
          },
          {
            at: ny(9, 31) + 31_000,
            event: {
              _tag: "Records",
              records: minute(2),
              receivedAt: ny(9, 31) + 31_000
            } as LiveEvent<StockBar>
          }
        ]
        const inCommit = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        // The first append commit stops half-way until released: the interruption lands inside it.
        const holding = holdingFirstAppend(inCommit, release)
        const runner = yield* forkSpyRunner(config, steps, holding.layer)
        yield* stepUntil("500 millis", 50, Deferred.isDone(inCommit))
        expect(yield* Deferred.isDone(inCommit)).toBe(true)
        // Minutes 1 and 2 arrive while the commit is held.
        yield* TestClock.adjust("35 seconds")
        for (let i = 0; i < 3; i++) yield* settle
        // SIGTERM: the CLI interrupts the runner. The interruption waits for the commit in progress.
        const stopping = yield* Fiber.interrupt(runner).pipe(Effect.fork)
        for (let i = 0; i < 3; i++) yield* settle
        expect(stopping.unsafePoll()).toBeNull()
        yield* Deferred.succeed(release, undefined)
        yield* Fiber.join(stopping)
        const lake = yield* readPartition(dataDir, StockBars1s, DATE)
        expect(lake).toEqual([...minute(0), ...minute(1), ...minute(2)])
        expect(holding.appends()).toBeGreaterThanOrEqual(2)
      }),
    60_000
  )

  it.scoped(
    "large frames: decoded on the worker, spilled as their text while the pipeline is held up, each bar committed once",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* tempDir()
        const base = testConfig(dataDir, "http://127.0.0.1:1")
        // A bound of one bar: anything offered while a frame waits in memory spills.
        const config = { ...base, stream: { ...base.stream, queueCapacity: 1 } }
        yield* TestClock.setTime(ny(9, 31))
        const symbols = Array.from({ length: 200 }, (_, i) => `S${String(i).padStart(3, "0")}`)
        const second = (k: number) =>
          symbols.map((sym, i) => ({
            ev: "A",
            sym,
            v: 100 + i,
            vw: 10.5,
            o: 10,
            c: 11,
            h: 12,
            l: 9,
            s: OPEN + k * 1000
          }))
        const frameEvent = (k: number, at: number): LiveEvent<StockBar> => ({
          _tag: "Frame",
          raw: JSON.stringify(second(k)),
          receivedAt: at,
          count: symbols.length
        })
        const small = day.filter((b) => b.ts < OPEN + 2000).map(asStreamed)
        const steps = [
          { at: ny(9, 31), event: { _tag: "Connected", at: ny(9, 31), attempt: 1 } as LiveEvent<StockBar> },
          {
            at: ny(9, 31),
            event: { _tag: "Records", records: small, receivedAt: ny(9, 31) } as LiveEvent<StockBar>
          },
          // These arrive while the first flush is held in its commit.
          ...Array.from({ length: 20 }, (_, k) => ({
            at: ny(9, 31) + 1500 + k,
            event: frameEvent(k + 10, ny(9, 31) + 1500 + k)
          }))
        ]
        const inCommit = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        const holding = holdingFirstAppend(inCommit, release)
        // The real disk, recording what was spilled.
        const spilled: Array<string> = []
        const recordingDisk: OpenSpillFile = async (path) => {
          const file = await openNodeSpillFile(path)
          return {
            ...file,
            write: (bytes, position) => {
              spilled.push(Buffer.from(bytes).toString("utf8"))
              return file.write(bytes, position)
            }
          }
        }
        const runner = yield* runStream({
          instruments: ["SPY", ...symbols],
          source: "massive-stocks",
          reconcile: false,
          openSpillFile: recordingDisk
        }).pipe(
          Effect.scoped,
          Effect.provide(runnerLayer(config, scriptedSocket(steps), holding.layer)),
          Effect.fork
        )
        yield* stepUntil("200 millis", 50, Deferred.isDone(inCommit))
        expect(yield* Deferred.isDone(inCommit)).toBe(true)
        // The frames arrive (the first is decoded into memory; the rest spill, most as their text).
        const spilledLines = () =>
          spilled
            .join("")
            .split("\n")
            .filter((l) => l !== "")
        yield* TestClock.adjust("2 seconds")
        // Real I/O (the spill writes) runs between clock steps: wait for it, within bounds.
        for (let i = 0; i < 2000 && spilledLines().length < 19; i++) yield* settle
        yield* Deferred.succeed(release, undefined)
        const expectedRows = small.length + 20 * symbols.length
        for (let step = 0; step < 200; step++) {
          yield* TestClock.adjust("500 millis")
          for (let i = 0; i < 5; i++) yield* settle
          if ((yield* readPartition(dataDir, StockBars1s, DATE)).length >= expectedRows) break
        }
        yield* Fiber.interrupt(runner)
        // The first frame waited in memory; the second was decoded before the queue spilled; the
        // other 18 went to the spill as their text.
        expect(spilledLines().filter((l) => l.startsWith("R"))).toHaveLength(18)
        const lake = yield* readPartition(dataDir, StockBars1s, DATE)
        const framed = Array.from({ length: 20 }, (_, k) => second(k + 10)).flat()
        expect(lake).toHaveLength(small.length + framed.length)
        expect(new Set(lake.map((b) => `${b.symbol}|${b.ts}`)).size).toBe(lake.length)
        const s007 = lake.find((b) => b.symbol === "S007" && b.ts === OPEN + 15_000)
        expect(s007).toEqual({
          symbol: "S007",
          ts: OPEN + 15_000,
          open: 10,
          high: 12,
          low: 9,
          close: 11,
          volume: 107,
          vwap: 10.5,
          trades: null
        })
        expect(lake.filter((b) => b.symbol === "SPY")).toEqual(small)
      }),
    60_000
  )
})
