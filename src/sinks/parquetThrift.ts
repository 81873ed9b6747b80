/**
 * The Thrift parts of a Parquet file the flat writer makes: page headers and the footer
 * (`FileMetaData`), in Thrift's compact protocol, for exactly the fields tapehouse writes.
 * Field ids and enum values are those of parquet-format's `parquet.thrift`. Fields are written in
 * the order and shape hyparquet-writer writes them, so files keep their bytes.
 */
import type {
  CompressionCodec,
  ConvertedType,
  Encoding,
  FieldRepetitionType,
  LogicalType,
  PageType,
  ParquetType,
  SchemaElement
} from "hyparquet"

/** Where bytes go: a growable buffer (`ensure` makes room for n more bytes at `pos`). */
export interface ByteSink {
  buf: Uint8Array
  pos: number
  ensure(extra: number): void
}

// --- parquet.thrift enums ----------------------------------------------------------------

const physicalTypes: Record<ParquetType, number> = {
  BOOLEAN: 0,
  INT32: 1,
  INT64: 2,
  INT96: 3,
  FLOAT: 4,
  DOUBLE: 5,
  BYTE_ARRAY: 6,
  FIXED_LEN_BYTE_ARRAY: 7
}
const repetitions: Record<FieldRepetitionType, number> = { REQUIRED: 0, OPTIONAL: 1, REPEATED: 2 }
const convertedTypes: Partial<Record<ConvertedType, number>> = {
  UTF8: 0,
  LIST: 3,
  DECIMAL: 5,
  DATE: 6,
  TIMESTAMP_MILLIS: 9,
  TIMESTAMP_MICROS: 10
}
const encodings: Record<Encoding, number> = {
  PLAIN: 0,
  GROUP_VAR_INT: 1,
  PLAIN_DICTIONARY: 2,
  RLE: 3,
  BIT_PACKED: 4,
  DELTA_BINARY_PACKED: 5,
  DELTA_LENGTH_BYTE_ARRAY: 6,
  DELTA_BYTE_ARRAY: 7,
  RLE_DICTIONARY: 8,
  BYTE_STREAM_SPLIT: 9
}
const codecs: Record<CompressionCodec, number> = {
  UNCOMPRESSED: 0,
  SNAPPY: 1,
  GZIP: 2,
  LZO: 3,
  BROTLI: 4,
  LZ4: 5,
  ZSTD: 6,
  LZ4_RAW: 7
}
const pageTypes: Record<PageType, number> = {
  DATA_PAGE: 0,
  INDEX_PAGE: 1,
  DICTIONARY_PAGE: 2,
  DATA_PAGE_V2: 3
}

// --- compact protocol --------------------------------------------------------------------

const STOP = 0
const TRUE = 1
const FALSE = 2
const I32 = 5
const I64 = 6
const BINARY = 8
const LIST = 9
const STRUCT = 12

const textEncoder = new TextEncoder()

/** Writes one Thrift struct (and the structs inside it) in the compact protocol. */
class CompactWriter {
  private last = 0
  private readonly outer: Array<number> = []

  constructor(private readonly out: ByteSink) {}

  private byte(value: number): void {
    this.out.ensure(1)
    this.out.buf[this.out.pos++] = value
  }

  /** An unsigned varint of a non-negative integer below 2^53. */
  private varint(value: number): void {
    const out = this.out
    out.ensure(10)
    let v = value
    while (v >= 0x80) {
      out.buf[out.pos++] = (v % 0x80) | 0x80
      v = Math.floor(v / 0x80)
    }
    out.buf[out.pos++] = v
  }

  private varbig(value: bigint): void {
    let v = value
    while (v >= 0x80n) {
      this.byte(Number(v & 0x7fn) | 0x80)
      v >>= 7n
    }
    this.byte(Number(v))
  }

  private field(id: number, type: number): void {
    const delta = id - this.last
    if (delta > 0 && delta <= 15) {
      this.byte((delta << 4) | type)
    } else {
      this.byte(type)
      this.varint(id * 2) // a zigzag i16; field ids are positive
    }
    this.last = id
  }

