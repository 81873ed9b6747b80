/**
 * `tapehouse assess`: what the lake holds of one symbol's depth deltas over a range of days and
 * what a rebuild or a longer capture will cost. Pure: the command replays the days (deltaReplay.ts
 * counts the events, gaps and covered time by the capture's own chain rules) and hands over the
 * counts and the files' sizes.
 */
import { BYTES_PER_DELTA_ROW } from "./bookSegments.js"
import type { ReplayCounts } from "./deltaReplay.js"

export interface DayHoldings {
  readonly date: string
  /** Delta files of the day and their bytes on disk. */
  readonly files: number
  readonly bytes: number
}

export interface AssessInput {
  readonly venue: string
  readonly symbol: string
  readonly from: string
  readonly to: string
  readonly days: ReadonlyArray<DayHoldings>
  readonly counts: ReplayCounts
  /** Rows of the largest delta file (a reader holds one file's columns at a time). */
  readonly largestFileRows: number
  readonly largestGapIds: number
  /** Levels and interval `books` would write, for its estimate. */
  readonly levels: number
  readonly everyMs: number
}

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
  const scan = input.counts
  const held = new Set(input.days.filter((d) => d.files > 0).map((d) => d.date))
  const bytes = input.days.reduce((s, d) => s + d.bytes, 0)
  const coveredS = scan.coveredMs / 1000
  const span = scan.firstId === undefined || scan.lastId === undefined ? 0 : scan.lastId - scan.firstId + 1
  // Twice the largest snapshot's levels: room for the book to grow past the snapshot's depth.
  const bookBytes = 2 * Math.max(scan.largestSnapshotLevels, 2000) * BYTES_PER_BOOK_LEVEL
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
    level_changes: scan.appliedLevels,
    gaps: scan.gaps,
    missing_ids: scan.missingIds,
    largest_gap_ids: input.largestGapIds,
    gap_ratio: span > 0 ? scan.missingIds / span : null,
    events_per_second: coveredS > 0 ? scan.events / coveredS : null,
    level_changes_per_second: coveredS > 0 ? scan.appliedLevels / coveredS : null,
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
  `  events: ${r.events} (${r.level_changes} level changes)`,
  `  gaps: ${r.gaps}, update ids missed: ${r.missing_ids} (largest ${r.largest_gap_ids}), gap ratio ${r.gap_ratio === null ? "n/a" : `${(r.gap_ratio * 100).toFixed(4)} %`}`,
  `  events/s: ${num(r.events_per_second)} mean, ${r.peak_events_per_second} peak; level changes/s: ${num(r.level_changes_per_second)}`,
  `  disk: ${mib(r.disk_bytes)} held, ${mib(r.disk_bytes_per_day)} per day, ${mib(r.disk_bytes_per_year)} per year`,
  `  memory to rebuild: about ${mib(r.rebuild_memory_bytes)}; books output per day: ${mib(r.books_bytes_per_day_uncompressed)} before compression`
]
