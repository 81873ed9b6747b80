/** The order-book captures in `tapehouse status`: each venue's connection, log and symbols (statusFile.ts). */
import { type BookCaptureStatus, bookStatusVenues, readBookStatus } from "../runners/book/statusFile.js"
import { formatDuration, formatInt } from "./display.js"

/** One venue's capture as `status` reports it (text and `--json`): its status file, judged. */
export interface BookCaptureView extends BookCaptureStatus {
  /**
   * `running`; `not running` when the file says running but is over 10 s old (the capture rewrites
   * it every second, so it died: a crash or kill -9); `stopped` when it ended cleanly.
   */
  readonly state: "running" | "not running" | "stopped"
  /** Since the capture last wrote its status file, ms. */
  readonly ageMs: number
}

/** Every venue with a status file under `<data-dir>/state/books/`, as of `nowMs`. */
export const bookCaptures = async (dataDir: string, nowMs: number): Promise<Array<BookCaptureView>> => {
  const out: Array<BookCaptureView> = []
  for (const venue of await bookStatusVenues(dataDir)) {
    const s = await readBookStatus(dataDir, venue)
    if (s === undefined) continue
    const ageMs = Math.max(0, nowMs - Date.parse(s.at))
    const state = s.running ? (ageMs > 10_000 ? "not running" : "running") : "stopped"
    out.push({ ...s, state, ageMs })
  }
  return out
}

export const bookStatusLines = (captures: ReadonlyArray<BookCaptureView>): Array<string> => {
  const lines: Array<string> = []
  for (const s of captures) {
    const state = s.state === "not running" ? "not running (no update; crash or kill -9)" : s.state
    lines.push(
      `book capture ${s.venue} ${state}, updated ${formatDuration(s.ageMs)} ago: ${s.connection}, ${formatInt(s.messages)} messages, ${s.connections} connection(s), clock skew ${s.skewMs} ms (max ${s.maxAbsSkewMs} ms); log: ${formatInt(s.wal.segments)} segments, ${formatInt(s.wal.rows)} rows, ${s.wal.checkpoints} checkpoints, P95 arrival to durable ${s.wal.p95DurableMs} ms`
    )
    for (const x of s.symbols)
      lines.push(
        `  ${s.venue} ${x.symbol}: ${x.state}, last update id ${x.lastUpdateId}, ${formatInt(x.appliedLevels)} level changes, ${x.gaps} gap(s), ${formatInt(x.eventsLostEstimate)} lost (est.), gap ratio ${(x.gapRatio * 100).toFixed(3)} %`
      )
  }
  return lines
}
