import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Layer, Ref, TestClock } from "effect"
import * as MarketCalendar from "../../src/calendar/MarketCalendar.js"
import { nyseDay } from "../../src/calendar/nyseRules.js"
import { newYorkTimeToEpochMs } from "../../src/domain/time.js"
import * as Alerts from "../../src/monitor/Alerts.js"
import * as StallMonitor from "../../src/monitor/StallMonitor.js"
import { makeStreamStats, type StreamStats, setConnection } from "../../src/monitor/StreamStats.js"

const STALL = 60_000
const TICK = StallMonitor.tickIntervalMs(STALL)
const SYMBOLS = ["AAPL", "MSFT"] as const

const TestLayers = Layer.merge(Alerts.Test, MarketCalendar.Test)

const raised = Effect.flatMap(Alerts.Raised, Ref.get)

/** What the runner does on its hot path when bars of `symbols` arrive now. */
const deliver = (stats: StreamStats, symbols: ReadonlyArray<string>) =>
  Effect.map(Clock.currentTimeMillis, (now) => {
    for (const s of symbols) {
      stats.lastMessageAtBySymbol.set(s, now)
      stats.messages += 1
      stats.lastMessageAt = now
    }
  })

/** Moves the clock `ms` in steps of `step`, delivering bars of `symbols` before each. */
const advance = (stats: StreamStats, ms: number, symbols: ReadonlyArray<string> = [], step = TICK) =>
  Effect.gen(function* () {
    for (let t = 0; t < ms; t += step) {
      yield* deliver(stats, symbols)
      yield* TestClock.adjust(Math.min(step, ms - t))
    }
  })

/** Starts the monitor at `start` with every subscribed symbol just heard from. */
const startAt = (start: number, gaps?: Array<StallMonitor.StallGap>, stallAfterMs = STALL) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(start)
    const stats = makeStreamStats("massive-stocks")
    setConnection(stats, "connected")
    yield* deliver(stats, SYMBOLS)
    yield* Effect.forkScoped(
      StallMonitor.run({
        stats,
        stallAfterMs,
        symbols: SYMBOLS,
        ...(gaps ? { onStall: (gap) => Effect.sync(() => gaps.push(gap)) } : {})
      })
    )
    yield* TestClock.adjust(0)
    return stats
  })

const stalls = (alerts: ReadonlyArray<Alerts.AlertRecord>) => alerts.filter((a) => a.kind === "stall")

describe("assessFeed", () => {
  const day = nyseDay("2024-03-05")
  const at = (h: number, m: number) => newYorkTimeToEpochMs("2024-03-05", h, m)
  const stats = (last: Record<string, number>) => ({
    lastMessageAt: Math.max(...Object.values(last)),
    lastMessageAtBySymbol: new Map(Object.entries(last))
  })

  it("is market-closed on weekends, holidays, before the open and after the (early) close", () => {
    const silent = { lastMessageAt: undefined, lastMessageAtBySymbol: new Map<string, number>() }
    const saturday = newYorkTimeToEpochMs("2024-03-09", 12, 0)
    expect(StallMonitor.assessFeed(saturday, silent, nyseDay("2024-03-09"), SYMBOLS, STALL)).toEqual({
      _tag: "market-closed",
      marketState: "closed",
      reason: "market closed (weekend (Saturday))"
    })
    const july4 = newYorkTimeToEpochMs("2024-07-04", 11, 0)
    expect(StallMonitor.assessFeed(july4, silent, nyseDay("2024-07-04"), SYMBOLS, STALL)).toMatchObject({
      _tag: "market-closed",
      marketState: "closed",
      reason: "market closed (holiday: Independence Day)"
    })
    expect(StallMonitor.assessFeed(at(9, 0), silent, day, SYMBOLS, STALL)).toMatchObject({
      _tag: "market-closed",
      marketState: "pre-open"
    })
    expect(StallMonitor.assessFeed(at(16, 0), silent, day, SYMBOLS, STALL)).toMatchObject({
      _tag: "market-closed",
      marketState: "after-close"
    })
    const early = nyseDay("2024-11-29")
    const at1330 = newYorkTimeToEpochMs("2024-11-29", 13, 30)
    expect(StallMonitor.assessFeed(at1330, silent, early, SYMBOLS, STALL)).toEqual({
      _tag: "market-closed",
      marketState: "after-close",
      reason: "market closed (after the early close)"
    })
  })

  it("is ok while every symbol delivers", () => {
    const now = at(10, 0)
    const s = stats({ AAPL: now - 1000, MSFT: now - STALL + 1 })
    expect(StallMonitor.assessFeed(now, s, day, SYMBOLS, STALL)).toEqual({ _tag: "ok", silentForMs: 1000 })
  })

  it("names a quiet symbol when others deliver", () => {
    const now = at(10, 0)
    const s = stats({ AAPL: now - 1000, MSFT: now - STALL })
    expect(StallMonitor.assessFeed(now, s, day, [...SYMBOLS, "IBM"], STALL, at(9, 0))).toEqual({
      _tag: "quiet-symbols",
      silentForMs: 1000,
      quiet: [
        { symbol: "MSFT", lastMessageAt: now - STALL, silentForMs: STALL },
        // Never heard from: silent since the open.
        { symbol: "IBM", lastMessageAt: undefined, silentForMs: 30 * 60_000 }
      ]
    })
  })

  it("is stalled when no symbol delivers, counting from the open or the monitor start", () => {
    const silent = { lastMessageAt: undefined, lastMessageAtBySymbol: new Map<string, number>() }
    expect(StallMonitor.assessFeed(at(9, 31), silent, day, SYMBOLS, STALL)).toEqual({
      _tag: "stalled",
      lastMessageAt: undefined,
      silentSince: at(9, 30),
      silentForMs: STALL
    })
    // Yesterday's last bar does not make the feed stalled at the open.
    const yesterday = {
      lastMessageAt: at(9, 0) - 86_400_000,
      lastMessageAtBySymbol: new Map<string, number>()
    }
    expect(StallMonitor.assessFeed(at(9, 30), yesterday, day, SYMBOLS, STALL)._tag).toBe("ok")
    // A monitor started mid-session counts from its start.
    expect(StallMonitor.assessFeed(at(11, 0), silent, day, SYMBOLS, STALL, at(10, 59) + 1)._tag).toBe("ok")
    expect(StallMonitor.assessFeed(at(11, 0), silent, day, SYMBOLS, STALL, at(10, 59))._tag).toBe("stalled")
  })

  it("ticks a quarter of stallAfterMs, at most a minute", () => {
    expect(StallMonitor.tickIntervalMs(60_000)).toBe(15_000)
    expect(StallMonitor.tickIntervalMs(900_000)).toBe(60_000)
  })
})

