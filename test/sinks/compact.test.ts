import { createHash } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { type StockBar, StockBars1s } from "../../src/domain/StockBar.js"
import { tempPathFor } from "../../src/sinks/atomicFile.js"
import {
  BASE_FILE,
  type CompactOptions,
  compact,
  INTENT_FILE,
  mergeRuns,
  partFileName,
  readPartition,
  readPartitionColumns,
  recoverPartition
} from "../../src/sinks/compact.js"
import * as ParquetSink from "../../src/sinks/ParquetSink.js"
import { decodeParquet, encodeParquet } from "../../src/sinks/parquetCodec.js"
import { columnsFromRows } from "../../src/sinks/parquetColumns.js"
import type { PartitionWrite, Sink, WriteMode } from "../../src/sinks/Sink.js"

const tempDir = Effect.acquireRelease(
  Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "tapehouse-compact-"))),
  (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
)

const DATE = "2024-01-02"
const OPEN = Date.UTC(2024, 0, 2, 14, 30)
const partitionDir = (dataDir: string) => path.join(dataDir, "lake", "stock_bars_1s", `date=${DATE}`)

const bar = (symbol: string, second: number, close = 100): StockBar => ({
  symbol,
  ts: OPEN + second * 1000,
  open: close,
  high: close + 1,
  low: close - 1,
  close,
  volume: 10,
  vwap: second % 2 === 0 ? null : close,
  trades: second % 3 === 0 ? null : second
})

const write = (
  rows: ReadonlyArray<StockBar>,
  mode: WriteMode,
  instruments: ReadonlyArray<string> = [...new Set(rows.map((r) => r.symbol))]
): PartitionWrite<StockBar> => ({ dataset: StockBars1s, date: DATE, instruments, rows, mode })

const options = (dataDir: string): CompactOptions => ({
  dataDir,
  compression: "snappy",
  rowGroupSize: 10_000
})
const encodeOptions = { compression: "snappy", rowGroupSize: 10_000 } as const

const setup = Effect.gen(function* () {
  const dataDir = yield* tempDir
  const sink = yield* ParquetSink.make(options(dataDir))
  return { dataDir, sink, dir: partitionDir(dataDir) }
})

const ls = (dir: string) => Effect.promise(async () => (await fs.readdir(dir)).sort())
const readRows = (file: string) =>
  Effect.promise(async () => decodeParquet(StockBars1s, await fs.readFile(file)))
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex")

/** A base from a backfill, then three streamed flushes, one of them correcting earlier rows. */
const streamedDay = (sink: Sink) =>
  Effect.gen(function* () {
    yield* sink.commit(write([bar("SPY", 0), bar("SPY", 1), bar("QQQ", 0)], "replace"))
    yield* sink.commit(write([bar("SPY", 2), bar("SPY", 3)], "append"))
    // Corrections of second 1 (from the base) and second 3 (from the first part), plus a new row.
    yield* sink.commit(write([bar("SPY", 1, 201), bar("SPY", 3, 203), bar("SPY", 4)], "append"))
    yield* sink.commit(write([bar("QQQ", 1), bar("SPY", 3, 303)], "append"))
  })

/** What the streamed day reads as: last write wins, sorted by key. */
const streamedRows = [
  bar("QQQ", 0),
  bar("QQQ", 1),
  bar("SPY", 0),
  bar("SPY", 1, 201),
  bar("SPY", 2),
  bar("SPY", 3, 303),
  bar("SPY", 4)
]

