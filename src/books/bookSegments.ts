/**
 * Segment files of the order-book datasets (bookDatasets.ts): column buffers that rows are
 * appended to on the capture path, the Parquet encoding of one buffer as one file (one symbol, its
 * scales in the DECIMAL annotations), the atomic write (temporary, fsync, rename, folder fsync),
 * and the reader that gives the rows back as columns with the file's scales.
 *
 * Rows are held as typed arrays, never as objects: capture appends hundreds of thousands of level
 * changes a second, and `books` replays millions of rows a day: the reader fills the typed arrays
 * straight from the decoded Parquet columns. Nullable ids and times hold NULL_VALUE (-1) when absent.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { DecodedArray, FileMetaData, SchemaElement } from "hyparquet"
import { parquetMetadata, parquetRead, parquetSchema } from "hyparquet"
import { compressors } from "hyparquet-compressors"
import type { ParquetCompression } from "../config/AppConfig.js"
import { mkdirs, readdirOrEmpty, writeAtomic } from "../sinks/atomicFile.js"
import { writeFlatParquet } from "../sinks/flatParquetWriter.js"
import { loadCompression, toArrayBuffer } from "../sinks/parquetCodec.js"
import type { FlatColumn, FlatColumnData } from "../sinks/parquetColumns.js"
import {
  BOOK_DELTAS,
  BOOK_SNAPSHOTS,
  type BookDatasetName,
  type BookPartition,
  type BookScales,
  bookDeltaColumns,
  bookPartitionDir,
  bookSnapshotColumns,
  NULL_VALUE,
  segmentSeq
} from "./bookDatasets.js"
import { type BookKey, encryptBytes, openFileBytes } from "./encryption.js"

// --- in-memory columns ---------------------------------------------------------------------

/** Rows of `book_deltas` for one symbol, as columns (row i is index i of every array). */
export interface BookDeltaRows {
  readonly length: number
  /** E, epoch ms. */
  readonly eventTime: Float64Array
  /** T, epoch ms; NULL_VALUE on spot. */
  readonly transactionTime: Float64Array
  /** Local arrival, epoch ns. */
  readonly receivedTime: BigInt64Array
  readonly firstUpdateId: Float64Array
  readonly finalUpdateId: Float64Array
  /** pu; NULL_VALUE on spot. */
  readonly prevFinalUpdateId: Float64Array
  /** 1 = bid. */
  readonly sideIsBid: Uint8Array
  /** Integer × 10^-priceScale. */
  readonly price: Float64Array
  /** Integer × 10^-sizeScale; 0 deletes the level. */
  readonly size: Float64Array
  /** 1 = a row of a snapshot block. */
  readonly isSnapshot: Uint8Array
}

/** Rows of `book_snapshots` for one symbol, as columns. */
export interface BookSnapshotRows {
  readonly length: number
  readonly receivedTime: BigInt64Array
  /** Snapshot E, epoch ms; NULL_VALUE on spot. */
  readonly eventTime: Float64Array
  /** Snapshot T, epoch ms; NULL_VALUE on spot. */
  readonly transactionTime: Float64Array
  readonly lastUpdateId: Float64Array
  /** "sync" or "validate", per row. */
  readonly purpose: ReadonlyArray<string>
  /** Rank on its side, 0 = best. */
  readonly level: Float64Array
  readonly sideIsBid: Uint8Array
  readonly price: Float64Array
  readonly size: Float64Array
}

const grow = <T extends Float64Array | BigInt64Array | Uint8Array>(
  a: T,
  n: number,
  make: (n: number) => T
): T => {
  const next = make(n)
  next.set(a as never)
  return next
}

/** A growable buffer of book_deltas rows for one symbol. */
export class BookDeltaBuffer {
  private n = 0
  private cap: number
  private eventTime: Float64Array
  private transactionTime: Float64Array
  private receivedTime: BigInt64Array
  private firstUpdateId: Float64Array
  private finalUpdateId: Float64Array
  private prevFinalUpdateId: Float64Array
  private sideIsBid: Uint8Array
  private price: Float64Array
  private size: Float64Array
  private isSnapshot: Uint8Array

