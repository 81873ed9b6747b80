/**
 * Everything `tapehouse status` says, as one value: running streams and their heartbeats, each
 * streamed day's coverage from the continuity ledger, days streamed but not compacted yet (part
 * files), the checkpoint state of every dataset, symbol and day, and the recent alerts. The text
 * view and `--json` render the same value.
 */
import { createHash } from "node:crypto"
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { Effect } from "effect"
import { Continuity, type ContinuityRow } from "../domain/Continuity.js"
import { type DatasetName, datasetNames, entryOf } from "../domain/datasets.js"
import { SchemaDrift, type SchemaDriftRow } from "../domain/SchemaDrift.js"
import * as Alerts from "../monitor/Alerts.js"
import type * as Heartbeat from "../monitor/Heartbeat.js"
import * as Checkpoints from "../pipeline/Checkpoints.js"
import * as PidFile from "../runners/pidFile.js"
import type { PartitionFiles } from "../sinks/partFiles.js"
import { isPartFileName, STAGED_FILE } from "../sinks/partitionLayout.js"
import { type BookCaptureView, bookCaptures as bookCapturesOf } from "./bookStatus.js"
import type { DatasetInventory } from "./dayInventory.js"

// The Parquet readers and the heartbeat's calendar are loaded only when there is something to read:
// `status` on a lake without streams answers without them.
const parquetReaders = () =>
  Effect.promise(() => Promise.all([import("../sinks/compact.js"), import("../sinks/partFiles.js")]))

const listDir = (dir: string) => Effect.promise(() => NodeFs.readdir(dir).catch(() => [] as Array<string>))

export interface StatusFilter {
  readonly dataset: string | undefined
  readonly symbol: string | undefined
  readonly verify: boolean
  /** The range of the dataset's per-day inventory (with `dataset`); the journal's first and last date by default. */
  readonly from?: string | undefined
  readonly to?: string | undefined
}

export interface StatusRow {
  readonly dataset: string
  readonly symbol: string
  readonly date: string
  readonly status: Checkpoints.DayStatusName
  readonly rows: number | null
  readonly rejected: number | null
  readonly duplicates: number | null
  readonly file: string | null
  readonly sha256: string | null
  readonly verified?: "ok" | "mismatch" | "missing" | "staged"
  readonly reason: string | null
  /** Attempts at the unit across runs, and the reason of its latest failure (from the journal's history). */
  readonly attempts: number | null
  readonly lastError: string | null
  /** When the entry was written. */
  readonly at: string
}

export interface StreamStatus {
  readonly source: string
  readonly pid: number
  readonly dataset: string
  readonly symbols: ReadonlyArray<string>
  readonly startedAt: string
  readonly running: boolean
  readonly heartbeat: Heartbeat.HeartbeatRecord | null
  readonly heartbeatAgeMs: number | null
  readonly healthy: boolean
}

export interface DayCoverage {
  readonly date: string
  /** The stream source whose ledger rows these are (`massive-stocks`, `demo-massive-options` …). */
  readonly source: string
  /** The dataset that source streams, from the registry; null for a source it does not name. */
  readonly dataset: string | null
  /** Every gap ever opened that day, repaired or not. */
  readonly gaps: ReadonlyArray<ContinuityRow>
  readonly reconcile: ContinuityRow | null
  /** Milliseconds of gaps whose repair failed (0 when reconciled). */
  readonly unrepairedMs: number
  readonly complete: boolean
}

/** A day with part files not compacted yet (a stream is capturing it, or stopped before the close). */
export interface StreamedDay extends PartitionFiles {
  readonly dataset: string
  /** `streaming`: a stream of the dataset is running; `stopped`: none is, the day stopped mid-session. */
  readonly state: "streaming" | "stopped"
  readonly gaps: number
}

