import * as fs from "node:fs"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { parseSince } from "../../src/cli/timeText.js"
import * as Alerts from "../../src/monitor/Alerts.js"
import * as ErrorLog from "../../src/monitor/ErrorLog.js"
import { rejectedErrors } from "../../src/sinks/Quarantine.js"
import { makeTempDir, removeTempDirs } from "../support/tempDirs.js"

afterAll(removeTempDirs)

const entry = (
  at: string,
  message: string,
  over: Partial<ErrorLog.ErrorEntry> = {}
): ErrorLog.ErrorEntry => ({
  at,
  source: "stock_bars_1s",
  kind: "backfill-day",
  message,
  count: 1,
  ...over
})

describe("normalise", () => {
  it("takes out numbers, dates, ids, tickers in URLs and queries", () => {
    expect(
      ErrorLog.normalise(
        "SPY 2024-03-05: Massive request /v2/aggs/ticker/SPY/range/1/second/2024-03-05/2024-03-05?adjusted=true&limit=50000 failed with HTTP 503 after 4 attempts (request_id 5e5378d5ecaf3df794bb52e45d015d2e)"
      )
    ).toBe(
      "SPY <date>: Massive request /v2/aggs/ticker/<ticker>/range/<…>?<query> failed with HTTP <n> after <n> attempts (request_id <id>)"
    )
    expect(ErrorLog.normalise("bar 17 field o is a string, expected a number")).toBe(
      "bar <n> field o is a string, expected a number"
    )
    expect(ErrorLog.normalise("O:SPY240119C00470000 at 2024-01-19T15:30:00.123Z  lagged -3.5 s")).toBe(
      "<ticker> at <date> lagged <n> s"
    )
    expect(ErrorLog.normalise("id 3f2a9c4e-1b2d-4c5e-8f90-123456789abc gone")).toBe("id <id> gone")
  })

  it("keeps messages that differ in words apart", () => {
    expect(ErrorLog.normalise("HTTP 500 from the server")).not.toBe(
      ErrorLog.normalise("HTTP 500 from the proxy")
    )
  })
})

describe("groupErrors", () => {
  const entries = [
    entry("2026-12-01T10:00:00.000Z", "HTTP 503 on /v2/aggs/ticker/SPY/range/1/second/x", {
      subject: "SPY 2026-11-30"
    }),
    entry("2026-12-01T11:00:00.000Z", "HTTP 503 on /v2/aggs/ticker/QQQ/range/1/second/y", {
      subject: "QQQ 2026-11-27"
    }),
    entry("2026-12-01T12:00:00.000Z", "bar 3 field o is null", { kind: "rejected", count: 40 }),
    entry("2026-12-02T09:00:00.000Z", "bar 9 field o is null", { kind: "rejected", count: 2 }),
    entry("2026-12-02T09:30:00.000Z", "bar 9 field o is null", { source: "index_bars_1s", kind: "rejected" })
  ]

  it("groups by source, kind and normalised message with count, first and last seen, and the latest example", () => {
    const groups = ErrorLog.groupErrors(entries)
    expect(groups).toEqual([
      {
        source: "index_bars_1s",
        kind: "rejected",
        pattern: "bar <n> field o is null",
        count: 1,
        firstSeen: "2026-12-02T09:30:00.000Z",
        lastSeen: "2026-12-02T09:30:00.000Z",
        example: "bar 9 field o is null"
      },
      {
        source: "stock_bars_1s",
        kind: "rejected",
        pattern: "bar <n> field o is null",
        count: 42,
        firstSeen: "2026-12-01T12:00:00.000Z",
        lastSeen: "2026-12-02T09:00:00.000Z",
        example: "bar 9 field o is null"
      },
      {
        source: "stock_bars_1s",
        kind: "backfill-day",
        pattern: "HTTP <n> on /v2/aggs/ticker/<ticker>/range/<…>",
        count: 2,
        firstSeen: "2026-12-01T10:00:00.000Z",
        lastSeen: "2026-12-01T11:00:00.000Z",
        example: "QQQ 2026-11-27: HTTP 503 on /v2/aggs/ticker/QQQ/range/1/second/y"
      }
    ])
  })

  it("leaves out entries before `since`", () => {
    const groups = ErrorLog.groupErrors(entries, Date.parse("2026-12-02T00:00:00.000Z"))
    expect(groups.map((g) => [g.source, g.count])).toEqual([
      ["index_bars_1s", 1],
      ["stock_bars_1s", 2]
    ])
  })
})

