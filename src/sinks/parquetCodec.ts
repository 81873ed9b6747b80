/**
 * Parquet encoding and decoding driven only by `Dataset.columns`. Columns are built in one pass
 * over the rows into typed arrays, the schema is explicit (logical types included), and reading
 * converts back to the in-memory representation of each `ColumnType`: int64 and timestamp_ms as
 * JS numbers, timestamp_ns as bigints, dates as "YYYY-MM-DD", decimals as scaled safe integers,
 * string lists as arrays, nulls as null.
 */
import { Data } from "effect"
import type { AsyncBuffer, CompressionCodec, FileMetaData, SchemaElement, SchemaTree } from "hyparquet"
import { parquetMetadata, parquetRead, parquetSchema } from "hyparquet"
import { compressors as decompressors } from "hyparquet-compressors"
import type { ParquetCompression } from "../config/AppConfig.js"
import { dateOfDays } from "../domain/columnValues.js"
import type { Dataset } from "../domain/Dataset.js"
import { flatSchema, writeFlatParquet } from "./flatParquetWriter.js"
import {
  type ColumnarRows,
  columnsFromRows,
  type FlatColumn,
  type FlatColumnData,
  FlatValueError
} from "./parquetColumns.js"

/** A row could not be encoded, or bytes could not be decoded, as the columns describe. */
export class ParquetCodecError extends Data.TaggedError("ParquetCodecError")<{ readonly detail: string }> {
  override get message(): string {
    return this.detail
  }
}

/** A column of a table to encode: a `Dataset` column, or an extra one (quarantine). */
export type TableColumn = FlatColumn

export interface EncodeOptions {
  readonly compression: ParquetCompression
  /** Rows per row group. */
  readonly rowGroupSize: number
}

/** Key of the footer key-value entry naming the dataset. */
export const DATASET_METADATA_KEY = "tapehouse.dataset"

const CREATED_BY = "tapehouse"

// --- compression -------------------------------------------------------------------------

type Compressor = (input: Uint8Array) => Uint8Array

let zstdCompressor: Compressor | undefined
let zstdLoading: Promise<void> | undefined

/** The zstd level: the library default, a good speed/size balance. */
const ZSTD_LEVEL = 3

/**
 * Makes `compression` usable by `encodeTable` (zstd needs its WebAssembly module loaded once;
 * the others need nothing). Idempotent; call it when a sink is built.
 */
export const loadCompression = (compression: ParquetCompression): Promise<void> => {
  if (compression !== "zstd" || zstdCompressor !== undefined) return Promise.resolve()
  zstdLoading ??= import("@bokuweb/zstd-wasm").then(
    async (zstd) => {
      await zstd.init()
      zstdCompressor = (input) => zstd.compress(input, ZSTD_LEVEL)
    },
    (cause: unknown) => {
      zstdLoading = undefined
      throw cause
    }
  )
  return zstdLoading
}

const codecOf = (compression: ParquetCompression): CompressionCodec => {
  switch (compression) {
    case "snappy":
      return "SNAPPY"
    case "zstd":
      return "ZSTD"
    case "uncompressed":
      return "UNCOMPRESSED"
  }
}

// --- schema ------------------------------------------------------------------------------

/** The Parquet schema (root first) for `columns`. */
export const parquetSchemaFor = (columns: ReadonlyArray<TableColumn>): Array<SchemaElement> =>
  flatSchema(columns)

// --- encode ------------------------------------------------------------------------------

const describe = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  if (typeof value === "bigint") return `${value}n`
  if (Array.isArray(value)) {
    const items = value.slice(0, 5).map(describe).join(", ")
    return `[${items}${value.length > 5 ? ", …" : ""}]`
  }
  return String(value)
}

/** What a column's values must be, for error messages. */
const expectedOf = (column: TableColumn): string => {
  switch (column.type) {
    case "string":
      return "a string"
    case "double":
      return "a number"
    case "timestamp_ms":
      return "a safe integer of epoch milliseconds"
    case "int64":
      return "a safe integer"
    case "boolean":
      return "a boolean"
    case "date":
      return 'a real date "YYYY-MM-DD"'
    case "timestamp_ns":
      return "a bigint of epoch nanoseconds"
    case "decimal":
      return `a safe integer (the value × 10^${column.scale})`
    case "string_list":
      return "an array of strings"
  }
}

