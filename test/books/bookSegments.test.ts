import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { parquetMetadata, parquetSchema } from "hyparquet"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { bookPartitionDir, NULL_VALUE, segmentFileName, utcDate } from "../../src/books/bookDatasets.js"
import {
  BookDeltaBuffer,
  decodeBookDeltas,
  encodeBookDeltas,
  encodeBookSnapshots,
  listSegments,
  readBookSnapshots,
  snapshotRows,
  writeSegmentFile
} from "../../src/books/bookSegments.js"

let dir: string
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "book-seg-"))
})
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true })
})

const fill = (buffer: BookDeltaBuffer, usdm: boolean): void => {
  // A snapshot block, then two events.
  buffer.appendEvent(
    1_700_000_000_000,
    usdm ? 1_699_999_999_990 : NULL_VALUE,
    1_700_000_000_001_000_123n,
    10,
    10,
    NULL_VALUE,
    [3513, 3512],
    [100, 5],
    [3514],
    [7],
    true
  )
  buffer.appendEvent(
    1_700_000_000_100,
    usdm ? 1_700_000_000_095 : NULL_VALUE,
    1_700_000_000_101_000_000n,
    11,
    12,
    usdm ? 10 : NULL_VALUE,
    [3513],
    [0],
    [3514, 3515],
    [8, 90_071_992_547_409],
    false
  )
}

describe("book segments", () => {
  it("round-trips book_deltas with the symbol's own scales and nulls", async () => {
    const buffer = new BookDeltaBuffer(16)
    fill(buffer, false)
    expect(buffer.length).toBe(6)
    const bytes = await encodeBookDeltas(buffer.rows(), {
      venue: "binance-spot",
      symbol: "NKNUSDT",
      scales: { priceScale: 4, sizeScale: 0 }
    })
    // The DECIMAL annotation carries the per-file scale.
    const schema = parquetSchema(parquetMetadata(bytes.slice().buffer))
    const price = schema.children.find((c) => c.element.name === "price")!.element
    const size = schema.children.find((c) => c.element.name === "size")!.element
    expect(price.type).toBe("INT64")
    expect(price.logical_type).toEqual({ type: "DECIMAL", scale: 4, precision: 18 })
    expect(size.logical_type).toEqual({ type: "DECIMAL", scale: 0, precision: 18 })

    const back = await decodeBookDeltas(bytes)
    expect(back.info).toEqual({
      dataset: "book_deltas",
      venue: "binance-spot",
      symbol: "NKNUSDT",
      scales: { priceScale: 4, sizeScale: 0 },
      rows: 6
    })
    const want = buffer.rows()
    expect(Array.from(back.rows.price)).toEqual(Array.from(want.price))
    expect(Array.from(back.rows.size)).toEqual([100, 5, 7, 0, 8, 90_071_992_547_409])
    expect(Array.from(back.rows.sideIsBid)).toEqual([1, 1, 0, 1, 0, 0])
    expect(Array.from(back.rows.isSnapshot)).toEqual([1, 1, 1, 0, 0, 0])
    expect(Array.from(back.rows.transactionTime)).toEqual(new Array(6).fill(NULL_VALUE))
    expect(Array.from(back.rows.prevFinalUpdateId)).toEqual(new Array(6).fill(NULL_VALUE))
    expect(Array.from(back.rows.firstUpdateId)).toEqual([10, 10, 10, 11, 11, 11])
    expect(Array.from(back.rows.finalUpdateId)).toEqual([10, 10, 10, 12, 12, 12])
    expect(back.rows.receivedTime[3]).toBe(1_700_000_000_101_000_000n)
  })

  it("keeps T and pu on USD-M rows", async () => {
    const buffer = new BookDeltaBuffer()
    fill(buffer, true)
    const back = await decodeBookDeltas(
      await encodeBookDeltas(buffer.rows(), {
        venue: "binance-usdm",
        symbol: "SUSHIUSDT",
        scales: { priceScale: 3, sizeScale: 0 }
      })
    )
    expect(Array.from(back.rows.transactionTime)).toEqual(Array.from(buffer.rows().transactionTime))
    expect(Array.from(back.rows.prevFinalUpdateId)).toEqual([NULL_VALUE, NULL_VALUE, NULL_VALUE, 10, 10, 10])
  })

  it("reads a segment of several row groups back column by column, and rejects an unsafe integer", async () => {
    const buffer = new BookDeltaBuffer()
    for (let k = 0; k < 5; k++) fill(buffer, true)
    const meta = { venue: "binance-usdm", symbol: "BTCUSDT", scales: { priceScale: 2, sizeScale: 0 } }
    const want = buffer.rows()
    const back = await decodeBookDeltas(await encodeBookDeltas(want, meta, { rowGroupSize: 7 }))
    expect(back.rows.length).toBe(30)
    for (const key of [
      "eventTime",
      "transactionTime",
      "firstUpdateId",
      "prevFinalUpdateId",
      "price",
      "size"
    ] as const)
      expect(Array.from(back.rows[key])).toEqual(Array.from(want[key]))
    expect(Array.from(back.rows.receivedTime)).toEqual(Array.from(want.receivedTime))
    expect(Array.from(back.rows.isSnapshot)).toEqual(Array.from(want.isSnapshot))
    expect(Array.from(back.rows.sideIsBid)).toEqual(Array.from(want.sideIsBid))

    const huge = new BookDeltaBuffer()
    huge.appendEvent(1, NULL_VALUE, 1n, 1, 1, NULL_VALUE, [2 ** 54], [1], [], [], false)
    await expect(decodeBookDeltas(await encodeBookDeltas(huge.rows(), meta))).rejects.toThrow(
      /column price: .* beyond a safe integer/
    )
  })

  it("writes atomically and lists segments in write order", async () => {
    const lake = path.join(dir, "lake")
    const buffer = new BookDeltaBuffer()
    fill(buffer, false)
    const meta = { venue: "binance-spot", symbol: "BTCUSDT", scales: { priceScale: 2, sizeScale: 5 } }
    const bytes = await encodeBookDeltas(buffer.rows(), meta)
    const date = utcDate(1_700_000_000_000)
    for (const [symbol, seq] of [
      ["BTCUSDT", 2],
      ["ETHUSDT", 1],
      ["BTCUSDT", 1]
    ] as const) {
      const p = { dataset: "book_deltas", venue: "binance-spot", date, symbol } as const
      await writeSegmentFile(path.join(bookPartitionDir(lake, p), segmentFileName(seq)), bytes)
    }
    const found = await listSegments(lake, "book_deltas", { venue: "binance-spot" })
    expect(found.map((f) => [f.seq, f.partition.symbol])).toEqual([
      [1, "BTCUSDT"],
      [1, "ETHUSDT"],
      [2, "BTCUSDT"]
    ])
    expect(found[0]!.file).toBe(
      path.join(
        lake,
        "book_deltas",
        "venue=binance-spot",
        `date=${date}`,
        "symbol=BTCUSDT",
        "seg-000000000001.parquet"
      )
    )
    expect((await listSegments(lake, "book_deltas", { afterSeq: 1 })).map((f) => f.seq)).toEqual([2])
    expect(await listSegments(lake, "book_deltas", { symbol: "XRPUSDT" })).toEqual([])
    // No temporary is left behind.
    const names = await fs.readdir(path.dirname(found[0]!.file))
    expect(names.sort()).toEqual(["seg-000000000001.parquet", "seg-000000000002.parquet"])
  })

  it("round-trips book_snapshots", async () => {
    const rows = snapshotRows({
      receivedTime: 5_000_000_000n,
      eventTime: NULL_VALUE,
      transactionTime: NULL_VALUE,
      lastUpdateId: 42,
      purpose: "validate",
      bidPrices: [100, 99],
      bidSizes: [1, 2],
      askPrices: [101],
      askSizes: [3]
    })
    const file = path.join(dir, "s", segmentFileName(7))
    await writeSegmentFile(
      file,
      await encodeBookSnapshots(rows, {
        venue: "binance-spot",
        symbol: "ETHUSDT",
        scales: { priceScale: 2, sizeScale: 4 }
      })
    )
    const back = await readBookSnapshots(file)
    expect(back.info.scales).toEqual({ priceScale: 2, sizeScale: 4 })
    expect(Array.from(back.rows.level)).toEqual([0, 1, 0])
    expect(Array.from(back.rows.sideIsBid)).toEqual([1, 1, 0])
    expect(Array.from(back.rows.price)).toEqual([100, 99, 101])
    expect(back.rows.purpose).toEqual(["validate", "validate", "validate"])
    expect(Array.from(back.rows.eventTime)).toEqual([NULL_VALUE, NULL_VALUE, NULL_VALUE])
    expect(Array.from(back.rows.lastUpdateId)).toEqual([42, 42, 42])
    await expect(decodeBookDeltas(await fs.readFile(file))).rejects.toThrow(/not a book_deltas segment/)
  })
})

