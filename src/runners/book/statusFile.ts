/**
 * The order-book capture's status file, `<data-dir>/state/books/<venue>/status.json`, rewritten
 * every second by the running capture and read by `tapehouse status`. Kept apart from the runner
 * so that `status` loads nothing heavy.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"

/** One symbol's figures, for the status file and the final report. */
export interface SymbolStatus {
  readonly symbol: string
  readonly state: "synced" | "syncing"
  readonly lastUpdateId: number
  readonly appliedEvents: number
  readonly appliedLevels: number
  readonly gaps: number
  readonly missingIds: number
  readonly eventsLostEstimate: number
  /** Level changes lost (estimated) over those received and lost. */
  readonly gapRatio: number
  readonly snapshots: number
  readonly rejected: number
}

/** The content of `state/books/<venue>/status.json`. */
export interface BookCaptureStatus {
  readonly venue: string
  readonly pid: number
  readonly at: string
  readonly startedAt: string
  readonly running: boolean
  readonly connection: "connecting" | "connected" | "disconnected" | "closed"
  readonly connections: number
  readonly messages: number
  readonly skewMs: number
  readonly maxAbsSkewMs: number
  readonly restWeightUsed: number
  readonly wal: {
    readonly segments: number
    readonly rows: number
    readonly checkpoints: number
    readonly p95DurableMs: number
  }
  readonly symbols: ReadonlyArray<SymbolStatus>
}

export const bookStatusFile = (dataDir: string, venue: string): string =>
  path.join(dataDir, "state", "books", venue, "status.json")

/** Reads a venue's status file; undefined when there is none. */
export const readBookStatus = async (
  dataDir: string,
  venue: string
): Promise<BookCaptureStatus | undefined> => {
  try {
    return JSON.parse(await fs.readFile(bookStatusFile(dataDir, venue), "utf8")) as BookCaptureStatus
  } catch {
    return undefined
  }
}

/** The venues with a status file. */
export const bookStatusVenues = async (dataDir: string): Promise<Array<string>> => {
  const dir = path.join(dataDir, "state", "books")
  const names = await fs.readdir(dir).catch(() => [] as Array<string>)
  const out: Array<string> = []
  for (const name of names.sort())
    if (
      await fs.stat(path.join(dir, name, "status.json")).then(
        () => true,
        () => false
      )
    )
      out.push(name)
  return out
}
