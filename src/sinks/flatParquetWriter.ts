/**
 * A fast Parquet writer for the columns of a `Dataset`: top-level fields, each REQUIRED or
 * OPTIONAL, of the types in `ColumnType` (a string list is the one nested shape: a 3-level LIST).
 * Pages are built in one pass straight from typed arrays (see parquetColumns):
 *
 * - double: PLAIN (a copy of the Float64Array's little-endian bytes), non-null values only;
 * - int64, timestamp_ms, timestamp_ns, decimal (INT64) and date (INT32): DELTA_BINARY_PACKED
 *   (blocks of 128, 4 miniblocks of 32);
 * - boolean: PLAIN (bit-packed);
 * - string, and the strings of a string list: a PLAIN dictionary page and RLE_DICTIONARY data
 *   pages when distinct values are few, else PLAIN byte arrays.
 *
 * Data pages are V2 (as hyparquet-writer writes them): repetition levels (lists only) and
 * definition levels (RLE/bit-packed hybrid, uncompressed), then the compressed values. Page headers
 * and the footer are our own Thrift (parquetThrift), field for field as hyparquet-writer writes
 * them. Deterministic: the same input gives the same bytes.
 */
import type { CompressionCodec, Encoding, SchemaElement } from "hyparquet"
import { MAX_DECIMAL_SCALE } from "../domain/Dataset.js"
import { type FlatColumn, type FlatColumnData, rowCount } from "./parquetColumns.js"
import {
  type ChunkStatistics,
  type ColumnChunkMeta,
  type RowGroupMeta,
  stringStatistic,
  writeDataPageV2Header,
  writeDictionaryPageHeader,
  writeFooter
} from "./parquetThrift.js"

// --- options -----------------------------------------------------------------------------

/** Compresses a page; the result may be a view of a scratch buffer, used before the next call. */
export type PageCompressor = (input: Uint8Array) => Uint8Array

export interface FlatWriteOptions {
  readonly codec: CompressionCodec
  /** Required for codecs other than UNCOMPRESSED and SNAPPY (built in). */
  readonly compress?: PageCompressor
  /** Rows per row group. */
  readonly rowGroupSize: number
  /** Target bytes of values per data page. Default 1 MiB. */
  readonly pageSize?: number
  /** Columns that get statistics (min/max, null count; none for string lists). Default: all. */
  readonly statisticsFor?: ReadonlySet<string>
  readonly kvMetadata?: ReadonlyArray<{ readonly key: string; readonly value: string }>
  readonly createdBy: string
}

// --- schema ------------------------------------------------------------------------------

/** Precision of a decimal column: 18 digits, the most an INT64 always holds. */
export const DECIMAL_PRECISION = 18

/** Name of a list's repeated group and of its element, as parquet-format's LIST rules name them. */
const LIST_GROUP = "list"
const LIST_ELEMENT = "element"

/** The schema elements of one column: one leaf, or for a string list its group, repeated group and leaf. */
export const flatSchemaElements = (column: FlatColumn): Array<SchemaElement> => {
  const repetition_type = column.nullable ? "OPTIONAL" : "REQUIRED"
  const name = column.name
  switch (column.type) {
    case "string":
      return [
        {
          name,
          type: "BYTE_ARRAY",
          repetition_type,
          converted_type: "UTF8",
          logical_type: { type: "STRING" }
        }
      ]
    case "timestamp_ms":
      return [
        {
          name,
          type: "INT64",
          repetition_type,
          converted_type: "TIMESTAMP_MILLIS",
          logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MILLIS" }
        }
      ]
    case "timestamp_ns":
      // No converted type exists for nanoseconds: the logical type alone.
      return [
        {
          name,
          type: "INT64",
          repetition_type,
          logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "NANOS" }
        }
      ]
    case "double":
      return [{ name, type: "DOUBLE", repetition_type }]
    case "int64":
      return [{ name, type: "INT64", repetition_type }]
    case "boolean":
      return [{ name, type: "BOOLEAN", repetition_type }]
    case "date":
      return [
        { name, type: "INT32", repetition_type, converted_type: "DATE", logical_type: { type: "DATE" } }
      ]
    case "decimal": {
      const scale = column.scale
      if (!Number.isInteger(scale) || scale < 0 || scale > MAX_DECIMAL_SCALE) {
        throw new Error(`decimal column ${name} has scale ${scale}; expected a whole number from 0 to 18`)
      }
      const precision = DECIMAL_PRECISION
      return [
        {
          name,
          type: "INT64",
          repetition_type,
          converted_type: "DECIMAL",
          scale,
          precision,
          logical_type: { type: "DECIMAL", scale, precision }
        }
      ]
    }
    case "string_list":
      return [
        { name, repetition_type, num_children: 1, converted_type: "LIST", logical_type: { type: "LIST" } },
        { name: LIST_GROUP, repetition_type: "REPEATED", num_children: 1 },
        {
          name: LIST_ELEMENT,
          type: "BYTE_ARRAY",
          repetition_type: "REQUIRED",
          converted_type: "UTF8",
          logical_type: { type: "STRING" }
        }
      ]
  }
}

/** The Parquet schema (root first) for `columns`. */
export const flatSchema = (columns: ReadonlyArray<FlatColumn>): Array<SchemaElement> => {
  const schema: Array<SchemaElement> = [{ name: "root", num_children: columns.length }]
  for (const column of columns) schema.push(...flatSchemaElements(column))
  return schema
}

// --- byte buffers ------------------------------------------------------------------------

/** A growable scratch buffer. */
class Scratch {
  buf: Uint8Array
  view: DataView
  pos = 0
  constructor(size: number) {
    this.buf = new Uint8Array(size)
    this.view = new DataView(this.buf.buffer)
  }
  ensure(extra: number): void {
    const need = this.pos + extra
    if (need <= this.buf.length) return
    const next = new Uint8Array(Math.max(need, this.buf.length * 2))
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
    this.view = new DataView(next.buffer)
  }
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos)
  }
}

/**
 * The file being written, reused from file to file (the bytes returned are a copy): a buffer sized
 * per file to the data's uncompressed size was filled, and its memory touched, for every file,
 * and the allocator kept those pages long after (a ThetaData backfill writes a 20 MB-uncompressed
 * file every half second). Grows as needed; one grown past `FILE_SCRATCH_KEPT` is let go after its
 * file.
 */
let fileScratch = new Scratch(1 << 20)
const FILE_SCRATCH_KEPT = 32 << 20
const levelScratch = new Scratch(1 << 12)
const pageScratch = new Scratch(1 << 16)
let compactF64 = new Float64Array(1 << 12)
const deltaScratch = new Float64Array(128)
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