export interface DatasetStatus {
  readonly dataset: string
  readonly counts: Readonly<Record<Checkpoints.DayStatusName, number>>
  readonly rows: number
  readonly files: number
  readonly bytes: number
  readonly days: ReadonlyArray<StatusRow>
  readonly streamedDays: ReadonlyArray<StreamedDay>
}

export interface StatusReport {
  readonly dataDir: string
  readonly streams: ReadonlyArray<StreamStatus>
  readonly coverage: ReadonlyArray<DayCoverage>
  readonly datasets: ReadonlyArray<DatasetStatus>
  readonly alerts: ReadonlyArray<Alerts.AlertRecord>
  /** The schema drift of the last `DRIFT_DAYS` days that had any, oldest first. */
  readonly schemaDrift: ReadonlyArray<SchemaDriftRow>
  /** With `--dataset`: its per-day inventory (dayInventory.ts); `--verify` then re-hashes its files. */
  readonly inventory: DatasetInventory | null
  /** The order-book captures (`stream --dataset book_deltas`): per venue, its connection, log and symbols. */
  readonly bookCaptures: ReadonlyArray<BookCaptureView>
}

/** Days of schema drift `status` shows (the newest partitions of `schema_drift`). */
export const DRIFT_DAYS = 7

const sha256Of = (file: string) =>
  Effect.promise(() =>
    NodeFs.readFile(file).then(
      (bytes) => createHash("sha256").update(bytes).digest("hex"),
      () => undefined
    )
  )

const streamsOf = (dataDir: string) =>
  Effect.gen(function* () {
    const { running, stale } = yield* PidFile.list(dataDir)
    if (running.length === 0 && stale.length === 0) return []
    const Heartbeat = yield* Effect.promise(() => import("../monitor/Heartbeat.js"))
    const beats = yield* Heartbeat.readHeartbeats(dataDir).pipe(Effect.orElseSucceed(() => []))
    return [...running.map((s) => [s, true] as const), ...stale.map((s) => [s, false] as const)].map(
      ([s, alive]): StreamStatus => {
        const beat = beats.find((b) => b.source === s.source)
        return {
          source: s.source,
          pid: s.pid,
          dataset: s.dataset,
          symbols: s.symbols,
          startedAt: s.startedAt,
          running: alive,
          heartbeat: beat?.heartbeat ?? null,
          heartbeatAgeMs: beat?.ageMs ?? null,
          healthy: alive && beat?.healthy === true
        }
      }
    )
  })

/** The dataset a stream source captures (a demo's sources carry a `demo-` prefix). */
const datasetOfSource = (source: string): string | null =>
  datasetNames.find((n) => {
    const own = entryOf(n).streamSource
    return source === own || source.endsWith(`-${own}`)
  }) ?? null

/** Each streamed day's coverage, per stream source (one per dataset): several datasets stream the same day. */
const coverageOf = (dataDir: string) =>
  Effect.gen(function* () {
    const root = Path.join(dataDir, "lake", Continuity.name)
    const dates = (yield* listDir(root))
      .filter((d) => d.startsWith("date="))
      .map((d) => d.slice("date=".length))
      .sort()
    const out: Array<DayCoverage> = []
    if (dates.length === 0) return out
    const [{ readPartition }] = yield* parquetReaders()
    for (const date of dates) {
      const rows: ReadonlyArray<ContinuityRow> = yield* readPartition(dataDir, Continuity, date).pipe(
        Effect.orElseSucceed(() => [])
      )
      for (const source of [...new Set(rows.map((r) => r.source))].sort()) {
        const own = rows.filter((r) => r.source === source)
        const gaps = own.filter((r) => r.kind === "gap").sort((a, b) => a.start - b.start)
        const reconcile = own.find((r) => r.kind === "reconcile") ?? null
        const reconciled = reconcile !== null && reconcile.status !== "failed"
        const unrepairedMs = reconciled
          ? 0
          : gaps.filter((g) => g.status === "failed").reduce((n, g) => n + (g.end - g.start), 0)
        out.push({
          date,
          source,
          dataset: datasetOfSource(source),
          gaps,
          reconcile,
          unrepairedMs,
          complete: unrepairedMs === 0
        })
      }
    }
    return out
  })