const badValue = (column: TableColumn, row: number, value: unknown): ParquetCodecError => {
  const expected = expectedOf(column)
  const nulls = column.nullable ? " or null" : ""
  return new ParquetCodecError({
    detail: `column ${column.name} of row ${row}: expected ${expected}${nulls}, got ${describe(value)}`
  })
}

export interface Table {
  /** Written to the footer as `tapehouse.dataset`. */
  readonly name: string
  readonly columns: ReadonlyArray<TableColumn>
  readonly rows: ReadonlyArray<Readonly<Record<string, unknown>>>
  /**
   * Columns that get min/max statistics (what readers prune row groups by). Default: all.
   * Statistics on every double column cost about a third of the encoding time (measured).
   */
  readonly statisticsFor?: ReadonlySet<string>
}

/** The compressor `options` need; throws when it is not loaded or the row group size is wrong. */
const compressorFor = (options: EncodeOptions): Compressor | undefined => {
  if (!Number.isSafeInteger(options.rowGroupSize) || options.rowGroupSize < 1) {
    throw new ParquetCodecError({
      detail: `row group size must be a positive integer, got ${options.rowGroupSize}`
    })
  }
  if (options.compression !== "zstd") return undefined
  if (zstdCompressor === undefined) {
    throw new ParquetCodecError({
      detail: "the zstd compressor is not loaded (await loadCompression('zstd') when building the sink)"
    })
  }
  return zstdCompressor
}

/** Writes columns already built; shared by `encodeTable` and `encodeColumns`. */
const writeColumns = (
  name: string,
  columns: ReadonlyArray<TableColumn>,
  data: ReadonlyArray<FlatColumnData>,
  numRows: number,
  statisticsFor: ReadonlySet<string> | undefined,
  options: EncodeOptions,
  compress: Compressor | undefined
): Uint8Array => {
  try {
    return writeFlatParquet(columns, data, numRows, {
      codec: codecOf(options.compression),
      ...(compress === undefined ? {} : { compress }),
      rowGroupSize: options.rowGroupSize,
      ...(statisticsFor === undefined ? {} : { statisticsFor }),
      kvMetadata: [{ key: DATASET_METADATA_KEY, value: name }],
      createdBy: CREATED_BY
    })
  } catch (cause) {
    throw new ParquetCodecError({
      detail: `cannot encode ${name}: ${cause instanceof Error ? cause.message : String(cause)}`
    })
  }
}

/**
 * Encodes a table to Parquet bytes. Deterministic: the same table and options give the same bytes.
 * Throws `ParquetCodecError` on a value of the wrong type or an unloaded compressor.
 */
export const encodeTable = (table: Table, options: EncodeOptions): Uint8Array => {
  const compress = compressorFor(options)
  let data: ReturnType<typeof columnsFromRows>
  try {
    data = columnsFromRows(table.columns, table.rows)
  } catch (cause) {
    if (cause instanceof FlatValueError) {
      throw badValue(table.columns[cause.column]!, cause.row, cause.value)
    }
    throw cause
  }
  return writeColumns(
    table.name,
    table.columns,
    data,
    table.rows.length,
    table.statisticsFor,
    options,
    compress
  )
}

/** The columns that get statistics in a dataset's files: its key and time columns. */
const statisticsOf = <A>(dataset: Dataset<A>): ReadonlySet<string> =>
  new Set<string>([...dataset.key, dataset.timeColumn])

/** Encodes `rows` of `dataset` as one Parquet file (see `encodeTable`). */
export const encodeParquet = <A>(
  dataset: Dataset<A>,
  rows: ReadonlyArray<A>,
  options: EncodeOptions
): Uint8Array =>
  encodeTable(
    {
      name: dataset.name,
      columns: dataset.columns,
      rows: rows as unknown as ReadonlyArray<Readonly<Record<string, unknown>>>,
      statisticsFor: statisticsOf(dataset)
    },
    options
  )

/**
 * Encodes rows of `dataset` held as columns (`ColumnarRows`, in `dataset.columns` order): the
 * same bytes `encodeParquet` writes for the same rows, without reading row objects. The values are
 * taken as they are (the caller built them to the columns' types).
 */
export const encodeColumns = <A>(
  dataset: Dataset<A>,
  table: ColumnarRows,
  options: EncodeOptions
): Uint8Array =>
  writeColumns(
    dataset.name,
    dataset.columns,
    table.columns,
    table.length,
    statisticsOf(dataset),
    options,
    compressorFor(options)
  )

