/**
 * The capture's write-ahead log: the rows of book_deltas (and the REST snapshots of
 * book_snapshots) collect in one column buffer per partition (symbol × UTC date); `take` swaps
 * them out, synchronously, as one numbered flush, and `write` makes it durable: one Parquet
 * segment per partition, all named with the flush's seq, each written atomically, and then, when
 * one is due, the checkpoint of every book as of that same instant (bookCheckpoints.ts).
 *
 * A flush is due when book.segment_bytes of rows are held, or early enough that the oldest row is
 * durable book.segment_ms after its arrival: the flush starts a lead before that, learned from how
 * long recent flushes took (the stream runner's flushPlanner.ts). A checkpoint is due every
 * book.checkpoint_every_ms or book.checkpoint_every_events level changes, whichever comes first.
 *
 * The segments of one flush are encoded one after the other, but written (temporary, fsync,
 * rename, folder fsync) at the same time: an fsync waits for the disk, not the CPU, and several
 * in flight cost about what one does.
 */
import * as path from "node:path"
import type { ParquetCompression } from "../config/AppConfig.js"
import * as FlushPlanner from "../runners/flushPlanner.js"
import { type BookCheckpointSymbol, writeCheckpoint } from "./bookCheckpoints.js"
import {
  BOOK_DELTAS,
  BOOK_SNAPSHOTS,
  type BookScales,
  bookPartitionDir,
  segmentFileName
} from "./bookDatasets.js"
import {
  BookDeltaBuffer,
  type BookSnapshotRows,
  encodeBookDeltas,
  encodeBookSnapshots,
  writeSegmentFile
} from "./bookSegments.js"
import type { BookKey } from "./encryption.js"

export interface BookWalOptions {
  readonly dataDir: string
  readonly venue: string
  readonly segmentBytes: number
  readonly segmentMs: number
  readonly checkpointEveryMs: number
  readonly checkpointEveryEvents: number
  readonly checkpointsKept: number
  readonly compression: ParquetCompression
  /** The seq of the first flush (restoreBooks' nextSeq). */
  readonly firstSeq: number
  /** book.encrypt: segments and checkpoints are written encrypted with this key (encryption.ts). */
  readonly encryptKey?: BookKey
}

interface DeltaPartition {
  readonly symbol: string
  readonly date: string
  readonly scales: BookScales
  buffer: BookDeltaBuffer
}

interface SnapshotBatch {
  readonly symbol: string
  readonly date: string
  readonly scales: BookScales
  readonly rows: BookSnapshotRows
}

/** A flush taken out of the log, to be made durable by `write`. */
export interface PendingFlush {
  readonly seq: number
  /** When the flush was due (epoch ms): its planned start, or when it was taken if that was earlier. */
  readonly dueAt: number
  readonly deltas: ReadonlyArray<DeltaPartition>
  readonly snapshots: ReadonlyArray<SnapshotBatch>
  /** Arrival time (ms) and row count of every message in it, for the latency figures. */
  readonly arrivals: Float64Array
  readonly rowCounts: Float64Array
  readonly rows: number
  /** The books as of this flush, when a checkpoint is due. */
  readonly checkpoint: ReadonlyArray<BookCheckpointSymbol> | undefined
}

/** Latency from arrival to durable in the log, per level change, in 1 ms buckets up to 60 s. */
export class LatencyHistogram {
  private readonly counts = new Float64Array(60_001)
  private total = 0
  add(ms: number, weight: number): void {
    const i = Math.min(60_000, Math.max(0, Math.round(ms)))
    this.counts[i]! += weight
    this.total += weight
  }
  get count(): number {
    return this.total
  }
  /** The `q` quantile in ms (0 when empty). */
  quantile(q: number): number {
    if (this.total === 0) return 0
    const target = q * this.total
    let seen = 0
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!
      if (seen >= target) return i
    }
    return 60_000
  }
}

export class BookWal {
  private deltas = new Map<string, DeltaPartition>()
  /** Rows each partition held at its last flush: the next buffer starts that large. */
  private readonly sizes = new Map<string, number>()
  private snapshots: Array<SnapshotBatch> = []
  private arrivals: Array<number> = []
  private rowCounts: Array<number> = []
  private rowsHeld = 0
  private oldestAt: number | undefined = undefined
  private seq: number
  private eventsSinceCheckpoint = 0
  private lastCheckpointAt: number
  readonly latency = new LatencyHistogram()
  private readonly planner: FlushPlanner.FlushPlanner
  /** Totals, for status and the bench. */
  segmentsWritten = 0
  rowsWritten = 0
  checkpointsWritten = 0

