/** Per-second stock bars: the canonical record and its Dataset (`stock_bars_1s`). */
import { Schema } from "effect"
import type { Dataset } from "./Dataset.js"
import { newYorkDate, newYorkDayRange } from "./time.js"

export const StockBar = Schema.Struct({
  symbol: Schema.String,
  /** Bar start, epoch ms UTC. */
  ts: Schema.Number,
  open: Schema.Number,
  high: Schema.Number,
  low: Schema.Number,
  close: Schema.Number,
  volume: Schema.Number,
  vwap: Schema.NullOr(Schema.Number),
  trades: Schema.NullOr(Schema.Number)
})
export type StockBar = typeof StockBar.Type

/** The fields of a per-second bar the rules below check (stock bars, option bars). */
type BarFields = Pick<StockBar, "symbol" | "open" | "high" | "low" | "close" | "volume" | "trades">

/** The four prices of a bar, whatever else it carries. */
export interface Ohlc {
  readonly open: number
  readonly high: number
  readonly low: number
  readonly close: number
}

/** OHLC consistency: low is the lowest and high the highest of the four prices; prices are positive. */
export const ohlcRule = (b: Ohlc): string | undefined => {
  if (b.low > b.high) return `low ${b.low} is above high ${b.high}`
  if (b.open > b.high || b.close > b.high) return `open ${b.open} or close ${b.close} is above high ${b.high}`
  if (b.open < b.low || b.close < b.low) return `open ${b.open} or close ${b.close} is below low ${b.low}`
  if (b.low <= 0) return `low ${b.low} is not a positive price`
  return undefined
}

const volumeRule = (b: BarFields): string | undefined =>
  b.volume < 0 ? `volume ${b.volume} is negative` : undefined

const tradesRule = (b: BarFields): string | undefined =>
  b.trades !== null && (b.trades < 0 || !Number.isInteger(b.trades))
    ? `trades ${b.trades} is not a non-negative integer`
    : undefined

export const symbolRule = (b: { readonly symbol: string }): string | undefined =>
  b.symbol.length === 0 ? "symbol is empty" : undefined

/** The rules of every per-second bar dataset: a symbol, consistent positive OHLC, volume, trade count. */
export const barRules: ReadonlyArray<(b: BarFields) => string | undefined> = [
  symbolRule,
  ohlcRule,
  volumeRule,
  tradesRule
]

export const StockBars1s: Dataset<StockBar> = {
  name: "stock_bars_1s",
  schema: StockBar,
  columns: [
    { name: "symbol", type: "string", nullable: false, doc: "ticker, e.g. SPY" },
    { name: "ts", type: "timestamp_ms", nullable: false, doc: "bar start, UTC" },
    { name: "open", type: "double", nullable: false, doc: "first trade price in the second" },
    { name: "high", type: "double", nullable: false, doc: "highest trade price" },
    { name: "low", type: "double", nullable: false, doc: "lowest trade price" },
    { name: "close", type: "double", nullable: false, doc: "last trade price" },
    { name: "volume", type: "double", nullable: false, doc: "shares traded (may be fractional)" },
    {
      name: "vwap",
      type: "double",
      nullable: true,
      doc: "volume-weighted average price, when the vendor sends it"
    },
    { name: "trades", type: "int64", nullable: true, doc: "number of trades, when the vendor sends it" }
  ],
  key: ["symbol", "ts"],
  instrument: "symbol",
  timeColumn: "ts",
  eventTime: (b) => b.ts,
  partitionDate: (b) => newYorkDate(b.ts),
  partitionRange: newYorkDayRange,
  rules: barRules,
  // A liquid ticker trades in most seconds of the session (SPY: ~22,000 of 23,400). Parquet
  // (snappy) measured on a backfill of the synthetic SPY and QQQ (bench/RESULTS.md).
  sizing: { rowsPerInstrumentDay: 22_000, parquetBytesPerRow: 19, sqlBytesPerRow: 150 }
}
