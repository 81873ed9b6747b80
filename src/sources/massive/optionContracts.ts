/**
 * Options contracts reference (spec §5) through `MassiveRest`: the list, paged with `limit=1000`
 * through `next_url`, and the single contract. Decoded with Schema at the boundary into
 * `OptionContract`.
 */
import { Effect, Option, Schema } from "effect"
import { VendorDecodeError } from "../../domain/errors.js"
import { isIsoDate } from "../../domain/time.js"
import { type MassiveRestError, type MassiveRestShape, nextPath } from "./MassiveRest.js"

const IsoDate = Schema.String.pipe(
  Schema.filter((s) => isIsoDate(s) || `expected a date YYYY-MM-DD, got ${s}`)
)

/** A contract as the vendor writes it (the keys of the recorded fixtures; unknown keys are ignored). */
export const ContractWire = Schema.Struct({
  ticker: Schema.String,
  underlying_ticker: Schema.String,
  contract_type: Schema.Literal("call", "put", "other"),
  exercise_style: Schema.String,
  expiration_date: IsoDate,
  strike_price: Schema.Number,
  shares_per_contract: Schema.Number,
  primary_exchange: Schema.optional(Schema.String),
  cfi: Schema.optional(Schema.String),
  correction: Schema.optional(Schema.Number),
  additional_underlyings: Schema.optional(
    Schema.Array(Schema.Struct({ type: Schema.String, underlying: Schema.String, amount: Schema.Number }))
  )
})
export type ContractWire = typeof ContractWire.Type

export const ContractsPage = Schema.Struct({
  status: Schema.String,
  request_id: Schema.optional(Schema.String),
  results: Schema.optional(Schema.Array(ContractWire)),
  next_url: Schema.optional(Schema.String)
})

export const ContractResponse = Schema.Struct({
  status: Schema.String,
  request_id: Schema.optional(Schema.String),
  results: ContractWire
})

/** An options contract, canonical. */
export interface OptionContract {
  /** `O:SPY240305C00512000`. */
  readonly ticker: string
  readonly underlying: string
  readonly type: "call" | "put" | "other"
  readonly exerciseStyle: string
  /** YYYY-MM-DD. */
  readonly expirationDate: string
  readonly strike: number
  readonly sharesPerContract: number
  readonly primaryExchange: string | null
  readonly cfi: string | null
}

export const fromWire = (w: ContractWire): OptionContract => ({
  ticker: w.ticker,
  underlying: w.underlying_ticker,
  type: w.contract_type,
  exerciseStyle: w.exercise_style,
  expirationDate: w.expiration_date,
  strike: w.strike_price,
  sharesPerContract: w.shares_per_contract,
  primaryExchange: w.primary_exchange ?? null,
  cfi: w.cfi ?? null
})

export interface ContractsQuery {
  readonly underlying: string
  /** The day the chain is seen from (`as_of`), YYYY-MM-DD. */
  readonly asOf: string
  readonly contractType?: "call" | "put"
  /** Expiration bounds, inclusive. */
  readonly expirationFrom?: string
  readonly expirationTo?: string
  /** Strike bounds, inclusive. */
  readonly strikeFrom?: number
  readonly strikeTo?: number
}

/** The largest page the API serves. */
export const PAGE_LIMIT = 1000

/**
 * The first request of a listing. `expired=true` always: the vendor's `expired` flag hides contracts
 * expired before *today*, so a past day's chain (`as_of=D`) needs it; the expiration bounds keep
 * the answer to what was alive.
 */
export const contractsPath = (q: ContractsQuery): string => {
  const params = new URLSearchParams({ underlying_ticker: q.underlying, as_of: q.asOf, expired: "true" })
  if (q.contractType !== undefined) params.set("contract_type", q.contractType)
  if (q.expirationFrom !== undefined) params.set("expiration_date.gte", q.expirationFrom)
  if (q.expirationTo !== undefined) params.set("expiration_date.lte", q.expirationTo)
  if (q.strikeFrom !== undefined) params.set("strike_price.gte", String(q.strikeFrom))
  if (q.strikeTo !== undefined) params.set("strike_price.lte", String(q.strikeTo))
  params.set("sort", "ticker")
  params.set("order", "asc")
  params.set("limit", String(PAGE_LIMIT))
  return `/v3/reference/options/contracts?${params}`
}

/** Every contract the query selects, page after page through `next_url`, in the order served. */
export const listContracts = Effect.fn("optionContracts.list")(function* (
  rest: MassiveRestShape,
  query: ContractsQuery
) {
  const out: Array<OptionContract> = []
  const seen = new Set<string>()
  let path: string | undefined = contractsPath(query)
  while (path !== undefined) {
    const page: typeof ContractsPage.Type = yield* rest.getJson(path, ContractsPage)
    for (const w of page.results ?? []) out.push(fromWire(w))
    seen.add(path)
    const next: string | undefined = page.next_url === undefined ? undefined : nextPath(page.next_url)
    if (next !== undefined && seen.has(next))
      return yield* new VendorDecodeError({
        vendor: "Massive",
        request: path,
        detail: `next_url ${page.next_url} leads back to a page already read`
      })
    path = next
  }
  return out as ReadonlyArray<OptionContract>
})

/**
 * `GET /v3/reference/options/contracts/{ticker}` as of a day; None when the vendor answers 404
 * (unknown, or not listed yet).
 */
export const getContract = (
  rest: MassiveRestShape,
  ticker: string,
  asOf?: string
): Effect.Effect<Option.Option<OptionContract>, MassiveRestError> => {
  const segment = encodeURIComponent(ticker).replace(/%3A/gi, ":")
  const path = `/v3/reference/options/contracts/${segment}${asOf === undefined ? "" : `?as_of=${asOf}`}`
  return rest.getJson(path, ContractResponse).pipe(
    Effect.map((r) => Option.some(fromWire(r.results))),
    Effect.catchIf(
      (e) => e._tag === "VendorRequestError" && e.status === 404,
      () => Effect.succeed(Option.none<OptionContract>())
    ),
    Effect.withSpan("optionContracts.get", { attributes: { ticker } })
  )
}
