import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, TestClock } from "effect"
import * as MarketCalendar from "../../src/calendar/MarketCalendar.js"
import { nyseDay } from "../../src/calendar/nyseRules.js"
import { newYorkTimeToEpochMs } from "../../src/domain/time.js"
import * as Heartbeat from "../../src/monitor/Heartbeat.js"
import { makeStreamStats, setConnection } from "../../src/monitor/StreamStats.js"
import { tempDir } from "../support/fixtures.js"

const INTERVAL = 10_000

/**
 * Waits (on real I/O, not on time) until the beat at `at` is in the file and the heartbeat fiber
 * has finished it and sleeps until its next look: the write is a real file-system call (with
 * fsyncs after the rename) that completes after `TestClock.adjust` returns, and the clock must
 * not move before the fiber has scheduled its next beat.
 */
const beatAt = (file: string, at: number) =>
  Effect.gen(function* () {
    const iso = new Date(at).toISOString()
    // A bound on real time (~20 s) for the fsyncs, never asserted on.
    for (let i = 0; i < 4000; i++) {
      const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : ""
      const sleeps = yield* TestClock.sleeps()
      if (text.length > 0 && Chunk.some(sleeps, (t) => t > at)) {
        const beat = JSON.parse(text) as Heartbeat.HeartbeatRecord
        if (beat.at === iso) return beat
      }
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
    }
    return yield* Effect.dieMessage(`no heartbeat at ${iso} in ${file}`)
  })

