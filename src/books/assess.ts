/**
 * `tapehouse assess`: what the lake holds of one symbol's depth deltas over a range of days, read
 * from the update ids and times alone (no book is built), and what a rebuild or a longer capture
 * will cost. Pure: the command feeds each event's ids and the files' sizes.
 *
 * Sequence rules as in the capture (../shared/specs/binance.md §1.4, §2.4): on spot an event
 * whose U is past the previous u + 1 follows a gap of U - u - 1 ids; on USD-M an event whose pu is
 * not the previous u follows a gap (ids between pu and the previous u). An event at or below the
 * last id seen (a replayed overlap after a reconnect) is not counted again.
 */
import type { DepthRules } from "../sources/binance/depthSync.js"

/** Scans one symbol's events in capture order. */
export class SequenceScan {
  events = 0
  levelChanges = 0
  gaps = 0
  missingIds = 0
  largestGapIds = 0
  duplicates = 0
  firstId: number | undefined = undefined
  lastId: number | undefined = undefined
  firstE: number | undefined = undefined
  lastE: number | undefined = undefined
  /** Exchange time between consecutive events with no gap between, ms. */
  coveredMs = 0
  /** Most events in one second of exchange time. */
  peakEventsPerSecond = 0
  private second = Number.NaN
  private inSecond = 0

  constructor(readonly rules: DepthRules) {}

  /** One event: exchange time E (ms), its ids, and how many level changes (rows) it carries. */
  push(E: number, U: number, u: number, pu: number | undefined, rows: number): void {
    const last = this.lastId
    if (last !== undefined && u <= last) {
      this.duplicates++
      return
    }
    let broken = false
    let gap = 0
    if (last !== undefined) {
      if (this.rules === "spot") {
        broken = U > last + 1
        gap = U - last - 1
      } else {
        broken = pu !== undefined && pu !== last
        gap = pu === undefined ? 0 : Math.max(0, pu - last)
      }
    }
    if (broken) {
      this.gaps++
      this.missingIds += gap
      if (gap > this.largestGapIds) this.largestGapIds = gap
    } else if (this.lastE !== undefined && E > this.lastE) this.coveredMs += E - this.lastE
    this.firstId ??= U
    this.firstE ??= E
    this.lastId = u
    this.lastE = E
    this.events++
    this.levelChanges += rows
    const s = Math.floor(E / 1000)
    if (s === this.second) this.inSecond++
    else {
      this.second = s
      this.inSecond = 1
    }
    if (this.inSecond > this.peakEventsPerSecond) this.peakEventsPerSecond = this.inSecond
  }
}

export interface DayHoldings {
  readonly date: string
  /** Delta files of the day and their bytes on disk. */
  readonly files: number
  readonly bytes: number
  /** Snapshot rows in the day's deltas (the sync snapshots), and levels in the largest one. */
  readonly snapshotLevels: number
}

export interface AssessInput {
  readonly venue: string
  readonly symbol: string
  readonly from: string
  readonly to: string
  readonly days: ReadonlyArray<DayHoldings>
  readonly scan: SequenceScan
  /** Rows of the largest delta file (a reader holds one file's columns at a time). */
  readonly largestFileRows: number
  /** Levels and interval `books` would write, for its estimate. */
  readonly levels: number
  readonly everyMs: number
}

/** Bytes a decoded delta row takes in memory while a file is read (8 columns of 8 bytes). */
const BYTES_PER_DELTA_ROW = 64
/** Bytes per level held by the book (a price and a size, Float64 each). */
const BYTES_PER_BOOK_LEVEL = 16
const DAY_MS = 86_400_000

export interface AssessReport {
  readonly venue: string
  readonly symbol: string
  readonly from: string
  readonly to: string
  readonly days_requested: number
  readonly days_with_deltas: number
  readonly missing_days: ReadonlyArray<string>
  /** Share of the requested time whose exchange time a contiguous sequence covers. */
  readonly availability: number
  readonly events: number
  readonly level_changes: number
  readonly duplicate_events: number
  readonly gaps: number
  readonly missing_ids: number
  readonly largest_gap_ids: number
  readonly gap_ratio: number | null
  readonly events_per_second: number | null
  readonly level_changes_per_second: number | null
  readonly peak_events_per_second: number
  readonly disk_bytes: number
  readonly disk_bytes_per_day: number | null
  readonly disk_bytes_per_year: number | null
  /** Memory to rebuild: one file's decoded rows, the book, one hour of `books` output. */
  readonly rebuild_memory_bytes: number
  /** `books` output for a day at `levels` and `every`, before compression. */
  readonly books_bytes_per_day_uncompressed: number
}