describe("parseSince", () => {
  const now = Date.parse("2026-12-02T12:00:00.000Z")
  it("reads durations, dates and ISO times", () => {
    expect(parseSince("24h", now)).toBe(now - 86_400_000)
    expect(parseSince("30m", now)).toBe(now - 1_800_000)
    expect(parseSince("7d", now)).toBe(now - 7 * 86_400_000)
    expect(parseSince("2026-12-01", now)).toBe(Date.parse("2026-12-01T00:00:00.000Z"))
    expect(parseSince("2026-12-01T08:00:00Z", now)).toBe(Date.parse("2026-12-01T08:00:00.000Z"))
    expect(parseSince("yesterday", now)).toBeUndefined()
    expect(parseSince("2026-13-45", now)).toBeUndefined()
  })
})

describe("the error log file", () => {
  it.effect(
    "appends what Live records, reads it back (a torn line skipped) and keeps this run's entries",
    () =>
      Effect.gen(function* () {
        const dataDir = makeTempDir("tapehouse-errors-")
        yield* TestClock.setTime(Date.parse("2026-12-02T10:00:00.000Z"))
        const log = yield* ErrorLog.make({ dataDir })
        yield* log.record([
          { source: "stock_bars_1s", kind: "backfill-day", subject: "SPY 2026-12-01", message: "HTTP 500" },
          { source: "stock_bars_1s", kind: "rejected", message: "nothing", count: 0 }
        ])
        fs.appendFileSync(ErrorLog.errorsFile(dataDir), '{"at":"2026-12-02T1')
        fs.appendFileSync(ErrorLog.errorsFile(dataDir), "\n")
        yield* log.record([{ source: "massive-stocks", kind: "disconnect", message: "lost" }])
        const read = yield* ErrorLog.read(dataDir)
        expect(read[0]?.subject).toBe("SPY 2026-12-01")
        expect(read.map((e) => [e.source, e.kind, e.count])).toEqual([
          ["stock_bars_1s", "backfill-day", 1],
          ["massive-stocks", "disconnect", 1]
        ])
        expect(yield* log.recorded).toEqual(read)
        expect(yield* ErrorLog.read(makeTempDir("tapehouse-errors-none-"))).toEqual([])
      })
  )

  it.effect("alerts of error kinds go to the error log too, the others only to alerts", () =>
    Effect.gen(function* () {
      const errors = yield* ErrorLog.ErrorLog
      const alerts = ErrorLog.recordingAlerts(yield* Alerts.Alerts, errors)
      yield* alerts.raise({ kind: "disconnect", source: "massive-stocks", message: "connection lost: 1006" })
      yield* alerts.raise({ kind: "spill", source: "massive-stocks", message: "behind" })
      expect((yield* Alerts.collected).map((a) => a.kind)).toEqual(["disconnect", "spill"])
      expect((yield* errors.recorded).map((e) => [e.source, e.kind, e.message])).toEqual([
        ["massive-stocks", "disconnect", "connection lost: 1006"]
      ])
    }).pipe(Effect.provide(Alerts.Test), Effect.provide(ErrorLog.Test))
  )
})

describe("rejectedErrors", () => {
  it("makes one entry per normalised reason with its count", () => {
    const record = {}
    expect(
      rejectedErrors("stock_bars_1s", [
        { record, reason: "bar 1 field o is null" },
        { record, reason: "bar 7 field o is null" },
        { record, reason: "high 3 is below low 4" }
      ])
    ).toEqual([
      { source: "stock_bars_1s", kind: "rejected", message: "bar 1 field o is null", count: 2 },
      { source: "stock_bars_1s", kind: "rejected", message: "high 3 is below low 4", count: 1 }
    ])
  })
})
