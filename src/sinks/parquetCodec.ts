/**
 * Parquet encoding and decoding driven only by `Dataset.columns`. Columns are built in one pass
 * over the rows into typed arrays, the schema is explicit (logical types included), and reading
 * converts back to the in-memory representation: timestamps and int64 as JS numbers, nulls as null.
 */
import { Data } from "effect"
import type { AsyncBuffer, CompressionCodec, FileMetaData, SchemaElement } from "hyparquet"
import { parquetMetadata, parquetRead } from "hyparquet"
import { compressors as decompressors } from "hyparquet-compressors"
import type { ParquetCompression } from "../config/AppConfig.js"
import type { ColumnType, Dataset } from "../domain/Dataset.js"
import { columnsFromRows, FlatValueError, flatSchema, writeFlatParquet } from "./flatParquetWriter.js"

/** A row could not be encoded, or bytes could not be decoded, as the columns describe. */
export class ParquetCodecError extends Data.TaggedError("ParquetCodecError")<{ readonly detail: string }> {
  override get message(): string {
    return this.detail
  }
}

/** A column of a table to encode: a `Dataset` column, or an extra one (quarantine). */
export interface TableColumn {
  readonly name: string
  readonly type: ColumnType
  readonly nullable: boolean
}

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
  return String(value)
}

const badValue = (column: TableColumn, row: number, value: unknown): ParquetCodecError => {
  const expected =
    column.type === "string"
      ? "a string"
      : column.type === "double"
        ? "a number"
        : column.type === "timestamp_ms"
          ? "a safe integer of epoch milliseconds"
          : "a safe integer"
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

/**
 * Encodes a table to Parquet bytes. Deterministic: the same table and options give the same bytes.
 * Throws `ParquetCodecError` on a value of the wrong type or an unloaded compressor.
 */
export const encodeTable = (table: Table, options: EncodeOptions): Uint8Array => {
  if (!Number.isSafeInteger(options.rowGroupSize) || options.rowGroupSize < 1) {
    throw new ParquetCodecError({
      detail: `row group size must be a positive integer, got ${options.rowGroupSize}`
    })
  }
  let compress: Compressor | undefined
  if (options.compression === "zstd") {
    if (zstdCompressor === undefined) {
      throw new ParquetCodecError({
        detail: "the zstd compressor is not loaded (await loadCompression('zstd') when building the sink)"
      })
    }
    compress = zstdCompressor
  }
  let data: ReturnType<typeof columnsFromRows>
  try {
    data = columnsFromRows(table.columns, table.rows)
  } catch (cause) {
    if (cause instanceof FlatValueError) {
      throw badValue(table.columns[cause.column]!, cause.row, cause.value)
    }
    throw cause
  }
  try {
    return writeFlatParquet(table.columns, data, table.rows.length, {
      codec: codecOf(options.compression),
      ...(compress === undefined ? {} : { compress }),
      rowGroupSize: options.rowGroupSize,
      ...(table.statisticsFor === undefined ? {} : { statisticsFor: table.statisticsFor }),
      kvMetadata: [{ key: DATASET_METADATA_KEY, value: table.name }],
      createdBy: CREATED_BY
    })
  } catch (cause) {
    throw new ParquetCodecError({
      detail: `cannot encode ${table.name}: ${cause instanceof Error ? cause.message : String(cause)}`
    })
  }
}

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
      statisticsFor: new Set<string>([...dataset.key, dataset.timeColumn])
    },
    options
  )

// --- decode ------------------------------------------------------------------------------

const parsers = {
  timestampFromMilliseconds: (millis: bigint): number => Number(millis),
  timestampFromMicroseconds: (micros: bigint): number => Number(micros / 1000n),
  timestampFromNanoseconds: (nanos: bigint): number => Number(nanos / 1000000n)
}

const toArrayBuffer = (bytes: Uint8Array): ArrayBuffer =>
  bytes.byteOffset === 0 &&
  bytes.byteLength === bytes.buffer.byteLength &&
  bytes.buffer instanceof ArrayBuffer
    ? bytes.buffer
    : (bytes.slice().buffer as ArrayBuffer)

const toNumber = (value: unknown): unknown => (typeof value === "bigint" ? Number(value) : value)

/** Reads the footer of Parquet bytes. Throws when they are not Parquet. */
export const readMetadata = (bytes: Uint8Array): FileMetaData => parquetMetadata(toArrayBuffer(bytes))

/**
 * Decodes Parquet bytes into rows holding `columns` (in that key order): timestamps and int64 as
 * numbers, nulls as null. A nullable column missing from the file reads as null; a missing
 * required column, or bytes that are not Parquet, reject with `ParquetCodecError`.
 */
export const decodeTable = async (
  columns: ReadonlyArray<TableColumn>,
  bytes: Uint8Array
): Promise<Array<Record<string, unknown>>> => {
  try {
    const buffer = toArrayBuffer(bytes)
    const metadata = parquetMetadata(buffer)
    const n = Number(metadata.num_rows)
    const present = new Set<string>()
    for (const element of metadata.schema.slice(1)) present.add(element.name)
    const missing = columns.filter((c) => !present.has(c.name))
    const required = missing.find((c) => !c.nullable)
    if (required !== undefined) {
      throw new ParquetCodecError({ detail: `the file has no column ${required.name}` })
    }
    const readNames = columns.filter((c) => present.has(c.name)).map((c) => c.name)
    const integer = new Set(columns.filter((c) => c.type === "int64").map((c) => c.name))
    const data = new Map<string, Array<unknown>>()
    for (const column of columns) data.set(column.name, new Array<unknown>(n).fill(null))
    const file: AsyncBuffer = buffer
    await parquetRead({
      file,
      metadata,
      columns: readNames,
      compressors: decompressors,
      parsers,
      utf8: true,
      onChunk: ({ columnName, columnData, rowStart }) => {
        const target = data.get(columnName)
        if (target === undefined) return
        const convert = integer.has(columnName)
        for (let i = 0; i < columnData.length; i++) {
          const value: unknown = columnData[i]
          target[rowStart + i] = value === undefined ? null : convert ? toNumber(value) : value
        }
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
    if (cause instanceof ParquetCodecError) throw cause
    throw new ParquetCodecError({
      detail: `not a readable Parquet file: ${cause instanceof Error ? cause.message : String(cause)}`
    })
  }
}

/** Decodes Parquet bytes written for `dataset` back into its in-memory records. */
export const decodeParquet = <A>(dataset: Dataset<A>, bytes: Uint8Array): Promise<ReadonlyArray<A>> =>
  decodeTable(dataset.columns, bytes) as Promise<Array<unknown>> as Promise<ReadonlyArray<A>>