const writeVarInt = (s: Scratch, value: number): void => {
  // value: a non-negative integer below 2^53
  s.ensure(10)
  const buf = s.buf
  let pos = s.pos
  let v = value
  while (v >= 0x80) {
    buf[pos++] = (v % 0x80) | 0x80
    v = Math.floor(v / 0x80)
  }
  buf[pos++] = v
  s.pos = pos
}

const writeVarBigInt = (s: Scratch, value: bigint): void => {
  s.ensure(10)
  let v = value
  while (v >= 0x80n) {
    s.buf[s.pos++] = Number(v & 0x7fn) | 0x80
    v >>= 7n
  }
  s.buf[s.pos++] = Number(v)
}

/** Zigzag varint of a safe integer (BigInt only past 2^51). */
const writeZigZag = (s: Scratch, value: number): void => {
  if (value >= -0x8000000000000 && value < 0x8000000000000) {
    writeVarInt(s, value >= 0 ? value * 2 : -value * 2 - 1)
  } else {
    writeZigZagBig(s, BigInt(value))
  }
}

const writeZigZagBig = (s: Scratch, value: bigint): void => {
  writeVarBigInt(s, BigInt.asUintN(64, (value << 1n) ^ (value >> 63n)))
}

// --- RLE / bit-packed hybrid -------------------------------------------------------------

/**
 * Writes `values[start, end)` (each below 2^bitWidth, bitWidth ≤ 24) as the RLE/bit-packed
 * hybrid: runs of 8 or more equal values as RLE runs, the rest as bit-packed groups of 8
 * (the last group padded with zeros). Same run choice as hyparquet-writer.
 */
const writeHybrid = (
  s: Scratch,
  values: Uint8Array | Uint32Array,
  start: number,
  end: number,
  bitWidth: number
): void => {
  let i = start
  let groups = 0
  let groupStart = 0
  const valueBytes = (bitWidth + 7) >> 3
  while (i < end) {
    const v = values[i]!
    let r = i + 1
    while (r < end && values[r] === v) r++
    if (r - i >= 8) {
      if (groups > 0) {
        writeBitPacked(s, values, groupStart, groups, end, bitWidth)
        groups = 0
      }
      writeVarInt(s, (r - i) * 2)
      s.ensure(4)
      for (let b = 0; b < valueBytes; b++) s.buf[s.pos++] = (v >>> (b * 8)) & 0xff
      i = r
    } else {
      if (groups === 0) groupStart = i
      groups++
      i += 8
    }
  }
  if (groups > 0) writeBitPacked(s, values, groupStart, groups, end, bitWidth)
}

const writeBitPacked = (
  s: Scratch,
  values: Uint8Array | Uint32Array,
  start: number,
  groups: number,
  end: number,
  bitWidth: number
): void => {
  writeVarInt(s, groups * 2 + 1)
  if (bitWidth === 0) return
  s.ensure(groups * bitWidth + 8)
  const buf = s.buf
  let pos = s.pos
  const stop = start + groups * 8
  const last = Math.min(stop, end)
  if (bitWidth === 1) {
    let i = start
    for (; i + 8 <= last; i += 8) {
      buf[pos++] =
        values[i]! |
        (values[i + 1]! << 1) |
        (values[i + 2]! << 2) |
        (values[i + 3]! << 3) |
        (values[i + 4]! << 4) |
        (values[i + 5]! << 5) |
        (values[i + 6]! << 6) |
        (values[i + 7]! << 7)
    }
    if (i < stop) {
      let byte = 0
      for (let k = 0; i + k < last; k++) byte |= values[i + k]! << k
      buf[pos++] = byte
    }
    s.pos = pos
    return
  }
  let acc = 0
  let bits = 0
  for (let i = start; i < stop; i++) {
    acc |= (i < last ? values[i]! : 0) << bits
    bits += bitWidth
    while (bits >= 8) {
      buf[pos++] = acc & 0xff
      acc >>>= 8
      bits -= 8
    }
  }
  if (bits > 0) buf[pos++] = acc & 0xff
  s.pos = pos
}

// --- DELTA_BINARY_PACKED -----------------------------------------------------------------

const BLOCK = 128
const MINIBLOCKS = 4
const MINI = 32

/** Packs 32 uint32 values of `bitWidth` bits (1..32) into exactly `bitWidth` 32-bit words. */
const packMiniblock = (s: Scratch, u: Uint32Array, bitWidth: number): void => {
  s.ensure(bitWidth * 4)
  const buf = s.buf
  let pos = s.pos
  let word = 0
  let bitPos = 0
  for (let i = 0; i < MINI; i++) {
    const v = u[i]!
    word |= v << bitPos
    bitPos += bitWidth
    if (bitPos >= 32) {
      buf[pos] = word & 0xff
      buf[pos + 1] = (word >>> 8) & 0xff
      buf[pos + 2] = (word >>> 16) & 0xff
      buf[pos + 3] = word >>> 24
      pos += 4
      bitPos -= 32
      word = bitPos > 0 ? v >>> (bitWidth - bitPos) : 0
    }
  }
  s.pos = pos
}

const miniU32 = new Uint32Array(MINI)

/** Writes one block of `nd` deltas held in `deltaScratch`, all within [min, min + 2^32). */
const writeDeltaBlock = (s: Scratch, nd: number, min: number): void => {
  const d = deltaScratch
  writeZigZag(s, min)
  s.ensure(MINIBLOCKS)
  const widthsAt = s.pos
  s.pos += MINIBLOCKS
  for (let mb = 0; mb < MINIBLOCKS; mb++) {
    const ms = mb * MINI
    if (ms >= nd) {
      s.buf[widthsAt + mb] = 0
      continue
    }
    const me = Math.min(ms + MINI, nd)
    let or = 0
    const u = miniU32
    for (let k = ms; k < me; k++) {
      const x = (d[k]! - min) >>> 0
      u[k - ms] = x
      or |= x
    }
    for (let k = me - ms; k < MINI; k++) u[k] = 0
    const width = or === 0 ? 0 : 32 - Math.clz32(or)
    s.buf[widthsAt + mb] = width
    if (width > 0) packMiniblock(s, u, width)
  }
}

/** Whether a block's deltas [min, max] can be written by `writeDeltaBlock` (exact as doubles, span < 2^32). */
const smallDeltas = (min: number, max: number): boolean =>
  max - min <= 0xffffffff && min >= -0x10000000000000 && max <= 0x10000000000000

/** Whether they can be written by `writeDeltaBlockMid`: exact as doubles, span < 2^53. */
const midDeltas = (min: number, max: number): boolean =>
  max - min <= Number.MAX_SAFE_INTEGER && min >= -0x10000000000000 && max <= 0x10000000000000

const miniLo = new Uint32Array(MINI)
const miniHi = new Uint32Array(MINI)

/**
 * Writes one block of `nd` deltas held in `deltaScratch` whose span reaches 2^32 (fixed-point
 * prices a few dollars apart do): each delta − min is below 2^53, packed from its two 32-bit
 * halves with double arithmetic, not BigInts.
 */
