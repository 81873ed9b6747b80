/**
 * What a backfill will take, said before a long one starts: rows, disk and time, from the
 * dataset's measured sizing (`Dataset.sizing`), the vendor's page size and rate limit, and the
 * measured throughput of the pipeline (bench/RESULTS.md).
 */
import type { DatasetSizing } from "../domain/Dataset.js"

/** Backfills longer than this many trading days print the estimate first. */
export const ESTIMATE_AFTER_DAYS = 60

/** Rows a second the pipeline sustains end to end on 2 cores (bench/RESULTS.md, backfill). */
export const ROWS_PER_SECOND = { parquet: 60_000, withEmbeddedSql: 20_000, withSqlServer: 40_000 } as const

export interface EstimateInput {
  readonly sizing: DatasetSizing
  readonly tradingDays: number
  readonly instruments: number
  /** Rows per request page (the vendor's `limit`). */
  readonly pageLimit: number
  /** Requests per minute; 0 = no limit. */
  readonly rateLimitPerMinute: number
  readonly parquet: boolean
  readonly sql: "none" | "embedded" | "server"
}

export interface BackfillEstimate {
  readonly instrumentDays: number
  readonly rows: number
  readonly requests: number
  readonly parquetBytes: number
  readonly sqlBytes: number
  /** The larger of the time the rate limit imposes and the time the pipeline needs. */
  readonly seconds: number
  /** What bounds the time: the vendor's rate limit or the pipeline. */
  readonly boundBy: "rate limit" | "pipeline"
}

export const estimateBackfill = (input: EstimateInput): BackfillEstimate => {
  const instrumentDays = input.tradingDays * input.instruments
  const rows = instrumentDays * input.sizing.rowsPerInstrumentDay
  const requests =
    instrumentDays * Math.max(1, Math.ceil(input.sizing.rowsPerInstrumentDay / input.pageLimit))
  const rate =
    input.sql === "embedded"
      ? ROWS_PER_SECOND.withEmbeddedSql
      : input.sql === "server"
        ? ROWS_PER_SECOND.withSqlServer
        : ROWS_PER_SECOND.parquet
  const pipelineSeconds = rows / rate
  const limitSeconds = input.rateLimitPerMinute > 0 ? (requests / input.rateLimitPerMinute) * 60 : 0
  return {
    instrumentDays,
    rows,
    requests,
    parquetBytes: input.parquet ? rows * input.sizing.parquetBytesPerRow : 0,
    sqlBytes: input.sql === "none" ? 0 : rows * input.sizing.sqlBytesPerRow,
    seconds: Math.max(pipelineSeconds, limitSeconds),
    boundBy: limitSeconds > pipelineSeconds ? "rate limit" : "pipeline"
  }
}
