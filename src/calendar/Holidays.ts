/**
 * The port through which the market calendar learns the exchange's upcoming closures and early
 * closes from a vendor (Massive's `/v1/marketstatus/upcoming` is one provider). The calendar needs
 * this one list, not a vendor's whole client.
 */
import { Context, type Effect } from "effect"

/** A day the exchange is closed or closes early, as a vendor lists it. */
export interface UpcomingMarketDay {
  readonly exchange: string
  readonly name: string
  readonly date: string
  readonly status: "closed" | "early-close"
  /** Epoch ms, only for early closes. */
  readonly openMs?: number
  readonly closeMs?: number
}

export interface HolidaysShape {
  /** Where the list comes from, for logs and `status`. */
  readonly source: string
  /** NYSE entries the provider knows, from today on; fails when the provider cannot be reached. */
  readonly upcoming: Effect.Effect<ReadonlyArray<UpcomingMarketDay>, { readonly message: string }>
}

export class Holidays extends Context.Tag("tapehouse/Holidays")<Holidays, HolidaysShape>() {}