const writeDeltaBlockMid = (s: Scratch, nd: number, min: number): void => {
  const d = deltaScratch
  writeZigZag(s, min)
  s.ensure(MINIBLOCKS)
  const widthsAt = s.pos
  s.pos += MINIBLOCKS
  for (let mb = 0; mb < MINIBLOCKS; mb++) {
    const ms = mb * MINI
    if (ms >= nd) {
      s.buf[widthsAt + mb] = 0
      continue
    }
    const me = Math.min(ms + MINI, nd)
    let orLo = 0
    let orHi = 0
    for (let k = 0; k < MINI; k++) {
      const x = ms + k < me ? d[ms + k]! - min : 0
      const hi = Math.floor(x / 4294967296)
      const lo = x - hi * 4294967296
      miniLo[k] = lo
      miniHi[k] = hi
      orLo |= lo
      orHi |= hi
    }
    const width = orHi !== 0 ? 64 - Math.clz32(orHi) : orLo === 0 ? 0 : 32 - Math.clz32(orLo)
    s.buf[widthsAt + mb] = width
    if (width === 0) continue
    s.ensure(width * 4)
    const buf = s.buf
    let pos = s.pos
    // Bits not yet written, least significant first, as a double (below 2^40: exact).
    let acc = 0
    let bits = 0
    for (let k = 0; k < MINI; k++) {
      acc += miniLo[k]! * 2 ** bits
      bits += Math.min(width, 32)
      while (bits >= 8) {
        const byte = acc % 256
        buf[pos++] = byte
        acc = (acc - byte) / 256
        bits -= 8
      }
      if (width > 32) {
        acc += miniHi[k]! * 2 ** bits
        bits += width - 32
        while (bits >= 8) {
          const byte = acc % 256
          buf[pos++] = byte
          acc = (acc - byte) / 256
          bits -= 8
        }
      }
    }
    s.pos = pos
  }
}

/**
 * DELTA_BINARY_PACKED of `count` safe integers `v[0, count)`. Blocks whose deltas span 2^32 or
 * more (or are beyond ±2^52) fall back to BigInt arithmetic.
 */
const writeDeltaNumbers = (s: Scratch, v: Float64Array, count: number): void => {
  writeVarInt(s, BLOCK)
  writeVarInt(s, MINIBLOCKS)
  writeVarInt(s, count)
  writeZigZag(s, count === 0 ? 0 : v[0]!)
  const d = deltaScratch
  for (let bs = 1; bs < count; bs += BLOCK) {
    const be = Math.min(bs + BLOCK, count)
    const nd = be - bs
    let min = Number.POSITIVE_INFINITY
    let max = Number.NEGATIVE_INFINITY
    let prev = v[bs - 1]!
    for (let k = 0; k < nd; k++) {
      const cur = v[bs + k]!
      const delta = cur - prev
      prev = cur
      d[k] = delta
      if (delta < min) min = delta
      if (delta > max) max = delta
    }
    if (smallDeltas(min, max)) writeDeltaBlock(s, nd, min)
    else if (midDeltas(min, max)) writeDeltaBlockMid(s, nd, min)
    else writeDeltaBlockBig(s, (k) => BigInt(v[k]!), bs, be)
  }
}

/**
 * DELTA_BINARY_PACKED of a wide (BigInt64) column's `count` values. Deltas are taken from the
 * values' 32-bit halves as doubles (exact while they are below 2^53), so a block of nearby values
 * (nanosecond timestamps) costs what a block of safe integers does; other blocks use BigInts.
 */
const writeDeltaWide = (s: Scratch, v: BigInt64Array, count: number): void => {
  writeVarInt(s, BLOCK)
  writeVarInt(s, MINIBLOCKS)
  writeVarInt(s, count)
  writeZigZagBig(s, count === 0 ? 0n : v[0]!)
  const halves = LITTLE_ENDIAN ? new Int32Array(v.buffer, v.byteOffset, count * 2) : undefined
  const d = deltaScratch
  for (let bs = 1; bs < count; bs += BLOCK) {
    const be = Math.min(bs + BLOCK, count)
    const nd = be - bs
    if (halves !== undefined) {
      let min = Number.POSITIVE_INFINITY
      let max = Number.NEGATIVE_INFINITY
      let prevLo = halves[2 * bs - 2]! >>> 0
      let prevHi = halves[2 * bs - 1]!
      for (let k = 0; k < nd; k++) {
        const lo = halves[2 * (bs + k)]! >>> 0
        const hi = halves[2 * (bs + k) + 1]!
        const delta = (hi - prevHi) * 4294967296 + (lo - prevLo)
        prevLo = lo
        prevHi = hi
        d[k] = delta
        if (delta < min) min = delta
        if (delta > max) max = delta
      }
      if (smallDeltas(min, max)) {
        writeDeltaBlock(s, nd, min)
        continue
      }
      if (midDeltas(min, max)) {
        writeDeltaBlockMid(s, nd, min)
        continue
      }
    }
    writeDeltaBlockBig(s, (k) => v[k]!, bs, be)
  }
}

/** One block of deltas `at(k) - at(k - 1)` for k in [bs, be), with 64-bit wrapping arithmetic. */
const writeDeltaBlockBig = (s: Scratch, at: (k: number) => bigint, bs: number, be: number): void => {
  const nd = be - bs
  const deltas: Array<bigint> = new Array(nd)
  let min = 0n
  for (let k = 0; k < nd; k++) {
    const delta = BigInt.asIntN(64, at(bs + k) - at(bs + k - 1))
    deltas[k] = delta
    if (k === 0 || delta < min) min = delta
  }
  writeZigZagBig(s, min)
  s.ensure(MINIBLOCKS)
  const widthsAt = s.pos
  s.pos += MINIBLOCKS
  for (let mb = 0; mb < MINIBLOCKS; mb++) {
    const ms = mb * MINI
    if (ms >= nd) {
      s.buf[widthsAt + mb] = 0
      continue
    }
    const me = Math.min(ms + MINI, nd)
    const u: Array<bigint> = new Array(MINI).fill(0n)
    let or = 0n
    for (let k = ms; k < me; k++) {
      const x = BigInt.asUintN(64, deltas[k]! - min)
      u[k - ms] = x
      or |= x
    }
    const width = or.toString(2).length - (or === 0n ? 1 : 0)
    s.buf[widthsAt + mb] = width
    if (width === 0) continue
    s.ensure(width * 4)
    let acc = 0n
    let bits = 0
    for (let k = 0; k < MINI; k++) {
      acc |= u[k]! << BigInt(bits)
      bits += width
      while (bits >= 8) {
        s.buf[s.pos++] = Number(acc & 0xffn)
        acc >>= 8n
        bits -= 8
      }
    }
  }
}

