/**
 * Checkpoints of the order-book capture: every synced symbol's whole book, its last update id and
 * the write-ahead-log seq it covers (every delta segment with a seq at or below it is already in
 * the books). Files `<data-dir>/state/books/<venue>/checkpoint-<seq>.json`, written atomically
 * after the segments they cover are durable; the newest `keep` are kept. With book.encrypt a file
 * holds the JSON sealed in the segments' envelope (encryption.ts); reading opens either kind.
 *
 * Restoring = the newest readable checkpoint, then the delta segments after its seq replayed in
 * seq order (bookReplay.ts): the books are then those of the capture at the last durable row.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { mkdirs, readdirOrEmpty, writeAtomic } from "../sinks/atomicFile.js"
import { BOOK_DELTAS, type BookScales } from "./bookDatasets.js"
import { applyDeltaRows, initialReplayState, type ReplayState } from "./bookReplay.js"
import { listSegments, readBookDeltas } from "./bookSegments.js"
import { type BookKey, DecryptError, encryptBytes, openFileBytes } from "./encryption.js"
import { OrderBook } from "./OrderBook.js"

/** One symbol's book in a checkpoint; levels best first. */
export interface BookCheckpointSymbol {
  readonly symbol: string
  readonly scales: BookScales
  readonly lastUpdateId: number
  readonly lastEventTime: number
  readonly bidPrices: ReadonlyArray<number>
  readonly bidSizes: ReadonlyArray<number>
  readonly askPrices: ReadonlyArray<number>
  readonly askSizes: ReadonlyArray<number>
}

export interface BookCheckpoint {
  readonly venue: string
  /** Every delta segment with seq ≤ this is in the books. */
  readonly seq: number
  /** Wall-clock time it was taken, epoch ms. */
  readonly takenAt: number
  readonly symbols: ReadonlyArray<BookCheckpointSymbol>
}

export const checkpointDir = (dataDir: string, venue: string): string =>
  path.join(dataDir, "state", "books", venue)

const namePattern = /^checkpoint-(\d{12})\.json$/
const checkpointName = (seq: number): string => `checkpoint-${String(seq).padStart(12, "0")}.json`

/** A book's levels, best first, as a checkpoint entry. */
export const checkpointOf = (
  symbol: string,
  scales: BookScales,
  book: OrderBook,
  lastUpdateId: number,
  lastEventTime: number
): BookCheckpointSymbol => {
  const nb = book.bids.length
  const na = book.asks.length
  const bidPrices = new Array<number>(nb)
  const bidSizes = new Array<number>(nb)
  const askPrices = new Array<number>(na)
  const askSizes = new Array<number>(na)
  book.bids.top(nb, bidPrices, bidSizes)
  book.asks.top(na, askPrices, askSizes)
  return { symbol, scales, lastUpdateId, lastEventTime, bidPrices, bidSizes, askPrices, askSizes }
}

const seqsIn = async (dir: string): Promise<Array<number>> => {
  return (await readdirOrEmpty(dir))
    .map((n) => namePattern.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b)
}

/**
 * Writes `checkpoint` atomically (temporary, fsync, rename, folder fsync), encrypted under `key`
 * when given (book.encrypt), then deletes all but the newest `keep` checkpoints of the venue.
 */
export const writeCheckpoint = async (
  dataDir: string,
  checkpoint: BookCheckpoint,
  keep: number,
  key?: BookKey
): Promise<void> => {
  const dir = checkpointDir(dataDir, checkpoint.venue)
  await mkdirs(dir)
  const file = path.join(dir, checkpointName(checkpoint.seq))
  const plain = new TextEncoder().encode(JSON.stringify(checkpoint))
  await writeAtomic(file, key === undefined ? plain : encryptBytes(key, plain))
  const seqs = await seqsIn(dir)
  for (const seq of seqs.slice(0, Math.max(0, seqs.length - keep))) {
    await fs.rm(path.join(dir, checkpointName(seq)), { force: true })
  }
}