  constructor(capacity = 4096) {
    this.cap = Math.max(16, capacity)
    const c = this.cap
    this.eventTime = new Float64Array(c)
    this.transactionTime = new Float64Array(c)
    this.receivedTime = new BigInt64Array(c)
    this.firstUpdateId = new Float64Array(c)
    this.finalUpdateId = new Float64Array(c)
    this.prevFinalUpdateId = new Float64Array(c)
    this.sideIsBid = new Uint8Array(c)
    this.price = new Float64Array(c)
    this.size = new Float64Array(c)
    this.isSnapshot = new Uint8Array(c)
  }

  get length(): number {
    return this.n
  }

  /** Bytes the rows take in memory (about what they take uncompressed in Parquet). */
  get bytes(): number {
    return this.n * BYTES_PER_DELTA_ROW
  }

  /**
   * Appends the level changes of one event (or one snapshot block when `snapshot`): the ids and
   * times go on every row. `transactionTime`/`prevFinalUpdateId` take NULL_VALUE when absent.
   */
  appendEvent(
    eventTime: number,
    transactionTime: number,
    receivedTime: bigint,
    firstUpdateId: number,
    finalUpdateId: number,
    prevFinalUpdateId: number,
    bidPrices: ArrayLike<number>,
    bidSizes: ArrayLike<number>,
    askPrices: ArrayLike<number>,
    askSizes: ArrayLike<number>,
    snapshot: boolean
  ): void {
    const nb = bidPrices.length
    const na = askPrices.length
    const count = nb + na
    if (count === 0) return
    this.reserve(this.n + count)
    const start = this.n
    const end = start + count
    this.eventTime.fill(eventTime, start, end)
    this.transactionTime.fill(transactionTime, start, end)
    this.receivedTime.fill(receivedTime, start, end)
    this.firstUpdateId.fill(firstUpdateId, start, end)
    this.finalUpdateId.fill(finalUpdateId, start, end)
    this.prevFinalUpdateId.fill(prevFinalUpdateId, start, end)
    this.isSnapshot.fill(snapshot ? 1 : 0, start, end)
    this.sideIsBid.fill(1, start, start + nb)
    this.sideIsBid.fill(0, start + nb, end)
    const price = this.price
    const size = this.size
    for (let i = 0; i < nb; i++) {
      price[start + i] = bidPrices[i]!
      size[start + i] = bidSizes[i]!
    }
    for (let i = 0, j = start + nb; i < na; i++, j++) {
      price[j] = askPrices[i]!
      size[j] = askSizes[i]!
    }
    this.n = end
  }

  /** The rows held (views, valid until the next append or clear). */
  rows(): BookDeltaRows {
    const n = this.n
    return {
      length: n,
      eventTime: this.eventTime.subarray(0, n),
      transactionTime: this.transactionTime.subarray(0, n),
      receivedTime: this.receivedTime.subarray(0, n),
      firstUpdateId: this.firstUpdateId.subarray(0, n),
      finalUpdateId: this.finalUpdateId.subarray(0, n),
      prevFinalUpdateId: this.prevFinalUpdateId.subarray(0, n),
      sideIsBid: this.sideIsBid.subarray(0, n),
      price: this.price.subarray(0, n),
      size: this.size.subarray(0, n),
      isSnapshot: this.isSnapshot.subarray(0, n)
    }
  }

  clear(): void {
    this.n = 0
  }