/** The rows of the newest `DRIFT_DAYS` partitions of `schema_drift` (Parquet readers loaded only when there are any). */
const schemaDriftOf = (dataDir: string) =>
  Effect.gen(function* () {
    const dates = (yield* listDir(Path.join(dataDir, "lake", SchemaDrift.name)))
      .filter((d) => d.startsWith("date="))
      .map((d) => d.slice("date=".length))
      .sort()
      .slice(-DRIFT_DAYS)
    if (dates.length === 0) return []
    const [{ readPartition }] = yield* parquetReaders()
    const out: Array<SchemaDriftRow> = []
    for (const date of dates)
      for (const row of yield* readPartition(dataDir, SchemaDrift, date).pipe(Effect.orElseSucceed(() => [])))
        out.push(row)
    return out.sort((a, b) => a.first_seen - b.first_seen)
  })

/** Partitions with part files or a staged file, read from their footers (nothing loaded when there are none). */
const unsettledOf = (dataDir: string, dataset: string) =>
  Effect.gen(function* () {
    const root = Path.join(dataDir, "lake", dataset)
    let any = false
    for (const date of yield* listDir(root)) {
      const names = yield* listDir(Path.join(root, date))
      if (names.some((n) => isPartFileName(n) || n === STAGED_FILE)) {
        any = true
        break
      }
    }
    if (!any) return [] as ReadonlyArray<PartitionFiles>
    const [, { unsettledPartitions }] = yield* parquetReaders()
    return yield* Effect.promise(() => unsettledPartitions(dataDir, dataset))
  })

const datasetOf = (
  dataDir: string,
  store: Checkpoints.CheckpointsShape,
  dataset: string,
  filter: StatusFilter,
  streams: ReadonlyArray<StreamStatus>,
  coverage: ReadonlyArray<DayCoverage>
) =>
  Effect.gen(function* () {
    const entries = [...(yield* store.days(dataset)).values()]
      .filter((d) => filter.symbol === undefined || d.symbol === filter.symbol)
      .sort((a, b) => (a.date === b.date ? (a.symbol < b.symbol ? -1 : 1) : a.date < b.date ? -1 : 1))
    const files = yield* store.files(dataset)
    const unsettled = yield* unsettledOf(dataDir, dataset)
    const verified = new Map<string, "ok" | "mismatch" | "missing" | "staged">()
    if (filter.verify)
      for (const f of files.values()) {
        // A partition recorded empty has no file to check.
        if (f.bytes === 0) continue
        const actual = yield* sha256Of(Path.join(dataDir, f.file))
        const stagedHere = unsettled.some((u) => u.date === f.date && u.staged)
        verified.set(
          f.date,
          actual === f.sha256 ? "ok" : actual === undefined ? (stagedHere ? "staged" : "missing") : "mismatch"
        )
      }
    const days = entries.map((d): StatusRow => {
      const f = d.status === "done" || d.status === "streamed" ? files.get(d.date) : undefined
      const file = f !== undefined && f.bytes > 0 ? f : undefined
      const v = file ? verified.get(d.date) : undefined
      return {
        dataset,
        symbol: d.symbol,
        date: d.date,
        status: d.status,
        rows: d.rows ?? null,
        rejected: d.rejected ?? null,
        duplicates: d.duplicates ?? null,
        file: file?.file ?? null,
        sha256: file?.sha256 ?? null,
        ...(v ? { verified: v } : {}),
        reason: d.reason ?? null,
        attempts: d.attempts ?? null,
        lastError: d.lastError ?? null,
        at: d.at
      }
    })
    const running = streams.some((s) => s.running && s.dataset === dataset)
    const streamedDays = unsettled
      .filter((u) => u.parts > 0)
      .map(
        (u): StreamedDay => ({
          ...u,
          dataset,
          state: running ? "streaming" : "stopped",
          gaps: coverage
            .filter((c) => c.date === u.date && c.dataset === dataset)
            .reduce((n, c) => n + c.gaps.length, 0)
        })
      )
    const counts = Object.fromEntries(
      Checkpoints.DAY_STATUSES.map((s) => [s, days.filter((r) => r.status === s).length])
    ) as Record<Checkpoints.DayStatusName, number>
    return {
      dataset,
      counts,
      rows: days.reduce((n, r) => n + (r.rows ?? 0), 0),
      files: [...files.values()].filter((f) => f.bytes > 0).length,
      bytes: [...files.values()].reduce((n, f) => n + f.bytes, 0),
      days,
      streamedDays
    } satisfies DatasetStatus
  })