/** The seqs of the checkpoints held for `venue`, oldest first. */
export const checkpointSeqs = (dataDir: string, venue: string): Promise<Array<number>> =>
  seqsIn(checkpointDir(dataDir, venue))

/**
 * The newest checkpoint that reads whole (a damaged one is skipped for the one before). An
 * encrypted one is decrypted with `key`; without the key, or with another one, it fails with a
 * DecryptError naming the file (falling back would silently replay from further back).
 */
export const latestCheckpoint = async (
  dataDir: string,
  venue: string,
  key?: BookKey
): Promise<BookCheckpoint | undefined> => {
  const dir = checkpointDir(dataDir, venue)
  const seqs = await seqsIn(dir)
  for (let i = seqs.length - 1; i >= 0; i--) {
    const file = path.join(dir, checkpointName(seqs[i]!))
    try {
      const bytes = openFileBytes(await fs.readFile(file), file, key)
      const parsed = JSON.parse(new TextDecoder().decode(bytes)) as BookCheckpoint
      if (parsed.venue === venue && Array.isArray(parsed.symbols)) return parsed
    } catch (cause) {
      if (cause instanceof DecryptError && cause.problem === "key") throw cause
      // a damaged file: fall back to the previous checkpoint
    }
  }
  return undefined
}

/** One symbol's book as restored. */
export interface RestoredBook {
  readonly symbol: string
  readonly scales: BookScales
  readonly book: OrderBook
  readonly lastUpdateId: number
  readonly lastEventTime: number
}

export interface Restored {
  readonly books: ReadonlyMap<string, RestoredBook>
  /** The checkpoint used (undefined: none, every segment was replayed). */
  readonly checkpointSeq: number | undefined
  /** Delta segments replayed after it. */
  readonly segmentsReplayed: number
  /** The seq the next segment must take (above every segment and checkpoint of the venue). */
  readonly nextSeq: number
}

/**
 * The books of `venue` as the capture held them at its last durable row: the newest checkpoint,
 * then every delta segment after it, in seq order.
 */
export const restoreBooks = async (dataDir: string, venue: string, key?: BookKey): Promise<Restored> => {
  const lakeDir = path.join(dataDir, "lake")
  const checkpoint = await latestCheckpoint(dataDir, venue, key)
  const books = new Map<string, { scales: BookScales; book: OrderBook; state: ReplayState }>()
  for (const s of checkpoint?.symbols ?? []) {
    const book = new OrderBook()
    book.loadSnapshot(s.bidPrices, s.bidSizes, s.askPrices, s.askSizes)
    const state = initialReplayState()
    state.lastUpdateId = s.lastUpdateId
    state.lastEventTime = s.lastEventTime
    books.set(s.symbol, { scales: s.scales, book, state })
  }
  const after = checkpoint?.seq ?? 0
  const segments = await listSegments(lakeDir, BOOK_DELTAS, { venue, afterSeq: after })
  for (const segment of segments) {
    const { info, rows } = await readBookDeltas(segment.file, key)
    let entry = books.get(info.symbol)
    if (entry === undefined) {
      entry = { scales: info.scales, book: new OrderBook(), state: initialReplayState() }
      books.set(info.symbol, entry)
    }
    applyDeltaRows(entry.book, rows, entry.state)
  }
  let maxSeq = after
  for (const dataset of ["book_deltas", "book_snapshots"] as const) {
    const all = await listSegments(lakeDir, dataset, { venue, afterSeq: maxSeq })
    for (const s of all) maxSeq = Math.max(maxSeq, s.seq)
  }
  for (const seq of await checkpointSeqs(dataDir, venue)) maxSeq = Math.max(maxSeq, seq)
  const out = new Map<string, RestoredBook>()
  for (const [symbol, e] of books) {
    if (e.state.lastUpdateId < 0) continue
    out.set(symbol, {
      symbol,
      scales: e.scales,
      book: e.book,
      lastUpdateId: e.state.lastUpdateId,
      lastEventTime: e.state.lastEventTime
    })
  }
  return {
    books: out,
    checkpointSeq: checkpoint?.seq,
    segmentsReplayed: segments.length,
    nextSeq: maxSeq + 1
  }
}
