/**
 * The names inside a Parquet partition folder `lake/<dataset>/date=YYYY-MM-DD/` (or a second level
 * below it, `…/date=YYYY-MM-DD/<column>=<value>/`, for a dataset that declares `subPartition`) (see compact.ts
 * for what each is for). Kept apart from the writer so that readers of the layout (`status`) load
 * nothing heavy.
 */
import * as path from "node:path"

/** The compacted or backfilled base file of a partition. */
export const BASE_FILE = "part-0000.parquet"
/** The compaction intent; never ends in `.parquet`. */
export const INTENT_FILE = ".compaction.json"
/** A staged base waiting to be published (stagedCommit.ts); never ends in `.parquet`. */
export const STAGED_FILE = `${BASE_FILE}.staged`

const partPattern = /^part-(\d+)\.parquet$/

/** The name of part file `seq` (≥ 1): `part-000001.parquet`; sorts after the base. */
export const partFileName = (seq: number): string => `part-${String(seq).padStart(6, "0")}.parquet`

/** The seq of an appended part file name, or undefined for any other name (the base included). */
export const partSeq = (name: string): number | undefined => {
  if (name === BASE_FILE) return undefined
  const match = partPattern.exec(name)
  return match === null ? undefined : Number(match[1])
}

/** True for an appended part file name (not the base). */
export const isPartFileName = (name: string): boolean => partSeq(name) !== undefined

/** The second partition level of a dataset that declares one: its column and this partition's value. */
export interface SubPartition {
  readonly column: string
  readonly value: string
}

/**
 * The partition folder of `dataset` on `date`, relative to the data dir: `lake/<dataset>/date=D`,
 * or `lake/<dataset>/date=D/<column>=<value>` below a second partition column.
 */
export const partitionDir = (datasetName: string, date: string, sub?: SubPartition): string =>
  sub === undefined
    ? path.join("lake", datasetName, `date=${date}`)
    : path.join("lake", datasetName, `date=${date}`, `${sub.column}=${sub.value}`)

/** The base file of `dataset` on `date` (and `sub`), relative to the data dir. */
export const partitionFile = (datasetName: string, date: string, sub?: SubPartition): string =>
  path.join(partitionDir(datasetName, date, sub), BASE_FILE)
