/**
 * The consolidated datasets, derived from the lake by `tapehouse consolidate` (never fetched from a
 * vendor, so not in the backfill registry): `options_enriched_1s`, every option bar of a day with
 * its underlying, VIX, implied volatility and greeks; and `underlying_features_1s`, every second of
 * an underlying's session with its indicators, VIX and news. README "Consolidated datasets" defines
 * every column. Both are partitioned by the New York date of `ts`; a day's rewrite is scoped by the
 * underlying.
 */
import { Schema } from "effect"
import type { Column, Dataset } from "./Dataset.js"
import { newYorkDate, newYorkDayRange } from "./time.js"

const num = Schema.Number
const optNum = Schema.NullOr(Schema.Number)

export const OptionEnriched = Schema.Struct({
  symbol: Schema.String,
  ts: num,
  underlying: Schema.String,
  contract_type: Schema.String,
  strike_price: num,
  expiration_date: Schema.String,
  open: num,
  high: num,
  low: num,
  close: num,
  volume: num,
  underlying_price: optNum,
  underlying_age_ms: optNum,
  vix: optNum,
  t_years: num,
  moneyness: optNum,
  dte: num,
  iv: optNum,
  delta: optNum,
  gamma: optNum,
  theta: optNum,
  vega: optNum,
  rho: optNum,
  iv_reason: Schema.NullOr(Schema.String),
  rate: num,
  div_yield: num
})
export type OptionEnriched = typeof OptionEnriched.Type

const double = <A>(name: keyof A & string, nullable: boolean, doc: string): Column<A> => ({
  name,
  type: "double",
  nullable,
  doc
})

export const OptionsEnriched1s: Dataset<OptionEnriched> = {
  name: "options_enriched_1s",
  schema: OptionEnriched,
  columns: [
    { name: "symbol", type: "string", nullable: false, doc: "contract, e.g. O:SPY240305C00512000" },
    { name: "ts", type: "timestamp_ms", nullable: false, doc: "the option bar's start, UTC" },
    { name: "underlying", type: "string", nullable: false, doc: "underlying ticker" },
    { name: "contract_type", type: "string", nullable: false, doc: "call or put" },
    double("strike_price", false, "strike, dollars"),
    {
      name: "expiration_date",
      type: "date",
      nullable: false,
      doc: "last trading day (16:00 New York close)"
    },
    double("open", false, "the option bar's first trade"),
    double("high", false, "highest trade"),
    double("low", false, "lowest trade"),
    double("close", false, "last trade: the price the implied volatility is solved from"),
    double("volume", false, "contracts traded"),
    double("underlying_price", true, "the underlying's last trade at or before ts (its bar's close)"),
    double("underlying_age_ms", true, "ts minus the start of the underlying bar that price comes from"),
    double("vix", true, "I:VIX's last value at or before ts"),
    double(
      "t_years",
      false,
      "years of 365 days from the end of the second to the expiration's 16:00 New York"
    ),
    double("moneyness", true, "ln(K/F), F = S·e^{(r−q)t} the forward"),
    {
      name: "dte",
      type: "int64",
      nullable: false,
      doc: "calendar days from the bar's New York date to expiration"
    },
    double("iv", true, "Black–Scholes–Merton implied volatility of close"),
    double("delta", true, "∂price/∂S at iv"),
    double("gamma", true, "∂²price/∂S² at iv"),
    double("theta", true, "∂price/∂t, calendar time forward, per year"),
    double("vega", true, "∂price/∂σ per 1.00 of volatility"),
    double("rho", true, "∂price/∂r per 1.00 of rate"),
    { name: "iv_reason", type: "string", nullable: true, doc: "why iv (and the greeks) is null" },
    double("rate", false, "risk-free rate used (analytics.risk_free_rate)"),
    double("div_yield", false, "dividend yield used (analytics.dividend_yield)")
  ],
  key: ["symbol", "ts"],
  instrument: "underlying",
  timeColumn: "ts",
  eventTime: (r) => r.ts,
  partitionDate: (r) => newYorkDate(r.ts),
  partitionRange: newYorkDayRange,
  rules: []
}

