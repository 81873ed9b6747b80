/**
 * The verdict of `tapehouse health`: what is wrong, from what the data dir says (streams and their
 * heartbeats, alerts, error groups). Pure: the command collects the input, this judges it.
 *
 * Unhealthy when any of these holds (each becomes one problem sentence):
 * - a stream's pid file names a process that is gone (it crashed or was killed -9);
 * - a running stream's heartbeat is stale (older than two of its intervals), unreadable, missing
 *   `MISSING_HEARTBEAT_GRACE_MS` after its start, or says it is disconnected;
 * - an alert is open: level warning or error, raised within the window, and not resolved since
 *   (`openAlerts`);
 * - an error group was last seen within the window.
 * Alert kinds and error kinds listed in `ignore` are left out of the last two.
 */
import type { AlertRecord } from "./Alerts.js"
import type { ErrorGroup } from "./ErrorLog.js"
import type { HeartbeatRecord, HeartbeatStatus } from "./Heartbeat.js"

/** A running stream without a heartbeat file this long after its start is unhealthy. */
export const MISSING_HEARTBEAT_GRACE_MS = 120_000

export interface ProcessHealth {
  readonly source: string
  readonly pid: number
  readonly dataset: string
  readonly startedAt: string
  /** Whether the pid is alive. */
  readonly alive: boolean
  /** Its heartbeat file judged at the time of the check, if it has one. */
  readonly heartbeat: HeartbeatStatus | undefined
}

export interface HealthInput {
  readonly nowMs: number
  /** Alerts and errors count from here (epoch ms). */
  readonly windowStartMs: number
  readonly processes: ReadonlyArray<ProcessHealth>
  /** The alerts of the window (older ones may be given: they are left out), oldest first. */
  readonly alerts: ReadonlyArray<AlertRecord>
  /** Error groups of the window. */
  readonly errorGroups: ReadonlyArray<ErrorGroup>
  /** Alert kinds and error kinds not judged. */
  readonly ignore: ReadonlySet<string>
}

export interface HealthVerdict {
  readonly healthy: boolean
  readonly problems: ReadonlyArray<string>
  readonly openAlerts: ReadonlyArray<AlertRecord>
  readonly errorGroups: ReadonlyArray<ErrorGroup>
}

const detail = (a: AlertRecord, key: string): unknown => a.details[key]

/** Whether `later` (a `recovered` alert) ends the stall `a`: same source, scope and symbol. */
const recovers = (later: AlertRecord, a: AlertRecord): boolean =>
  later.kind === "recovered" &&
  later.source === a.source &&
  detail(later, "scope") === detail(a, "scope") &&
  detail(later, "symbol") === detail(a, "symbol")

/** Whether the heartbeat of `a`'s source, written after `a`, shows it connected again. */
const reconnectedAfter = (a: AlertRecord, beats: ReadonlyArray<HeartbeatRecord>): boolean =>
  beats.some((b) => b.source === a.source && b.at > a.at && b.connection === "connected")

/**
 * Alerts still open at the end of `alerts`: level warning or error, at or after `windowStartMs`,
 * and not resolved later: a `stall` by a `recovered` of the same source, scope and symbol; a
 * `disconnect` by a `recovered` of its source or a newer heartbeat of it that is connected. Other
 * kinds (schema drift, spills, gaps, errors, …) stay open for the window.
 */
export const openAlerts = (
  alerts: ReadonlyArray<AlertRecord>,
  windowStartMs: number,
  beats: ReadonlyArray<HeartbeatRecord>
): ReadonlyArray<AlertRecord> =>
  alerts.filter((a, i) => {
    if (a.level === "info" || !(Date.parse(a.at) >= windowStartMs)) return false
    const later = alerts.slice(i + 1)
    if (a.kind === "stall") return !later.some((l) => recovers(l, a))
    if (a.kind === "disconnect")
      return (
        !later.some((l) => l.kind === "recovered" && l.source === a.source) && !reconnectedAfter(a, beats)
      )
    return true
  })

const processProblem = (p: ProcessHealth, nowMs: number): string | undefined => {
  if (!p.alive)
    return `stream ${p.source} (pid ${p.pid}) is not running: it stopped without cleaning up (crash or kill -9)`
  if (p.heartbeat === undefined) {
    const startedMs = Date.parse(p.startedAt)
    return nowMs - startedMs > MISSING_HEARTBEAT_GRACE_MS
      ? `stream ${p.source} (pid ${p.pid}) has written no heartbeat since it started at ${p.startedAt}`
      : undefined
  }
  return p.heartbeat.healthy ? undefined : `stream ${p.source} (pid ${p.pid}): ${p.heartbeat.reason}`
}

export const judgeHealth = (input: HealthInput): HealthVerdict => {
  const problems: Array<string> = []
  for (const p of input.processes) {
    const problem = processProblem(p, input.nowMs)
    if (problem !== undefined) problems.push(problem)
  }
  const beats = input.processes.flatMap((p) => (p.heartbeat?.heartbeat ? [p.heartbeat.heartbeat] : []))
  const open = openAlerts(input.alerts, input.windowStartMs, beats).filter((a) => !input.ignore.has(a.kind))
  for (const a of open)
    problems.push(`open ${a.level} alert ${a.kind} from ${a.source} at ${a.at}: ${a.message}`)
  const errorGroups = input.errorGroups.filter(
    (g) => !input.ignore.has(g.kind) && Date.parse(g.lastSeen) >= input.windowStartMs
  )
  for (const g of errorGroups)
    problems.push(`${g.count} ${g.kind} error(s) from ${g.source}, last at ${g.lastSeen}: ${g.example}`)
  return { healthy: problems.length === 0, problems, openAlerts: open, errorGroups }
}