  private reserve(need: number): void {
    if (need <= this.cap) return
    let cap = this.cap
    while (cap < need) cap *= 2
    const f = (k: number) => new Float64Array(k)
    const u = (k: number) => new Uint8Array(k)
    this.eventTime = grow(this.eventTime, cap, f)
    this.transactionTime = grow(this.transactionTime, cap, f)
    this.receivedTime = grow(this.receivedTime, cap, (k) => new BigInt64Array(k))
    this.firstUpdateId = grow(this.firstUpdateId, cap, f)
    this.finalUpdateId = grow(this.finalUpdateId, cap, f)
    this.prevFinalUpdateId = grow(this.prevFinalUpdateId, cap, f)
    this.sideIsBid = grow(this.sideIsBid, cap, u)
    this.price = grow(this.price, cap, f)
    this.size = grow(this.size, cap, f)
    this.isSnapshot = grow(this.isSnapshot, cap, u)
    this.cap = cap
  }
}

/** In-memory bytes of one book_deltas row (8 numeric columns of 8 bytes, 2 flags). */
export const BYTES_PER_DELTA_ROW = 66

/** A REST snapshot as rows of book_snapshots (levels best first per side). */
export const snapshotRows = (snapshot: {
  readonly receivedTime: bigint
  readonly eventTime: number
  readonly transactionTime: number
  readonly lastUpdateId: number
  readonly purpose: "sync" | "validate"
  readonly bidPrices: ArrayLike<number>
  readonly bidSizes: ArrayLike<number>
  readonly askPrices: ArrayLike<number>
  readonly askSizes: ArrayLike<number>
}): BookSnapshotRows => {
  const nb = snapshot.bidPrices.length
  const n = nb + snapshot.askPrices.length
  const rows = {
    length: n,
    receivedTime: new BigInt64Array(n).fill(snapshot.receivedTime),
    eventTime: new Float64Array(n).fill(snapshot.eventTime),
    transactionTime: new Float64Array(n).fill(snapshot.transactionTime),
    lastUpdateId: new Float64Array(n).fill(snapshot.lastUpdateId),
    purpose: new Array<string>(n).fill(snapshot.purpose),
    level: new Float64Array(n),
    sideIsBid: new Uint8Array(n),
    price: new Float64Array(n),
    size: new Float64Array(n)
  }
  for (let i = 0; i < nb; i++) {
    rows.level[i] = i
    rows.sideIsBid[i] = 1
    rows.price[i] = snapshot.bidPrices[i]!
    rows.size[i] = snapshot.bidSizes[i]!
  }
  for (let i = 0, j = nb; j < n; i++, j++) {
    rows.level[j] = i
    rows.price[j] = snapshot.askPrices[i]!
    rows.size[j] = snapshot.askSizes[i]!
  }
  return rows
}

// --- encoding ------------------------------------------------------------------------------

/** What a segment file is of: the symbol and its scales (one symbol per file). */
export interface SegmentMeta {
  readonly venue: string
  readonly symbol: string
  readonly scales: BookScales
}

export interface SegmentWriteOptions {
  /** Default snappy (the fastest); zstd is loaded on first use. */
  readonly compression?: ParquetCompression
  /** Rows per row group; default 1,000,000. */
  readonly rowGroupSize?: number
}

const CREATED_BY = "tapehouse"
const DATASET_KEY = "tapehouse.dataset"

const ints = (values: Float64Array): FlatColumnData => ({
  kind: "int",
  values,
  wide: undefined,
  present: undefined
})
// An OPTIONAL column always needs its presence flags (the writer writes definition levels from them).
const nullableInts = (values: Float64Array): FlatColumnData => {
  const present = new Uint8Array(values.length)
  const copy = new Float64Array(values.length)
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!
    if (v !== NULL_VALUE) {
      present[i] = 1
      copy[i] = v
    }
  }
  return { kind: "int", values: copy, wide: undefined, present }
}
const constant = (value: string, n: number): FlatColumnData => ({
  kind: "string",
  values: new Array<string>(n).fill(value),
  present: undefined
})