describe("StallMonitor", () => {
  it.scoped("raises one feed stall after stallAfterMs of silence in the session, then recovered", () =>
    Effect.gen(function* () {
      const gaps: Array<StallMonitor.StallGap> = []
      const start = newYorkTimeToEpochMs("2024-03-05", 10, 0)
      const stats = yield* startAt(start, gaps)

      yield* advance(stats, STALL - TICK)
      expect(yield* raised).toEqual([])
      yield* advance(stats, TICK)
      const first = stalls(yield* raised)
      expect(first).toHaveLength(1)
      expect(first[0]).toMatchObject({
        kind: "stall",
        level: "error",
        source: "massive-stocks",
        at: new Date(start + STALL).toISOString(),
        details: { scope: "feed", silentForMs: STALL, lastMessageAt: new Date(start).toISOString() }
      })

      // Still silent for a long time: still one alert, not one per tick.
      yield* advance(stats, 5 * STALL)
      expect(yield* raised).toHaveLength(1)

      // Data resumes: one recovered, and the gap is handed to the repair hook.
      const resumedTick = start + 6 * STALL + TICK
      yield* advance(stats, TICK, SYMBOLS)
      const all = yield* raised
      expect(all.map((a) => a.kind)).toEqual(["stall", "recovered"])
      expect(all[1]).toMatchObject({ level: "info", details: { scope: "feed" } })
      expect(gaps).toEqual([{ scope: "feed", start, end: resumedTick, endedBy: "data" }])

      // Flowing again: nothing more; a second silence raises a second stall.
      yield* advance(stats, 5 * STALL, SYMBOLS)
      expect(yield* raised).toHaveLength(2)
      yield* advance(stats, STALL + TICK)
      expect((yield* raised).map((a) => a.kind)).toEqual(["stall", "recovered", "stall"])
    }).pipe(Effect.provide(TestLayers))
  )

  it.scoped("tells a quiet symbol from a stalled feed", () =>
    Effect.gen(function* () {
      const gaps: Array<StallMonitor.StallGap> = []
      const start = newYorkTimeToEpochMs("2024-03-05", 11, 0)
      const stats = yield* startAt(start, gaps)

      // AAPL keeps trading, MSFT goes quiet.
      yield* advance(stats, STALL + 10 * TICK, ["AAPL"])
      const quiet = yield* raised
      expect(quiet).toHaveLength(1)
      expect(quiet[0]).toMatchObject({
        kind: "stall",
        level: "warning",
        details: { scope: "symbol", symbol: "MSFT" }
      })
      expect(quiet[0]?.message).toContain("MSFT")

      // MSFT trades again: recovered for it.
      yield* advance(stats, TICK, SYMBOLS)
      const afterQuiet = yield* raised
      expect(afterQuiet.map((a) => [a.kind, a.details["scope"], a.details["symbol"]])).toEqual([
        ["stall", "symbol", "MSFT"],
        ["recovered", "symbol", "MSFT"]
      ])
      expect(gaps).toEqual([
        expect.objectContaining({ scope: "symbol", symbol: "MSFT", start, endedBy: "data" })
      ])

      // Now nothing from anyone: one feed stall, no per-symbol alerts.
      yield* advance(stats, 3 * STALL)
      const feed = (yield* raised).slice(2)
      expect(feed.map((a) => [a.kind, a.details["scope"]])).toEqual([["stall", "feed"]])
    }).pipe(Effect.provide(TestLayers))
  )

  it.scoped(
    "raises nothing while the market is closed: weekend, holiday, after 16:00, after a 13:00 close",
    () =>
      Effect.gen(function* () {
        const cases = [
          newYorkTimeToEpochMs("2024-03-09", 10, 0), // Saturday
          newYorkTimeToEpochMs("2024-07-04", 10, 0), // Independence Day
          newYorkTimeToEpochMs("2024-03-05", 15, 59) + 30_000, // 30 s before the close
          newYorkTimeToEpochMs("2024-11-29", 12, 59) + 30_000, // 30 s before the 13:00 early close
          newYorkTimeToEpochMs("2024-03-05", 6, 0) // early morning, before the open
        ]
        // Stalls after 4 min, checked every minute.
        const stallAfterMs = 4 * 60_000
        for (const start of cases) {
          // One monitor per case, stopped at the end of it.
          yield* Effect.scoped(
            Effect.gen(function* () {
              const stats = yield* startAt(start, undefined, stallAfterMs)
              // Half an hour of silence.
              yield* advance(stats, 30 * 60_000, [], 60_000)
              expect(yield* raised, new Date(start).toISOString()).toEqual([])
            })
          )
        }
      }).pipe(Effect.provide(TestLayers))
  )

  it.scoped("a silent feed at the open stalls stallAfterMs after 09:30", () =>
    Effect.gen(function* () {
      const start = newYorkTimeToEpochMs("2024-03-05", 9, 25)
      yield* TestClock.setTime(start)
      const stats = makeStreamStats("massive-stocks")
      yield* Effect.forkScoped(StallMonitor.run({ stats, stallAfterMs: STALL, symbols: SYMBOLS }))
      yield* TestClock.adjust(0)
      yield* advance(stats, 5 * 60_000 + STALL - TICK)
      expect(yield* raised).toEqual([])
      yield* advance(stats, TICK)
      const [stall] = yield* raised
      expect(stall).toMatchObject({
        kind: "stall",
        at: new Date(newYorkTimeToEpochMs("2024-03-05", 9, 31)).toISOString(),
        details: { scope: "feed", lastMessageAt: null }
      })
    }).pipe(Effect.provide(TestLayers))
  )

  it.scoped("a stall still open at the close ends without recovered, repairing up to the close", () =>
    Effect.gen(function* () {
      const gaps: Array<StallMonitor.StallGap> = []
      const start = newYorkTimeToEpochMs("2024-03-05", 15, 57)
      const stats = yield* startAt(start, gaps)
      yield* advance(stats, 6 * 60_000)
      expect((yield* raised).map((a) => a.kind)).toEqual(["stall"])
      expect(gaps).toEqual([
        { scope: "feed", start, end: newYorkTimeToEpochMs("2024-03-05", 16, 0), endedBy: "market-close" }
      ])
      // Bars after the close (late prints) do not turn the closed stall into a recovered one.
      yield* advance(stats, 5 * STALL, SYMBOLS)
      expect((yield* raised).map((a) => a.kind)).toEqual(["stall"])
      expect(gaps).toHaveLength(1)
    }).pipe(Effect.provide(TestLayers))
  )
})

describe("StallMonitor with a market clock (replay)", () => {
  it.scoped("judges the session on market time and silence on the Clock", () =>
    Effect.gen(function* () {
      // The Clock says Saturday; the replayed market is Tuesday 10:00.
      const clockStart = newYorkTimeToEpochMs("2024-03-09", 12, 0)
      const offset = newYorkTimeToEpochMs("2024-03-05", 10, 0) - clockStart
      yield* TestClock.setTime(clockStart)
      const stats = makeStreamStats("massive-stocks")
      yield* deliver(stats, SYMBOLS)
      yield* Effect.forkScoped(
        StallMonitor.run({
          stats,
          stallAfterMs: STALL,
          symbols: SYMBOLS,
          marketTime: Effect.map(Clock.currentTimeMillis, (t) => t + offset)
        })
      )
      yield* TestClock.adjust(0)
      yield* advance(stats, STALL - TICK, SYMBOLS)
      expect(yield* raised).toEqual([])
      yield* advance(stats, STALL + TICK)
      expect((yield* raised).map((a) => [a.kind, a.details["scope"]])).toEqual([["stall", "feed"]])
    }).pipe(Effect.provide(TestLayers))
  )
})