  private zigzag32(value: number): void {
    this.varint(((value << 1) ^ (value >> 31)) >>> 0)
  }

  private zigzag64(value: number | bigint): void {
    if (typeof value === "number" && Number.isSafeInteger(value) && Math.abs(value) < 2 ** 51) {
      this.varint(value >= 0 ? value * 2 : -value * 2 - 1)
    } else {
      const v = BigInt(value)
      this.varbig(BigInt.asUintN(64, (v << 1n) ^ (v >> 63n)))
    }
  }

  private bytes(value: Uint8Array): void {
    this.varint(value.length)
    this.out.ensure(value.length)
    this.out.buf.set(value, this.out.pos)
    this.out.pos += value.length
  }

  private listHeader(type: number, size: number): void {
    if (size < 15) {
      this.byte((size << 4) | type)
    } else {
      this.byte(0xf0 | type)
      this.varint(size)
    }
  }

  i32(id: number, value: number): void {
    this.field(id, I32)
    this.zigzag32(value)
  }

  i64(id: number, value: number | bigint): void {
    this.field(id, I64)
    this.zigzag64(value)
  }

  bool(id: number, value: boolean): void {
    this.field(id, value ? TRUE : FALSE)
  }

  binary(id: number, value: Uint8Array): void {
    this.field(id, BINARY)
    this.bytes(value)
  }

  string(id: number, value: string): void {
    this.binary(id, textEncoder.encode(value))
  }

  i32List(id: number, values: ReadonlyArray<number>): void {
    this.field(id, LIST)
    this.listHeader(I32, values.length)
    for (const v of values) this.zigzag32(v)
  }

  stringList(id: number, values: ReadonlyArray<string>): void {
    this.field(id, LIST)
    this.listHeader(BINARY, values.length)
    for (const v of values) this.bytes(textEncoder.encode(v))
  }

  /** A list of structs: `write(item)` writes each one's fields. */
  structList<T>(id: number, items: ReadonlyArray<T>, write: (item: T) => void): void {
    this.field(id, LIST)
    this.listHeader(STRUCT, items.length)
    for (const item of items) this.struct(() => write(item))
  }

  /** A struct field: `write` writes its fields. */
  structField(id: number, write: () => void): void {
    this.field(id, STRUCT)
    this.struct(write)
  }

  /** A struct's fields and its stop byte (the top-level struct, or a list element). */
  struct(write: () => void): void {
    this.outer.push(this.last)
    this.last = 0
    write()
    this.byte(STOP)
    this.last = this.outer.pop()!
  }
}

// --- page headers ------------------------------------------------------------------------

export interface DataPageV2 {
  readonly uncompressedSize: number
  readonly compressedSize: number
  /** Level entries (rows for a flat column; rows plus extra list elements for a list). */
  readonly numValues: number
  readonly numNulls: number
  readonly numRows: number
  readonly encoding: Encoding
  readonly definitionLevelsLength: number
  readonly repetitionLevelsLength: number
  readonly compressed: boolean
}

export const writeDataPageV2Header = (out: ByteSink, page: DataPageV2): void => {
  const w = new CompactWriter(out)
  w.struct(() => {
    w.i32(1, pageTypes.DATA_PAGE_V2)
    w.i32(2, page.uncompressedSize)
    w.i32(3, page.compressedSize)
    w.structField(8, () => {
      w.i32(1, page.numValues)
      w.i32(2, page.numNulls)
      w.i32(3, page.numRows)
      w.i32(4, encodings[page.encoding])
      w.i32(5, page.definitionLevelsLength)
      w.i32(6, page.repetitionLevelsLength)
      if (!page.compressed) w.bool(7, false) // default true
    })
  })
}

export const writeDictionaryPageHeader = (
  out: ByteSink,
  page: { readonly uncompressedSize: number; readonly compressedSize: number; readonly numValues: number }
): void => {
  const w = new CompactWriter(out)
  w.struct(() => {
    w.i32(1, pageTypes.DICTIONARY_PAGE)
    w.i32(2, page.uncompressedSize)
    w.i32(3, page.compressedSize)
    w.structField(7, () => {
      w.i32(1, page.numValues)
      w.i32(2, encodings.PLAIN)
    })
  })
}

