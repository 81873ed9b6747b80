import { describe, expect, it } from "@effect/vitest"
import type { AlertRecord } from "../../src/monitor/Alerts.js"
import type { ErrorGroup } from "../../src/monitor/ErrorLog.js"
import { type HeartbeatRecord, judgeHeartbeat } from "../../src/monitor/Heartbeat.js"
import { type HealthInput, judgeHealth, openAlerts, type ProcessHealth } from "../../src/monitor/health.js"

const NOW = Date.parse("2026-12-02T15:00:00.000Z")
const iso = (msBeforeNow: number) => new Date(NOW - msBeforeNow).toISOString()
const WINDOW_START = NOW - 86_400_000

const beat = (source: string, ageMs: number, connection: HeartbeatRecord["connection"]): HeartbeatRecord => ({
  source,
  at: iso(ageMs),
  pid: 42,
  intervalMs: 10_000,
  connection,
  messagesLastInterval: 10,
  messagesTotal: 100,
  lastMessageAt: null,
  lagMs: null,
  reconnects: 0,
  rejected: 0,
  unknownEvents: 0,
  spilled: 0,
  committed: 100,
  marketState: "open"
})

const stream = (over: Partial<ProcessHealth> & { beat?: HeartbeatRecord }): ProcessHealth => {
  const { beat: record, ...rest } = over
  return {
    source: "massive-stocks",
    pid: 42,
    dataset: "stock_bars_1s",
    startedAt: iso(3_600_000),
    alive: true,
    heartbeat: record === undefined ? undefined : judgeHeartbeat("hb.json", record, NOW),
    ...rest
  }
}

const alert = (msBeforeNow: number, over: Partial<AlertRecord>): AlertRecord => ({
  at: iso(msBeforeNow),
  level: "warning",
  kind: "spill",
  source: "massive-stocks",
  message: "m",
  details: {},
  ...over
})

const group = (lastSeenBeforeNow: number, kind = "backfill-day"): ErrorGroup => ({
  source: "stock_bars_1s",
  kind,
  pattern: "p",
  count: 3,
  firstSeen: iso(lastSeenBeforeNow + 1000),
  lastSeen: iso(lastSeenBeforeNow),
  example: "HTTP 503"
})

const input = (over: Partial<HealthInput>): HealthInput => ({
  nowMs: NOW,
  windowStartMs: WINDOW_START,
  processes: [],
  alerts: [],
  errorGroups: [],
  ignore: new Set(),
  ...over
})

describe("judgeHealth", () => {
  it("is healthy with nothing running and nothing raised, and with a stream beating while connected", () => {
    expect(judgeHealth(input({}))).toMatchObject({ healthy: true, problems: [] })
    const running = stream({ beat: beat("massive-stocks", 5_000, "connected") })
    expect(judgeHealth(input({ processes: [running] })).healthy).toBe(true)
  })

  it("is unhealthy for a gone process, a stale or disconnected heartbeat, or none long after the start", () => {
    const cases: ReadonlyArray<[ProcessHealth, RegExp]> = [
      [stream({ alive: false }), /is not running/],
      [stream({ beat: beat("massive-stocks", 60_000, "connected") }), /no heartbeat for/],
      [stream({ beat: beat("massive-stocks", 1_000, "disconnected") }), /disconnected/],
      [stream({}), /no heartbeat since it started/]
    ]
    for (const [process, problem] of cases) {
      const verdict = judgeHealth(input({ processes: [process] }))
      expect(verdict.healthy).toBe(false)
      expect(verdict.problems[0]).toMatch(problem)
    }
    // Just started: no heartbeat yet is fine.
    expect(judgeHealth(input({ processes: [stream({ startedAt: iso(5_000) })] })).healthy).toBe(true)
  })

  it("counts error groups last seen in the window, and leaves ignored kinds out", () => {
    expect(judgeHealth(input({ errorGroups: [group(3_600_000)] })).problems).toEqual([
      `3 backfill-day error(s) from stock_bars_1s, last at ${iso(3_600_000)}: HTTP 503`
    ])
    expect(judgeHealth(input({ errorGroups: [group(2 * 86_400_000)] })).healthy).toBe(true)
    expect(
      judgeHealth(input({ errorGroups: [group(60_000)], ignore: new Set(["backfill-day"]) })).healthy
    ).toBe(true)
  })

  it("counts open alerts, and leaves ignored kinds out", () => {
    const drift = alert(60_000, { kind: "schema-drift", message: "massive-aggregates sends dv" })
    expect(judgeHealth(input({ alerts: [drift] })).healthy).toBe(false)
    expect(judgeHealth(input({ alerts: [drift], ignore: new Set(["schema-drift"]) })).healthy).toBe(true)
  })
})

describe("openAlerts", () => {
  it("leaves out info alerts and alerts before the window", () => {
    const alerts = [alert(2 * 86_400_000, {}), alert(1000, { kind: "recovered", level: "info" })]
    expect(openAlerts(alerts, WINDOW_START, [])).toEqual([])
  })

  it("closes a stall with a later recovered of the same source, scope and symbol", () => {
    const stall = alert(600_000, { kind: "stall", details: { scope: "symbol", symbol: "SPY" } })
    const otherSymbol = alert(500_000, {
      kind: "recovered",
      level: "info",
      details: { scope: "symbol", symbol: "QQQ" }
    })
    const recovered = alert(400_000, {
      kind: "recovered",
      level: "info",
      details: { scope: "symbol", symbol: "SPY" }
    })
    expect(openAlerts([stall, otherSymbol], WINDOW_START, [])).toEqual([stall])
    expect(openAlerts([stall, otherSymbol, recovered], WINDOW_START, [])).toEqual([])
  })

  it("closes a disconnect when a newer heartbeat of its source is connected", () => {
    const lost = alert(600_000, { kind: "disconnect" })
    expect(openAlerts([lost], WINDOW_START, [beat("massive-stocks", 700_000, "connected")])).toEqual([lost])
    expect(openAlerts([lost], WINDOW_START, [beat("massive-options", 1_000, "connected")])).toEqual([lost])
    expect(openAlerts([lost], WINDOW_START, [beat("massive-stocks", 1_000, "connected")])).toEqual([])
  })
})
