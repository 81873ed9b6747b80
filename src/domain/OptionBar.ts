/**
 * Per-second option bars (`option_bars_1s`): a contract's per-second aggregate with the contract's
 * terms beside it. A backfill's unit of work is an underlying-day (every tracked contract of it),
 * so `underlying` is the replace scope: rewriting SPY's day replaces all its contracts' rows, and a
 * contract that left the chain does not survive.
 */
import { Schema } from "effect"
import type { Dataset } from "./Dataset.js"
import { barRules } from "./StockBar.js"
import { newYorkDate, newYorkDayRange } from "./time.js"

export const OptionBar = Schema.Struct({
  /** The contract, `O:SPY240305C00512000`. */
  symbol: Schema.String,
  underlying: Schema.String,
  expiration_date: Schema.String,
  strike_price: Schema.Number,
  contract_type: Schema.String,
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
export type OptionBar = typeof OptionBar.Type

export const OptionBars1s: Dataset<OptionBar> = {
  name: "option_bars_1s",
  schema: OptionBar,
  columns: [
    { name: "symbol", type: "string", nullable: false, doc: "contract, e.g. O:SPY240305C00512000" },
    { name: "underlying", type: "string", nullable: false, doc: "underlying ticker, e.g. SPY" },
    { name: "expiration_date", type: "date", nullable: false, doc: "last trading day of the contract" },
    { name: "strike_price", type: "double", nullable: false, doc: "strike, in dollars" },
    { name: "contract_type", type: "string", nullable: false, doc: "call or put" },
    { name: "ts", type: "timestamp_ms", nullable: false, doc: "bar start, UTC" },
    { name: "open", type: "double", nullable: false, doc: "first trade price in the second" },
    { name: "high", type: "double", nullable: false, doc: "highest trade price" },
    { name: "low", type: "double", nullable: false, doc: "lowest trade price" },
    { name: "close", type: "double", nullable: false, doc: "last trade price" },
    { name: "volume", type: "double", nullable: false, doc: "contracts traded" },
    { name: "vwap", type: "double", nullable: true, doc: "volume-weighted average price, when sent" },
    { name: "trades", type: "int64", nullable: true, doc: "number of trades, when sent" }
  ],
  key: ["symbol", "ts"],
  // The unit of work's instrument: a rewrite of a day replaces every contract of the underlying.
  instrument: "underlying",
  timeColumn: "ts",
  eventTime: (b) => b.ts,
  partitionDate: (b) => newYorkDate(b.ts),
  partitionRange: newYorkDayRange,
  rules: barRules
}
