/**
 * First-order greeks of an option at 1-minute interval (`option_greeks_1m`), as the ThetaData
 * terminal computes them from the option's and the underlying's midpoints: one row per (symbol,
 * expiration, strike, right, minute).
 *
 * The strike is an exact decimal: a `decimal` column of scale 3 (thousandths of a dollar, the
 * vendor's own unit: v2 sends it as that integer, v3 as "5100.000"), so 5100.000 is held as
 * 5100000 and stored as Parquet INT64 DECIMAL(18, 3) and SQL numeric(18, 3), never a double.
 * "ts inside the session" is the generic validator's event window (the day's regular session).
 */
import { Schema } from "effect"
import type { Dataset } from "./Dataset.js"
import { newYorkDate, newYorkDayRange } from "./time.js"

/** Digits after the point of `strike`: thousandths of a dollar. */
export const STRIKE_SCALE = 3

export const OptionGreek = Schema.Struct({
  /** The option root, e.g. `SPXW`. */
  symbol: Schema.String,
  /** YYYY-MM-DD. */
  expiration: Schema.String,
  /** Dollars × 1000 (scale 3). */
  strike: Schema.Number,
  /** `call` or `put`. */
  right: Schema.String,
  /** The option quote's minute, epoch ms UTC. */
  ts: Schema.Number,
  bid: Schema.NullOr(Schema.Number),
  ask: Schema.NullOr(Schema.Number),
  delta: Schema.Number,
  theta: Schema.Number,
  vega: Schema.Number,
  rho: Schema.Number,
  epsilon: Schema.Number,
  lambda: Schema.Number,
  implied_vol: Schema.Number,
  iv_error: Schema.Number,
  /** Time of the underlying quote the greeks used, epoch ms UTC. */
  underlying_ts: Schema.Number,
  underlying_price: Schema.Number
})
export type OptionGreek = typeof OptionGreek.Type

/**
 * A decimal dollar amount as an integer of thousandths, straight from its text ("262.500" →
 * 262500, "5100" → 5100000, "0.5" → 500): no float in between. Undefined when the text is not a
 * plain non-negative decimal or has significant digits past the third decimal.
 */
export const parseThousandths = (text: string): number | undefined => thousandthsAt(text, 0, text.length)

/** `parseThousandths` of `text.slice(from, to)`, without the slice (a CSV decoder's hot path). */
export const thousandthsAt = (text: string, from: number, to: number): number | undefined => {
  const n = to
  if (n === from || n - from > 20) return undefined
  let whole = 0
  let i = from
  for (; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c === 46) break // "."
    if (c < 48 || c > 57) return undefined
    whole = whole * 10 + (c - 48)
  }
  if (i === from) return undefined
  let frac = 0
  let digits = 0
  if (i < n) {
    if (i === n - 1) return undefined // "5100."
    for (let j = i + 1; j < n; j++) {
      const c = text.charCodeAt(j)
      if (c < 48 || c > 57) return undefined
      if (digits < STRIKE_SCALE) {
        frac = frac * 10 + (c - 48)
        digits++
      } else if (c !== 48) return undefined // a fourth significant decimal
    }
  }
  for (; digits < STRIKE_SCALE; digits++) frac *= 10
  const value = whole * 1000 + frac
  return Number.isSafeInteger(value) ? value : undefined
}

/** A strike of thousandths as dollars text with three decimals (5100000 → "5100.000"). */
export const thousandthsText = (value: number): string => {
  const whole = Math.floor(value / 1000)
  return `${whole}.${String(value - whole * 1000).padStart(3, "0")}`
}

const rightRule = (g: OptionGreek): string | undefined =>
  g.right === "call" || g.right === "put" ? undefined : `right ${JSON.stringify(g.right)} is not call or put`

const strikeRule = (g: OptionGreek): string | undefined =>
  g.strike > 0 ? undefined : `strike ${g.strike / 1000} is not positive`

const bidAskRule = (g: OptionGreek): string | undefined =>
  g.bid !== null && g.ask !== null && g.bid > g.ask ? `bid ${g.bid} is above ask ${g.ask}` : undefined

const deltaRule = (g: OptionGreek): string | undefined => {
  const d = g.delta
  if (!(d >= -1 && d <= 1)) return `delta ${d} is outside [-1, 1]`
  if (g.right === "call" && d < 0) return `delta ${d} is negative for a call`
  if (g.right === "put" && d > 0) return `delta ${d} is positive for a put`
  return undefined
}

const ivRule = (g: OptionGreek): string | undefined =>
  g.implied_vol >= 0 ? undefined : `implied_vol ${g.implied_vol} is negative`

export const optionGreekRules: ReadonlyArray<(g: OptionGreek) => string | undefined> = [
  rightRule,
  strikeRule,
  bidAskRule,
  deltaRule,
  ivRule
]

export const OptionGreeks1m: Dataset<OptionGreek> = {
  name: "option_greeks_1m",
  schema: OptionGreek,
  columns: [
    { name: "symbol", type: "string", nullable: false, doc: "option root, e.g. SPXW" },
    { name: "expiration", type: "date", nullable: false, doc: "expiration date" },
    {
      name: "strike",
      type: "decimal",
      scale: STRIKE_SCALE,
      nullable: false,
      doc: "strike in dollars, exact (decimal, 3 places)"
    },
    { name: "right", type: "string", nullable: false, doc: "call or put" },
    { name: "ts", type: "timestamp_ms", nullable: false, doc: "minute of the option quote, UTC" },
    { name: "bid", type: "double", nullable: true, doc: "option bid" },
    { name: "ask", type: "double", nullable: true, doc: "option ask" },
    { name: "delta", type: "double", nullable: false, doc: "∂price/∂underlying" },
    { name: "theta", type: "double", nullable: false, doc: "∂price/∂time, per calendar day" },
    { name: "vega", type: "double", nullable: false, doc: "∂price/∂volatility, per 1.00 of vol" },
    { name: "rho", type: "double", nullable: false, doc: "∂price/∂rate, per 1.00 of rate" },
    { name: "epsilon", type: "double", nullable: false, doc: "∂price/∂dividend yield, per 1.00" },
    { name: "lambda", type: "double", nullable: false, doc: "leverage: delta × underlying / price" },
    {
      name: "implied_vol",
      type: "double",
      nullable: false,
      doc: "implied volatility of the mid, a fraction"
    },
    { name: "iv_error", type: "double", nullable: false, doc: "the vendor's IV fit error" },
    {
      name: "underlying_ts",
      type: "timestamp_ms",
      nullable: false,
      doc: "time of the underlying quote, UTC"
    },
    { name: "underlying_price", type: "double", nullable: false, doc: "underlying mid at underlying_ts" }
  ],
  key: ["symbol", "expiration", "strike", "right", "ts"],
  instrument: "symbol",
  // One folder (and one backfill unit) per expiration: date=D/expiration=E/.
  subPartition: "expiration",
  timeColumn: "ts",
  eventTime: (g) => g.ts,
  partitionDate: (g) => newYorkDate(g.ts),
  partitionRange: newYorkDayRange,
  rules: optionGreekRules
}