describe("Heartbeat", () => {
  it("marketStateAt distinguishes closed days, pre-open, open and after-close (early close too)", () => {
    const tuesday = nyseDay("2024-03-05")
    expect(Heartbeat.marketStateAt(newYorkTimeToEpochMs("2024-03-05", 9, 29), tuesday)).toBe("pre-open")
    expect(Heartbeat.marketStateAt(newYorkTimeToEpochMs("2024-03-05", 9, 30), tuesday)).toBe("open")
    expect(Heartbeat.marketStateAt(newYorkTimeToEpochMs("2024-03-05", 15, 59), tuesday)).toBe("open")
    expect(Heartbeat.marketStateAt(newYorkTimeToEpochMs("2024-03-05", 16, 0), tuesday)).toBe("after-close")
    const blackFriday = nyseDay("2024-11-29")
    expect(Heartbeat.marketStateAt(newYorkTimeToEpochMs("2024-11-29", 13, 30), blackFriday)).toBe(
      "after-close"
    )
    expect(Heartbeat.marketStateAt(newYorkTimeToEpochMs("2024-03-09", 12, 0), nyseDay("2024-03-09"))).toBe(
      "closed"
    )
  })

  it.scoped(
    "writes the heartbeat file every interval with the counters, messagesLastInterval per interval",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* tempDir("tapehouse-heartbeat-")
        const t0 = newYorkTimeToEpochMs("2024-03-05", 10, 0)
        yield* TestClock.setTime(t0)
        const stats = makeStreamStats("massive-stocks")
        setConnection(stats, "connected")
        const file = Heartbeat.heartbeatFile(dataDir, stats.source)
        expect(file).toBe(path.join(dataDir, "state", "heartbeat", "massive-stocks.json"))

        yield* Effect.forkScoped(Heartbeat.run({ stats, intervalMs: INTERVAL, dataDir }))
        yield* TestClock.adjust(0)
        const first = yield* beatAt(file, t0)
        expect(first).toEqual({
          source: "massive-stocks",
          at: new Date(t0).toISOString(),
          pid: process.pid,
          intervalMs: INTERVAL,
          connection: "connected",
          messagesLastInterval: 0,
          messagesTotal: 0,
          lastMessageAt: null,
          lagMs: null,
          reconnects: 0,
          rejected: 0,
          unknownEvents: 0,
          spilled: 0,
          committed: 0,
          marketState: "open"
        })

        // The runner's hot path updates the counters; the monitor only reads them on its tick.
        stats.messages = 120
        stats.lastMessageAt = t0 + 9_000
        stats.lastEventTime = t0 + 8_500
        stats.reconnects = 1
        stats.rejected = 2
        stats.unknownEvents = 3
        stats.spilled = 4
        stats.committed = 100
        yield* TestClock.adjust(INTERVAL)
        const second = yield* beatAt(file, t0 + INTERVAL)
        expect(second).toMatchObject({
          messagesLastInterval: 120,
          messagesTotal: 120,
          lastMessageAt: new Date(t0 + 9_000).toISOString(),
          lagMs: INTERVAL - 8_500,
          reconnects: 1,
          rejected: 2,
          unknownEvents: 3,
          spilled: 4,
          committed: 100
        })

        stats.messages = 150
        yield* TestClock.adjust(INTERVAL)
        const third = yield* beatAt(file, t0 + 2 * INTERVAL)
        expect(third.messagesLastInterval).toBe(30)
        expect(third.messagesTotal).toBe(150)

        yield* TestClock.adjust(INTERVAL)
        const fourth = yield* beatAt(file, t0 + 3 * INTERVAL)
        expect(fourth.messagesLastInterval).toBe(0)
        expect(fourth.messagesTotal).toBe(150)

        // Only the heartbeat file is left in the folder (no temporaries).
        expect(fs.readdirSync(path.dirname(file))).toEqual(["massive-stocks.json"])
      }).pipe(Effect.provide(MarketCalendar.Test))
  )

  it.scoped("writes at once when the connection or the market state changes, between regular beats", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir("tapehouse-heartbeat-")
      const t0 = newYorkTimeToEpochMs("2024-03-05", 9, 29)
      yield* TestClock.setTime(t0)
      const stats = makeStreamStats("massive-stocks")
      const file = Heartbeat.heartbeatFile(dataDir, stats.source)
      yield* Effect.forkScoped(Heartbeat.run({ stats, intervalMs: 300_000, dataDir }))
      yield* TestClock.adjust(0)
      expect(yield* beatAt(file, t0)).toMatchObject({
        connection: "waiting-for-open",
        marketState: "pre-open"
      })

      // The open: written at 09:30, not at the next 5-minute beat.
      yield* TestClock.adjust(60_000)
      expect(yield* beatAt(file, t0 + 60_000)).toMatchObject({ marketState: "open" })
      yield* TestClock.adjust(1000)
      // The connection comes up: written at once, the clock not moving.
      stats.messages = 42
      setConnection(stats, "connected")
      yield* TestClock.adjust(0)
      expect(yield* beatAt(file, t0 + 61_000)).toMatchObject({
        connection: "connected",
        messagesTotal: 42,
        messagesLastInterval: 42
      })
      // Nothing changes: no write until the regular beat.
      yield* TestClock.adjust(10_000)
      expect(JSON.parse(fs.readFileSync(file, "utf8")).at).toBe(new Date(t0 + 61_000).toISOString())
    }).pipe(Effect.provide(MarketCalendar.Test))
  )

  it.scoped("reports the market state on the calendar: after the close and on a holiday", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir("tapehouse-heartbeat-")
      const stats = makeStreamStats("massive-stocks")
      const file = Heartbeat.heartbeatFile(dataDir, stats.source)
      const afterClose = newYorkTimeToEpochMs("2024-03-05", 16, 30)
      yield* TestClock.setTime(afterClose)
      const fiber = yield* Effect.forkScoped(Heartbeat.run({ stats, intervalMs: INTERVAL, dataDir }))
      yield* TestClock.adjust(0)
      expect((yield* beatAt(file, afterClose)).marketState).toBe("after-close")
      yield* Fiber.interrupt(fiber)

      const july4 = newYorkTimeToEpochMs("2024-07-04", 11, 0)
      yield* TestClock.setTime(july4)
      yield* Effect.forkScoped(Heartbeat.run({ stats, intervalMs: INTERVAL, dataDir }))
      yield* TestClock.adjust(0)
      expect((yield* beatAt(file, july4)).marketState).toBe("closed")
    }).pipe(Effect.provide(MarketCalendar.Test))
  )

  it.scoped("readHeartbeats judges a fresh heartbeat running and one older than two intervals stale", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir("tapehouse-heartbeat-")
      const t0 = newYorkTimeToEpochMs("2024-03-05", 10, 0)
      yield* TestClock.setTime(t0)
      expect(yield* Heartbeat.readHeartbeats(dataDir)).toEqual([])

      const stats = makeStreamStats("massive-stocks")
      setConnection(stats, "connected")
      const file = Heartbeat.heartbeatFile(dataDir, stats.source)
      const fiber = yield* Effect.forkScoped(Heartbeat.run({ stats, intervalMs: INTERVAL, dataDir }))
      yield* TestClock.adjust(0)
      yield* beatAt(file, t0)
      // A stray file that is not a heartbeat.
      fs.writeFileSync(path.join(path.dirname(file), "broken.json"), "{not json")

      yield* TestClock.adjust(INTERVAL)
      yield* beatAt(file, t0 + INTERVAL)
      const running = yield* Heartbeat.readHeartbeats(dataDir)
      expect(running.map((h) => [h.source, h.state, h.healthy])).toEqual([
        ["broken", "unreadable", false],
        ["massive-stocks", "running", true]
      ])

      // The stream stops: no more beats.
      yield* Fiber.interrupt(fiber)
      yield* TestClock.adjust(2 * INTERVAL)
      const atTwo = yield* Heartbeat.readHeartbeats(dataDir)
      expect(atTwo.find((h) => h.source === "massive-stocks")?.state).toBe("running")

      yield* TestClock.adjust(1)
      const stale = (yield* Heartbeat.readHeartbeats(dataDir)).find((h) => h.source === "massive-stocks")
      expect(stale?.state).toBe("stale")
      expect(stale?.healthy).toBe(false)
      expect(stale?.ageMs).toBe(2 * INTERVAL + 1)
      expect(stale?.reason).toContain("not running")
    }).pipe(Effect.provide(MarketCalendar.Test))
  )

  it("judgeHeartbeat: a fresh heartbeat of a disconnected stream is running but unhealthy", () => {
    const at = Date.parse("2024-03-05T15:00:00.000Z")
    const beat: Heartbeat.HeartbeatRecord = {
      ...Heartbeat.snapshot(makeStreamStats("x"), at, 0, INTERVAL, "open"),
      connection: "disconnected"
    }
    const status = Heartbeat.judgeHeartbeat("/d/x.json", beat, at + 1000)
    expect(status.state).toBe("running")
    expect(status.healthy).toBe(false)
  })
})