// --- strings -----------------------------------------------------------------------------

const textEncoder = new TextEncoder()

/** Appends a 4-byte length and the UTF-8 bytes of `value`. */
const writeByteArray = (s: Scratch, value: string): void => {
  const n = value.length
  s.ensure(4 + n * 3)
  const buf = s.buf
  const start = s.pos + 4
  let pos = start
  let i = 0
  for (; i < n; i++) {
    const c = value.charCodeAt(i)
    if (c >= 0x80) break
    buf[pos++] = c
  }
  if (i < n) pos += textEncoder.encodeInto(value.slice(i), buf.subarray(pos)).written
  const len = pos - start
  buf[start - 4] = len & 0xff
  buf[start - 3] = (len >>> 8) & 0xff
  buf[start - 2] = (len >>> 16) & 0xff
  buf[start - 1] = len >>> 24
  s.pos = pos
}

const codePointAt = (str: string, i: number): number => {
  const code = str.codePointAt(i) ?? 0xfffd
  return code >= 0xd800 && code <= 0xdfff ? 0xfffd : code
}

/** Compares strings in UTF-8 byte order (code point order, lone surrogates as U+FFFD). */
export const compareUtf8 = (left: string, right: string): number => {
  if (left === right) return 0
  const length = Math.min(left.length, right.length)
  let i = 0
  while (i < length && left.charCodeAt(i) === right.charCodeAt(i)) i++
  if (i > 0) {
    const prev = left.charCodeAt(i - 1)
    if (prev >= 0xd800 && prev <= 0xdbff) i--
  }
  while (i < left.length && i < right.length) {
    const a = codePointAt(left, i)
    const b = codePointAt(right, i)
    if (a !== b) return a - b
    i += a > 0xffff ? 2 : 1
  }
  return left.length - right.length
}

// --- snappy ------------------------------------------------------------------------------

const snappyOut = new Scratch(1 << 16)
const hashTables: Array<Uint32Array | undefined> = []

/** Four bytes at `p`, little-endian: one unaligned load through a DataView (1.5× the four byte reads). */
const snappyLoad32 = (words: DataView, p: number): number => words.getUint32(p, true)

const snappyLiteral = (out: Uint8Array, op: number, input: Uint8Array, from: number, len: number): number => {
  let o = op
  if (len <= 60) {
    out[o++] = (len - 1) << 2
  } else {
    const value = len - 1
    const bytes = value < 0x100 ? 1 : value < 0x10000 ? 2 : value < 0x1000000 ? 3 : 4
    out[o++] = (59 + bytes) << 2
    for (let i = 0; i < bytes; i++) out[o++] = (value >>> (i * 8)) & 0xff
  }
  if (len < 16) {
    for (let i = 0; i < len; i++) out[o + i] = input[from + i]!
  } else {
    out.set(input.subarray(from, from + len), o)
  }
  return o + len
}

const snappyCopy = (out: Uint8Array, op: number, offset: number, length: number): number => {
  let o = op
  let len = length
  while (len >= 68) {
    out[o] = 2 + (63 << 2)
    out[o + 1] = offset & 0xff
    out[o + 2] = offset >>> 8
    o += 3
    len -= 64
  }
  if (len > 64) {
    out[o] = 2 + (59 << 2)
    out[o + 1] = offset & 0xff
    out[o + 2] = offset >>> 8
    o += 3
    len -= 60
  }
  if (len < 12 && offset < 2048) {
    out[o] = 1 + ((len - 4) << 2) + ((offset >>> 8) << 5)
    out[o + 1] = offset & 0xff
    return o + 2
  }
  out[o] = 2 + ((len - 1) << 2)
  out[o + 1] = offset & 0xff
  out[o + 2] = offset >>> 8
  return o + 3
}

/**
 * Snappy compression: the algorithm of hyparquet-writer's compressor (snappyjs), writing into a
 * preallocated buffer instead of byte-by-byte appends. Same output bytes.
 */
export const snappyCompress = (input: Uint8Array): Uint8Array => {
  const n = input.length
  const s = snappyOut
  s.pos = 0
  s.ensure(32 + n + Math.ceil(n / 6))
  writeVarInt(s, n)
  const out = s.buf
  let op = s.pos
  const words = new DataView(input.buffer, input.byteOffset, input.byteLength)
  let bits = 1
  while (1 << bits <= n && bits <= 14) bits++
  bits--
  const shift = 32 - bits
  let table = hashTables[bits]
  if (table === undefined) {
    table = new Uint32Array(1 << bits)
    hashTables[bits] = table
  } else {
    table.fill(0)
  }
  let ip = 0
  let nextEmit = 0
  const MARGIN = 15
  if (n >= MARGIN) {
    const ipLimit = n - MARGIN
    ip = 1
    let nextHash = Math.imul(snappyLoad32(words, ip), 0x1e35a7bd) >>> shift
    outer: for (;;) {
      let skip = 32
      let nextIp = ip
      let candidate = 0
      do {
        ip = nextIp
        const hash = nextHash
        const step = skip >>> 5
        skip++
        nextIp = ip + step
        if (ip > ipLimit) break outer
        // Past the limit the next round stops before using the hash (and the load would overrun).
        nextHash = nextIp <= ipLimit ? Math.imul(snappyLoad32(words, nextIp), 0x1e35a7bd) >>> shift : 0
        candidate = table[hash]!
        table[hash] = ip
      } while (ip - candidate > 0xffff || snappyLoad32(words, ip) !== snappyLoad32(words, candidate))
      op = snappyLiteral(out, op, input, nextEmit, ip - nextEmit)
      do {
        const base = ip
        let matched = 4
        while (
          ip + matched + 4 <= n &&
          snappyLoad32(words, ip + matched) === snappyLoad32(words, candidate + matched)
        ) {
          matched += 4
        }
        while (ip + matched < n && input[ip + matched] === input[candidate + matched]) matched++
        ip += matched
        op = snappyCopy(out, op, base - candidate, matched)
        nextEmit = ip
        if (ip >= ipLimit) break outer
        const prevHash = Math.imul(snappyLoad32(words, ip - 1), 0x1e35a7bd) >>> shift
        table[prevHash] = ip - 1
        const curHash = Math.imul(snappyLoad32(words, ip), 0x1e35a7bd) >>> shift
        candidate = table[curHash]!
        table[curHash] = ip
      } while (ip - candidate <= 0xffff && snappyLoad32(words, ip) === snappyLoad32(words, candidate))
      ip++
      nextHash = Math.imul(snappyLoad32(words, ip), 0x1e35a7bd) >>> shift
    }
  }
  if (nextEmit < n) op = snappyLiteral(out, op, input, nextEmit, n - nextEmit)
  s.pos = op
  return out.subarray(0, op)
}

// --- pages -------------------------------------------------------------------------------

