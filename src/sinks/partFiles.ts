/**
 * What a partition folder holds without decoding it: its files and the row count each Parquet
 * footer states. For `status`, which must answer fast even about a streamed day of thousands of
 * part files: only the footer of each file is read.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { parquetMetadata } from "hyparquet"
import { BASE_FILE, isPartFileName, STAGED_FILE } from "./partitionLayout.js"

export interface PartitionFiles {
  readonly date: string
  /** The base file exists (backfilled or compacted). */
  readonly base: boolean
  /** Appended part files not compacted yet. */
  readonly parts: number
  /** A staged file waits to be published (a run stopped between its checkpoint and the rename). */
  readonly staged: boolean
  /** Rows the footers state, duplicates across files included (compaction folds those). */
  readonly rows: number
  readonly bytes: number
}

/** Reads the row count from the footer alone (the last 8 bytes give its length). */
const footerRows = async (file: string): Promise<{ rows: number; bytes: number }> => {
  const handle = await fs.open(file, "r")
  try {
    const { size } = await handle.stat()
    const tail = Buffer.alloc(8)
    await handle.read(tail, 0, 8, size - 8)
    const length = tail.readUInt32LE(0)
    const footer = Buffer.alloc(length + 8)
    await handle.read(footer, 0, length + 8, size - length - 8)
    const metadata = parquetMetadata(
      footer.buffer.slice(footer.byteOffset, footer.byteOffset + footer.byteLength)
    )
    return { rows: Number(metadata.num_rows), bytes: size }
  } finally {
    await handle.close()
  }
}

/** The files of every `date=` partition of a dataset that has part files or a staged file. */
export const unsettledPartitions = async (
  dataDir: string,
  dataset: string
): Promise<ReadonlyArray<PartitionFiles>> => {
  const root = path.join(dataDir, "lake", dataset)
  const dates = await fs.readdir(root).catch(() => [] as Array<string>)
  const out: Array<PartitionFiles> = []
  for (const name of dates.sort()) {
    if (!name.startsWith("date=")) continue
    const dir = path.join(root, name)
    const files = await fs.readdir(dir).catch(() => [] as Array<string>)
    const parts = files.filter(isPartFileName)
    const staged = files.includes(STAGED_FILE)
    if (parts.length === 0 && !staged) continue
    const base = files.includes(BASE_FILE)
    const readable = base ? [BASE_FILE, ...parts] : parts
    let rows = 0
    let bytes = 0
    // A few at a time: a streamed day can hold thousands of part files.
    for (let i = 0; i < readable.length; i += 64) {
      const counted = await Promise.all(
        readable
          .slice(i, i + 64)
          .map((f) => footerRows(path.join(dir, f)).catch(() => ({ rows: 0, bytes: 0 })))
      )
      for (const c of counted) {
        rows += c.rows
        bytes += c.bytes
      }
    }
    out.push({ date: name.slice("date=".length), base, parts: parts.length, staged, rows, bytes })
  }
  return out
}
