/**
 * Checkpoints: what has been committed, per dataset, instrument and day, and which file holds
 * each partition. Stored as an append-only journal per dataset
 * (`<data-dir>/state/checkpoints/<dataset>.jsonl`, fsync'd per append); the last entry for a key
 * wins. A torn last line (the process was killed mid-append) is ignored on load.
 */
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { Context, Effect, Layer, Ref } from "effect"
import type { StorageError } from "../domain/errors.js"
import { storageErrorOf } from "../domain/systemCause.js"
import { mkdirs } from "../sinks/atomicFile.js"

/**
 * - `pending`: a backfill planned the day and has not committed it;
 * - `done`: every sink committed the day (backfilled, or streamed and reconciled through REST);
 * - `failed`: it failed after retries (`reason`);
 * - `empty`: a trading day for which the vendor returned no rows for the instrument (an unknown
 *   ticker, a symbol not yet listed); retried by the next backfill unless `--accept-empty`;
 * - `streaming`: a stream is capturing the day, or was stopped before the close (part files);
 * - `streamed`: a stream captured the session to its close and compacted it, without the REST
 *   reconciliation (`--no-reconcile`), so trade counts are missing.
 */
export type DayStatusName = "pending" | "done" | "failed" | "empty" | "streaming" | "streamed"

export const DAY_STATUSES: ReadonlyArray<DayStatusName> = [
  "done",
  "empty",
  "streamed",
  "streaming",
  "pending",
  "failed"
]

/** The state of one instrument-day. */
export interface DayEntry {
  readonly kind: "day"
  readonly dataset: string
  readonly symbol: string
  readonly date: string
  /**
   * The unit of the day this entry is for, when the dataset splits a day into units committed on
   * their own (option_greeks_1m: the expiration); a day is complete when each of its units is.
   */
  readonly unit?: string
  readonly status: DayStatusName
  /** Rows committed for this instrument-day (done). */
  readonly rows?: number
  /** Rows sent to quarantine. */
  readonly rejected?: number
  /** Records dropped as duplicates of a later record with the same key. */
  readonly duplicates?: number
  /** Why it failed (failed). */
  readonly reason?: string
  /** ISO time the entry was written. */
  readonly at: string
  /**
   * Derived on load, never written: how many times the unit was attempted across runs (each
   * `pending` a backfill recorded, each stream capture begun, or a result recorded on its own),
   * and the reason of its latest `failed` entry, even when a later attempt succeeded.
   */
  readonly attempts?: number
  readonly lastError?: string
}

/** The file holding a partition after its last commit. */
export interface FileEntry {
  readonly kind: "file"
  readonly dataset: string
  readonly date: string
  /** The unit whose partition this is (its `subPartition` value), below a second partition column. */
  readonly unit?: string
  readonly file: string
  readonly rows: number
  readonly bytes: number
  readonly sha256: string
  /**
   * Appended part files the new file replaced (a staged rewrite): a crash before they were deleted
   * is completed from this list. 0 `bytes` records a partition that became empty (no file).
   */
  readonly retired?: ReadonlyArray<string>
  readonly at: string
}

export type CheckpointEntry = DayEntry | FileEntry

export interface CheckpointsShape {
  /** Latest entry per (symbol, date[, unit]) of a dataset (`dayKey`). */
  readonly days: (dataset: string) => Effect.Effect<ReadonlyMap<string, DayEntry>, StorageError>
  /** Latest file entry per date[, unit] of a dataset (`fileKey`). */
  readonly files: (dataset: string) => Effect.Effect<ReadonlyMap<string, FileEntry>, StorageError>
  /** Datasets that have a journal. */
  readonly datasets: Effect.Effect<ReadonlyArray<string>, StorageError>
  /** Appends entries durably (one write + fsync for the whole list). */
  readonly record: (entries: ReadonlyArray<CheckpointEntry>) => Effect.Effect<void, StorageError>
}

export class Checkpoints extends Context.Tag("tapehouse/Checkpoints")<Checkpoints, CheckpointsShape>() {}

export const dayKey = (symbol: string, date: string, unit?: string) =>
  unit === undefined ? `${symbol}|${date}` : `${symbol}|${date}|${unit}`

/** The key of a partition's file entry: its date, and its unit below a second partition column. */
export const fileKey = (date: string, unit?: string) => (unit === undefined ? date : `${date}|${unit}`)

interface Loaded {
  readonly days: Map<string, DayEntry>
  readonly files: Map<string, FileEntry>
}

const emptyLoaded = (): Loaded => ({ days: new Map(), files: new Map() })

/** Whether `entry` begins a new attempt at its unit, given the unit's previous entry. */
const beginsAttempt = (previous: DayEntry | undefined, entry: DayEntry): boolean => {
  if (entry.status === "pending") return true
  if (entry.status === "streaming") return previous?.status !== "streaming"
  // A result closes the attempt in progress, or is an attempt of its own.
  return previous?.status !== "pending" && previous?.status !== "streaming"
}

/**
 * `entry` with the unit's history so far (`attempts`, `lastError`) carried over from `previous`.
 * `owned`: `entry` was just parsed from the journal and nobody else holds it, so it is completed in
 * place (a long journal loads without a copy per line); otherwise a copy is completed.
 */
