/**
 * The per-day inventory of one dataset (`status --dataset D [--from --to] [--gaps] [--verify]`): every
 * trading day of a range, what the checkpoint journal says of it and the files it wrote.
 *
 * A day's state comes from its units (the checkpoint entries of that date: one per instrument, or
 * per instrument and expiration):
 * - `queued`: no unit recorded yet;
 * - `failed`: some unit failed (after its retries);
 * - `in progress`: some unit is `pending` (planned by a backfill, or interrupted) or `streaming`;
 * - `done`: every unit is done, streamed or `empty`, and at least one is done or streamed;
 * - `no data`: every unit is `empty` (the vendor had nothing).
 * Generic over datasets: it reads only the journal, the calendar its dataset keeps, and the files.
 */
import { createHash } from "node:crypto"
import { createReadStream } from "node:fs"
import * as Path from "node:path"
import { Effect } from "effect"
import { fromRules } from "../calendar/MarketCalendar.js"
import { calendarOf, type SessionPolicy } from "../calendar/sessionPolicy.js"
import { UsageError } from "../domain/errors.js"
import { isIsoDate } from "../domain/time.js"
import type { CheckpointsShape, DayEntry, DayStatusName, FileEntry } from "../pipeline/Checkpoints.js"

export type DayState = "queued" | "in progress" | "done" | "no data" | "failed"

export const DAY_STATES: ReadonlyArray<DayState> = ["done", "no data", "in progress", "queued", "failed"]

/** What re-hashing a file found: its bytes are the ones written, other bytes, no file, or no hash to compare. */
export type Verified = "ok" | "changed" | "missing" | "not recorded"

/** One unit of work of a day, as its latest checkpoint entry says. */
export interface UnitStatus {
  /** The instrument, and what else tells the day's units apart (`SPXW expiration=2024-01-05`). */
  readonly unit: string
  readonly status: DayStatusName
  /** Attempts across runs; null when the journal cannot tell. */
  readonly attempts: number | null
  readonly lastError: string | null
  readonly rows: number | null
  readonly at: string
}

/** A file a day's commits wrote, as the journal recorded it. */
export interface InventoryFile {
  /** Relative to the data dir. */
  readonly file: string
  readonly rows: number | null
  readonly bytes: number | null
  readonly sha256: string | null
  /** When it was committed (ISO). */
  readonly writtenAt: string | null
  /** With `--verify` only. */
  readonly verified?: Verified
}

export interface InventoryDay {
  readonly date: string
  readonly state: DayState
  /** Units done, streamed or without data. */
  readonly unitsDone: number
  readonly units: number
  /** The most attempts of any unit (null: none recorded). */
  readonly attempts: number | null
  /** The reason of the latest failure of any unit, even if a later attempt succeeded. */
  readonly lastError: string | null
  /** Rows committed by its units (null when none recorded any). */
  readonly rows: number | null
  readonly bytes: number
  readonly files: ReadonlyArray<InventoryFile>
  readonly unitStatuses: ReadonlyArray<UnitStatus>
}

export interface DatasetInventory {
  readonly dataset: string
  /** The range shown; null when the journal holds nothing and none was given. */
  readonly from: string | null
  readonly to: string | null
  /** Whose days the range lists. */
  readonly calendar: string
  readonly counts: Readonly<Record<DayState, number>>
  readonly days: ReadonlyArray<InventoryDay>
  readonly verified: boolean
  /** With `--verify`: the files whose bytes changed or that are gone. */
  readonly problems: ReadonlyArray<{
    readonly date: string
    readonly file: string
    readonly verified: Verified
  }>
}

const DONE: ReadonlySet<DayStatusName> = new Set(["done", "streamed"])
const IN_PROGRESS: ReadonlySet<DayStatusName> = new Set(["pending", "streaming"])

/** A day's state from its units' statuses (the aggregation rule above). */
export const dayState = (statuses: ReadonlyArray<DayStatusName>): DayState => {
  if (statuses.length === 0) return "queued"
  if (statuses.includes("failed")) return "failed"
  if (statuses.some((s) => IN_PROGRESS.has(s))) return "in progress"
  return statuses.some((s) => DONE.has(s)) ? "done" : "no data"
}