interface ChunkState {
  readonly out: Scratch
  readonly compress: PageCompressor | undefined
  uncompressed: number
  pages: number
}

const put = (out: Scratch, bytes: Uint8Array): void => {
  out.ensure(bytes.length)
  out.buf.set(bytes, out.pos)
  out.pos += bytes.length
}

const compressPage = (state: ChunkState, data: Uint8Array): Uint8Array =>
  state.compress === undefined ? data : state.compress(data)

/** Level entries, entries without a value, and rows of one data page. */
interface PageCounts {
  readonly values: number
  readonly nulls: number
  readonly rows: number
}

/** A V2 data page: repetition levels (lists), definition levels, both uncompressed, then the values. */
const writeDataPage = (
  state: ChunkState,
  encoding: Encoding,
  counts: PageCounts,
  repetition: Uint8Array | undefined,
  definition: Uint8Array,
  data: Uint8Array
): void => {
  const compressed = compressPage(state, data)
  const out = state.out
  const headerStart = out.pos
  const repetitionLength = repetition?.length ?? 0
  const levels = repetitionLength + definition.length
  writeDataPageV2Header(out, {
    uncompressedSize: levels + data.length,
    compressedSize: levels + compressed.length,
    numValues: counts.values,
    numNulls: counts.nulls,
    numRows: counts.rows,
    encoding,
    definitionLevelsLength: definition.length,
    repetitionLevelsLength: repetitionLength,
    compressed: state.compress !== undefined
  })
  state.uncompressed += out.pos - headerStart + levels + data.length
  if (repetition !== undefined) put(out, repetition)
  put(out, definition)
  put(out, compressed)
  state.pages++
}

/** A flat column's page of `rows` rows, `nulls` of them null. */
const flatPage = (rows: number, nulls: number): PageCounts => ({ values: rows, nulls, rows })

const writeDictionaryPage = (state: ChunkState, count: number, data: Uint8Array): void => {
  const compressed = compressPage(state, data)
  const out = state.out
  const headerStart = out.pos
  writeDictionaryPageHeader(out, {
    uncompressedSize: data.length,
    compressedSize: compressed.length,
    numValues: count
  })
  state.uncompressed += out.pos - headerStart + data.length
  put(out, compressed)
}

/** Definition levels of rows [s, e) into `levelScratch`; returns the null count. */
const writeLevels = (present: Uint8Array | undefined, s: number, e: number): number => {
  levelScratch.pos = 0
  if (present === undefined) return 0
  let nulls = 0
  for (let i = s; i < e; i++) nulls += 1 - present[i]!
  writeHybrid(levelScratch, present, s, e, 1)
  return nulls
}

/** The non-null values of rows [s, e), contiguous. */
const compact = (
  values: Float64Array,
  present: Uint8Array | undefined,
  s: number,
  e: number,
  nulls: number
): Float64Array => {
  if (present === undefined || nulls === 0) return values.subarray(s, e)
  if (compactF64.length < e - s) compactF64 = new Float64Array(Math.max(e - s, compactF64.length * 2))
  const c = compactF64
  let k = 0
  for (let i = s; i < e; i++) if (present[i] === 1) c[k++] = values[i]!
  return c.subarray(0, k)
}

const doubleBytes = (values: Float64Array): Uint8Array => {
  if (LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength)
  pageScratch.pos = 0
  pageScratch.ensure(values.length * 8)
  for (let i = 0; i < values.length; i++) pageScratch.view.setFloat64(i * 8, values[i]!, true)
  pageScratch.pos = values.length * 8
  return pageScratch.bytes()
}

// --- statistics values (plain encoding, little-endian) ------------------------------------

const plainBytes = (size: number, set: (view: DataView) => void): Uint8Array => {
  const bytes = new Uint8Array(size)
  set(new DataView(bytes.buffer))
  return bytes
}
const float64Bytes = (x: number) => plainBytes(8, (v) => v.setFloat64(0, x, true))
const int64Bytes = (x: bigint) => plainBytes(8, (v) => v.setBigInt64(0, x, true))
const int32Bytes = (x: number) => plainBytes(4, (v) => v.setInt32(0, x, true))

// --- column chunks -----------------------------------------------------------------------

interface ChunkResult {
  readonly encodings: Array<Encoding>
  readonly dataEncoding: Encoding
  readonly dictionaryOffset: number | undefined
  readonly dataOffset: number
  readonly statistics: ChunkStatistics | undefined
  /** Level entries written: the rows, or for a list one per element and per empty or null list. */
  readonly numValues: number
}

const writeDoubleChunk = (
  state: ChunkState,
  data: Extract<FlatColumnData, { kind: "double" }>,
  g0: number,
  g1: number,
  rowsPerPage: number,
  stats: boolean
): ChunkResult => {
  const dataOffset = state.out.pos
  let nullCount = 0
  let nanCount = 0
  let min = Number.POSITIVE_INFINITY
  let max = Number.NEGATIVE_INFINITY
  for (let s = g0; s < g1; s += rowsPerPage) {
    const e = Math.min(s + rowsPerPage, g1)
    const nulls = writeLevels(data.present, s, e)
    const values = compact(data.values, data.present, s, e, nulls)
    if (stats) {
      nullCount += nulls
      for (let i = 0; i < values.length; i++) {
        const x = values[i]!
        if (x < min) min = x
        if (x > max) max = x
        if (Number.isNaN(x)) nanCount++
      }
    }
    writeDataPage(
      state,
      "PLAIN",
      flatPage(e - s, nulls),
      undefined,
      levelScratch.bytes(),
      doubleBytes(values)
    )
  }
  let statistics: ChunkStatistics | undefined
  if (stats) {
    // min -0 and max +0 when zero is a bound: readers compare either zero as equal to the other.
    statistics = {
      nullCount,
      ...(min <= max
        ? { max: float64Bytes(max === 0 ? 0 : max), min: float64Bytes(min === 0 ? -0 : min) }
        : {}),
      nanCount
    }
  }
  return {
    encodings: ["PLAIN"],
    dataEncoding: "PLAIN",
    dictionaryOffset: undefined,
    dataOffset,
    statistics,
    numValues: g1 - g0
  }
}

/** An integer column's slots: safe integers in `values`, or every value in `wide`. */
interface IntSlots {
  readonly values: Float64Array | undefined
  readonly wide: BigInt64Array | undefined
  readonly present: Uint8Array | undefined
}

