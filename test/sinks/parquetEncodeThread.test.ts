import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { type StockBar, StockBars1s } from "../../src/domain/StockBar.js"
import { concatRows, rowsOfColumns } from "../../src/pipeline/columnBatch.js"
import { OFF_THREAD_MIN_ROWS } from "../../src/sinks/compact.js"
import * as ParquetSink from "../../src/sinks/ParquetSink.js"
import { columnTableOf, encodeColumns, loadCompression } from "../../src/sinks/parquetCodec.js"
import { type ColumnarRows, columnsFromRows } from "../../src/sinks/parquetColumns.js"
import * as EncodeThread from "../../src/sinks/parquetEncodeThread.js"
import type { PartitionWrite } from "../../src/sinks/Sink.js"

const DATE = "2024-01-02"
const OPEN = Date.UTC(2024, 0, 2, 14, 30)

/** `n` bars of a few symbols, in key order, with nulls in the nullable columns. */
const bars = (n: number): Array<StockBar> => {
  const symbols = ["AAA", "BBB", "CCC"]
  const per = Math.ceil(n / symbols.length)
  const rows: Array<StockBar> = []
  for (let i = 0; i < n; i++) {
    const s = Math.floor(i / per)
    const second = i % per
    const close = 100 + Math.sin(i) * 3
    rows.push({
      symbol: symbols[s]!,
      ts: OPEN + second * 1000,
      open: close,
      high: close + 1,
      low: close - 1,
      close,
      volume: i % 7,
      vwap: i % 5 === 0 ? null : close,
      trades: i % 3 === 0 ? null : i
    })
  }
  return rows
}

const tableOf = (rows: ReadonlyArray<StockBar>): ColumnarRows => ({
  length: rows.length,
  columns: columnsFromRows(StockBars1s.columns, rows as unknown as ReadonlyArray<Record<string, unknown>>)
})

/** The same rows joined from two batches, as the backfill joins a unit: in SharedArrayBuffers. */
const sharedTableOf = (rows: ReadonlyArray<StockBar>): ColumnarRows => {
  const half = Math.floor(rows.length / 2)
  return concatRows(StockBars1s.columns, [tableOf(rows.slice(0, half)), tableOf(rows.slice(half))])
}

const tempDir = Effect.acquireRelease(
  Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "tapehouse-encode-thread-"))),
  (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
)

const columnarWrite = (table: ColumnarRows): PartitionWrite<StockBar> => ({
  dataset: StockBars1s,
  date: DATE,
  instruments: ["AAA", "BBB", "CCC"],
  mode: "replace",
  columns: table,
  get rows() {
    return rowsOfColumns(StockBars1s, table)
  }
})

describe("the Parquet encoder thread", () => {
  it.live("writes the bytes the in-thread encoder writes, shared or copied columns, snappy and zstd", () =>
    Effect.promise(async () => {
      await loadCompression("zstd")
      const rows = bars(50_000)
      const shared = sharedTableOf(rows)
      expect(shared.columns[1]!.kind === "int" && shared.columns[1]!.values.buffer).toBeInstanceOf(
        SharedArrayBuffer
      )
      for (const compression of ["snappy", "zstd", "uncompressed"] as const) {
        const options = { compression, rowGroupSize: 8_192 }
        const here = encodeColumns(StockBars1s, tableOf(rows), options)
        const before = EncodeThread.stats().onWorker
        const [copied, fromShared] = await Promise.all([
          EncodeThread.encodeOffThread(columnTableOf(StockBars1s, tableOf(rows)), options),
          EncodeThread.encodeOffThread(columnTableOf(StockBars1s, shared), options)
        ])
        expect(EncodeThread.stats().onWorker).toBe(before + 2)
        expect(Buffer.from(copied).equals(Buffer.from(here))).toBe(true)
        expect(Buffer.from(fromShared).equals(Buffer.from(here))).toBe(true)
      }
      // The shared columns are still readable here once encoded there.
      expect(rowsOfColumns(StockBars1s, shared)).toEqual(rows)
    })
  )

  it.live("a table the encoder refuses fails with the encoder's reason", () =>
    Effect.promise(async () => {
      const table = tableOf(bars(100))
      const broken: ColumnarRows = { length: table.length + 1, columns: table.columns }
      const error = await EncodeThread.encodeOffThread(columnTableOf(StockBars1s, broken), {
        compression: "snappy",
        rowGroupSize: 1000
      }).then(
        () => undefined,
        (e: unknown) => e
      )
      expect(String(error)).toMatch(/cannot encode stock_bars_1s: parquet columns must have the same length/)
    })
  )

  it.scopedLive("the sink encodes a large columnar write there: the same file as in this thread", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir
      const sink = yield* ParquetSink.make({ dataDir, compression: "snappy", rowGroupSize: 10_000 })
      const rows = bars(OFF_THREAD_MIN_ROWS + 1000)
      const before = EncodeThread.stats().onWorker
      const result = yield* sink.commit(columnarWrite(sharedTableOf(rows)))
      expect(EncodeThread.stats().onWorker).toBe(before + 1)
      const file = path.join(dataDir, "lake", "stock_bars_1s", `date=${DATE}`, "part-0000.parquet")
      const bytes = yield* Effect.promise(() => fs.readFile(file))
      const expected = encodeColumns(StockBars1s, tableOf(rows), {
        compression: "snappy",
        rowGroupSize: 10_000
      })
      expect(bytes.equals(Buffer.from(expected))).toBe(true)
      expect(result.rows).toBe(rows.length)
    })
  )

  it.scopedLive(
    "a thread that stops mid-encode fails the commit clearly, nothing is written, the next one works",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* tempDir
        const sink = yield* ParquetSink.make({ dataDir, compression: "snappy", rowGroupSize: 10_000 })
        const rows = bars(400_000)
        const partition = path.join(dataDir, "lake", "stock_bars_1s", `date=${DATE}`)
        const commit = Effect.runPromiseExit(
          sink.commit({ ...columnarWrite(sharedTableOf(rows)), staged: true })
        )
        // Stop the thread while it holds the table.
        yield* Effect.promise(async () => {
          while (EncodeThread.stats().inFlight === 0) await new Promise((r) => setTimeout(r, 1))
          await EncodeThread.shutdown()
        })
        const exit = yield* Effect.promise(() => commit)
        expect(Exit.isFailure(exit)).toBe(true)
        expect(String(Exit.isFailure(exit) ? exit.cause : "")).toMatch(
          /cannot encode rows: the Parquet encoder thread stopped before it answered \(shut down\); the write was not committed/
        )
        const left = yield* Effect.promise(() => fs.readdir(partition).catch(() => []))
        expect(left).toEqual([])
        // A new thread takes the next write.
        const result = yield* sink.commit(columnarWrite(sharedTableOf(rows.slice(0, OFF_THREAD_MIN_ROWS))))
        expect(result.rows).toBe(OFF_THREAD_MIN_ROWS)
        expect(yield* Effect.promise(() => fs.readdir(partition))).toEqual(["part-0000.parquet"])
      })
  )
})
