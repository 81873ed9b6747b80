/**
 * A seeded synthetic day of one symbol's order book written as the capture writes it (the capture's
 * own encoder and atomic segment writer): a snapshot block at the day start, then depth events
 * with contiguous ids (a few level changes each, near a drifting mid), cut into segments; REST
 * validation snapshots of the true book go to book_snapshots. Optionally a gap: some ids are never
 * written and a re-sync snapshot block follows. For the end-to-end test of books / fidelity /
 * assess and for bench/booksCommand.ts.
 */
import * as path from "node:path"
import {
  BOOK_DELTAS,
  BOOK_SNAPSHOTS,
  bookPartitionDir,
  NULL_VALUE,
  segmentFileName
} from "../../src/books/bookDatasets.js"
import {
  BookDeltaBuffer,
  encodeBookDeltas,
  encodeBookSnapshots,
  snapshotRows,
  writeSegmentFile
} from "../../src/books/bookSegments.js"
import type { BookKey } from "../../src/books/encryption.js"
import { OrderBook } from "../../src/books/OrderBook.js"
import { seededRandom } from "./randomDepth.js"

export interface BookDayOptions {
  readonly dataDir: string
  readonly venue: string
  readonly symbol: string
  readonly date: string
  /** Depth events over the day (spread evenly from 00:00:00.100). */
  readonly events: number
  readonly eventsPerSegment: number
  /** A REST validation snapshot every this many events (0: none). */
  readonly validateEvery: number
  /** Events after which ids skip `gapIds` and a re-sync block follows (undefined: no gap). */
  readonly gapAfter?: number
  readonly gapIds?: number
  readonly key?: BookKey
  readonly seed?: number
}

export interface BookDayWritten {
  readonly levelChanges: number
  readonly segments: number
  readonly validations: number
  readonly lastUpdateId: number
}

const SCALES = { priceScale: 2, sizeScale: 5 }
const TICK = 1 // 0.01 at scale 2
const DEPTH = 200

const snapshotOf = (book: OrderBook, levels: number) => {
  const bidPrices: Array<number> = []
  const bidSizes: Array<number> = []
  const askPrices: Array<number> = []
  const askSizes: Array<number> = []
  book.bids.top(levels, bidPrices, bidSizes)
  book.asks.top(levels, askPrices, askSizes)
  return { bidPrices, bidSizes, askPrices, askSizes }
}

export const writeBookDay = async (o: BookDayOptions): Promise<BookDayWritten> => {
  const random = seededRandom(o.seed ?? 7)
  const lake = path.join(o.dataDir, "lake")
  const dayStart = Date.parse(`${o.date}T00:00:00Z`)
  const step = Math.max(1, Math.floor((86_400_000 - 200) / o.events))
  const book = new OrderBook()
  let mid = 10_000_000 // 100,000.00
  for (let i = 1; i <= DEPTH; i++) {
    book.set(true, mid - i * TICK, Math.ceil(random() * 200_000))
    book.set(false, mid + i * TICK, Math.ceil(random() * 200_000))
  }
  const meta = { venue: o.venue, symbol: o.symbol, scales: SCALES }
  const deltas = new BookDeltaBuffer(1 << 16)
  let seq = 0
  let segments = 0
  let validations = 0
  let levelChanges = 0
  let id = 1_000_000
  const flushDeltas = async () => {
    if (deltas.length === 0) return
    seq++
    const file = path.join(
      bookPartitionDir(lake, { dataset: BOOK_DELTAS, venue: o.venue, date: o.date, symbol: o.symbol }),
      segmentFileName(seq)
    )
    await writeSegmentFile(file, await encodeBookDeltas(deltas.rows(), meta), o.key)
    deltas.clear()
    segments++
  }
  const block = (E: number) => {
    const s = snapshotOf(book, 100_000)
    deltas.appendEvent(
      E,
      NULL_VALUE,
      BigInt(E) * 1_000_000n,
      id,
      id,
      NULL_VALUE,
      s.bidPrices,
      s.bidSizes,
      s.askPrices,
      s.askSizes,
      true
    )
  }
  block(dayStart)
  const bp: Array<number> = []
  const bs: Array<number> = []
  const ap: Array<number> = []
  const as: Array<number> = []
  for (let e = 0; e < o.events; e++) {
    const E = dayStart + 100 + e * step
    if (o.gapAfter !== undefined && e === o.gapAfter) {
      id += o.gapIds ?? 10
      block(E)
    }
    // The mid drifts by a tick now and then; the levels it crosses are deleted.
    const r = random()
    if (r < 0.05) mid += TICK
    else if (r < 0.1) mid -= TICK
    bp.length = bs.length = ap.length = as.length = 0
    const changes = 2 + Math.floor(random() * 6)
    for (let c = 0; c < changes; c++) {
      const isBid = random() < 0.5
      const offset = 1 + Math.floor(random() ** 2 * DEPTH)
      const price = isBid ? mid - offset * TICK : mid + offset * TICK
      const size = random() < 0.2 ? 0 : Math.ceil(random() * 200_000)
      const side = isBid ? bp : ap
      if (side.includes(price)) continue
      side.push(price)
      ;(isBid ? bs : as).push(size)
    }
    // Keep the book uncrossed: what crosses the mid goes.
    while ((book.bids.price(0) ?? 0) >= mid) {
      bp.push(book.bids.price(0)!)
      bs.push(0)
      book.bids.set(book.bids.price(0)!, 0)
    }
    while ((book.asks.price(0) ?? Number.POSITIVE_INFINITY) <= mid) {
      ap.push(book.asks.price(0)!)
      as.push(0)
      book.asks.set(book.asks.price(0)!, 0)
    }
    book.apply(true, bp, bs)
    book.apply(false, ap, as)
    const U = id + 1
    id += bp.length + ap.length
    deltas.appendEvent(
      E,
      NULL_VALUE,
      BigInt(E) * 1_000_000n + 5_000n,
      U,
      id,
      NULL_VALUE,
      bp,
      bs,
      ap,
      as,
      false
    )
    levelChanges += bp.length + ap.length
    if (o.validateEvery > 0 && (e + 1) % o.validateEvery === 0) {
      const s = snapshotOf(book, 100)
      seq++
      const file = path.join(
        bookPartitionDir(lake, { dataset: BOOK_SNAPSHOTS, venue: o.venue, date: o.date, symbol: o.symbol }),
        segmentFileName(seq)
      )
      const rows = snapshotRows({
        receivedTime: BigInt(E + 20) * 1_000_000n,
        eventTime: NULL_VALUE,
        transactionTime: NULL_VALUE,
        lastUpdateId: id,
        purpose: "validate",
        ...s
      })
      await writeSegmentFile(file, await encodeBookSnapshots(rows, meta), o.key)
      validations++
    }
    if ((e + 1) % o.eventsPerSegment === 0) await flushDeltas()
  }
  await flushDeltas()
  return { levelChanges, segments, validations, lastUpdateId: id }
}