// --- footer ------------------------------------------------------------------------------

/** Column chunk statistics, min and max already in their plain encoding. */
export interface ChunkStatistics {
  readonly nullCount: number
  readonly max?: Uint8Array
  readonly min?: Uint8Array
  /** False when `max` is a truncated upper bound (long strings). */
  readonly maxExact?: false
  readonly minExact?: false
  /** Doubles only. */
  readonly nanCount?: number
}

export interface ColumnChunkMeta {
  readonly fileOffset: number
  readonly type: ParquetType
  readonly encodings: ReadonlyArray<Encoding>
  readonly path: ReadonlyArray<string>
  readonly codec: CompressionCodec
  readonly numValues: number
  readonly totalUncompressedSize: number
  readonly totalCompressedSize: number
  readonly dataPageOffset: number
  readonly dictionaryPageOffset?: number
  readonly statistics?: ChunkStatistics
  readonly encodingStats: ReadonlyArray<{
    readonly pageType: PageType
    readonly encoding: Encoding
    readonly count: number
  }>
}

export interface RowGroupMeta {
  readonly columns: ReadonlyArray<ColumnChunkMeta>
  readonly totalByteSize: number
  readonly numRows: number
  readonly totalCompressedSize: number
}

export interface FileMeta {
  readonly schema: ReadonlyArray<SchemaElement>
  readonly numRows: number
  readonly rowGroups: ReadonlyArray<RowGroupMeta>
  readonly keyValueMetadata?: ReadonlyArray<{ readonly key: string; readonly value: string }>
  readonly createdBy: string
}

/** The LogicalType union: one field, set by the variant. */
const writeLogicalType = (w: CompactWriter, type: LogicalType): void => {
  switch (type.type) {
    case "STRING":
      w.structField(1, () => {})
      break
    case "LIST":
      w.structField(3, () => {})
      break
    case "DECIMAL":
      w.structField(5, () => {
        w.i32(1, type.scale)
        w.i32(2, type.precision)
      })
      break
    case "DATE":
      w.structField(6, () => {})
      break
    case "TIMESTAMP": {
      const unit = type.unit === "NANOS" ? 3 : type.unit === "MICROS" ? 2 : 1
      w.structField(8, () => {
        w.bool(1, type.isAdjustedToUTC)
        w.structField(2, () => w.structField(unit, () => {}))
      })
      break
    }
    default:
      throw new Error(`parquet: logical type ${type.type} is not written by tapehouse`)
  }
}

const writeSchemaElement = (w: CompactWriter, element: SchemaElement): void => {
  if (element.type !== undefined) w.i32(1, physicalTypes[element.type])
  if (element.type_length !== undefined) w.i32(2, element.type_length)
  if (element.repetition_type !== undefined) w.i32(3, repetitions[element.repetition_type])
  w.string(4, element.name)
  if (element.num_children !== undefined) w.i32(5, element.num_children)
  if (element.converted_type !== undefined) {
    const converted = convertedTypes[element.converted_type]
    if (converted === undefined)
      throw new Error(`parquet: converted type ${element.converted_type} is not written by tapehouse`)
    w.i32(6, converted)
  }
  if (element.scale !== undefined) w.i32(7, element.scale)
  if (element.precision !== undefined) w.i32(8, element.precision)
  if (element.field_id !== undefined) w.i32(9, element.field_id)
  const logical = element.logical_type
  if (logical !== undefined) w.structField(10, () => writeLogicalType(w, logical))
}

const writeStatistics = (w: CompactWriter, s: ChunkStatistics): void => {
  w.i64(3, s.nullCount)
  if (s.max !== undefined) w.binary(5, s.max)
  if (s.min !== undefined) w.binary(6, s.min)
  if (s.maxExact !== undefined) w.bool(7, s.maxExact)
  if (s.minExact !== undefined) w.bool(8, s.minExact)
  if (s.nanCount !== undefined) w.i64(9, s.nanCount)
}