export const assessReport = (input: AssessInput, allDays: ReadonlyArray<string>): AssessReport => {
  const { scan } = input
  const held = new Set(input.days.filter((d) => d.files > 0).map((d) => d.date))
  const bytes = input.days.reduce((s, d) => s + d.bytes, 0)
  const coveredS = scan.coveredMs / 1000
  const span = scan.firstId === undefined || scan.lastId === undefined ? 0 : scan.lastId - scan.firstId + 1
  const maxLevels = Math.max(0, ...input.days.map((d) => d.snapshotLevels))
  // 2 sides, with room for the book to grow past the snapshot's depth.
  const bookBytes = 2 * 2 * Math.max(maxLevels, 1000) * BYTES_PER_BOOK_LEVEL
  const rowsPerDay = Math.ceil(DAY_MS / input.everyMs)
  const rowBytes = 8 * (2 + 4 * input.levels) + 8
  const hourRows = Math.ceil(3_600_000 / input.everyMs)
  return {
    venue: input.venue,
    symbol: input.symbol,
    from: input.from,
    to: input.to,
    days_requested: allDays.length,
    days_with_deltas: held.size,
    missing_days: allDays.filter((d) => !held.has(d)),
    availability: allDays.length > 0 ? scan.coveredMs / (allDays.length * DAY_MS) : 0,
    events: scan.events,
    level_changes: scan.levelChanges,
    duplicate_events: scan.duplicates,
    gaps: scan.gaps,
    missing_ids: scan.missingIds,
    largest_gap_ids: scan.largestGapIds,
    gap_ratio: span > 0 ? scan.missingIds / span : null,
    events_per_second: coveredS > 0 ? scan.events / coveredS : null,
    level_changes_per_second: coveredS > 0 ? scan.levelChanges / coveredS : null,
    peak_events_per_second: scan.peakEventsPerSecond,
    disk_bytes: bytes,
    disk_bytes_per_day: held.size > 0 ? bytes / held.size : null,
    disk_bytes_per_year: held.size > 0 ? (bytes / held.size) * 365 : null,
    rebuild_memory_bytes: input.largestFileRows * BYTES_PER_DELTA_ROW + bookBytes + hourRows * rowBytes,
    books_bytes_per_day_uncompressed: rowsPerDay * rowBytes
  }
}

const mib = (b: number | null): string => (b === null ? "n/a" : `${(b / 1024 / 1024).toFixed(1)} MiB`)
const num = (v: number | null, d = 1): string => (v === null ? "n/a" : v.toFixed(d))

/** The report as lines for the terminal. */
export const assessLines = (r: AssessReport): Array<string> => [
  `${r.symbol} on ${r.venue}, ${r.from} to ${r.to}`,
  `  days with deltas: ${r.days_with_deltas} of ${r.days_requested}${r.missing_days.length > 0 ? ` (missing: ${r.missing_days.join(", ")})` : ""}`,
  `  availability (exchange time covered): ${(r.availability * 100).toFixed(3)} %`,
  `  events: ${r.events} (${r.level_changes} level changes, ${r.duplicate_events} duplicates)`,
  `  gaps: ${r.gaps}, update ids missed: ${r.missing_ids} (largest ${r.largest_gap_ids}), gap ratio ${r.gap_ratio === null ? "n/a" : `${(r.gap_ratio * 100).toFixed(4)} %`}`,
  `  events/s: ${num(r.events_per_second)} mean, ${r.peak_events_per_second} peak; level changes/s: ${num(r.level_changes_per_second)}`,
  `  disk: ${mib(r.disk_bytes)} held, ${mib(r.disk_bytes_per_day)} per day, ${mib(r.disk_bytes_per_year)} per year`,
  `  memory to rebuild: about ${mib(r.rebuild_memory_bytes)}; books output per day: ${mib(r.books_bytes_per_day_uncompressed)} before compression`
]