/** The fields every day entry has; any other field tells units of one instrument-day apart. */
const ENTRY_FIELDS: ReadonlySet<string> = new Set([
  "kind",
  "dataset",
  "symbol",
  "date",
  "status",
  "rows",
  "rejected",
  "duplicates",
  "reason",
  "at",
  "attempts",
  "lastError"
])

const unitOf = (entry: DayEntry): string => {
  const extra = Object.entries(entry)
    .filter(([k, v]) => !ENTRY_FIELDS.has(k) && (typeof v === "string" || typeof v === "number"))
    .map(([k, v]) => `${k}=${String(v)}`)
  return [entry.symbol, ...extra].join(" ")
}

const fileOf = (f: FileEntry): InventoryFile => ({
  file: f.file,
  // Journals older than a field lack it.
  rows: typeof f.rows === "number" ? f.rows : null,
  bytes: typeof f.bytes === "number" ? f.bytes : null,
  sha256: typeof f.sha256 === "string" ? f.sha256 : null,
  writtenAt: typeof f.at === "string" ? f.at : null
})

/** One day from its units' latest entries and its files' entries. */
export const inventoryDay = (
  date: string,
  entries: ReadonlyArray<DayEntry>,
  files: ReadonlyArray<FileEntry>
): InventoryDay => {
  const units = entries
    .map(
      (e): UnitStatus => ({
        unit: unitOf(e),
        status: e.status,
        attempts: e.attempts ?? null,
        lastError: e.lastError ?? null,
        rows: e.rows ?? null,
        at: e.at
      })
    )
    .sort((a, b) => (a.unit < b.unit ? -1 : a.unit > b.unit ? 1 : 0))
  const attempts = units.flatMap((u) => (u.attempts === null ? [] : [u.attempts]))
  // The latest failure: the unit whose entry with it is newest.
  const failing = units
    .filter((u) => u.lastError !== null)
    .sort(
      (a, b) => (a.status === "failed" ? 0 : 1) - (b.status === "failed" ? 0 : 1) || (a.at < b.at ? 1 : -1)
    )
  const rowed = units.flatMap((u) => (u.rows === null ? [] : [u.rows]))
  // A file entry of 0 bytes records a partition that became empty: there is no file.
  const kept = files.filter((f) => f.bytes !== 0).map(fileOf)
  return {
    date,
    state: dayState(units.map((u) => u.status)),
    unitsDone: units.filter((u) => DONE.has(u.status) || u.status === "empty").length,
    units: units.length,
    attempts: attempts.length === 0 ? null : Math.max(...attempts),
    lastError: failing[0]?.lastError ?? null,
    rows: rowed.length === 0 ? null : rowed.reduce((n, r) => n + r, 0),
    bytes: kept.reduce((n, f) => n + (f.bytes ?? 0), 0),
    files: kept,
    unitStatuses: units
  }
}

/** The days of `dates` (sorted), each from the journal's entries of that date. */
export const inventoryDays = (
  dates: ReadonlyArray<string>,
  entries: ReadonlyArray<DayEntry>,
  files: ReadonlyArray<FileEntry>
): ReadonlyArray<InventoryDay> => {
  const byDate = <E extends { readonly date: string }>(list: ReadonlyArray<E>) => {
    const m = new Map<string, Array<E>>()
    for (const e of list) {
      const l = m.get(e.date)
      if (l) l.push(e)
      else m.set(e.date, [e])
    }
    return m
  }
  const units = byDate(entries)
  const written = byDate(files)
  return dates.map((d) => inventoryDay(d, units.get(d) ?? [], written.get(d) ?? []))
}

export const countStates = (days: ReadonlyArray<InventoryDay>): Record<DayState, number> => {
  const counts = Object.fromEntries(DAY_STATES.map((s) => [s, 0])) as Record<DayState, number>
  for (const d of days) counts[d.state]++
  return counts
}