// --- decode ------------------------------------------------------------------------------

/** timestamp_ms columns read any unit as epoch milliseconds. */
const parsers = {
  timestampFromMilliseconds: (millis: bigint): number => Number(millis),
  timestampFromMicroseconds: (micros: bigint): number => Number(micros / 1000n),
  timestampFromNanoseconds: (nanos: bigint): number => Number(nanos / 1000000n)
}

/** The bytes as an ArrayBuffer of their own length, which hyparquet reads. */
export const toArrayBuffer = (bytes: Uint8Array): ArrayBuffer =>
  bytes.byteOffset === 0 &&
  bytes.byteLength === bytes.buffer.byteLength &&
  bytes.buffer instanceof ArrayBuffer
    ? bytes.buffer
    : // A copy of exactly these bytes: a Node Buffer's slice() is a view of its (pooled) buffer, not a copy.
      (bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer)

const toNumber = (value: unknown): unknown => (typeof value === "bigint" ? Number(value) : value)

/** Reads the footer of Parquet bytes. Throws when they are not Parquet. */
export const readMetadata = (bytes: Uint8Array): FileMetaData => parquetMetadata(toArrayBuffer(bytes))

/** Nanoseconds per unit of a timestamp leaf (no annotation: nanoseconds). */
const nanosPerUnit = (element: SchemaElement): bigint => {
  const unit =
    element.logical_type?.type === "TIMESTAMP"
      ? element.logical_type.unit
      : element.converted_type === "TIMESTAMP_MILLIS"
        ? "MILLIS"
        : element.converted_type === "TIMESTAMP_MICROS"
          ? "MICROS"
          : "NANOS"
  return unit === "MILLIS" ? 1_000_000n : unit === "MICROS" ? 1000n : 1n
}

/** A raw decimal as stored (INT32, INT64 or big-endian two's complement bytes) as a bigint. */
const unscaled = (raw: unknown): bigint => {
  if (typeof raw === "bigint") return raw
  if (typeof raw === "number") return BigInt(raw)
  const bytes = raw as Uint8Array
  let value = 0n
  for (const byte of bytes) value = (value << 8n) | BigInt(byte)
  return bytes.length > 0 && bytes[0]! >= 0x80 ? value - (1n << BigInt(bytes.length * 8)) : value
}

/**
 * How a column's raw values (as hyparquet gives them with the leaf's annotations removed, for the
 * types listed in `raw`) become in-memory values; undefined when they are used as they come.
 */
const converterOf = (column: TableColumn, leaf: SchemaElement): ((value: unknown) => unknown) | undefined => {
  switch (column.type) {
    case "int64":
      return toNumber
    case "date":
      return (days) => dateOfDays(Number(days))
    case "timestamp_ns": {
      const factor = nanosPerUnit(leaf)
      return factor === 1n ? undefined : (raw) => (raw as bigint) * factor
    }
    case "decimal": {
      const fileScale = leaf.logical_type?.type === "DECIMAL" ? leaf.logical_type.scale : (leaf.scale ?? 0)
      if (fileScale > column.scale) {
        throw new ParquetCodecError({
          detail: `column ${column.name} has scale ${fileScale} in the file, more than its ${column.scale}`
        })
      }
      const factor = 10n ** BigInt(column.scale - fileScale)
      return (raw) => {
        const value = unscaled(raw) * factor
        if (value < -9007199254740991n || value > 9007199254740991n) {
          throw new ParquetCodecError({
            detail: `column ${column.name}: ${value} (× 10^-${column.scale}) is beyond a safe integer`
          })
        }
        return Number(value)
      }
    }
    case "string_list":
      return (list) => Array.from(list as ArrayLike<string>)
    case "string":
    case "double":
    case "timestamp_ms":
    case "boolean":
      return undefined
  }
}

/** Column types read raw (the leaf's converted and logical types removed) and converted here. */
const raw = new Set<TableColumn["type"]>(["date", "timestamp_ns", "decimal"])

/** The leaf holding a top-level field's values (a list's element). */
const leafOf = (node: SchemaTree): SchemaElement => {
  let leaf = node
  while (leaf.children.length > 0) leaf = leaf.children[0]!
  return leaf.element
}

