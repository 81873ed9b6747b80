/**
 * The Parquet encoder's entry points that need neither Effect nor the Parquet reader: what
 * parquetCodec.ts encodes with, and all the encoder thread (parquetEncodeWorker.ts) loads, so that
 * the thread stays small. Errors are plain `Error`s; parquetCodec.ts turns them into
 * `ParquetCodecError`s.
 */
import type { CompressionCodec } from "hyparquet"
import type { ParquetCompression } from "../config/AppConfig.js"
import { writeFlatParquet } from "./flatParquetWriter.js"
import type { ColumnarRows, FlatColumn, FlatColumnData } from "./parquetColumns.js"

export interface EncodeOptions {
  readonly compression: ParquetCompression
  /** Rows per row group. */
  readonly rowGroupSize: number
}

/** Key of the footer key-value entry naming the dataset. */
export const DATASET_METADATA_KEY = "tapehouse.dataset"

const CREATED_BY = "tapehouse"

// --- compression -------------------------------------------------------------------------

export type Compressor = (input: Uint8Array) => Uint8Array

let zstdCompressor: Compressor | undefined
let zstdLoading: Promise<void> | undefined

/** The zstd level: the library default, a good speed/size balance. */
const ZSTD_LEVEL = 3

/**
 * Makes `compression` usable by the encoder (zstd needs its WebAssembly module loaded once;
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

/** The compressor `options` need; throws when it is not loaded or the row group size is wrong. */
export const compressorFor = (options: EncodeOptions): Compressor | undefined => {
  if (!Number.isSafeInteger(options.rowGroupSize) || options.rowGroupSize < 1)
    throw new Error(`row group size must be a positive integer, got ${options.rowGroupSize}`)
  if (options.compression !== "zstd") return undefined
  if (zstdCompressor === undefined)
    throw new Error(
      "the zstd compressor is not loaded (await loadCompression('zstd') when building the sink)"
    )
  return zstdCompressor
}

// --- encode ------------------------------------------------------------------------------

/**
 * Writes columns already built (`reuseOutput`: see `FlatWriteOptions.reuseOutput`). Throws an
 * `Error` naming the table.
 */
export const writeColumns = (
  name: string,
  columns: ReadonlyArray<FlatColumn>,
  data: ReadonlyArray<FlatColumnData>,
  numRows: number,
  statisticsFor: ReadonlySet<string> | undefined,
  options: EncodeOptions,
  compress: Compressor | undefined,
  reuseOutput = false
): Uint8Array => {
  try {
    return writeFlatParquet(columns, data, numRows, {
      codec: codecOf(options.compression),
      ...(compress === undefined ? {} : { compress }),
      rowGroupSize: options.rowGroupSize,
      ...(statisticsFor === undefined ? {} : { statisticsFor }),
      kvMetadata: [{ key: DATASET_METADATA_KEY, value: name }],
      createdBy: CREATED_BY,
      reuseOutput
    })
  } catch (cause) {
    throw new Error(`cannot encode ${name}: ${cause instanceof Error ? cause.message : String(cause)}`)
  }
}

/** Rows of a dataset held as columns, as plain data (no functions): what `encodeColumns` encodes. */
export interface ColumnTable {
  /** Written to the footer as `tapehouse.dataset`. */
  readonly name: string
  readonly columns: ReadonlyArray<FlatColumn>
  readonly table: ColumnarRows
  /** The columns that get min/max statistics. */
  readonly statisticsFor: ReadonlyArray<string>
}

/** Encodes a `ColumnTable` (`reuseOutput`: see `FlatWriteOptions.reuseOutput`). Throws an `Error`. */
export const encodeColumnTable = (t: ColumnTable, options: EncodeOptions, reuseOutput = false): Uint8Array =>
  writeColumns(
    t.name,
    t.columns,
    t.table.columns,
    t.table.length,
    new Set(t.statisticsFor),
    options,
    compressorFor(options),
    reuseOutput
  )
