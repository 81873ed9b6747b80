import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Either } from "effect"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { checkpointOf, checkpointSeqs, restoreBooks } from "../../src/books/bookCheckpoints.js"
import { NULL_VALUE } from "../../src/books/bookDatasets.js"
import { listSegments } from "../../src/books/bookSegments.js"
import { BookWal } from "../../src/books/bookWal.js"
import { isEncrypted, parseBookKey } from "../../src/books/encryption.js"
import { OrderBook } from "../../src/books/OrderBook.js"

let dataDir: string
beforeEach(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "book-wal-"))
})
afterEach(async () => {
  await fs.rm(dataDir, { recursive: true, force: true })
})

const scales = { priceScale: 2, sizeScale: 3 }
const walOf = (over: Partial<ConstructorParameters<typeof BookWal>[0]> = {}) =>
  new BookWal({
    dataDir,
    venue: "binance-spot",
    segmentBytes: 1_000_000,
    segmentMs: 1000,
    checkpointEveryMs: 3_600_000,
    checkpointEveryEvents: 1_000_000,
    checkpointsKept: 3,
    compression: "snappy",
    firstSeq: 1,
    ...over
  })

/** Applies one event to `book` and logs it (as the capture does), at `atMs`. */
const event = (wal: BookWal, book: OrderBook, id: number, atMs: number, snapshot = false) => {
  const bids = [10_000 + (id % 7)]
  const sizes = [id % 3 === 0 ? 0 : 1000 + id]
  const asks = [10_100 + (id % 5)]
  const askSizes = [500 + id]
  if (snapshot) book.clear()
  book.apply(true, bids, sizes)
  book.apply(false, asks, askSizes)
  wal
    .partition("BTCUSDT", "2026-01-02", scales)
    .appendEvent(
      atMs,
      NULL_VALUE,
      BigInt(atMs) * 1_000_000n,
      id,
      id,
      NULL_VALUE,
      bids,
      sizes,
      asks,
      askSizes,
      snapshot
    )
  wal.appended(2, atMs)
}

const levels = (book: OrderBook) => {
  const c = checkpointOf("X", scales, book, 0, 0)
  return [c.bidPrices, c.bidSizes, c.askPrices, c.askSizes]
}