/** What reading `columns` from a file needs: its footer (raw leaves stripped), rows, and converters. */
interface ReadPlan {
  readonly buffer: ArrayBuffer
  readonly metadata: FileMetaData
  readonly rows: number
  /** The columns the file has, by name. */
  readonly present: ReadonlySet<string>
  readonly converters: ReadonlyMap<string, (value: unknown) => unknown>
}

const planRead = (columns: ReadonlyArray<TableColumn>, bytes: Uint8Array): ReadPlan => {
  const buffer = toArrayBuffer(bytes)
  const fileMetadata = parquetMetadata(buffer)
  const fields = new Map<string, SchemaTree>()
  for (const child of parquetSchema(fileMetadata).children) fields.set(child.element.name, child)
  const missing = columns.filter((c) => !fields.has(c.name))
  const required = missing.find((c) => !c.nullable)
  if (required !== undefined) {
    throw new ParquetCodecError({ detail: `the file has no column ${required.name}` })
  }
  const converters = new Map<string, (value: unknown) => unknown>()
  const stripped = new Set<SchemaElement>()
  for (const column of columns) {
    const field = fields.get(column.name)
    if (field === undefined) continue
    const leaf = leafOf(field)
    const convert = converterOf(column, leaf)
    if (convert !== undefined) converters.set(column.name, convert)
    if (raw.has(column.type)) stripped.add(leaf)
  }
  // hyparquet reads DECIMAL as a float and DATE as a Date: read those leaves as plain integers.
  const metadata: FileMetaData = {
    ...fileMetadata,
    schema: fileMetadata.schema.map((element) => {
      if (!stripped.has(element)) return element
      const { converted_type: _c, logical_type: _l, ...plain } = element
      return plain
    })
  }
  return {
    buffer,
    metadata,
    rows: Number(fileMetadata.num_rows),
    present: new Set(columns.filter((c) => fields.has(c.name)).map((c) => c.name)),
    converters
  }
}

/** Reads every column of `plan` the file has, handing each decoded chunk to `onChunk`. */
const readChunks = (
  columns: ReadonlyArray<TableColumn>,
  plan: ReadPlan,
  onChunk: (column: string, data: ArrayLike<unknown>, rowStart: number) => void
): Promise<void> => {
  const file: AsyncBuffer = plan.buffer
  return parquetRead({
    file,
    metadata: plan.metadata,
    columns: columns.filter((c) => plan.present.has(c.name)).map((c) => c.name),
    compressors: decompressors,
    parsers,
    utf8: true,
    onChunk: ({ columnName, columnData, rowStart }) => onChunk(columnName, columnData, rowStart)
  })
}

const asCodecError = (cause: unknown): ParquetCodecError =>
  cause instanceof ParquetCodecError
    ? cause
    : new ParquetCodecError({
        detail: `not a readable Parquet file: ${cause instanceof Error ? cause.message : String(cause)}`
      })

/**
 * Decodes Parquet bytes into rows holding `columns` (in that key order), each value in its
 * column type's in-memory form (see `ColumnType`), nulls as null. A nullable column missing from
 * the file reads as null; a missing required column, bytes that are not Parquet, or a value that
 * does not fit its column (a decimal of larger scale) reject with `ParquetCodecError`.
 */
export const decodeTable = async (
  columns: ReadonlyArray<TableColumn>,
  bytes: Uint8Array
): Promise<Array<Record<string, unknown>>> => {
  try {
    const plan = planRead(columns, bytes)
    const n = plan.rows
    const data = new Map<string, Array<unknown>>()
    for (const column of columns) data.set(column.name, new Array<unknown>(n).fill(null))
    await readChunks(columns, plan, (columnName, columnData, rowStart) => {
      const target = data.get(columnName)
      if (target === undefined) return
      const convert = plan.converters.get(columnName)
      for (let i = 0; i < columnData.length; i++) {
        const value: unknown = columnData[i]
        target[rowStart + i] =
          value === undefined || value === null ? null : convert === undefined ? value : convert(value)
      }
    })
    const m = columns.length
    const arrays: Array<Array<unknown>> = new Array(m)
    const names: Array<string> = new Array(m)
    for (let j = 0; j < m; j++) {
      names[j] = columns[j]!.name
      arrays[j] = data.get(names[j]!)!
    }
    const rows: Array<Record<string, unknown>> = new Array(n)
    for (let i = 0; i < n; i++) {
      const row: Record<string, unknown> = {}
      for (let j = 0; j < m; j++) row[names[j]!] = arrays[j]![i]
      rows[i] = row
    }
    return rows
  } catch (cause) {
    throw asCodecError(cause)
  }
}

