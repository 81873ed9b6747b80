/**
 * Per-second index values (`index_bars_1s`, e.g. I:VIX): open, high, low and close of the index in
 * each second. Indices carry no volume, VWAP or trade count, so the record has none (not zeros).
 */
import { Schema } from "effect"
import type { Dataset } from "./Dataset.js"
import { ohlcRule, symbolRule } from "./StockBar.js"
import { newYorkDate, newYorkDayRange } from "./time.js"

export const IndexBar = Schema.Struct({
  symbol: Schema.String,
  /** Bar start, epoch ms UTC. */
  ts: Schema.Number,
  open: Schema.Number,
  high: Schema.Number,
  low: Schema.Number,
  close: Schema.Number
})
export type IndexBar = typeof IndexBar.Type

export const IndexBars1s: Dataset<IndexBar> = {
  name: "index_bars_1s",
  schema: IndexBar,
  columns: [
    { name: "symbol", type: "string", nullable: false, doc: "index ticker with its prefix, e.g. I:VIX" },
    { name: "ts", type: "timestamp_ms", nullable: false, doc: "bar start, UTC" },
    { name: "open", type: "double", nullable: false, doc: "first index value in the second" },
    { name: "high", type: "double", nullable: false, doc: "highest index value" },
    { name: "low", type: "double", nullable: false, doc: "lowest index value" },
    { name: "close", type: "double", nullable: false, doc: "last index value" }
  ],
  key: ["symbol", "ts"],
  instrument: "symbol",
  timeColumn: "ts",
  eventTime: (b) => b.ts,
  partitionDate: (b) => newYorkDate(b.ts),
  partitionRange: newYorkDayRange,
  rules: [symbolRule, ohlcRule]
}
