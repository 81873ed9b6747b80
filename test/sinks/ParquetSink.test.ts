import { createHash } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { parquetMetadata } from "hyparquet"
import { SinkError, StorageError } from "../../src/domain/errors.js"
import { type StockBar, StockBars1s } from "../../src/domain/StockBar.js"
import * as ParquetSink from "../../src/sinks/ParquetSink.js"
import { decodeParquet } from "../../src/sinks/parquetCodec.js"
import type { PartitionWrite, WriteMode } from "../../src/sinks/Sink.js"

const tempDir = Effect.acquireRelease(
  Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "tapehouse-parquet-"))),
  (dir) =>
    Effect.promise(async () => {
      await fs.chmod(dir, 0o700).catch(() => undefined)
      await fs.rm(dir, { recursive: true, force: true })
    })
)

const DATE = "2024-01-02"
const OPEN = Date.UTC(2024, 0, 2, 14, 30)
const partitionDir = (dataDir: string) => path.join(dataDir, "lake", "stock_bars_1s", `date=${DATE}`)
const partFile = (dataDir: string) => path.join(partitionDir(dataDir), "part-0000.parquet")

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
  instruments: ReadonlyArray<string>,
  rows: ReadonlyArray<StockBar>,
  mode: WriteMode = "replace"
): PartitionWrite<StockBar> => ({ dataset: StockBars1s, date: DATE, instruments, rows, mode })

const readBack = (dataDir: string) =>
  Effect.promise(async () => decodeParquet(StockBars1s, await fs.readFile(partFile(dataDir))))

const makeSink = (dataDir: string) =>
  ParquetSink.make({ dataDir, compression: "snappy", rowGroupSize: 10_000 })