/** Column types `decodeColumns` fills straight from the file; a table with others goes through rows. */
const columnarTypes = new Set<TableColumn["type"]>([
  "string",
  "double",
  "timestamp_ms",
  "int64",
  "date",
  "boolean"
])

/**
 * Decodes Parquet bytes into columns (`ColumnarRows`, in `columns` order): what `columnsFromRows`
 * builds from the rows `decodeTable` reads, without the row objects. Dates stay day counts. Fails
 * as `decodeTable` does.
 */
export const decodeColumns = async (
  columns: ReadonlyArray<TableColumn>,
  bytes: Uint8Array
): Promise<ColumnarRows> => {
  if (!columns.every((c) => columnarTypes.has(c.type))) {
    const rows = await decodeTable(columns, bytes)
    return { length: rows.length, columns: columnsFromRows(columns, rows) }
  }
  try {
    const plan = planRead(columns, bytes)
    const n = plan.rows
    const out = new Map<string, FlatColumnData>()
    for (const column of columns) {
      const present = column.nullable ? new Uint8Array(n) : undefined
      switch (column.type) {
        case "string":
          out.set(column.name, { kind: "string", values: new Array<string>(n).fill(""), present })
          break
        case "boolean":
          out.set(column.name, { kind: "boolean", values: new Uint8Array(n), present })
          break
        case "double":
          out.set(column.name, { kind: "double", values: new Float64Array(n), present })
          break
        default:
          // timestamp_ms (a number through `parsers`), int64 (a bigint), date (raw days).
          out.set(column.name, { kind: "int", values: new Float64Array(n), wide: undefined, present })
      }
    }
    await readChunks(columns, plan, (columnName, columnData, rowStart) => {
      const target = out.get(columnName)
      if (target === undefined) return
      const present = target.present
      // One tight loop per kind; a null leaves the slot's 0 or "" and its presence 0.
      for (let i = 0; i < columnData.length; i++) {
        const value: unknown = columnData[i]
        if (value === undefined || value === null) continue
        const at = rowStart + i
        if (present !== undefined) present[at] = 1
        switch (target.kind) {
          case "string":
            ;(target.values as Array<string>)[at] = value as string
            break
          case "boolean":
            target.values[at] = value === true ? 1 : 0
            break
          case "double":
            target.values[at] = value as number
            break
          case "int":
            target.values[at] = typeof value === "number" ? value : Number(value)
            break
          default:
            break
        }
      }
    })
    return { length: n, columns: columns.map((c) => out.get(c.name)!) }
  } catch (cause) {
    throw asCodecError(cause)
  }
}

/**
 * True when every row of the string column `column` in Parquet bytes holds one of `allowed`
 * (false when the file has no such column, or a row is null). Decodes that column alone: what a
 * `replace` needs to know whether a partition holds rows of other instruments.
 */
export const stringColumnWithin = async (
  bytes: Uint8Array,
  column: string,
  allowed: ReadonlySet<string>
): Promise<boolean> => {
  const buffer = toArrayBuffer(bytes)
  const metadata = parquetMetadata(buffer)
  if (!parquetSchema(metadata).children.some((child) => child.element.name === column)) return false
  let within = true
  await parquetRead({
    file: buffer,
    metadata,
    columns: [column],
    compressors: decompressors,
    utf8: true,
    onChunk: ({ columnData }) => {
      // A dictionary-encoded chunk repeats the same few strings: test each distinct one once.
      let last: unknown
      for (let i = 0; i < columnData.length && within; i++) {
        const value: unknown = columnData[i]
        if (value === last) continue
        if (typeof value !== "string" || !allowed.has(value)) within = false
        last = value
      }
    }
  })
  return within
}

/** Decodes Parquet bytes written for `dataset` back into its in-memory records. */
export const decodeParquet = <A>(dataset: Dataset<A>, bytes: Uint8Array): Promise<ReadonlyArray<A>> =>
  decodeTable(dataset.columns, bytes) as Promise<Array<unknown>> as Promise<ReadonlyArray<A>>