const writeColumnChunk = (w: CompactWriter, c: ColumnChunkMeta): void => {
  w.i64(2, c.fileOffset)
  w.structField(3, () => {
    w.i32(1, physicalTypes[c.type])
    w.i32List(
      2,
      c.encodings.map((e) => encodings[e])
    )
    w.stringList(3, c.path)
    w.i32(4, codecs[c.codec])
    w.i64(5, c.numValues)
    w.i64(6, c.totalUncompressedSize)
    w.i64(7, c.totalCompressedSize)
    w.i64(9, c.dataPageOffset)
    if (c.dictionaryPageOffset !== undefined) w.i64(11, c.dictionaryPageOffset)
    const statistics = c.statistics
    if (statistics !== undefined) w.structField(12, () => writeStatistics(w, statistics))
    w.structList(13, c.encodingStats, (s) => {
      w.i32(1, pageTypes[s.pageType])
      w.i32(2, encodings[s.encoding])
      w.i32(3, s.count)
    })
  })
}

/** Writes the footer: `FileMetaData` then its length (the caller adds the closing magic). */
export const writeFooter = (out: ByteSink, meta: FileMeta): void => {
  const start = out.pos
  const w = new CompactWriter(out)
  w.struct(() => {
    w.i32(1, 2) // format version
    w.structList(2, meta.schema, (element) => writeSchemaElement(w, element))
    w.i64(3, meta.numRows)
    w.structList(4, meta.rowGroups, (group) => {
      w.structList(1, group.columns, (chunk) => writeColumnChunk(w, chunk))
      w.i64(2, group.totalByteSize)
      w.i64(3, group.numRows)
      w.i64(6, group.totalCompressedSize)
    })
    const kv = meta.keyValueMetadata
    if (kv !== undefined)
      w.structList(5, kv, (entry) => {
        w.string(1, entry.key)
        w.string(2, entry.value)
      })
    w.string(6, meta.createdBy)
    // One TypeDefinedOrder per leaf column: min/max follow each type's natural order.
    w.structList(
      7,
      meta.schema.filter((e) => e.type !== undefined),
      () => w.structField(1, () => {})
    )
  })
  const length = out.pos - start
  out.ensure(4)
  out.buf[out.pos++] = length & 0xff
  out.buf[out.pos++] = (length >>> 8) & 0xff
  out.buf[out.pos++] = (length >>> 16) & 0xff
  out.buf[out.pos++] = length >>> 24
}

// --- statistics values -------------------------------------------------------------------

/** Bytes kept of a string's min or max (parquet-format's advice; hyparquet-writer's default). */
export const STATISTICS_TRUNCATE_LENGTH = 16

/**
 * A string statistic's bytes, at most `STATISTICS_TRUNCATE_LENGTH` long where a shorter bound
 * exists: a min becomes its prefix (cut on a code point), a max the shortest prefix whose last
 * code point is raised by one, so it is still at least the max. `exact` is false when cut.
 */
export const stringStatistic = (
  value: string,
  isMax: boolean
): { readonly bytes: Uint8Array; readonly exact: boolean } => {
  const bytes = textEncoder.encode(value)
  const length = STATISTICS_TRUNCATE_LENGTH
  if (bytes.length <= length) return { bytes, exact: true }
  let end = length
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--
  if (!isMax) return { bytes: bytes.slice(0, end), exact: false }
  const codePoints = Array.from(new TextDecoder().decode(bytes.subarray(0, end)), (c) => c.codePointAt(0)!)
  for (let i = codePoints.length - 1; i >= 0; i--) {
    end--
    while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--
    const code = codePoints[i]!
    if (code === 0x10ffff) continue
    const suffix = textEncoder.encode(String.fromCodePoint(code === 0xd7ff ? 0xe000 : code + 1))
    if (end + suffix.length > length) continue
    const rounded = new Uint8Array(end + suffix.length)
    rounded.set(bytes.subarray(0, end))
    rounded.set(suffix, end)
    return { bytes: rounded, exact: false }
  }
  return { bytes, exact: true } // no shorter upper bound: the whole value
}