const encode = async (
  dataset: BookDatasetName,
  columns: ReadonlyArray<FlatColumn>,
  data: ReadonlyArray<FlatColumnData>,
  n: number,
  meta: SegmentMeta,
  options: SegmentWriteOptions
): Promise<Uint8Array> => {
  const compression = options.compression ?? "snappy"
  let compress: ((input: Uint8Array) => Uint8Array) | undefined
  if (compression === "zstd") {
    await loadCompression("zstd")
    const zstd = await import("@bokuweb/zstd-wasm")
    compress = (input) => zstd.compress(input, 3)
  }
  return writeFlatParquet(columns, data, n, {
    codec: compression === "zstd" ? "ZSTD" : compression === "uncompressed" ? "UNCOMPRESSED" : "SNAPPY",
    ...(compress === undefined ? {} : { compress }),
    rowGroupSize: options.rowGroupSize ?? 1_000_000,
    statisticsFor: new Set(["event_time", "received_time", "final_update_id", "last_update_id"]),
    kvMetadata: [
      { key: DATASET_KEY, value: dataset },
      { key: "tapehouse.venue", value: meta.venue },
      { key: "tapehouse.symbol", value: meta.symbol }
    ],
    createdBy: CREATED_BY
  })
}

/** book_deltas rows of one symbol as Parquet bytes. */
export const encodeBookDeltas = (
  rows: BookDeltaRows,
  meta: SegmentMeta,
  options: SegmentWriteOptions = {}
): Promise<Uint8Array> => {
  const n = rows.length
  const data: Array<FlatColumnData> = [
    constant(meta.venue, n),
    constant(meta.symbol, n),
    ints(rows.eventTime),
    nullableInts(rows.transactionTime),
    { kind: "wide", values: rows.receivedTime, present: undefined },
    ints(rows.firstUpdateId),
    ints(rows.finalUpdateId),
    nullableInts(rows.prevFinalUpdateId),
    { kind: "boolean", values: rows.sideIsBid, present: undefined },
    ints(rows.price),
    ints(rows.size),
    { kind: "boolean", values: rows.isSnapshot, present: undefined }
  ]
  return encode(BOOK_DELTAS, bookDeltaColumns(meta.scales), data, n, meta, options)
}

/** book_snapshots rows of one symbol as Parquet bytes. */
export const encodeBookSnapshots = (
  rows: BookSnapshotRows,
  meta: SegmentMeta,
  options: SegmentWriteOptions = {}
): Promise<Uint8Array> => {
  const n = rows.length
  const data: Array<FlatColumnData> = [
    constant(meta.venue, n),
    constant(meta.symbol, n),
    { kind: "wide", values: rows.receivedTime, present: undefined },
    nullableInts(rows.eventTime),
    nullableInts(rows.transactionTime),
    ints(rows.lastUpdateId),
    { kind: "string", values: rows.purpose, present: undefined },
    ints(rows.level),
    { kind: "boolean", values: rows.sideIsBid, present: undefined },
    ints(rows.price),
    ints(rows.size)
  ]
  return encode(BOOK_SNAPSHOTS, bookSnapshotColumns(meta.scales), data, n, meta, options)
}

// --- atomic write --------------------------------------------------------------------------

/**
 * Writes `bytes` as `file` atomically: a temporary in the same folder (created if missing), fsync,
 * rename, folder fsync. A crash leaves no file or the whole file, plus at worst a temporary whose
 * name does not end in `.parquet` (removeStaleTemps in atomicFile.ts deletes it).
 */
export const writeSegmentFile = async (file: string, plain: Uint8Array, key?: BookKey): Promise<void> => {
  // book.encrypt: the file holds the encryption envelope of the Parquet bytes (encryption.ts).
  const bytes = key === undefined ? plain : encryptBytes(key, plain)
  await mkdirs(path.dirname(file))
  await writeAtomic(file, bytes)
}

// --- reading -------------------------------------------------------------------------------

/** What a segment file holds, read from its footer. */
export interface SegmentInfo extends SegmentMeta {
  readonly dataset: BookDatasetName
  readonly rows: number
}