export const UnderlyingFeature = Schema.Struct({
  symbol: Schema.String,
  ts: num,
  open: num,
  high: num,
  low: num,
  close: num,
  volume: num,
  vwap: num,
  filled: Schema.Boolean,
  return_1s: optNum,
  return_5s: optNum,
  return_15s: optNum,
  return_60s: optNum,
  return_300s: optNum,
  rsi_14: optNum,
  ema_9: optNum,
  ema_21: optNum,
  macd: optNum,
  macd_signal: optNum,
  macd_histogram: optNum,
  bollinger_middle: optNum,
  bollinger_upper: optNum,
  bollinger_lower: optNum,
  atr_14: optNum,
  vwap_distance: optNum,
  realized_vol_60s: optNum,
  realized_vol_300s: optNum,
  vix: optNum,
  news_count_5m: num,
  news_sentiment_5m: num,
  news_count_30m: num,
  news_sentiment_30m: num,
  news_count_60m: num,
  news_sentiment_60m: num
})
export type UnderlyingFeature = typeof UnderlyingFeature.Type

const count = (name: keyof UnderlyingFeature & string, doc: string): Column<UnderlyingFeature> => ({
  name,
  type: "int64",
  nullable: false,
  doc
})

export const UnderlyingFeatures1s: Dataset<UnderlyingFeature> = {
  name: "underlying_features_1s",
  schema: UnderlyingFeature,
  columns: [
    { name: "symbol", type: "string", nullable: false, doc: "underlying ticker" },
    { name: "ts", type: "timestamp_ms", nullable: false, doc: "second start, UTC" },
    double("open", false, "the second's bar; the last close when it had no trade"),
    double("high", false, "highest trade; the last close when no trade"),
    double("low", false, "lowest trade; the last close when no trade"),
    double("close", false, "last trade; the last close when no trade"),
    double("volume", false, "shares traded (0 when no trade)"),
    double("vwap", false, "the bar's volume-weighted price (its close when not sent or no trade)"),
    { name: "filled", type: "boolean", nullable: false, doc: "true when the second had no trade" },
    double("return_1s", true, "close/close 1 s before − 1"),
    double("return_5s", true, "close/close 5 s before − 1"),
    double("return_15s", true, "close/close 15 s before − 1"),
    double("return_60s", true, "close/close 60 s before − 1"),
    double("return_300s", true, "close/close 300 s before − 1"),
    double("rsi_14", true, "Wilder RSI(14) of close"),
    double("ema_9", true, "EMA(9) of close"),
    double("ema_21", true, "EMA(21) of close"),
    double("macd", true, "EMA12 − EMA26 of close"),
    double("macd_signal", true, "EMA9 of macd"),
    double("macd_histogram", true, "macd − macd_signal"),
    double("bollinger_middle", true, "mean of the last 20 closes"),
    double("bollinger_upper", true, "middle + 2σ (population)"),
    double("bollinger_lower", true, "middle − 2σ (population)"),
    double("atr_14", true, "Wilder ATR(14)"),
    double("vwap_distance", true, "close / session VWAP − 1"),
    double("realized_vol_60s", true, "sqrt(Σ r²) of the last 60 one-second log returns, not annualised"),
    double("realized_vol_300s", true, "sqrt(Σ r²) of the last 300 one-second log returns, not annualised"),
    double("vix", true, "I:VIX's last value at or before ts"),
    count("news_count_5m", "articles mentioning the symbol published in (ts − 5 min, ts]"),
    count("news_sentiment_5m", "positive minus negative insights for the symbol in (ts − 5 min, ts]"),
    count("news_count_30m", "the same over 30 minutes"),
    count("news_sentiment_30m", "the same over 30 minutes"),
    count("news_count_60m", "the same over 60 minutes"),
    count("news_sentiment_60m", "the same over 60 minutes")
  ],
  key: ["symbol", "ts"],
  instrument: "symbol",
  timeColumn: "ts",
  eventTime: (r) => r.ts,
  partitionDate: (r) => newYorkDate(r.ts),
  partitionRange: newYorkDayRange,
  rules: []
}