const writeIntChunk = (
  state: ChunkState,
  data: IntSlots,
  physical: "INT32" | "INT64",
  g0: number,
  g1: number,
  rowsPerPage: number,
  stats: boolean
): ChunkResult => {
  const dataOffset = state.out.pos
  let nullCount = 0
  let min = Number.POSITIVE_INFINITY
  let max = Number.NEGATIVE_INFINITY
  let minBig: bigint | undefined
  let maxBig: bigint | undefined
  for (let s = g0; s < g1; s += rowsPerPage) {
    const e = Math.min(s + rowsPerPage, g1)
    const nulls = writeLevels(data.present, s, e)
    nullCount += nulls
    pageScratch.pos = 0
    if (data.wide === undefined) {
      const values = compact(data.values!, data.present, s, e, nulls)
      if (stats) {
        for (let i = 0; i < values.length; i++) {
          const x = values[i]!
          if (x < min) min = x
          if (x > max) max = x
        }
      }
      writeDeltaNumbers(pageScratch, values, values.length)
    } else {
      const wide = data.wide
      const present = data.present
      let values = wide.subarray(s, e)
      if (nulls > 0 && present !== undefined) {
        values = new BigInt64Array(e - s - nulls)
        let k = 0
        for (let i = s; i < e; i++) if (present[i] === 1) values[k++] = wide[i]!
      }
      if (stats) {
        for (let i = 0; i < values.length; i++) {
          const x = values[i]!
          if (minBig === undefined || x < minBig) minBig = x
          if (maxBig === undefined || x > maxBig) maxBig = x
        }
      }
      writeDeltaWide(pageScratch, values, values.length)
    }
    writeDataPage(
      state,
      "DELTA_BINARY_PACKED",
      flatPage(e - s, nulls),
      undefined,
      levelScratch.bytes(),
      pageScratch.bytes()
    )
  }
  let statistics: ChunkStatistics | undefined
  if (stats) {
    if (min <= max) {
      minBig = minBig === undefined || BigInt(min) < minBig ? BigInt(min) : minBig
      maxBig = maxBig === undefined || BigInt(max) > maxBig ? BigInt(max) : maxBig
    }
    const encode = physical === "INT32" ? (x: bigint) => int32Bytes(Number(x)) : int64Bytes
    statistics = {
      nullCount,
      ...(minBig !== undefined && maxBig !== undefined ? { max: encode(maxBig), min: encode(minBig) } : {})
    }
  }
  return {
    encodings: ["DELTA_BINARY_PACKED"],
    dataEncoding: "DELTA_BINARY_PACKED",
    dictionaryOffset: undefined,
    dataOffset,
    statistics,
    numValues: g1 - g0
  }
}

const writeBooleanChunk = (
  state: ChunkState,
  data: Extract<FlatColumnData, { kind: "boolean" }>,
  g0: number,
  g1: number,
  rowsPerPage: number,
  stats: boolean
): ChunkResult => {
  const dataOffset = state.out.pos
  const { values, present } = data
  let nullCount = 0
  let trues = 0
  let falses = 0
  for (let s = g0; s < g1; s += rowsPerPage) {
    const e = Math.min(s + rowsPerPage, g1)
    const nulls = writeLevels(present, s, e)
    nullCount += nulls
    // PLAIN booleans: one bit each, least significant bit first.
    const page = pageScratch
    page.pos = 0
    page.ensure(((e - s) >> 3) + 1)
    const buf = page.buf
    let byte = 0
    let bit = 0
    for (let i = s; i < e; i++) {
      if (present !== undefined && present[i] !== 1) continue
      const v = values[i]!
      byte |= v << bit
      if (v === 1) trues++
      else falses++
      if (++bit === 8) {
        buf[page.pos++] = byte
        byte = 0
        bit = 0
      }
    }
    if (bit > 0) buf[page.pos++] = byte
    writeDataPage(state, "PLAIN", flatPage(e - s, nulls), undefined, levelScratch.bytes(), page.bytes())
  }
  const any = trues + falses > 0
  return {
    encodings: ["PLAIN"],
    dataEncoding: "PLAIN",
    dictionaryOffset: undefined,
    dataOffset,
    statistics: stats
      ? {
          nullCount,
          ...(any ? { max: Uint8Array.of(trues > 0 ? 1 : 0), min: Uint8Array.of(falses > 0 ? 0 : 1) } : {})
        }
      : undefined,
    numValues: g1 - g0
  }
}

/** Dictionary indexes of the values of a string chunk (reused). */
let indexScratch = new Uint32Array(1 << 12)
const MAX_DICTIONARY = 65535

/**
 * The distinct values of `values[from, to)` (rows absent in `present` skipped) in order of first
 * appearance, with each value's index in `indexScratch[i - from]`; undefined when there are more
 * than `limit`.
 */
const dictionaryOf = (
  values: ReadonlyArray<string>,
  present: Uint8Array | undefined,
  from: number,
  to: number,
  limit: number
): Array<string> | undefined => {
  if (indexScratch.length < to - from)
    indexScratch = new Uint32Array(Math.max(to - from, indexScratch.length * 2))
  const indexes = indexScratch
  const seen = new Map<string, number>()
  const distinct: Array<string> = []
  let last: string | undefined
  let lastIndex = 0
  for (let i = from; i < to; i++) {
    if (present !== undefined && present[i] !== 1) {
      indexes[i - from] = 0
      continue
    }
    const v = values[i]!
    if (v !== last) {
      let index = seen.get(v)
      if (index === undefined) {
        index = distinct.length
        if (index >= limit) return undefined
        seen.set(v, index)
        distinct.push(v)
      }
      last = v
      lastIndex = index
    }
    indexes[i - from] = lastIndex
  }
  return distinct.length > 0 ? distinct : undefined
}

/** Writes the dictionary page of `dictionary`; returns its offset and the index bit width. */
const writeDictionary = (
  state: ChunkState,
  dictionary: ReadonlyArray<string>
): { readonly offset: number; readonly bitWidth: number } => {
  const offset = state.out.pos
  pageScratch.pos = 0
  for (const v of dictionary) writeByteArray(pageScratch, v)
  writeDictionaryPage(state, dictionary.length, pageScratch.bytes())
  const bitWidth = 32 - Math.clz32(dictionary.length - 1)
  return { offset, bitWidth: bitWidth === 0 ? 1 : bitWidth }
}

/** RLE_DICTIONARY page data: the bit width, then `indexes[start, end)` as the hybrid. */
const writeIndexes = (indexes: Uint32Array, start: number, end: number, bitWidth: number): Uint8Array => {
  pageScratch.pos = 0
  pageScratch.ensure(1)
  pageScratch.buf[pageScratch.pos++] = bitWidth
  writeHybrid(pageScratch, indexes, start, end, bitWidth)
  return pageScratch.bytes()
}

const stringStatistics = (
  nullCount: number,
  min: string | undefined,
  max: string | undefined
): ChunkStatistics => {
  if (min === undefined || max === undefined) return { nullCount }
  const high = stringStatistic(max, true)
  const low = stringStatistic(min, false)
  return {
    nullCount,
    max: high.bytes,
    min: low.bytes,
    ...(high.exact ? {} : { maxExact: false as const }),
    ...(low.exact ? {} : { minExact: false as const })
  }
}