const scaleOf = (metadata: FileMetaData, column: string): number => {
  const leaf: SchemaElement | undefined = parquetSchema(metadata).children.find(
    (c) => c.element.name === column
  )?.element
  if (leaf === undefined) throw new Error(`the file has no column ${column}`)
  return leaf.logical_type?.type === "DECIMAL" ? leaf.logical_type.scale : (leaf.scale ?? 0)
}

/** The dataset, venue, symbol, scales and row count of a segment's footer. Throws when not a segment. */
const infoOf = (metadata: FileMetaData): SegmentInfo => {
  const kv = new Map((metadata.key_value_metadata ?? []).map((e) => [e.key, e.value ?? ""]))
  const dataset = kv.get(DATASET_KEY)
  if (dataset !== BOOK_DELTAS && dataset !== BOOK_SNAPSHOTS) {
    throw new Error(`not a book segment (dataset ${JSON.stringify(dataset)})`)
  }
  return {
    dataset,
    venue: kv.get("tapehouse.venue") ?? "",
    symbol: kv.get("tapehouse.symbol") ?? "",
    scales: { priceScale: scaleOf(metadata, "price"), sizeScale: scaleOf(metadata, "size") },
    rows: Number(metadata.num_rows)
  }
}

/** The dataset, venue, symbol, scales and row count of segment bytes. Throws when not a segment. */
export const segmentInfo = (bytes: Uint8Array): SegmentInfo => infoOf(parquetMetadata(toArrayBuffer(bytes)))

/** Fills its output from one decoded chunk of a column, whose first row is `at`. */
type ColumnSink = (data: DecodedArray, at: number) => void

/**
 * Integers (INT64 read raw: no DECIMAL scaling, no timestamp conversion) into `out`; a null as
 * NULL_VALUE in a nullable column, else 0. A value beyond a safe integer is an error.
 */
const intsInto =
  (out: Float64Array, column: string, nullable: boolean, errors: Array<string>): ColumnSink =>
  (data, at) => {
    if (data instanceof BigInt64Array) {
      for (let i = 0; i < data.length; i++) out[at + i] = Number(data[i]!)
    } else {
      for (let i = 0; i < data.length; i++) {
        const v: unknown = data[i]
        out[at + i] = v === null || v === undefined ? (nullable ? NULL_VALUE : 0) : Number(v)
      }
    }
    for (let i = at; i < at + data.length; i++) {
      const x = out[i]!
      if (!(x <= Number.MAX_SAFE_INTEGER && x >= -Number.MAX_SAFE_INTEGER) && errors.length === 0)
        errors.push(`column ${column}: ${x} is beyond a safe integer`)
    }
  }
const flagsInto =
  (out: Uint8Array): ColumnSink =>
  (data, at) => {
    for (let i = 0; i < data.length; i++) out[at + i] = data[i] === true ? 1 : 0
  }
const nanosInto =
  (out: BigInt64Array): ColumnSink =>
  (data, at) => {
    if (data instanceof BigInt64Array) out.set(data, at)
    else for (let i = 0; i < data.length; i++) out[at + i] = BigInt(data[i] as bigint | number)
  }
const stringsInto =
  (out: Array<string>): ColumnSink =>
  (data, at) => {
    for (let i = 0; i < data.length; i++) out[at + i] = String(data[i])
  }

/**
 * Decodes the named columns of a segment chunk by chunk into their sinks, without row objects.
 * INT64 leaves are read as plain integers: prices and sizes stay at the file's scale, times in
 * their unit. Fails when a column is missing or a value does not fit.
 */
