/**
 * What `tapehouse health` looks at, collected from the data dir's files (it opens no database):
 * the streams' pid files and heartbeats, the last commit and disk use of each dataset, the size of
 * the embedded SQL database, the alerts and the error groups of the window; and the verdict.
 */
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { Clock, Effect, Option } from "effect"
import type { AppConfigShape } from "../config/AppConfig.js"
import * as Alerts from "../monitor/Alerts.js"
import * as ErrorLog from "../monitor/ErrorLog.js"
import { type HealthVerdict, judgeHealth, type ProcessHealth } from "../monitor/health.js"
import * as PidFile from "../runners/pidFile.js"
import { isTempName } from "../sinks/atomicFile.js"

/** Alerts read back from the end of alerts.jsonl; older ones fall out of any sensible window. */
const ALERTS_READ = 5000

export interface DatasetHealth {
  readonly dataset: string
  /** The newest Parquet file of the dataset (its last commit), ISO; null without any. */
  readonly lastCommitAt: string | null
  readonly lakeBytes: number
  readonly quarantineBytes: number
}

export interface HealthReport extends HealthVerdict {
  readonly dataDir: string
  readonly checkedAt: string
  readonly windowStart: string
  readonly processes: ReadonlyArray<ProcessHealth>
  readonly datasets: ReadonlyArray<DatasetHealth>
  /** The embedded database's folder on disk; null when SQL is off or on a server. */
  readonly sqlBytes: number | null
}

const listDir = (dir: string) =>
  NodeFs.readdir(dir, { withFileTypes: true }).catch(() => [] as Array<import("node:fs").Dirent>)

/** Allocated bytes under `dir` (as `du` counts them) and the newest mtime of its Parquet files (temp files left out). */
const walk = async (dir: string): Promise<{ bytes: number; newestMs: number }> => {
  let bytes = 0
  let newestMs = 0
  for (const e of await listDir(dir)) {
    const path = Path.join(dir, e.name)
    if (e.isDirectory()) {
      const inner = await walk(path)
      bytes += inner.bytes
      newestMs = Math.max(newestMs, inner.newestMs)
      continue
    }
    const stat = await NodeFs.lstat(path).catch(() => undefined)
    if (stat === undefined) continue
    bytes += stat.blocks * 512
    if (e.name.endsWith(".parquet") && !isTempName(e.name)) newestMs = Math.max(newestMs, stat.mtimeMs)
  }
  return { bytes, newestMs }
}

const datasetsOf = async (dataDir: string): Promise<ReadonlyArray<DatasetHealth>> => {
  const lake = Path.join(dataDir, "lake")
  const quarantine = Path.join(dataDir, "quarantine")
  const names = new Set<string>()
  for (const e of [...(await listDir(lake)), ...(await listDir(quarantine))])
    if (e.isDirectory()) names.add(e.name)
  const out: Array<DatasetHealth> = []
  for (const dataset of [...names].sort()) {
    const [inLake, inQuarantine] = await Promise.all([
      walk(Path.join(lake, dataset)),
      walk(Path.join(quarantine, dataset))
    ])
    out.push({
      dataset,
      lastCommitAt: inLake.newestMs === 0 ? null : new Date(inLake.newestMs).toISOString(),
      lakeBytes: inLake.bytes,
      quarantineBytes: inQuarantine.bytes
    })
  }
  return out
}

const processesOf = (dataDir: string) =>
  Effect.gen(function* () {
    const { running, stale } = yield* PidFile.list(dataDir)
    if (running.length === 0 && stale.length === 0) return []
    // The heartbeat module brings the calendar: loaded only when there are streams.
    const Heartbeat = yield* Effect.promise(() => import("../monitor/Heartbeat.js"))
    const beats = yield* Heartbeat.readHeartbeats(dataDir).pipe(Effect.orElseSucceed(() => []))
    return [...running.map((s) => [s, true] as const), ...stale.map((s) => [s, false] as const)].map(
      ([s, alive]): ProcessHealth => ({
        source: s.source,
        pid: s.pid,
        dataset: s.dataset,
        startedAt: s.startedAt,
        alive,
        heartbeat: beats.find((b) => b.source === s.source)
      })
    )
  })

/** Collects and judges; `windowMs` back from now is the window of alerts and errors. */
export const collectHealth = (config: AppConfigShape, windowMs: number, ignore: ReadonlySet<string>) =>
  Effect.gen(function* () {
    const dataDir = config.dataDir
    const nowMs = yield* Clock.currentTimeMillis
    const windowStartMs = nowMs - windowMs
    const processes = yield* processesOf(dataDir)
    const alerts = yield* Alerts.read(dataDir, ALERTS_READ).pipe(Effect.orElseSucceed(() => []))
    const errorGroups = ErrorLog.groupErrors(
      yield* ErrorLog.read(dataDir).pipe(Effect.orElseSucceed(() => [])),
      windowStartMs
    )
    const datasets = yield* Effect.promise(() => datasetsOf(dataDir))
    const sqlBytes =
      config.sql.enabled && Option.isNone(config.sql.url)
        ? (yield* Effect.promise(() => walk(Path.join(dataDir, "state", "pg")))).bytes
        : null
    const verdict = judgeHealth({ nowMs, windowStartMs, processes, alerts, errorGroups, ignore })
    const report: HealthReport = {
      ...verdict,
      dataDir,
      checkedAt: new Date(nowMs).toISOString(),
      windowStart: new Date(windowStartMs).toISOString(),
      processes,
      datasets,
      sqlBytes
    }
    return report
  })