describe("append and compaction", () => {
  it.scopedLive("append writes each flush as a new part file in sequence, reading nothing", () =>
    Effect.gen(function* () {
      const { dataDir, sink, dir } = yield* setup
      const first = yield* sink.commit(write([bar("SPY", 0), bar("SPY", 1)], "append"))
      const second = yield* sink.commit(write([bar("SPY", 1, 150)], "append"))
      const third = yield* sink.commit(write([bar("SPY", 2)], "append"))
      expect(yield* ls(dir)).toEqual([partFileName(1), partFileName(2), partFileName(3)])
      expect(partFileName(1)).toBe("part-000001.parquet")
      const bytes = yield* Effect.promise(() => fs.readFile(path.join(dir, partFileName(1))))
      expect(first).toEqual({
        sink: "parquet",
        rows: 2,
        file: path.join("lake", "stock_bars_1s", `date=${DATE}`, partFileName(1)),
        bytes: bytes.byteLength,
        sha256: sha256(bytes)
      })
      expect(second.file).toBe(path.join("lake", "stock_bars_1s", `date=${DATE}`, partFileName(2)))
      expect(third.rows).toBe(1)
      // Each part holds exactly its own rows: nothing was merged.
      expect(yield* readRows(path.join(dir, partFileName(2)))).toEqual([bar("SPY", 1, 150)])
      expect(yield* readPartition(dataDir, StockBars1s, DATE)).toEqual([
        bar("SPY", 0),
        bar("SPY", 1, 150),
        bar("SPY", 2)
      ])
      // An empty flush writes nothing.
      expect(yield* sink.commit(write([], "append", ["SPY"]))).toEqual({ sink: "parquet", rows: 0 })
      expect((yield* ls(dir)).length).toBe(3)
    })
  )

  it.scopedLive("reads a partition as columns: the rows readPartition reads, parts merged or not", () =>
    Effect.gen(function* () {
      const { dataDir, sink } = yield* setup
      const asColumns = (rows: ReadonlyArray<StockBar>) => ({
        length: rows.length,
        columns: columnsFromRows(StockBars1s.columns, rows)
      })
      expect(yield* readPartitionColumns(dataDir, StockBars1s, DATE)).toEqual(asColumns([]))
      yield* streamedDay(sink)
      expect(yield* readPartitionColumns(dataDir, StockBars1s, DATE)).toEqual(asColumns(streamedRows))
      yield* compact(options(dataDir), StockBars1s, DATE)
      expect(yield* readPartitionColumns(dataDir, StockBars1s, DATE)).toEqual(asColumns(streamedRows))
    })
  )

  it.scopedLive("a new sink continues after the highest part on disk, after the base", () =>
    Effect.gen(function* () {
      const { dataDir, sink, dir } = yield* setup
      yield* sink.commit(write([bar("SPY", 0)], "replace"))
      yield* Effect.promise(async () => {
        await fs.writeFile(
          path.join(dir, "part-000041.parquet"),
          encodeParquet(StockBars1s, [bar("SPY", 1)], encodeOptions)
        )
      })
      const other = yield* ParquetSink.make(options(dataDir))
      const result = yield* other.commit(write([bar("SPY", 1, 99)], "append"))
      expect(path.basename(result.file ?? "")).toBe("part-000042.parquet")
      const names = yield* ls(dir)
      expect(names).toEqual([BASE_FILE, "part-000041.parquet", "part-000042.parquet"])
      expect(yield* readPartition(dataDir, StockBars1s, DATE)).toEqual([bar("SPY", 0), bar("SPY", 1, 99)])
    })
  )

  it.scopedLive(
    "compaction merges base and parts into one file, later parts winning, and removes the parts",
    () =>
      Effect.gen(function* () {
        const { dataDir, sink, dir } = yield* setup
        yield* streamedDay(sink)
        expect((yield* ls(dir)).length).toBe(4)
        const result = yield* compact(options(dataDir), StockBars1s, DATE)
        expect(yield* ls(dir)).toEqual([BASE_FILE])
        const bytes = yield* Effect.promise(() => fs.readFile(path.join(dir, BASE_FILE)))
        expect(result).toEqual({
          rows: 7,
          // 3 + 2 + 3 + 2 rows written, 7 distinct keys.
          duplicatesRemoved: 3,
          partsMerged: 3,
          file: path.join("lake", "stock_bars_1s", `date=${DATE}`, BASE_FILE),
          bytes: bytes.byteLength,
          sha256: sha256(bytes)
        })
        expect(yield* readRows(path.join(dir, BASE_FILE))).toEqual(streamedRows)
        expect(yield* readPartition(dataDir, StockBars1s, DATE)).toEqual(streamedRows)
      })
  )

  it.scopedLive("compaction is idempotent: a compacted partition is not rewritten", () =>
    Effect.gen(function* () {
      const { dataDir, sink, dir } = yield* setup
      yield* streamedDay(sink)
      const first = yield* compact(options(dataDir), StockBars1s, DATE)
      const file = path.join(dir, BASE_FILE)
      const before = yield* Effect.promise(async () => ({
        bytes: await fs.readFile(file),
        stat: await fs.stat(file)
      }))
      const second = yield* compact(options(dataDir), StockBars1s, DATE)
      const after = yield* Effect.promise(async () => ({
        bytes: await fs.readFile(file),
        stat: await fs.stat(file)
      }))
      expect(second).toEqual({ ...first, duplicatesRemoved: 0, partsMerged: 0 })
      expect(Buffer.compare(after.bytes, before.bytes)).toBe(0)
      // Same inode, same mtime: no temp + rename happened.
      expect(after.stat.ino).toBe(before.stat.ino)
      expect(after.stat.mtimeMs).toBe(before.stat.mtimeMs)
      expect(yield* ls(dir)).toEqual([BASE_FILE])
    })
  )

  it.scopedLive("compacting parts without a base, and a partition that does not exist", () =>
    Effect.gen(function* () {
      const { dataDir, sink, dir } = yield* setup
      expect(yield* compact(options(dataDir), StockBars1s, DATE)).toEqual({
        rows: 0,
        duplicatesRemoved: 0,
        partsMerged: 0
      })
      yield* sink.commit(write([bar("SPY", 1), bar("SPY", 2)], "append"))
      yield* sink.commit(write([bar("SPY", 0), bar("SPY", 2, 7)], "append"))
      const result = yield* compact(options(dataDir), StockBars1s, DATE)
      expect(result).toMatchObject({ rows: 3, duplicatesRemoved: 1, partsMerged: 2 })
      expect(yield* readRows(path.join(dir, BASE_FILE))).toEqual([
        bar("SPY", 0),
        bar("SPY", 1),
        bar("SPY", 2, 7)
      ])
      // Appends after a compaction land after the base and still win.
      yield* sink.commit(write([bar("SPY", 1, 55)], "append"))
      expect(yield* readPartition(dataDir, StockBars1s, DATE)).toEqual([
        bar("SPY", 0),
        bar("SPY", 1, 55),
        bar("SPY", 2, 7)
      ])
      yield* compact(options(dataDir), StockBars1s, DATE)
      expect(yield* readRows(path.join(dir, BASE_FILE))).toEqual([
        bar("SPY", 0),
        bar("SPY", 1, 55),
        bar("SPY", 2, 7)
      ])
    })
  )

  it.scopedLive("a crash after the intent, before the rename, rolls back: no row lost, none doubled", () =>
    Effect.gen(function* () {
      const { dataDir, sink, dir } = yield* setup
      yield* streamedDay(sink)
      const parts = (yield* ls(dir)).filter((n) => n !== BASE_FILE)
      const baseBefore = yield* Effect.promise(() => fs.readFile(path.join(dir, BASE_FILE)))
      // The compaction got as far as the intent and a half-written temporary of the new base.
      const merged = encodeParquet(StockBars1s, streamedRows, encodeOptions)
      yield* Effect.promise(async () => {
        await fs.writeFile(
          path.join(dir, INTENT_FILE),
          JSON.stringify({ version: 1, base: BASE_FILE, sha256: sha256(merged), parts })
        )
        await fs.writeFile(path.join(dir, ".part-0000.parquet.tmp-4194305-deadbe"), merged.subarray(0, 100))
      })
      // Readers ignore the intent while the old base is in place.
      expect(yield* readPartition(dataDir, StockBars1s, DATE)).toEqual(streamedRows)

      const recovery = yield* recoverPartition(dir)
      expect(recovery).toEqual({ action: "rolledBack", removedParts: [] })
      expect(yield* ls(dir)).toEqual([BASE_FILE, ...parts])
      const baseAfter = yield* Effect.promise(() => fs.readFile(path.join(dir, BASE_FILE)))
      expect(Buffer.compare(baseAfter, baseBefore)).toBe(0)
      expect(yield* readPartition(dataDir, StockBars1s, DATE)).toEqual(streamedRows)

      // Compaction now runs to the end.
      const result = yield* compact(options(dataDir), StockBars1s, DATE)
      expect(result).toMatchObject({ rows: 7, partsMerged: 3, sha256: sha256(merged) })
      expect(yield* ls(dir)).toEqual([BASE_FILE])
      expect(yield* readRows(path.join(dir, BASE_FILE))).toEqual(streamedRows)
    })
  )

  it.scopedLive(
    "a crash after the rename, before the parts are deleted, rolls forward: no part resurrected",
    () =>
      Effect.gen(function* () {
        const { dataDir, sink, dir } = yield* setup
        yield* streamedDay(sink)
        const parts = (yield* ls(dir)).filter((n) => n !== BASE_FILE)
        // A backfill --overwrite of SPY (rows differ from every streamed version) renamed its new
        // base into place and deleted the first part, then the process died.
        const backfilled = [bar("QQQ", 0), bar("QQQ", 1), bar("SPY", 0, 1), bar("SPY", 1, 1)]
        const newBase = encodeParquet(StockBars1s, backfilled, encodeOptions)
        yield* Effect.promise(async () => {
          await fs.writeFile(
            path.join(dir, INTENT_FILE),
            JSON.stringify({ version: 1, base: BASE_FILE, sha256: sha256(newBase), parts })
          )
          await fs.writeFile(path.join(dir, BASE_FILE), newBase)
          await fs.unlink(path.join(dir, parts[0]!))
        })
        // Readers already see the new base alone: the remaining parts are retired.
        expect(yield* readPartition(dataDir, StockBars1s, DATE)).toEqual(backfilled)
        expect((yield* ls(dir)).length).toBe(4)

        const recovery = yield* recoverPartition(dir)
        expect(recovery).toEqual({ action: "completed", removedParts: parts })
        expect(yield* ls(dir)).toEqual([BASE_FILE])
        expect(yield* readRows(path.join(dir, BASE_FILE))).toEqual(backfilled)
        // Recovering again is a no-op.
        expect(yield* recoverPartition(dir)).toEqual({ action: "none", removedParts: [] })
      })
  )

  it.scopedLive("the next append or compaction completes a pending intent first", () =>
    Effect.gen(function* () {
      const { dataDir, sink, dir } = yield* setup
      yield* streamedDay(sink)
      const parts = (yield* ls(dir)).filter((n) => n !== BASE_FILE)
      const newBase = encodeParquet(StockBars1s, streamedRows, encodeOptions)
      yield* Effect.promise(async () => {
        await fs.writeFile(
          path.join(dir, INTENT_FILE),
          JSON.stringify({ version: 1, base: BASE_FILE, sha256: sha256(newBase), parts })
        )
        await fs.writeFile(path.join(dir, BASE_FILE), newBase)
      })
      const appended = yield* sink.commit(write([bar("SPY", 4, 404)], "append"))
      const names = yield* ls(dir)
      expect(names).toEqual([BASE_FILE, path.basename(appended.file ?? "")])
      expect(yield* readPartition(dataDir, StockBars1s, DATE)).toEqual(
        mergeRuns(StockBars1s, [streamedRows, [bar("SPY", 4, 404)]])
      )

      // Same through compact: an intent whose base was never renamed is dropped, parts kept.
      yield* Effect.promise(() =>
        fs.writeFile(
          path.join(dir, INTENT_FILE),
          JSON.stringify({ version: 1, base: BASE_FILE, sha256: "0".repeat(64), parts: [names[1]] })
        )
      )
      const result = yield* compact(options(dataDir), StockBars1s, DATE)
      expect(result).toMatchObject({ rows: 7, duplicatesRemoved: 1, partsMerged: 1 })
      expect(yield* ls(dir)).toEqual([BASE_FILE])
      expect(yield* readRows(path.join(dir, BASE_FILE))).toEqual(
        mergeRuns(StockBars1s, [streamedRows, [bar("SPY", 4, 404)]])
      )
    })
  )

  it.scopedLive("an intent naming anything but part files is refused, and nothing is deleted", () =>
    Effect.gen(function* () {
      const { sink, dir } = yield* setup
      yield* sink.commit(write([bar("SPY", 0)], "replace"))
      yield* Effect.promise(() =>
        fs.writeFile(
          path.join(dir, INTENT_FILE),
          JSON.stringify({ version: 1, base: BASE_FILE, sha256: null, parts: ["../../../etc"] })
        )
      )
      const error = yield* Effect.flip(recoverPartition(dir))
      expect(error._tag).toBe("StorageError")
      expect(error.path).toBe(path.join(dir, INTENT_FILE))
      expect(yield* ls(dir)).toEqual([INTENT_FILE, BASE_FILE].sort())
      const commitError = yield* Effect.flip(sink.commit(write([bar("SPY", 1)], "append")))
      expect(commitError.detail).toContain(INTENT_FILE)
    })
  )

  it.scopedLive("glob readers see only *.parquet files, and each of them is a whole Parquet file", () =>
    Effect.gen(function* () {
      const { sink, dir } = yield* setup
      yield* streamedDay(sink)
      // A crashed compaction's leftovers: the intent and a temporary of the new base.
      const merged = encodeParquet(StockBars1s, streamedRows, encodeOptions)
      const parts = (yield* ls(dir)).filter((n) => n !== BASE_FILE)
      const temp = ".part-0000.parquet.tmp-4194305-abcdef"
      yield* Effect.promise(async () => {
        await fs.writeFile(
          path.join(dir, INTENT_FILE),
          JSON.stringify({ version: 1, base: BASE_FILE, sha256: sha256(merged), parts })
        )
        await fs.writeFile(path.join(dir, temp), merged.subarray(0, 10))
      })
      const names = yield* ls(dir)
      const globbed = names.filter((n) => n.endsWith(".parquet"))
      expect(names.filter((n) => !n.endsWith(".parquet")).sort()).toEqual([temp, INTENT_FILE].sort())
      expect(globbed).toEqual([BASE_FILE, ...parts])
      for (const name of globbed) {
        const rows = yield* readRows(path.join(dir, name))
        expect(rows.length).toBeGreaterThan(0)
      }
      // The temporaries of an append, a base rewrite and the intent never end in .parquet either.
      for (const target of [partFileName(9), BASE_FILE, INTENT_FILE]) {
        expect(path.basename(tempPathFor(path.join(dir, target))).endsWith(".parquet")).toBe(false)
      }
    })
  )
})