  constructor(readonly options: BookWalOptions) {
    this.seq = options.firstSeq
    this.planner = FlushPlanner.make(options.segmentMs)
    this.lastCheckpointAt = Date.now()
  }

  /** The rows of one applied event (or a snapshot block) for `symbol`, partitioned by `date`. */
  partition(symbol: string, date: string, scales: BookScales): BookDeltaBuffer {
    const key = `${symbol}|${date}`
    let p = this.deltas.get(key)
    if (p === undefined) {
      p = { symbol, date, scales, buffer: new BookDeltaBuffer(this.sizes.get(key) ?? 4096) }
      this.deltas.set(key, p)
    }
    return p.buffer
  }

  /** Counts rows just appended to a partition's buffer (arrival in epoch ms). */
  appended(rows: number, arrivalMs: number): void {
    if (rows === 0) return
    this.rowsHeld += rows
    this.eventsSinceCheckpoint += rows
    this.arrivals.push(arrivalMs)
    this.rowCounts.push(rows)
    if (this.oldestAt === undefined) this.oldestAt = arrivalMs
  }

  /** A REST snapshot for book_snapshots (written with the next flush). */
  addSnapshot(
    symbol: string,
    date: string,
    scales: BookScales,
    rows: BookSnapshotRows,
    arrivalMs: number
  ): void {
    this.snapshots.push({ symbol, date, scales, rows })
    if (this.oldestAt === undefined) this.oldestAt = arrivalMs
  }

  /** Bytes of delta rows held (≈ their uncompressed size). */
  get bytesHeld(): number {
    return this.rowsHeld * 66
  }

  /**
   * When the rows held must be taken so that the oldest is durable book.segment_ms after it arrived
   * (epoch ms; undefined when none are held).
   */
  dueAt(): number | undefined {
    return this.oldestAt === undefined ? undefined : this.planner.dueAt(this.oldestAt)
  }

  /** True when the held rows reached book.segment_bytes, or their flush must start (`dueAt`). */
  due(nowMs: number): boolean {
    if (this.oldestAt === undefined) return false
    return this.bytesHeld >= this.options.segmentBytes || nowMs >= this.planner.dueAt(this.oldestAt)
  }

  /** True when a checkpoint is due at `nowMs`. */
  checkpointDue(nowMs: number): boolean {
    return (
      this.eventsSinceCheckpoint >= this.options.checkpointEveryEvents ||
      (this.eventsSinceCheckpoint > 0 && nowMs - this.lastCheckpointAt >= this.options.checkpointEveryMs)
    )
  }

  /**
   * Takes every row held as one flush (undefined when there is none). `books` is called, at this
   * same instant, when a checkpoint is due (or `forceCheckpoint`), so the checkpoint holds exactly
   * the rows of this flush and those before it.
   */
  take(
    nowMs: number,
    books: () => ReadonlyArray<BookCheckpointSymbol>,
    forceCheckpoint = false
  ): PendingFlush | undefined {
    const wantCheckpoint = forceCheckpoint || this.checkpointDue(nowMs)
    if (this.oldestAt === undefined && !wantCheckpoint) return undefined
    const deltas = [...this.deltas.values()].filter((p) => p.buffer.length > 0)
    this.sizes.clear()
    for (const p of deltas) this.sizes.set(`${p.symbol}|${p.date}`, p.buffer.length)
    // The next rows start new buffers (and a partition of a past date is simply not made again).
    this.deltas = new Map()
    const flush: PendingFlush = {
      seq: this.seq++,
      dueAt: this.oldestAt === undefined ? nowMs : Math.min(nowMs, this.planner.dueAt(this.oldestAt)),
      deltas,
      snapshots: this.snapshots,
      arrivals: Float64Array.from(this.arrivals),
      rowCounts: Float64Array.from(this.rowCounts),
      rows: this.rowsHeld,
      checkpoint: wantCheckpoint ? books() : undefined
    }
    this.snapshots = []
    this.arrivals = []
    this.rowCounts = []
    this.rowsHeld = 0
    this.oldestAt = undefined
    if (wantCheckpoint) {
      this.eventsSinceCheckpoint = 0
      this.lastCheckpointAt = nowMs
    }
    return flush
  }

