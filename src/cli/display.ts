/** What the CLI prints: the progress line on a TTY, summaries, tables. Pure formatting. */
import type { BackfillProgress, BackfillReport } from "../runners/backfill.js"
import type { BackfillEstimate } from "../runners/estimate.js"

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
  const units = p.units === undefined ? "" : `  ${p.units.done}/${p.units.total} ${p.units.noun}s`
  return `backfill ${dataset}  ${p.daysDone}/${p.daysTotal} days${units}  ${formatInt(p.rows)} rows  ${formatInt(rate)} rows/s  ${eta}`
}

/** The one-line summary of a backfill. */
export const summaryLine = (r: BackfillReport): string => {
  const closed = r.closedDays.filter((d) => !d.reason.startsWith("weekend")).length
  const parts = [
    `${r.dataset} ${r.symbols.join(",")} ${r.from}..${r.to}:`,
    `${r.tradingDays} trading day(s)${closed > 0 ? ` (+${closed} holiday(s) skipped)` : ""},`,
    r.units === undefined
      ? `${r.committed.length} committed, ${r.alreadyDone.length} instrument-day(s) already done, ${r.failed.length} failed${r.empty.length > 0 ? `, ${r.empty.length} empty` : ""};`
      : `days: ${r.units.daysComplete} downloaded, ${r.units.daysFailed} failed, ${r.units.daysSkipped} skipped (done before); ${r.units.noun}s: ${r.units.committed} committed, ${r.units.noData} no data, ${r.units.failed} failed, ${r.units.skipped} skipped;`,
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

/**
 * The dates of `subset` as runs of consecutive entries of `order` (the planned trading days, in
 * order): "2024-03-04..2024-03-06, 2024-03-08". A run never hides a date of `order` not in it.
 */
export const dateRuns = (order: ReadonlyArray<string>, subset: ReadonlyArray<string>): string => {
  const wanted = new Set(subset)
  const runs: Array<string> = []
  let start: string | undefined
  let last: string | undefined
  const close = () => {
    if (start !== undefined) runs.push(start === last ? start : `${start}..${last}`)
    start = undefined
  }
  for (const d of order) {
    if (!wanted.has(d)) {
      close()
      continue
    }
    start ??= d
    last = d
  }
  close()
  return runs.join(", ")
}

/** Dates in order, at most five of them named. */
const someDates = (dates: ReadonlyArray<string>): string => {
  const sorted = [...dates].sort()
  return sorted.length <= 5
    ? sorted.join(", ")
    : `${sorted.slice(0, 3).join(", ")}, … ${sorted[sorted.length - 1]}`
}

/** One warning line per symbol the vendor returned nothing for (recorded `empty`, retried next run). */
export const emptyWarnings = (r: BackfillReport): ReadonlyArray<string> => {
  const bySymbol = new Map<string, Array<string>>()
  for (const e of r.empty) bySymbol.set(e.symbol, [...(bySymbol.get(e.symbol) ?? []), e.date])
  const lines = [...bySymbol].map(
    ([symbol, dates]) =>
      `warning: ${r.dataset} ${symbol}: the vendor returned no rows for ${dates.length} trading day(s) (${someDates(dates)}); recorded as empty, not done: the next run retries them (pass --accept-empty to accept them as they are). Check the ticker.`
  )
  if (r.acceptedEmpty.length > 0)
    lines.push(
      `${r.acceptedEmpty.length} instrument-day(s) recorded empty before were accepted as they are (--accept-empty)`
    )
  return lines
}

/** What a long backfill will take, printed before it starts. */
export const estimateLine = (dataset: string, e: BackfillEstimate): string =>
  `estimate for ${dataset}: ${formatInt(e.instrumentDays)} instrument-day(s), about ${formatInt(e.rows)} rows in ${formatInt(e.requests)} request(s); disk about ${formatBytes(e.parquetBytes)} Parquet${e.sqlBytes > 0 ? ` + ${formatBytes(e.sqlBytes)} SQL` : ""}; time about ${formatDuration(e.seconds * 1000)} (bound by the ${e.boundBy}).`

/**
 * What an interrupted backfill finished and left, and how to resume: `progress` is the run's last
 * progress, `command` the command line to run again.
 */
export const interruptedLines = (
  dataset: string,
  signal: string | undefined,
  progress: BackfillProgress | undefined,
  command: string
): ReadonlyArray<string> => {
  const days = progress === undefined ? [] : [...progress.days]
  const order = days.map(([d]) => d)
  const having = (state: string) => days.filter(([, s]) => s === state).map(([d]) => d)
  const listed = (dates: ReadonlyArray<string>) => (dates.length > 0 ? ` (${dateRuns(order, dates)})` : "")
  const committed = having("committed")
  const failed = having("failed")
  const running = having("running")
  const queued = having("queued")
  return [
    `${dataset}: interrupted${signal === undefined ? "" : ` by ${signal}`}: ${committed.length} of ${days.length} trading day(s) committed${listed(committed)}${failed.length > 0 ? `, ${failed.length} failed${listed(failed)}` : ""}; ${running.length} in progress, not kept${listed(running)}; ${queued.length} not started${listed(queued)}.`,
    `Everything committed is kept. To resume (days done are skipped): ${command}`
  ]
}