/** The per-day inventory of `filter.dataset` (its days from the calendar its registry entry names). */
export const inventoryOf = (
  dataDir: string,
  store: Checkpoints.CheckpointsShape,
  filter: StatusFilter & { readonly dataset: string }
) =>
  Effect.gen(function* () {
    const { collectInventory } = yield* Effect.promise(() => import("./dayInventory.js"))
    const name = filter.dataset
    const known = (datasetNames as ReadonlyArray<string>).includes(name)
    const sessionPolicy = known ? entryOf(name as DatasetName).sessionPolicy : undefined
    return yield* collectInventory(dataDir, store, {
      dataset: name,
      from: filter.from,
      to: filter.to,
      symbol: filter.symbol,
      verify: filter.verify,
      sessionPolicy
    })
  })

/** Only the per-day inventory of one dataset (`status --gaps`). */
export const collectInventoryOnly = (dataDir: string, filter: StatusFilter & { readonly dataset: string }) =>
  Effect.flatMap(Checkpoints.make(dataDir), (store) => inventoryOf(dataDir, store, filter))

/** Collects the whole status of a data dir (read-only: it changes nothing). */
export const collectStatus = (dataDir: string, filter: StatusFilter) =>
  Effect.gen(function* () {
    const streams = yield* streamsOf(dataDir)
    const coverage = (yield* coverageOf(dataDir)).filter(
      (c) => filter.dataset === undefined || c.dataset === filter.dataset
    )
    const store = yield* Checkpoints.make(dataDir)
    // The ledgers tapehouse writes about itself have sections of their own.
    const own = (d: string) => d === Continuity.name || d === SchemaDrift.name
    const journaled = (yield* store.datasets).filter((d) => !own(d))
    // A dataset streamed without any checkpoint yet still shows its part files.
    const lakeDirs = yield* Effect.promise(() =>
      NodeFs.readdir(Path.join(dataDir, "lake")).catch(() => [] as Array<string>)
    )
    const names = [...new Set([...journaled, ...lakeDirs.filter((d) => !own(d))])]
      .filter((d) => filter.dataset === undefined || d === filter.dataset)
      .sort()
    const inventory =
      filter.dataset === undefined
        ? null
        : yield* inventoryOf(dataDir, store, { ...filter, dataset: filter.dataset })
    // With an inventory, `--verify` re-hashes each file once, there.
    const perUnit = inventory === null ? filter : { ...filter, verify: false }
    const datasets: Array<DatasetStatus> = []
    for (const name of names)
      datasets.push(yield* datasetOf(dataDir, store, name, perUnit, streams, coverage))
    const alerts = yield* Alerts.read(dataDir, 5).pipe(Effect.orElseSucceed(() => []))
    const schemaDrift = yield* schemaDriftOf(dataDir)
    const bookCaptures = yield* Effect.promise(() => bookCapturesOf(dataDir, Date.now()))
    const report: StatusReport = {
      dataDir,
      streams,
      coverage,
      datasets,
      alerts,
      schemaDrift,
      inventory,
      bookCaptures
    }
    return report
  })