export const withHistory = (previous: DayEntry | undefined, entry: DayEntry, owned = false): DayEntry => {
  const attempts = (previous?.attempts ?? 0) + (beginsAttempt(previous, entry) ? 1 : 0)
  const lastError =
    entry.status === "failed" ? (entry.reason ?? "failed (no reason recorded)") : previous?.lastError
  const out: { -readonly [K in keyof DayEntry]: DayEntry[K] } = owned ? entry : { ...entry }
  out.attempts = attempts
  // Derived fields a writer copied from a loaded entry are recomputed, never taken from the line.
  if (lastError !== undefined) out.lastError = lastError
  else if (out.lastError !== undefined) delete out.lastError
  return out
}

const apply = (state: Loaded, entry: CheckpointEntry, owned = false) => {
  if (entry.kind === "day") {
    const key = dayKey(entry.symbol, entry.date, entry.unit)
    state.days.set(key, withHistory(state.days.get(key), entry, owned))
  } else state.files.set(fileKey(entry.date, entry.unit), entry)
}

/** Parses a journal; a line that does not parse (a torn append) is skipped. */
export const parseJournal = (text: string): Loaded => {
  const state = emptyLoaded()
  for (const line of text.split("\n")) {
    if (line.length === 0) continue
    try {
      const entry = JSON.parse(line) as CheckpointEntry
      if (entry.kind === "day" || entry.kind === "file") apply(state, entry, true)
    } catch {
      // torn write from a crash: the entry was never acknowledged, so the work is redone
    }
  }
  return state
}

/** A failed journal read or write, naming the file, the system's cause and what to do. */
const storageError = (path: string): ((cause: unknown) => StorageError) => storageErrorOf(path)

/** Journal files under `<dataDir>/state/checkpoints`. */
export const make = (dataDir: string) =>
  Effect.gen(function* () {
    const dir = Path.join(dataDir, "state", "checkpoints")
    yield* Effect.tryPromise({ try: () => mkdirs(dir), catch: storageError(dir) })
    const cache = new Map<string, Loaded>()
    const lock = yield* Effect.makeSemaphore(1)
    const journalPath = (dataset: string) => Path.join(dir, `${dataset}.jsonl`)

    const load = (dataset: string) =>
      Effect.suspend(() => {
        const cached = cache.get(dataset)
        if (cached) return Effect.succeed(cached)
        const path = journalPath(dataset)
        return Effect.tryPromise({
          try: () =>
            NodeFs.readFile(path, "utf8").catch((e: NodeJS.ErrnoException) =>
              e.code === "ENOENT" ? "" : Promise.reject(e)
            ),
          catch: storageError(path)
        }).pipe(
          Effect.map((text) => {
            const loaded = parseJournal(text)
            cache.set(dataset, loaded)
            return loaded
          })
        )
      })

    const append = (dataset: string, entries: ReadonlyArray<CheckpointEntry>) =>
      Effect.gen(function* () {
        const path = journalPath(dataset)
        const loaded = yield* load(dataset)
        const text = entries.map((e) => JSON.stringify(e)).join("\n") + "\n"
        yield* Effect.tryPromise({
          try: async () => {
            const handle = await NodeFs.open(path, "a")
            try {
              await handle.appendFile(text)
              await handle.datasync()
            } finally {
              await handle.close()
            }
          },
          catch: storageError(path)
        })
        for (const e of entries) apply(loaded, e)
      })

    return Checkpoints.of({
      days: (dataset) =>
        lock
          .withPermits(1)(load(dataset))
          .pipe(Effect.map((l) => l.days)),
      files: (dataset) =>
        lock
          .withPermits(1)(load(dataset))
          .pipe(Effect.map((l) => l.files)),
      datasets: Effect.tryPromise({ try: () => NodeFs.readdir(dir), catch: storageError(dir) }).pipe(
        Effect.map((names) =>
          names
            .filter((n) => n.endsWith(".jsonl"))
            .map((n) => n.slice(0, -".jsonl".length))
            .sort()
        )
      ),
      record: (entries) => {
        const byDataset = new Map<string, Array<CheckpointEntry>>()
        for (const e of entries) {
          const list = byDataset.get(e.dataset) ?? []
          list.push(e)
          byDataset.set(e.dataset, list)
        }
        return lock.withPermits(1)(
          Effect.forEach(byDataset, ([dataset, list]) => append(dataset, list), { discard: true })
        )
      }
    })
  })

/** In memory, for tests. */
export const Test = Layer.effect(
  Checkpoints,
  Effect.gen(function* () {
    const state = yield* Ref.make(new Map<string, Loaded>())
    const get = (dataset: string) =>
      Ref.modify(state, (m) => {
        const existing = m.get(dataset)
        if (existing) return [existing, m] as const
        const fresh = emptyLoaded()
        return [fresh, new Map(m).set(dataset, fresh)] as const
      })
    return Checkpoints.of({
      days: (dataset) => get(dataset).pipe(Effect.map((l) => l.days)),
      files: (dataset) => get(dataset).pipe(Effect.map((l) => l.files)),
      datasets: Ref.get(state).pipe(Effect.map((m) => Array.from(m.keys()).sort())),
      record: (entries) =>
        Effect.forEach(entries, (e) => get(e.dataset).pipe(Effect.map((l) => apply(l, e))), { discard: true })
    })
  })
)
