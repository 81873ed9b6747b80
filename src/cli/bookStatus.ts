/** The order-book captures in `tapehouse status`: each venue's connection, log and symbols (statusFile.ts). */
import { bookStatusVenues, readBookStatus } from "../runners/book/statusFile.js"
import { formatDuration, formatInt } from "./display.js"

export const bookStatusLines = async (dataDir: string, nowMs: number): Promise<Array<string>> => {
  const lines: Array<string> = []
  for (const venue of await bookStatusVenues(dataDir)) {
    const s = await readBookStatus(dataDir, venue)
    if (s === undefined) continue
    const age = Math.max(0, nowMs - Date.parse(s.at))
    // The capture rewrites the file every second: an old file while "running" means it died.
    const state = s.running
      ? age > 10_000
        ? "not running (no update; crash or kill -9)"
        : "running"
      : "stopped"
    lines.push(
      `book capture ${venue} ${state}, updated ${formatDuration(age)} ago: ${s.connection}, ${formatInt(s.messages)} messages, ${s.connections} connection(s), clock skew ${s.skewMs} ms (max ${s.maxAbsSkewMs} ms); log: ${formatInt(s.wal.segments)} segments, ${formatInt(s.wal.rows)} rows, ${s.wal.checkpoints} checkpoints, P95 arrival to durable ${s.wal.p95DurableMs} ms`
    )
    for (const x of s.symbols)
      lines.push(
        `  ${venue} ${x.symbol}: ${x.state}, last update id ${x.lastUpdateId}, ${formatInt(x.appliedLevels)} level changes, ${x.gaps} gap(s), ${formatInt(x.eventsLostEstimate)} lost (est.), gap ratio ${(x.gapRatio * 100).toFixed(3)} %`
      )
  }
  return lines
}