describe("BookWal", () => {
  it("closes a segment at book.segment_bytes, or early enough to be durable book.segment_ms after its oldest row", async () => {
    const wal = walOf({ segmentBytes: 66 * 10, segmentMs: 500 })
    const book = new OrderBook()
    expect(wal.due(0)).toBe(false)
    expect(wal.dueAt()).toBeUndefined()
    event(wal, book, 1, 1000)
    // No flush measured yet: it starts half of book.segment_ms after the oldest row.
    expect(wal.dueAt()).toBe(1250)
    expect(wal.due(1249)).toBe(false)
    expect(wal.due(1250)).toBe(true)
    const first = wal.take(1300, () => [])
    expect(first?.seq).toBe(1)
    expect(first?.rows).toBe(2)
    expect(first?.dueAt).toBe(1250)
    expect(wal.due(5000)).toBe(false)
    // 5 events = 10 rows = 660 bytes: due by size at once.
    for (let id = 2; id <= 5; id++) event(wal, book, id, 2000)
    expect(wal.due(2000)).toBe(false)
    event(wal, book, 6, 2000)
    expect(wal.due(2000)).toBe(true)
    const second = wal.take(2000, () => [])
    expect(second?.seq).toBe(2)
    expect(second?.dueAt).toBe(2000)
    expect(wal.take(2000, () => [])).toBeUndefined()
    // A flush that took long (due at 1250, durable now) makes the next ones start earlier, by
    // at most 0.8 × book.segment_ms (flushPlanner.ts).
    await wal.write(first!)
    event(wal, book, 7, 10_000)
    expect(wal.dueAt()).toBe(10_100)
  })

  it("writes a flush's segments together, and fails the flush (no checkpoint) when one cannot be written", async () => {
    const wal = walOf()
    const book = new OrderBook()
    event(wal, book, 1, 1_767_312_000_000, true)
    wal
      .partition("ETHUSDT", "2026-01-02", scales)
      .appendEvent(1, NULL_VALUE, 1n, 1, 1, NULL_VALUE, [5], [6], [], [], true)
    wal.appended(1, 1)
    await wal.write(wal.take(0, () => [], true)!)
    expect(wal.segmentsWritten).toBe(2)
    expect(wal.checkpointsWritten).toBe(1)
    // A file where ETHUSDT's partition folder should be: its segment cannot be written.
    const blocked = path.join(dataDir, "lake", "book_deltas", "venue=binance-spot", "date=2026-01-03")
    await fs.mkdir(blocked, { recursive: true })
    await fs.writeFile(path.join(blocked, "symbol=ETHUSDT"), "")
    event(wal, book, 2, 1_767_398_400_000)
    wal
      .partition("ETHUSDT", "2026-01-03", scales)
      .appendEvent(2, NULL_VALUE, 2n, 2, 2, NULL_VALUE, [5], [7], [], [], false)
    wal.appended(1, 2)
    const failing = wal.take(0, () => [], true)!
    expect(failing.deltas.map((p) => p.symbol)).toEqual(["BTCUSDT", "ETHUSDT"])
    await expect(wal.write(failing)).rejects.toThrow(/EEXIST|ENOTDIR/)
    expect(wal.segmentsWritten).toBe(2)
    expect(wal.checkpointsWritten).toBe(1)
  })

  it("keeps the last 3 checkpoints, and restores the newest plus the segments after it", async () => {
    const wal = walOf({ checkpointEveryEvents: 6 })
    const book = new OrderBook()
    const books = () => [checkpointOf("BTCUSDT", scales, book, lastId, lastId)]
    let lastId = 0
    let checkpoints = 0
    for (let id = 1; id <= 40; id++) {
      event(wal, book, id, 1_767_312_000_000 + id, id === 1 || id === 23)
      lastId = id
      // A segment every 2 events; a checkpoint is due every 6 rows (3 events).
      if (id % 2 === 0) {
        const flush = wal.take(0, books)
        if (flush?.checkpoint !== undefined) checkpoints++
        await wal.write(flush!)
      }
    }
    expect(checkpoints).toBeGreaterThan(3)
    const seqs = await checkpointSeqs(dataDir, "binance-spot")
    expect(seqs).toHaveLength(3)
    expect(wal.checkpointsWritten).toBe(checkpoints)
    // Rows after the last flush are not durable; the restored book is the book at id 40.
    const restored = await restoreBooks(dataDir, "binance-spot")
    const r = restored.books.get("BTCUSDT")!
    expect(r.lastUpdateId).toBe(40)
    expect(restored.checkpointSeq).toBe(seqs[2])
    expect(restored.nextSeq).toBe(21)
    expect(levels(r.book)).toEqual(levels(book))
    // Without checkpoints: every segment replayed gives the same book.
    for (const seq of seqs)
      await fs.rm(
        path.join(
          dataDir,
          "state",
          "books",
          "binance-spot",
          `checkpoint-${String(seq).padStart(12, "0")}.json`
        )
      )
    const replayed = await restoreBooks(dataDir, "binance-spot")
    expect(replayed.checkpointSeq).toBeUndefined()
    expect(replayed.segmentsReplayed).toBe(
      (await listSegments(path.join(dataDir, "lake"), "book_deltas")).length
    )
    expect(levels(replayed.books.get("BTCUSDT")!.book)).toEqual(levels(book))
  })

  it("with book.encrypt writes encrypted segments and checkpoints, and restores from them with the key only", async () => {
    const key = Either.getOrThrow(parseBookKey("7e".repeat(32)))
    const other = Either.getOrThrow(parseBookKey("7f".repeat(32)))
    const wal = walOf({ encryptKey: key, checkpointEveryEvents: 6 })
    const book = new OrderBook()
    let lastId = 0
    const books = () => [checkpointOf("BTCUSDT", scales, book, lastId, lastId)]
    for (let id = 1; id <= 8; id++) {
      event(wal, book, id, 1_767_312_000_000 + id, id === 1)
      lastId = id
      if (id % 3 === 0 || id === 8) await wal.write(wal.take(0, books)!)
    }
    const segments = await listSegments(path.join(dataDir, "lake"), "book_deltas")
    expect(segments).toHaveLength(3)
    for (const s of segments) expect(isEncrypted(await fs.readFile(s.file))).toBe(true)
    // The checkpoints are sealed the same way: no level shows through.
    const seqs = await checkpointSeqs(dataDir, "binance-spot")
    expect(seqs).toEqual([1, 2])
    const dir = path.join(dataDir, "state", "books", "binance-spot")
    const newest = path.join(dir, "checkpoint-000000000002.json")
    const sealed = await fs.readFile(newest)
    expect(isEncrypted(sealed)).toBe(true)
    expect(sealed.includes("BTCUSDT")).toBe(false)
    // Restored from checkpoint 2 (the book at id 6) and segment 3 (ids 7 and 8).
    const restored = await restoreBooks(dataDir, "binance-spot", key)
    expect(restored.checkpointSeq).toBe(2)
    expect(restored.segmentsReplayed).toBe(1)
    expect(restored.books.get("BTCUSDT")!.lastUpdateId).toBe(8)
    expect(levels(restored.books.get("BTCUSDT")!.book)).toEqual(levels(book))
    // A wrong or missing key fails naming the newest checkpoint; it does not fall back to an older one.
    await expect(restoreBooks(dataDir, "binance-spot", other)).rejects.toThrow(
      /checkpoint-000000000002\.json.*different key/
    )
    await expect(restoreBooks(dataDir, "binance-spot")).rejects.toThrow(
      /checkpoint-000000000002\.json.*TAPEHOUSE_BOOK_KEY is not set/
    )
    // A damaged one (cut short) is skipped for the one before, as a plain one is.
    await fs.writeFile(newest, sealed.subarray(0, sealed.length - 1))
    const fallback = await restoreBooks(dataDir, "binance-spot", key)
    expect(fallback.checkpointSeq).toBe(1)
    expect(levels(fallback.books.get("BTCUSDT")!.book)).toEqual(levels(book))
  })
})