describe("applyDeltaRows", () => {
  it("replaces the book at a snapshot block and sets levels after it", async () => {
    const { OrderBook } = await import("../../src/books/OrderBook.js")
    const { applyDeltaRows, initialReplayState } = await import("../../src/books/bookReplay.js")
    const buffer = new BookDeltaBuffer()
    fill(buffer, false)
    // A second snapshot block right after: it replaces everything before.
    buffer.appendEvent(
      1_700_000_000_200,
      NULL_VALUE,
      1_700_000_000_201_000_000n,
      20,
      20,
      NULL_VALUE,
      [3400],
      [1],
      [3600],
      [2],
      true
    )
    buffer.appendEvent(
      1_700_000_000_300,
      NULL_VALUE,
      1_700_000_000_301_000_000n,
      21,
      21,
      NULL_VALUE,
      [3401],
      [4],
      [],
      [],
      false
    )
    const book = new OrderBook()
    const state = initialReplayState()
    const ends: Array<number> = []
    applyDeltaRows(book, buffer.rows(), state, 0, 6, (row) => ends.push(row))
    expect(ends).toEqual([2, 5])
    expect([book.bids.price(0), book.bids.size(0), book.bids.length]).toEqual([3512, 5, 1])
    expect([book.asks.price(0), book.asks.price(1), book.asks.price(2)]).toEqual([3514, 3515, undefined])
    applyDeltaRows(book, buffer.rows(), state, 6)
    expect(state.lastUpdateId).toBe(21)
    expect([book.bids.price(0), book.bids.price(1), book.bids.length, book.asks.length]).toEqual([
      3401, 3400, 2, 1
    ])
  })
})