const writeStringChunk = (
  state: ChunkState,
  data: Extract<FlatColumnData, { kind: "string" }>,
  g0: number,
  g1: number,
  rowsPerPage: number,
  pageSize: number,
  stats: boolean
): ChunkResult => {
  const { values, present } = data
  let nonNull = g1 - g0
  if (present !== undefined) {
    nonNull = 0
    for (let i = g0; i < g1; i++) nonNull += present[i]!
  }
  const nullCount = g1 - g0 - nonNull
  // Dictionary when distinct values are at most a quarter of the values (and fit 16 bits).
  const limit = Math.min(MAX_DICTIONARY, nonNull >> 2)
  const dictionary = limit >= 1 ? dictionaryOf(values, present, g0, g1, limit) : undefined
  let min: string | undefined
  let max: string | undefined
  const track = (v: string): void => {
    if (min === undefined || compareUtf8(v, min) < 0) min = v
    if (max === undefined || compareUtf8(v, max) > 0) max = v
  }
  let result: ChunkResult
  if (dictionary !== undefined) {
    const { offset: dictionaryOffset, bitWidth } = writeDictionary(state, dictionary)
    if (stats) for (const v of dictionary) track(v)
    const dataOffset = state.out.pos
    const indexes = indexScratch
    const compacted = new Uint32Array(Math.min(rowsPerPage, g1 - g0))
    for (let s = g0; s < g1; s += rowsPerPage) {
      const e = Math.min(s + rowsPerPage, g1)
      const nulls = writeLevels(present, s, e)
      let page: Uint32Array = indexes
      let ps = s - g0
      let pe = e - g0
      if (nulls > 0 && present !== undefined) {
        let k = 0
        for (let i = s; i < e; i++) if (present[i] === 1) compacted[k++] = indexes[i - g0]!
        page = compacted
        ps = 0
        pe = k
      }
      const bytes = writeIndexes(page, ps, pe, bitWidth)
      writeDataPage(state, "RLE_DICTIONARY", flatPage(e - s, nulls), undefined, levelScratch.bytes(), bytes)
    }
    result = {
      encodings: ["PLAIN", "RLE_DICTIONARY"],
      dataEncoding: "RLE_DICTIONARY",
      dictionaryOffset,
      dataOffset,
      statistics: undefined,
      numValues: g1 - g0
    }
  } else {
    const dataOffset = state.out.pos
    let s = g0
    while (s < g1) {
      pageScratch.pos = 0
      let e = s
      while (e < g1 && e - s < rowsPerPage && pageScratch.pos < pageSize) {
        if (present === undefined || present[e] === 1) {
          const v = values[e]!
          writeByteArray(pageScratch, v)
          if (stats) track(v)
        }
        e++
      }
      const nulls = writeLevels(present, s, e)
      writeDataPage(
        state,
        "PLAIN",
        flatPage(e - s, nulls),
        undefined,
        levelScratch.bytes(),
        pageScratch.bytes()
      )
      s = e
    }
    result = {
      encodings: ["PLAIN"],
      dataEncoding: "PLAIN",
      dictionaryOffset: undefined,
      dataOffset,
      statistics: undefined,
      numValues: g1 - g0
    }
  }
  return stats ? { ...result, statistics: stringStatistics(nullCount, min, max) } : result
}

const repetitionScratch = new Scratch(1 << 12)
let repetitionLevels = new Uint8Array(1 << 12)
let definitionLevels = new Uint8Array(1 << 12)

/**
 * Repetition and definition levels of the list rows [s, e) into `repetitionScratch` and
 * `levelScratch`. One entry per string (repetition 0 for a row's first, 1 after), and one for
 * each empty list (definition `maxDefinition - 1`) and each null list (definition 0).
 */
const writeListLevels = (
  present: Uint8Array | undefined,
  offsets: Uint32Array,
  s: number,
  e: number,
  maxDefinition: number
): PageCounts => {
  let entries = 0
  for (let i = s; i < e; i++) entries += Math.max(1, offsets[i + 1]! - offsets[i]!)
  if (repetitionLevels.length < entries) {
    repetitionLevels = new Uint8Array(Math.max(entries, repetitionLevels.length * 2))
    definitionLevels = new Uint8Array(repetitionLevels.length)
  }
  const rep = repetitionLevels
  const def = definitionLevels
  let k = 0
  let nulls = 0
  for (let i = s; i < e; i++) {
    const length = offsets[i + 1]! - offsets[i]!
    rep[k] = 0
    if (present !== undefined && present[i] !== 1) {
      def[k++] = 0
      nulls++
    } else if (length === 0) {
      def[k++] = maxDefinition - 1
      nulls++
    } else {
      def[k++] = maxDefinition
      for (let m = 1; m < length; m++) {
        rep[k] = 1
        def[k++] = maxDefinition
      }
    }
  }
  repetitionScratch.pos = 0
  writeHybrid(repetitionScratch, rep, 0, k, 1)
  levelScratch.pos = 0
  writeHybrid(levelScratch, def, 0, k, maxDefinition === 1 ? 1 : 2)
  return { values: k, nulls, rows: e - s }
}

/**
 * A string list chunk: `optional|required group (LIST) { repeated group list { required binary
 * element (STRING) } }`. Pages hold whole rows (at most `rowsPerPage` rows and strings, and for
 * plain strings about `pageSize` bytes). No statistics: min and max of the strings of every list
 * prune nothing a query of a list asks.
 */
const writeListChunk = (
  state: ChunkState,
  data: Extract<FlatColumnData, { kind: "list" }>,
  nullable: boolean,
  g0: number,
  g1: number,
  rowsPerPage: number,
  pageSize: number
): ChunkResult => {
  const { offsets, values, present } = data
  const maxDefinition = nullable ? 2 : 1
  const first = offsets[g0]!
  const count = offsets[g1]! - first
  const limit = Math.min(MAX_DICTIONARY, count >> 2)
  const dictionary = limit >= 1 ? dictionaryOf(values, undefined, first, offsets[g1]!, limit) : undefined
  const written = dictionary === undefined ? undefined : writeDictionary(state, dictionary)
  const dataOffset = state.out.pos
  let numValues = 0
  let s = g0
  while (s < g1) {
    let e = s
    let bytes: Uint8Array
    if (written !== undefined) {
      while (e < g1 && e - s < rowsPerPage && offsets[e]! - offsets[s]! < rowsPerPage) e++
      bytes = writeIndexes(indexScratch, offsets[s]! - first, offsets[e]! - first, written.bitWidth)
    } else {
      pageScratch.pos = 0
      while (
        e < g1 &&
        e - s < rowsPerPage &&
        offsets[e]! - offsets[s]! < rowsPerPage &&
        pageScratch.pos < pageSize
      ) {
        for (let k = offsets[e]!; k < offsets[e + 1]!; k++) writeByteArray(pageScratch, values[k]!)
        e++
      }
      bytes = pageScratch.bytes()
    }
    const counts = writeListLevels(present, offsets, s, e, maxDefinition)
    numValues += counts.values
    const encoding = written === undefined ? "PLAIN" : "RLE_DICTIONARY"
    writeDataPage(state, encoding, counts, repetitionScratch.bytes(), levelScratch.bytes(), bytes)
    s = e
  }
  return {
    encodings: written === undefined ? ["PLAIN"] : ["PLAIN", "RLE_DICTIONARY"],
    dataEncoding: written === undefined ? "PLAIN" : "RLE_DICTIONARY",
    dictionaryOffset: written?.offset,
    dataOffset,
    statistics: undefined,
    numValues
  }
}

