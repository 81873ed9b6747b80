/**
 * The order-book gaps the capture recorded in the continuity ledger (`lake/continuity`, source
 * `<venue>:<SYMBOL>`, kind `gap`, `rows` = level changes lost; runners/bookCapture.ts), for the
 * gap ratio of `fidelity`.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect } from "effect"
import { Continuity } from "../domain/Continuity.js"
import { newYorkDate } from "../domain/time.js"
import { partitionDir } from "../sinks/partitionLayout.js"
import type { LedgerGap } from "./fidelity.js"

const DAY_MS = 86_400_000
/** The capture's detail text: "update ids <first>-<last> missed (…)". */
const IDS = /^update ids (\d+)-(\d+) missed/

/** The symbol's ledger gaps whose end (the event that revealed it) falls in [startMs, endMs). */
export const ledgerGapsOf = async (
  dataDir: string,
  venue: string,
  symbol: string,
  startMs: number,
  endMs: number
): Promise<Array<LedgerGap>> => {
  // Rows are partitioned by the New York date of their start, which may precede the window.
  const dates = new Set<string>()
  for (let t = startMs - DAY_MS; t < endMs + DAY_MS; t += DAY_MS / 2) dates.add(newYorkDate(t))
  const source = `${venue}:${symbol}`
  const out: Array<LedgerGap> = []
  let readPartition: typeof import("../sinks/compact.js").readPartition | undefined
  for (const date of [...dates].sort()) {
    const dir = path.join(dataDir, partitionDir(Continuity.name, date))
    const exists = await fs.stat(dir).then(
      () => true,
      () => false
    )
    if (!exists) continue
    readPartition ??= (await import("../sinks/compact.js")).readPartition
    const rows = await Effect.runPromise(
      readPartition(dataDir, Continuity, date).pipe(
        Effect.mapError((e) => new Error(`cannot read the continuity ledger ${dir}: ${e.message}`)),
        Effect.orDie
      )
    )
    for (const r of rows) {
      if (r.source !== source || r.kind !== "gap" || r.end < startMs || r.end >= endMs) continue
      const ids = IDS.exec(r.detail ?? "")
      out.push({
        start: r.start,
        end: r.end,
        cause: r.cause,
        eventsLost: r.rows,
        firstMissingId: ids === null ? undefined : Number(ids[1]),
        lastMissingId: ids === null ? undefined : Number(ids[2])
      })
    }
  }
  return out.sort((a, b) => a.start - b.start)
}