describe("ParquetSink", () => {
  it.scopedLive("writes one file per partition and reports rows, size and sha256 of the bytes", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir
      const sink = yield* makeSink(dataDir)
      expect(sink.name).toBe("parquet")
      const rows = [bar("SPY", 0), bar("SPY", 1), bar("SPY", 2)]
      const result = yield* sink.commit(write(["SPY"], rows))
      const bytes = yield* Effect.promise(() => fs.readFile(partFile(dataDir)))
      expect(result).toEqual({
        sink: "parquet",
        rows: 3,
        file: path.join("lake", "stock_bars_1s", `date=${DATE}`, "part-0000.parquet"),
        bytes: bytes.byteLength,
        sha256: createHash("sha256").update(bytes).digest("hex")
      })
      expect(yield* readBack(dataDir)).toEqual(rows)
      const metadata = parquetMetadata(
        bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)
      )
      expect(metadata.key_value_metadata).toContainEqual({ key: "tapehouse.dataset", value: "stock_bars_1s" })
      expect(yield* Effect.promise(() => fs.readdir(partitionDir(dataDir)))).toEqual(["part-0000.parquet"])
    })
  )

  it.scopedLive("replace keeps other instruments' rows and replaces those in scope", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir
      const sink = yield* makeSink(dataDir)
      yield* sink.commit(write(["SPY"], [bar("SPY", 0), bar("SPY", 1), bar("SPY", 2)]))
      yield* sink.commit(write(["QQQ"], [bar("QQQ", 0), bar("QQQ", 1)]))
      // SPY's day again, corrected and shorter: second 2 must disappear.
      const result = yield* sink.commit(write(["SPY"], [bar("SPY", 0, 200), bar("SPY", 1, 201)]))
      expect(result.rows).toBe(4)
      expect(yield* readBack(dataDir)).toEqual([
        bar("QQQ", 0),
        bar("QQQ", 1),
        bar("SPY", 0, 200),
        bar("SPY", 1, 201)
      ])
    })
  )

  it.scopedLive("a replace of every instrument the partition holds leaves exactly its rows", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir
      const sink = yield* makeSink(dataDir)
      yield* sink.commit(write(["SPY"], [bar("SPY", 0), bar("SPY", 1), bar("SPY", 2)]))
      yield* sink.commit(write(["QQQ"], [bar("QQQ", 0), bar("QQQ", 1)], "append"))
      const rows = [bar("QQQ", 5, 300), bar("SPY", 1, 201)]
      const result = yield* sink.commit(write(["QQQ", "SPY", "IWM"], rows))
      expect(result.rows).toBe(2)
      expect(yield* readBack(dataDir)).toEqual(rows)
      expect(yield* Effect.promise(() => fs.readdir(partitionDir(dataDir)))).toEqual(["part-0000.parquet"])
    })
  )

  it.scopedLive(
    "replace with no rows removes that instrument; an empty partition removes file and folder",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* tempDir
        const sink = yield* makeSink(dataDir)
        yield* sink.commit(write(["SPY"], [bar("SPY", 0)]))
        yield* sink.commit(write(["QQQ"], [bar("QQQ", 0)]))
        expect((yield* sink.commit(write(["QQQ"], []))).rows).toBe(1)
        expect(yield* readBack(dataDir)).toEqual([bar("SPY", 0)])
        const emptied = yield* sink.commit(write(["SPY"], []))
        expect(emptied).toEqual({ sink: "parquet", rows: 0 })
        const datasetDir = path.dirname(partitionDir(dataDir))
        expect(yield* Effect.promise(() => fs.readdir(datasetDir))).toEqual([])
        // Nothing to remove is fine too.
        expect(yield* sink.commit(write(["SPY"], []))).toEqual({ sink: "parquet", rows: 0 })
      })
  )

  it.scopedLive("upsert merges by key, the new row wins, nothing is removed", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir
      const sink = yield* makeSink(dataDir)
      yield* sink.commit(write(["SPY"], [bar("SPY", 0), bar("SPY", 2), bar("SPY", 4)], "upsert"))
      const result = yield* sink.commit(write(["SPY"], [bar("SPY", 2, 300), bar("SPY", 3, 301)], "upsert"))
      expect(result.rows).toBe(4)
      expect(yield* readBack(dataDir)).toEqual([
        bar("SPY", 0),
        bar("SPY", 2, 300),
        bar("SPY", 3, 301),
        bar("SPY", 4)
      ])
    })
  )

  it.scopedLive("same commit twice gives identical bytes (idempotent rewrite)", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir
      const sink = yield* makeSink(dataDir)
      const rows = [bar("SPY", 0), bar("SPY", 1)]
      const first = yield* sink.commit(write(["SPY"], rows))
      const second = yield* sink.commit(write(["SPY"], rows))
      expect(second.sha256).toBe(first.sha256)
    })
  )

  it.scopedLive("concurrent commits to one partition lose no instrument", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir
      const sink = yield* makeSink(dataDir)
      const symbols = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF"]
      yield* Effect.forEach(symbols, (s) => sink.commit(write([s], [bar(s, 0), bar(s, 1)])), {
        concurrency: "unbounded"
      })
      const rows = yield* readBack(dataDir)
      expect(rows.map((r) => r.symbol)).toEqual(symbols.flatMap((s) => [s, s]))
    })
  )

  it.scopedLive("removes a stale temporary and never reads it as data", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir
      const sink = yield* makeSink(dataDir)
      yield* sink.commit(write(["SPY"], [bar("SPY", 0)]))
      const stale = path.join(partitionDir(dataDir), ".part-0000.parquet.tmp-4194305-deadbe")
      yield* Effect.promise(() => fs.writeFile(stale, "half-written garbage"))
      const result = yield* sink.commit(write(["QQQ"], [bar("QQQ", 0)]))
      expect(result.rows).toBe(2)
      expect(yield* readBack(dataDir)).toEqual([bar("QQQ", 0), bar("SPY", 0)])
      expect(yield* Effect.promise(() => fs.readdir(partitionDir(dataDir)))).toEqual(["part-0000.parquet"])
    })
  )

  it.scopedLive("a corrupt existing file fails the commit and is left untouched", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir
      const sink = yield* makeSink(dataDir)
      yield* Effect.promise(async () => {
        await fs.mkdir(partitionDir(dataDir), { recursive: true })
        await fs.writeFile(partFile(dataDir), "not parquet")
      })
      const error = yield* Effect.flip(sink.commit(write(["SPY"], [bar("SPY", 0)])))
      expect(error).toBeInstanceOf(SinkError)
      expect(error).toMatchObject({ sink: "parquet", dataset: "stock_bars_1s", partition: `date=${DATE}` })
      expect(error.detail).toContain(partFile(dataDir))
      expect(yield* Effect.promise(() => fs.readFile(partFile(dataDir), "utf8"))).toBe("not parquet")
    })
  )

  it.scopedLive("an unwritable dataset folder gives a SinkError naming the path", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir
      const sink = yield* makeSink(dataDir)
      const datasetDir = path.join(dataDir, "lake", "stock_bars_1s")
      const isRoot = process.getuid?.() === 0
      if (isRoot) {
        // chmod does not stop root: a regular file where the dataset folder should be does.
        yield* Effect.promise(() => fs.writeFile(datasetDir, "in the way"))
      } else {
        yield* Effect.promise(() => fs.mkdir(datasetDir, { mode: 0o500 }))
      }
      const error = yield* Effect.flip(sink.commit(write(["SPY"], [bar("SPY", 0)])))
      expect(error).toBeInstanceOf(SinkError)
      expect(error).toMatchObject({ sink: "parquet", dataset: "stock_bars_1s", partition: `date=${DATE}` })
      expect(error.detail).toContain(datasetDir)
      expect(error.detail).toMatch(
        isRoot
          ? /(ENOTDIR|EEXIST) .*A file is in the way/
          : /EACCES \(permission denied\)\. Fix the ownership/
      )
    })
  )

  it.scopedLive("construction fails with a StorageError when the lake folder cannot be made", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir
      yield* Effect.promise(() => fs.writeFile(path.join(dataDir, "lake"), "a file, not a folder"))
      const error = yield* Effect.flip(makeSink(dataDir))
      expect(error).toBeInstanceOf(StorageError)
      expect(error.path).toBe(path.join(dataDir, "lake"))
    })
  )

  it.scopedLive("a bad partition date is refused before touching the disk", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir
      const sink = yield* makeSink(dataDir)
      const error = yield* Effect.flip(sink.commit({ ...write(["SPY"], [bar("SPY", 0)]), date: "../../etc" }))
      expect(error.detail).toBe("partition date ../../etc is not YYYY-MM-DD")
      expect(yield* Effect.promise(() => fs.readdir(path.join(dataDir, "lake")))).toEqual([])
    })
  )

  it.scopedLive("zstd files are written and read back", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir
      const sink = yield* ParquetSink.make({ dataDir, compression: "zstd", rowGroupSize: 2 })
      const rows = [bar("SPY", 0), bar("SPY", 1), bar("SPY", 2)]
      yield* sink.commit(write(["SPY"], rows))
      const bytes = yield* Effect.promise(() => fs.readFile(partFile(dataDir)))
      const metadata = parquetMetadata(
        bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)
      )
      expect(metadata.row_groups.length).toBe(2)
      expect(metadata.row_groups[0]!.columns[0]!.meta_data?.codec).toBe("ZSTD")
      expect(yield* readBack(dataDir)).toEqual(rows)
    })
  )

  it.scopedLive("append adds a part file and leaves the base alone", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir
      const sink = yield* makeSink(dataDir)
      yield* sink.commit(write(["SPY"], [bar("SPY", 0), bar("SPY", 1)]))
      const base = yield* Effect.promise(() => fs.readFile(partFile(dataDir)))
      const result = yield* sink.commit(write(["SPY"], [bar("SPY", 1, 150), bar("SPY", 2)], "append"))
      expect(result).toMatchObject({
        sink: "parquet",
        rows: 2,
        file: path.join("lake", "stock_bars_1s", `date=${DATE}`, "part-000001.parquet")
      })
      expect(yield* Effect.promise(() => fs.readdir(partitionDir(dataDir)))).toEqual([
        "part-0000.parquet",
        "part-000001.parquet"
      ])
      const after = yield* Effect.promise(() => fs.readFile(partFile(dataDir)))
      expect(Buffer.compare(after, base)).toBe(0)
      expect(yield* ParquetSink.readPartition(dataDir, StockBars1s, DATE)).toEqual([
        bar("SPY", 0),
        bar("SPY", 1, 150),
        bar("SPY", 2)
      ])
    })
  )

  it.scopedLive(
    "replace (backfill --overwrite) of a streamed day leaves exactly the backfilled rows in the base",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* tempDir
        const sink = yield* makeSink(dataDir)
        yield* sink.commit(write(["SPY", "QQQ"], [bar("QQQ", 0), bar("SPY", 0)]))
        yield* sink.commit(write(["SPY"], [bar("SPY", 1), bar("SPY", 2)], "append"))
        yield* sink.commit(
          write(["SPY", "QQQ"], [bar("QQQ", 1), bar("SPY", 2, 202), bar("SPY", 3)], "append")
        )
        const backfilled = [bar("SPY", 0, 300), bar("SPY", 1, 301)]
        const result = yield* sink.commit(write(["SPY"], backfilled))
        // SPY: exactly the backfill (streamed seconds 2 and 3 gone); QQQ, out of scope: every streamed row.
        const expected = [bar("QQQ", 0), bar("QQQ", 1), ...backfilled]
        expect(result.rows).toBe(4)
        expect(result.file).toBe(path.join("lake", "stock_bars_1s", `date=${DATE}`, "part-0000.parquet"))
        expect(yield* Effect.promise(() => fs.readdir(partitionDir(dataDir)))).toEqual(["part-0000.parquet"])
        expect(yield* readBack(dataDir)).toEqual(expected)
        expect(yield* ParquetSink.readPartition(dataDir, StockBars1s, DATE)).toEqual(expected)
      })
  )

  it.scopedLive("an append makes the partition folder again when it was removed after the first", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir
      const sink = yield* makeSink(dataDir)
      yield* sink.commit(write(["SPY"], [bar("SPY", 0)], "append"))
      yield* Effect.promise(() => fs.rm(partitionDir(dataDir), { recursive: true }))
      const again = yield* sink.commit(write(["SPY"], [bar("SPY", 1)], "append"))
      expect(again).toMatchObject({ rows: 1 })
      expect(yield* ParquetSink.readPartition(dataDir, StockBars1s, DATE)).toEqual([bar("SPY", 1)])
    })
  )

  it.scopedLive("upsert on a streamed day folds the parts in, then the upserted rows win", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir
      const sink = yield* makeSink(dataDir)
      yield* sink.commit(write(["SPY"], [bar("SPY", 0), bar("SPY", 1)], "append"))
      yield* sink.commit(write(["SPY"], [bar("SPY", 1, 111)], "append"))
      const result = yield* sink.commit(write(["SPY"], [bar("SPY", 0, 100.5)], "upsert"))
      expect(result.rows).toBe(2)
      expect(yield* Effect.promise(() => fs.readdir(partitionDir(dataDir)))).toEqual(["part-0000.parquet"])
      expect(yield* readBack(dataDir)).toEqual([bar("SPY", 0, 100.5), bar("SPY", 1, 111)])
    })
  )

  it.scopedLive("an empty replace of the only streamed instrument removes parts, base and folder", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir
      const sink = yield* makeSink(dataDir)
      yield* sink.commit(write(["SPY"], [bar("SPY", 0)]))
      yield* sink.commit(write(["SPY"], [bar("SPY", 1)], "append"))
      expect(yield* sink.commit(write(["SPY"], []))).toEqual({ sink: "parquet", rows: 0 })
      const datasetDir = path.dirname(partitionDir(dataDir))
      expect(yield* Effect.promise(() => fs.readdir(datasetDir))).toEqual([])
      expect(yield* ParquetSink.readPartition(dataDir, StockBars1s, DATE)).toEqual([])
    })
  )

  it("mergeRows keeps the last of equal keys and sorts by key", () => {
    const merged = ParquetSink.mergeRows(
      StockBars1s,
      [bar("SPY", 1), bar("AAA", 5)],
      [bar("SPY", 1, 50), bar("AAA", 0)]
    )
    expect(merged).toEqual([bar("AAA", 0), bar("AAA", 5), bar("SPY", 1, 50)])
  })
})