// --- file --------------------------------------------------------------------------------

const MAGIC = Uint8Array.of(0x50, 0x41, 0x52, 0x31) // "PAR1"

/** The data kind `columnsFromRows` makes for each column type. */
const kindOf = (column: FlatColumn): FlatColumnData["kind"] => {
  switch (column.type) {
    case "string":
      return "string"
    case "double":
      return "double"
    case "boolean":
      return "boolean"
    case "timestamp_ns":
      return "wide"
    case "string_list":
      return "list"
    case "int64":
    case "timestamp_ms":
    case "decimal":
    case "date":
      return "int"
  }
}

const writeChunk = (
  state: ChunkState,
  column: FlatColumn,
  leaf: SchemaElement,
  d: FlatColumnData,
  g0: number,
  g1: number,
  rowsPerPage: number,
  pageSize: number,
  stats: boolean
): ChunkResult => {
  switch (d.kind) {
    case "double":
      return writeDoubleChunk(state, d, g0, g1, rowsPerPage, stats)
    case "int":
    case "wide": {
      const slots: IntSlots = d.kind === "int" ? d : { values: undefined, wide: d.values, present: d.present }
      return writeIntChunk(
        state,
        slots,
        leaf.type === "INT32" ? "INT32" : "INT64",
        g0,
        g1,
        rowsPerPage,
        stats
      )
    }
    case "boolean":
      return writeBooleanChunk(state, d, g0, g1, rowsPerPage, stats)
    case "string":
      return writeStringChunk(state, d, g0, g1, rowsPerPage, pageSize, stats)
    case "list":
      return writeListChunk(state, d, column.nullable, g0, g1, rowsPerPage, pageSize)
  }
}

/**
 * Writes a table as Parquet bytes (an exact-size copy). Throws an `Error` on an unknown codec
 * without a compressor, columns of different lengths, or data of another kind than the column's.
 */
export const writeFlatParquet = (
  columns: ReadonlyArray<FlatColumn>,
  data: ReadonlyArray<FlatColumnData>,
  numRows: number,
  options: FlatWriteOptions
): Uint8Array => {
  if (columns.length !== data.length) throw new Error("parquet: one data array per column is needed")
  for (let j = 0; j < columns.length; j++) {
    const d = data[j]!
    if (rowCount(d) !== numRows) throw new Error("parquet columns must have the same length")
    if (d.kind !== kindOf(columns[j]!))
      throw new Error(`parquet: ${columns[j]!.type} column ${columns[j]!.name} got ${d.kind} data`)
  }
  if (!Number.isSafeInteger(options.rowGroupSize) || options.rowGroupSize < 1) {
    throw new Error(`row group size must be a positive integer, got ${options.rowGroupSize}`)
  }
  const codec = options.codec
  const compress: PageCompressor | undefined =
    codec === "UNCOMPRESSED"
      ? undefined
      : (options.compress ?? (codec === "SNAPPY" ? snappyCompress : undefined))
  if (codec !== "UNCOMPRESSED" && compress === undefined)
    throw new Error(`parquet no compressor for codec ${codec}`)
  const pageSize = options.pageSize ?? 1 << 20
  const rowsPerPage = Math.max(1, Math.floor(pageSize / 8))
  const schema = flatSchema(columns)
  const leaves = columns.map((c) => flatSchemaElements(c).at(-1)!)
  const paths = columns.map((c) => (c.type === "string_list" ? [c.name, LIST_GROUP, LIST_ELEMENT] : [c.name]))

  const out = fileScratch
  out.pos = 0
  put(out, MAGIC)

  const rowGroups: Array<RowGroupMeta> = []
  for (let g0 = 0; g0 < numRows; g0 += options.rowGroupSize) {
    const g1 = Math.min(g0 + options.rowGroupSize, numRows)
    const groupStart = out.pos
    const chunks: Array<ColumnChunkMeta> = []
    let totalByteSize = 0
    for (let j = 0; j < columns.length; j++) {
      const column = columns[j]!
      const leaf = leaves[j]!
      const stats = options.statisticsFor === undefined || options.statisticsFor.has(column.name)
      const state: ChunkState = { out, compress, uncompressed: 0, pages: 0 }
      const chunkStart = out.pos
      const result = writeChunk(state, column, leaf, data[j]!, g0, g1, rowsPerPage, pageSize, stats)
      const encodingStats: Array<ColumnChunkMeta["encodingStats"][number]> = []
      if (result.dictionaryOffset !== undefined) {
        encodingStats.push({ pageType: "DICTIONARY_PAGE", encoding: "PLAIN", count: 1 })
      }
      encodingStats.push({ pageType: "DATA_PAGE_V2", encoding: result.dataEncoding, count: state.pages })
      totalByteSize += state.uncompressed
      chunks.push({
        fileOffset: chunkStart,
        type: leaf.type ?? "BYTE_ARRAY",
        encodings: result.encodings,
        path: paths[j]!,
        codec,
        numValues: result.numValues,
        totalUncompressedSize: state.uncompressed,
        totalCompressedSize: out.pos - chunkStart,
        dataPageOffset: result.dataOffset,
        ...(result.dictionaryOffset === undefined ? {} : { dictionaryPageOffset: result.dictionaryOffset }),
        ...(result.statistics === undefined ? {} : { statistics: result.statistics }),
        encodingStats
      })
    }
    rowGroups.push({
      columns: chunks,
      totalByteSize,
      numRows: g1 - g0,
      totalCompressedSize: out.pos - groupStart
    })
  }
  writeFooter(out, {
    schema,
    numRows,
    rowGroups,
    ...(options.kvMetadata === undefined ? {} : { keyValueMetadata: options.kvMetadata }),
    createdBy: options.createdBy
  })
  put(out, MAGIC)
  const bytes = out.buf.slice(0, out.pos)
  if (fileScratch.buf.length > FILE_SCRATCH_KEPT) fileScratch = new Scratch(1 << 20)
  return bytes
}
