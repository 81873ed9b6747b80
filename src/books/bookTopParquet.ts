/**
 * The `book_top<N>_<interval>` dataset that `books` writes: one row per sample time with ts,
 * symbol, u (the last update id applied) and, per level i from 0, bid_px_i, bid_sz_i, then
 * ask_px_i, ask_sz_i. Prices and sizes are INT64 DECIMAL(18, scale) at the symbol's scales (so
 * DuckDB reads exact decimals); a level the book does not hold is null.
 */

import { type PageCompressor, writeFlatParquet } from "../sinks/flatParquetWriter.js"
import type { FlatColumn, FlatColumnData } from "../sinks/parquetColumns.js"
import type { TopBlock } from "./topSampler.js"

/** `book_top20_100ms`, `book_top5_1s`, … */
export const bookTopDatasetName = (levels: number, every: string): string => `book_top${levels}_${every}`

export const bookTopColumns = (levels: number, priceScale: number, sizeScale: number): Array<FlatColumn> => {
  const columns: Array<FlatColumn> = [
    { name: "ts", type: "timestamp_ms", nullable: false },
    { name: "symbol", type: "string", nullable: false },
    { name: "u", type: "int64", nullable: false }
  ]
  for (const side of ["bid", "ask"] as const)
    for (let i = 0; i < levels; i++) {
      columns.push({ name: `${side}_px_${i}`, type: "decimal", scale: priceScale, nullable: true })
      columns.push({ name: `${side}_sz_${i}`, type: "decimal", scale: sizeScale, nullable: true })
    }
  return columns
}

const ints = (values: Float64Array, present?: Uint8Array): FlatColumnData => ({
  kind: "int",
  values,
  wide: undefined,
  present
})

export interface BookTopFileOptions {
  readonly symbol: string
  readonly levels: number
  readonly priceScale: number
  readonly sizeScale: number
  readonly datasetName: string
  readonly compress?: PageCompressor
}

/** One block of samples as Parquet bytes (snappy, or zstd when a compressor is given). */
export const encodeBookTop = (block: TopBlock, options: BookTopFileOptions): Uint8Array => {
  const { levels } = options
  const data: Array<FlatColumnData> = [
    ints(block.ts),
    { kind: "string", values: new Array<string>(block.rows).fill(options.symbol), present: undefined },
    ints(block.u)
  ]
  for (const [px, sz, present] of [
    [block.bidPx, block.bidSz, block.bidPresent],
    [block.askPx, block.askSz, block.askPresent]
  ] as const)
    for (let i = 0; i < levels; i++) {
      // OPTIONAL columns always carry their presence flags (the writer's definition levels).
      data.push(ints(px[i]!, present[i]!), ints(sz[i]!, present[i]!))
    }
  return writeFlatParquet(bookTopColumns(levels, options.priceScale, options.sizeScale), data, block.rows, {
    codec: options.compress === undefined ? "SNAPPY" : "ZSTD",
    ...(options.compress === undefined ? {} : { compress: options.compress }),
    rowGroupSize: 65_536,
    statisticsFor: new Set(["ts", "u"]),
    kvMetadata: [{ key: "tapehouse.dataset", value: options.datasetName }],
    createdBy: "tapehouse books"
  })
}
