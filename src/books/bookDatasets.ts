/**
 * The two order-book datasets and where their files live.
 *
 * - `book_deltas`: one row per level change, in the long format of Crypto Lake's
 *   `book_delta_v2`. The rows of one depth event share its ids and times. A block of
 *   `is_snapshot` rows (same final_update_id and received_time) replaces the whole book: it is
 *   written when a symbol (re)syncs from a REST snapshot and at the start of every UTC day.
 * - `book_snapshots`: the REST snapshots taken for sync and for validation, one row per level.
 *
 * Prices and sizes are int64 fixed point at the symbol's scales (exchangeInfo.ts), stored as
 * Parquet INT64 DECIMAL(18, scale). The scale belongs to a symbol, not to a column, so it is
 * carried per file (each file holds one symbol) and read back from the file's schema.
 *
 * Layout: `<data-dir>/lake/<dataset>/venue=<venue>/date=<YYYY-MM-DD>/symbol=<SYMBOL>/seg-<seq>.parquet`,
 * the date in UTC (event time E for deltas, arrival time for snapshots). `seq` is the capture's
 * write-ahead-log sequence: every flush writes one file per partition that has rows, all with
 * the same seq, so names sort in write order.
 */
import * as path from "node:path"
import type { FlatColumn } from "../sinks/parquetColumns.js"

export type BookDatasetName = "book_deltas" | "book_snapshots"
export const BOOK_DELTAS: BookDatasetName = "book_deltas"
export const BOOK_SNAPSHOTS: BookDatasetName = "book_snapshots"
export const BOOK_DATASETS: ReadonlyArray<BookDatasetName> = [BOOK_DELTAS, BOOK_SNAPSHOTS]

/** Value of an absent nullable id or time in the in-memory columns (ids and times are ≥ 0). */
export const NULL_VALUE = -1

/** Fixed-point scales of one symbol: prices are integer × 10^-priceScale, sizes × 10^-sizeScale. */
export interface BookScales {
  readonly priceScale: number
  readonly sizeScale: number
}

/** The columns of `book_deltas` for a symbol at `scales` (Parquet order). */
export const bookDeltaColumns = (scales: BookScales): ReadonlyArray<FlatColumn> => [
  { name: "venue", type: "string", nullable: false },
  { name: "symbol", type: "string", nullable: false },
  { name: "event_time", type: "timestamp_ms", nullable: false },
  { name: "transaction_time", type: "timestamp_ms", nullable: true },
  { name: "received_time", type: "timestamp_ns", nullable: false },
  { name: "first_update_id", type: "int64", nullable: false },
  { name: "final_update_id", type: "int64", nullable: false },
  { name: "prev_final_update_id", type: "int64", nullable: true },
  { name: "side_is_bid", type: "boolean", nullable: false },
  { name: "price", type: "decimal", scale: scales.priceScale, nullable: false },
  { name: "size", type: "decimal", scale: scales.sizeScale, nullable: false },
  { name: "is_snapshot", type: "boolean", nullable: false }
]

/** The columns of `book_snapshots` for a symbol at `scales` (Parquet order). */
export const bookSnapshotColumns = (scales: BookScales): ReadonlyArray<FlatColumn> => [
  { name: "venue", type: "string", nullable: false },
  { name: "symbol", type: "string", nullable: false },
  { name: "received_time", type: "timestamp_ns", nullable: false },
  { name: "event_time", type: "timestamp_ms", nullable: true },
  { name: "transaction_time", type: "timestamp_ms", nullable: true },
  { name: "last_update_id", type: "int64", nullable: false },
  { name: "purpose", type: "string", nullable: false },
  { name: "level", type: "int64", nullable: false },
  { name: "side_is_bid", type: "boolean", nullable: false },
  { name: "price", type: "decimal", scale: scales.priceScale, nullable: false },
  { name: "size", type: "decimal", scale: scales.sizeScale, nullable: false }
]

/** One-line descriptions of the columns, for the README and `status`. */
export const BOOK_COLUMN_DOCS: Readonly<Record<BookDatasetName, Readonly<Record<string, string>>>> = {
  book_deltas: {
    venue: "binance-spot or binance-usdm",
    symbol: "instrument, uppercase (BTCUSDT)",
    event_time: "exchange event time E, UTC ms",
    transaction_time: "matching-engine time T, UTC ms (USD-M only; null on spot)",
    received_time: "local arrival time of the WebSocket message, UTC ns",
    first_update_id: "first update id U of the event",
    final_update_id: "final update id u of the event",
    prev_final_update_id: "pu: final update id of the previous event (USD-M only)",
    side_is_bid: "true for a bid level, false for an ask",
    price: "level price, DECIMAL(18, price scale of the symbol)",
    size: "new absolute size, DECIMAL(18, size scale); 0 deletes the level",
    is_snapshot: "true for the rows of a book snapshot block, which replaces the book"
  },
  book_snapshots: {
    venue: "binance-spot or binance-usdm",
    symbol: "instrument, uppercase",
    received_time: "local arrival time of the REST response, UTC ns",
    event_time: "snapshot E (USD-M; null on spot, whose snapshots carry no time)",
    transaction_time: "snapshot T (USD-M; null on spot)",
    last_update_id: "the snapshot's lastUpdateId",
    purpose: "sync (taken to (re)sync the book) or validate (every book.validate_every_ms)",
    level: "rank of the level on its side, 0 = best",
    side_is_bid: "true for a bid level",
    price: "level price, DECIMAL(18, price scale)",
    size: "level size, DECIMAL(18, size scale)"
  }
}

/** One partition: a dataset's files of one venue, UTC date and symbol. */
export interface BookPartition {
  readonly dataset: BookDatasetName
  readonly venue: string
  /** YYYY-MM-DD, UTC. */
  readonly date: string
  readonly symbol: string
}

/** The UTC date (YYYY-MM-DD) of epoch milliseconds. */
export const utcDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10)

/** The folder of a partition under the lake folder (`<data-dir>/lake`). */
export const bookPartitionDir = (lakeDir: string, p: BookPartition): string =>
  path.join(lakeDir, p.dataset, `venue=${p.venue}`, `date=${p.date}`, `symbol=${p.symbol}`)

const segmentPattern = /^seg-(\d{12})\.parquet$/

/** The file name of segment `seq`: `seg-000000000042.parquet` (sorts in write order). */
export const segmentFileName = (seq: number): string => `seg-${String(seq).padStart(12, "0")}.parquet`

/** The seq of a segment file name, undefined for any other name. */
export const segmentSeq = (name: string): number | undefined => {
  const match = segmentPattern.exec(name)
  return match === null ? undefined : Number(match[1])
}