/** SHA-256 of a file read in chunks (a day's file may be large), or undefined when it cannot be read. */
const hashFile = (file: string): Promise<string | undefined> =>
  new Promise((resolve) => {
    const hash = createHash("sha256")
    createReadStream(file)
      .on("data", (chunk) => hash.update(chunk))
      .on("end", () => resolve(hash.digest("hex")))
      .on("error", () => resolve(undefined))
  })

export const verifyFile = (dataDir: string, f: InventoryFile): Effect.Effect<Verified> =>
  Effect.promise(() => hashFile(Path.join(dataDir, f.file))).pipe(
    Effect.map((actual) =>
      actual === undefined
        ? "missing"
        : f.sha256 === null
          ? "not recorded"
          : actual === f.sha256
            ? "ok"
            : "changed"
    )
  )

export interface InventoryRequest {
  readonly dataset: string
  readonly from: string | undefined
  readonly to: string | undefined
  readonly symbol: string | undefined
  readonly verify: boolean
  /** The dataset's hours (from the registry); NYSE when undefined. */
  readonly sessionPolicy: SessionPolicy | undefined
}

/**
 * The inventory of `request.dataset` from the journal in `store`. Without `from`/`to`, the range runs
 * from the first to the last date the journal holds. The NYSE calendar is the built-in rules
 * (offline: `status` never waits for the network).
 */
export const collectInventory = (dataDir: string, store: CheckpointsShape, request: InventoryRequest) =>
  Effect.gen(function* () {
    for (const [name, d] of [
      ["--from", request.from],
      ["--to", request.to]
    ] as const)
      if (d !== undefined && !isIsoDate(d))
        return yield* new UsageError({ detail: `status: ${name} ${d} is not a date; expected YYYY-MM-DD.` })
    const entries = [...(yield* store.days(request.dataset)).values()].filter(
      (e) => request.symbol === undefined || e.symbol === request.symbol
    )
    const files = [...(yield* store.files(request.dataset)).values()]
    const journalDates = [...new Set([...entries.map((e) => e.date), ...files.map((f) => f.date)])].sort()
    const from = request.from ?? journalDates[0] ?? request.to
    const to = request.to ?? journalDates[journalDates.length - 1] ?? request.from
    const calendar = calendarOf(request.sessionPolicy, fromRules([], "NYSE trading days (built-in rules)"))
    const calendarName =
      request.sessionPolicy === "always-open" ? "calendar days (always open)" : "NYSE trading days"
    if (from === undefined || to === undefined)
      return {
        dataset: request.dataset,
        from: null,
        to: null,
        calendar: calendarName,
        counts: countStates([]),
        days: [],
        verified: request.verify,
        problems: []
      } satisfies DatasetInventory
    if (from > to)
      return yield* new UsageError({
        detail: `status: --from ${from} is after --to ${to}${request.to === undefined ? " (the last date the journal holds)" : request.from === undefined ? " (the first date the journal holds)" : ""}.`
      })
    const sessions = (yield* calendar.range(from, to)).filter((d) => d._tag === "open").map((d) => d.date)
    // A date the journal holds is shown even if the calendar has no session then.
    const dates = [...new Set([...sessions, ...journalDates.filter((d) => d >= from && d <= to)])].sort()
    const inRange = (e: { readonly date: string }) => e.date >= from && e.date <= to
    let days = inventoryDays(dates, entries.filter(inRange), files.filter(inRange))
    const problems: Array<{ date: string; file: string; verified: Verified }> = []
    if (request.verify)
      days = yield* Effect.forEach(days, (day) =>
        Effect.map(
          Effect.forEach(day.files, (f) =>
            Effect.map(verifyFile(dataDir, f), (verified): InventoryFile => {
              if (verified === "changed" || verified === "missing")
                problems.push({ date: day.date, file: f.file, verified })
              return { ...f, verified }
            })
          ),
          (files): InventoryDay => ({ ...day, files })
        )
      )
    return {
      dataset: request.dataset,
      from,
      to,
      calendar: calendarName,
      counts: countStates(days),
      days,
      verified: request.verify,
      problems
    } satisfies DatasetInventory
  })