const readColumns = async (
  buffer: ArrayBuffer,
  metadata: FileMetaData,
  sinks: Readonly<Record<string, ColumnSink>>,
  errors: Array<string>
): Promise<void> => {
  const names = Object.keys(sinks)
  const present = new Set(parquetSchema(metadata).children.map((c) => c.element.name))
  const missing = names.find((n) => !present.has(n))
  if (missing !== undefined) throw new Error(`the file has no column ${missing}`)
  const plain: FileMetaData = {
    ...metadata,
    schema: metadata.schema.map((element) => {
      if (element.type !== "INT64") return element
      const { converted_type: _c, logical_type: _l, ...raw } = element
      return raw
    })
  }
  await parquetRead({
    file: buffer,
    metadata: plain,
    columns: names,
    compressors,
    utf8: true,
    // A throw here would be lost in hyparquet's promise chain: errors are collected instead.
    onChunk: ({ columnName, columnData, rowStart }) => sinks[columnName]?.(columnData, rowStart)
  })
  if (errors.length > 0) throw new Error(errors[0])
}

/** A book_deltas segment read back: what it is of, and its rows as columns. */
export interface DeltaSegment {
  readonly info: SegmentInfo
  readonly rows: BookDeltaRows
}

/** A book_snapshots segment read back. */
export interface SnapshotSegment {
  readonly info: SegmentInfo
  readonly rows: BookSnapshotRows
}

/** Decodes book_deltas segment bytes (prices and sizes at the file's own scales). */
export const decodeBookDeltas = async (bytes: Uint8Array): Promise<DeltaSegment> => {
  const buffer = toArrayBuffer(bytes)
  const metadata = parquetMetadata(buffer)
  const info = infoOf(metadata)
  if (info.dataset !== BOOK_DELTAS) throw new Error(`a ${info.dataset} file is not a book_deltas segment`)
  const n = info.rows
  const rows = {
    length: n,
    eventTime: new Float64Array(n),
    transactionTime: new Float64Array(n),
    receivedTime: new BigInt64Array(n),
    firstUpdateId: new Float64Array(n),
    finalUpdateId: new Float64Array(n),
    prevFinalUpdateId: new Float64Array(n),
    sideIsBid: new Uint8Array(n),
    price: new Float64Array(n),
    size: new Float64Array(n),
    isSnapshot: new Uint8Array(n)
  }
  const errors: Array<string> = []
  await readColumns(
    buffer,
    metadata,
    {
      event_time: intsInto(rows.eventTime, "event_time", false, errors),
      transaction_time: intsInto(rows.transactionTime, "transaction_time", true, errors),
      received_time: nanosInto(rows.receivedTime),
      first_update_id: intsInto(rows.firstUpdateId, "first_update_id", false, errors),
      final_update_id: intsInto(rows.finalUpdateId, "final_update_id", false, errors),
      prev_final_update_id: intsInto(rows.prevFinalUpdateId, "prev_final_update_id", true, errors),
      side_is_bid: flagsInto(rows.sideIsBid),
      price: intsInto(rows.price, "price", false, errors),
      size: intsInto(rows.size, "size", false, errors),
      is_snapshot: flagsInto(rows.isSnapshot)
    },
    errors
  )
  return { info, rows }
}

/** Decodes book_snapshots segment bytes. */
export const decodeBookSnapshots = async (bytes: Uint8Array): Promise<SnapshotSegment> => {
  const buffer = toArrayBuffer(bytes)
  const metadata = parquetMetadata(buffer)
  const info = infoOf(metadata)
  if (info.dataset !== BOOK_SNAPSHOTS)
    throw new Error(`a ${info.dataset} file is not a book_snapshots segment`)
  const n = info.rows
  const rows = {
    length: n,
    receivedTime: new BigInt64Array(n),
    eventTime: new Float64Array(n),
    transactionTime: new Float64Array(n),
    lastUpdateId: new Float64Array(n),
    purpose: new Array<string>(n).fill(""),
    level: new Float64Array(n),
    sideIsBid: new Uint8Array(n),
    price: new Float64Array(n),
    size: new Float64Array(n)
  }
  const errors: Array<string> = []
  await readColumns(
    buffer,
    metadata,
    {
      received_time: nanosInto(rows.receivedTime),
      event_time: intsInto(rows.eventTime, "event_time", true, errors),
      transaction_time: intsInto(rows.transactionTime, "transaction_time", true, errors),
      last_update_id: intsInto(rows.lastUpdateId, "last_update_id", false, errors),
      purpose: stringsInto(rows.purpose),
      level: intsInto(rows.level, "level", false, errors),
      side_is_bid: flagsInto(rows.sideIsBid),
      price: intsInto(rows.price, "price", false, errors),
      size: intsInto(rows.size, "size", false, errors)
    },
    errors
  )
  return { info, rows }
}