  /**
   * Makes a flush durable: its segments (atomically, one per partition), then its checkpoint.
   * Flushes must be written one at a time, in seq order.
   */
  async write(flush: PendingFlush): Promise<void> {
    const { dataDir, venue, compression } = this.options
    const lakeDir = path.join(dataDir, "lake")
    const name = segmentFileName(flush.seq)
    // Each file's write starts as soon as it is encoded, while the next one is encoded.
    const writes: Array<Promise<void>> = []
    const writeFile = (file: string, bytes: Uint8Array) =>
      writes.push(writeSegmentFile(file, bytes, this.options.encryptKey))
    let encodeFailure: { readonly cause: unknown } | undefined
    try {
      for (const p of flush.deltas) {
        const meta = { venue, symbol: p.symbol, scales: p.scales }
        const bytes = await encodeBookDeltas(p.buffer.rows(), meta, { compression })
        const dir = bookPartitionDir(lakeDir, { dataset: BOOK_DELTAS, venue, date: p.date, symbol: p.symbol })
        writeFile(path.join(dir, name), bytes)
      }
      // One book_snapshots file per symbol and date, holding every snapshot of the flush.
      const groups = new Map<string, Array<SnapshotBatch>>()
      for (const s of flush.snapshots) {
        const key = `${s.symbol}|${s.date}`
        const list = groups.get(key)
        if (list === undefined) groups.set(key, [s])
        else list.push(s)
      }
      for (const list of groups.values()) {
        const first = list[0]!
        const meta = { venue, symbol: first.symbol, scales: first.scales }
        const bytes = await encodeBookSnapshots(concatSnapshots(list.map((s) => s.rows)), meta, {
          compression
        })
        const dir = bookPartitionDir(lakeDir, {
          dataset: BOOK_SNAPSHOTS,
          venue,
          date: first.date,
          symbol: first.symbol
        })
        writeFile(path.join(dir, name), bytes)
      }
    } catch (cause) {
      encodeFailure = { cause }
    }
    // Every write settles before a failure is reported (none is left running unobserved).
    const failed = (await Promise.allSettled(writes)).find((r) => r.status === "rejected")
    if (encodeFailure !== undefined) throw encodeFailure.cause
    if (failed !== undefined) throw failed.reason
    this.segmentsWritten += flush.deltas.length
    this.rowsWritten += flush.rows
    const done = Date.now()
    this.planner.record(flush.dueAt, done)
    for (let i = 0; i < flush.arrivals.length; i++)
      this.latency.add(done - flush.arrivals[i]!, flush.rowCounts[i]!)
    if (flush.checkpoint !== undefined) {
      await writeCheckpoint(
        dataDir,
        { venue, seq: flush.seq, takenAt: done, symbols: flush.checkpoint },
        this.options.checkpointsKept,
        this.options.encryptKey
      )
      this.checkpointsWritten++
    }
  }
}

/** Several snapshots' rows as one table, in order. */
const concatSnapshots = (parts: ReadonlyArray<BookSnapshotRows>): BookSnapshotRows => {
  if (parts.length === 1) return parts[0]!
  const n = parts.reduce((sum, p) => sum + p.length, 0)
  const out = {
    length: n,
    receivedTime: new BigInt64Array(n),
    eventTime: new Float64Array(n),
    transactionTime: new Float64Array(n),
    lastUpdateId: new Float64Array(n),
    purpose: [] as string[],
    level: new Float64Array(n),
    sideIsBid: new Uint8Array(n),
    price: new Float64Array(n),
    size: new Float64Array(n)
  }
  let at = 0
  for (const p of parts) {
    out.receivedTime.set(p.receivedTime, at)
    out.eventTime.set(p.eventTime, at)
    out.transactionTime.set(p.transactionTime, at)
    out.lastUpdateId.set(p.lastUpdateId, at)
    out.purpose.push(...p.purpose)
    out.level.set(p.level, at)
    out.sideIsBid.set(p.sideIsBid, at)
    out.price.set(p.price, at)
    out.size.set(p.size, at)
    at += p.length
  }
  return out
}
