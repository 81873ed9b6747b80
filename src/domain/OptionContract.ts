/**
 * The option contracts tracked on a day (`option_contracts`): one row per (date, contract) that
 * discovery selected for its underlying, with the open the strike band was drawn around. A day's
 * rows of an underlying are rewritten whole, so a contract that left the chain leaves the table too.
 */
import { Schema } from "effect"
import type { Dataset } from "./Dataset.js"
import { addDays, newYorkTimeToEpochMs } from "./time.js"

export const OptionContractRow = Schema.Struct({
  /** The day the contract is tracked, YYYY-MM-DD. */
  date: Schema.String,
  ticker: Schema.String,
  underlying: Schema.String,
  contract_type: Schema.String,
  expiration_date: Schema.String,
  strike_price: Schema.Number,
  shares_per_contract: Schema.Number,
  exercise_style: Schema.String,
  primary_exchange: Schema.NullOr(Schema.String),
  underlying_open: Schema.Number,
  /** When tapehouse discovered it, epoch ms UTC. */
  discovered_at: Schema.Number
})
export type OptionContractRow = typeof OptionContractRow.Type

const dayStart = (date: string) => newYorkTimeToEpochMs(date, 0, 0)

const tickerRule = (r: OptionContractRow): string | undefined =>
  r.ticker.startsWith("O:") ? undefined : `ticker ${JSON.stringify(r.ticker)} is not an option ticker (O:…)`

const typeRule = (r: OptionContractRow): string | undefined =>
  r.contract_type === "call" || r.contract_type === "put"
    ? undefined
    : `contract_type ${JSON.stringify(r.contract_type)} is neither call nor put`

const expirationRule = (r: OptionContractRow): string | undefined =>
  r.expiration_date < r.date ? `expiration_date ${r.expiration_date} is before the day ${r.date}` : undefined

const positiveRule = (r: OptionContractRow): string | undefined =>
  r.strike_price > 0 && r.underlying_open > 0
    ? undefined
    : `strike_price ${r.strike_price} and underlying_open ${r.underlying_open} must be positive`

export const OptionContracts: Dataset<OptionContractRow> = {
  name: "option_contracts",
  schema: OptionContractRow,
  columns: [
    { name: "date", type: "date", nullable: false, doc: "the day the contract is tracked" },
    { name: "ticker", type: "string", nullable: false, doc: "contract, e.g. O:SPY240305C00512000" },
    { name: "underlying", type: "string", nullable: false, doc: "underlying ticker, e.g. SPY" },
    { name: "contract_type", type: "string", nullable: false, doc: "call or put" },
    { name: "expiration_date", type: "date", nullable: false, doc: "last trading day of the contract" },
    { name: "strike_price", type: "double", nullable: false, doc: "strike, in dollars" },
    { name: "shares_per_contract", type: "int64", nullable: false, doc: "deliverable shares, usually 100" },
    { name: "exercise_style", type: "string", nullable: false, doc: "american or european" },
    { name: "primary_exchange", type: "string", nullable: true, doc: "listing exchange (MIC), when sent" },
    {
      name: "underlying_open",
      type: "double",
      nullable: false,
      doc: "the underlying's official open the strike band was drawn around"
    },
    { name: "discovered_at", type: "timestamp_ms", nullable: false, doc: "when tapehouse discovered it, UTC" }
  ],
  key: ["date", "ticker"],
  // A rewrite of a day replaces every contract of the underlying, not one contract.
  instrument: "underlying",
  timeColumn: "date",
  dayWindow: "date",
  eventTime: (r) => dayStart(r.date),
  partitionDate: (r) => r.date,
  partitionRange: (date) => ({ startMs: dayStart(date), endMs: dayStart(addDays(date, 1)) }),
  rules: [tickerRule, typeRule, expirationRule, positiveRule]
}