/**
 * The Parquet bytes of a segment file: an encrypted one is decrypted with `key` (a missing or
 * wrong key, or an altered file, throws DecryptError naming the file), a plain one read as it is.
 */
export const readSegmentBytes = async (file: string, key?: BookKey): Promise<Uint8Array> =>
  openFileBytes(await fs.readFile(file), file, key)

/** Reads and decodes a book_deltas segment file (decrypting it with `key` when encrypted). */
export const readBookDeltas = async (file: string, key?: BookKey): Promise<DeltaSegment> =>
  decodeBookDeltas(await readSegmentBytes(file, key))

/** Reads and decodes a book_snapshots segment file (decrypting it with `key` when encrypted). */
export const readBookSnapshots = async (file: string, key?: BookKey): Promise<SnapshotSegment> =>
  decodeBookSnapshots(await readSegmentBytes(file, key))

// --- listing -------------------------------------------------------------------------------

/** A segment file found in the lake. */
export interface SegmentFile {
  readonly partition: BookPartition
  readonly seq: number
  readonly file: string
}

const hiveValue = (name: string, key: string): string | undefined =>
  name.startsWith(`${key}=`) ? name.slice(key.length + 1) : undefined

export interface SegmentFilter {
  readonly venue?: string
  readonly symbol?: string
  /** Inclusive UTC dates. */
  readonly fromDate?: string
  readonly toDate?: string
  /** Only segments with a seq above this. */
  readonly afterSeq?: number
}

/**
 * The segment files of `dataset` under the lake folder, filtered, sorted by seq then partition
 * (write order). Temporaries and other files are skipped.
 */
export const listSegments = async (
  lakeDir: string,
  dataset: BookDatasetName,
  filter: SegmentFilter = {}
): Promise<Array<SegmentFile>> => {
  const out: Array<SegmentFile> = []
  const root = path.join(lakeDir, dataset)
  for (const venueName of await readdirOrEmpty(root)) {
    const venue = hiveValue(venueName, "venue")
    if (venue === undefined || (filter.venue !== undefined && venue !== filter.venue)) continue
    for (const dateName of await readdirOrEmpty(path.join(root, venueName))) {
      const date = hiveValue(dateName, "date")
      if (date === undefined) continue
      if (filter.fromDate !== undefined && date < filter.fromDate) continue
      if (filter.toDate !== undefined && date > filter.toDate) continue
      for (const symbolName of await readdirOrEmpty(path.join(root, venueName, dateName))) {
        const symbol = hiveValue(symbolName, "symbol")
        if (symbol === undefined || (filter.symbol !== undefined && symbol !== filter.symbol)) continue
        const partition: BookPartition = { dataset, venue, date, symbol }
        const dir = bookPartitionDir(lakeDir, partition)
        for (const name of await readdirOrEmpty(dir)) {
          const seq = segmentSeq(name)
          if (seq === undefined || (filter.afterSeq !== undefined && seq <= filter.afterSeq)) continue
          out.push({ partition, seq, file: path.join(dir, name) })
        }
      }
    }
  }
  out.sort((a, b) =>
    a.seq !== b.seq
      ? a.seq - b.seq
      : a.partition.date !== b.partition.date
        ? a.partition.date < b.partition.date
          ? -1
          : 1
        : a.partition.symbol < b.partition.symbol
          ? -1
          : a.partition.symbol > b.partition.symbol
            ? 1
            : 0
  )
  return out
}
