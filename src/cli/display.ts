/** What the CLI prints: the progress line on a TTY, summaries, tables. Pure formatting. */
import type { BackfillProgress, BackfillReport } from "../runners/backfill.js"

export const formatInt = (n: number) => Math.round(n).toLocaleString("en-US")

export const formatBytes = (n: number): string => {
  if (n < 1024) return `${n} B`
  const units = ["KiB", "MiB", "GiB", "TiB"]
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`
}

export const formatDuration = (ms: number): string => {
  if (ms < 1000) return `${Math.round(ms)} ms`
  const s = ms / 1000
  if (s < 60) return `${s.toFixed(1)} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, "0")}s`
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`
}

export const rowsPerSecond = (rows: number, elapsedMs: number) =>
  elapsedMs > 0 ? (rows * 1000) / elapsedMs : 0

/** One line, rewritten in place on a TTY: days done/total, rows/s, ETA. */
export const progressLine = (dataset: string, p: BackfillProgress): string => {
  const rate = rowsPerSecond(p.rows, p.elapsedMs)
  const eta =
    p.daysDone === 0 || p.daysDone >= p.daysTotal
      ? p.daysDone >= p.daysTotal
        ? "done"
        : "ETA …"
      : `ETA ${formatDuration(((p.daysTotal - p.daysDone) * p.elapsedMs) / p.daysDone)}`
  return `backfill ${dataset}  ${p.daysDone}/${p.daysTotal} days  ${formatInt(p.rows)} rows  ${formatInt(rate)} rows/s  ${eta}`
}

/** The one-line summary of a backfill. */
export const summaryLine = (r: BackfillReport): string => {
  const closed = r.closedDays.filter((d) => !d.reason.startsWith("weekend")).length
  const parts = [
    `${r.dataset} ${r.symbols.join(",")} ${r.from}..${r.to}:`,
    `${r.tradingDays} trading day(s)${closed > 0 ? ` (+${closed} holiday(s) skipped)` : ""},`,
    `${r.committed.length} committed, ${r.alreadyDone.length} instrument-day(s) already done, ${r.failed.length} failed;`,
    `${formatInt(r.rows)} rows, ${formatInt(r.rejected)} rejected, ${formatInt(r.duplicates)} duplicates;`,
    `${formatBytes(r.bytes)} Parquet;`,
    `${formatInt(rowsPerSecond(r.rows, r.elapsedMs))} rows/s in ${formatDuration(r.elapsedMs)}`
  ]
  return parts.join(" ")
}

/** Left-aligned text table. */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd()
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n")
}
