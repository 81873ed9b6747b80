/**
 * `option_contracts` from Massive: an underlying-day's unit of work is its discovery (spec §5): the
 * official open, then the chain as of that day (`as_of=D`, `expired=true`, pages of 1,000), kept to
 * the strikes within the band and the expirations within `options.max_dte`.
 */
import { Clock, Effect, Option, Stream } from "effect"
import type { AppConfig } from "../../config/AppConfig.js"
import { type OptionContractRow, OptionContracts } from "../../domain/OptionContract.js"
import type { Feed } from "../../runners/Feed.js"
import type { Discovery } from "./discovery.js"
import type { MassiveRest } from "./MassiveRest.js"
import { type DiscoverDay, makeDiscoverDay } from "./optionChainDay.js"

/** The rows of a discovery, stamped `discoveredAt` (epoch ms). */
export const contractRows = (d: Discovery, discoveredAt: number): ReadonlyArray<OptionContractRow> =>
  d.contracts.map((c) => ({
    date: d.date,
    ticker: c.ticker,
    underlying: d.underlying,
    contract_type: c.type,
    expiration_date: c.expirationDate,
    strike_price: c.strike,
    shares_per_contract: c.sharesPerContract,
    exercise_style: c.exerciseStyle,
    primary_exchange: c.primaryExchange,
    underlying_open: d.open,
    discovered_at: discoveredAt
  }))

/** The feed over a discovery function (the REST one, or a discovery already made: `discover`). */
export const fromDiscovery = (discoverDay: DiscoverDay): Feed<OptionContractRow> => {
  const rowsOf = (underlying: string, date: string) =>
    Effect.flatMap(discoverDay(underlying, date), (found) =>
      Option.match(found, {
        onNone: () => Effect.succeed<ReadonlyArray<OptionContractRow>>([]),
        onSome: (d) => Effect.map(Clock.currentTimeMillis, (at) => contractRows(d, at))
      })
    )
  return {
    dataset: OptionContracts,
    vendor: "Massive",
    fetchDay: (underlying, session) =>
      Stream.fromEffect(rowsOf(underlying, session.date)).pipe(
        Stream.filter((rows) => rows.length > 0),
        Stream.map((records) => ({ records, rejected: [] }))
      ),
    fetchWindow: (underlyings, session, fromMs, toMs) =>
      Stream.fromIterable(underlyings).pipe(
        Stream.mapEffect((underlying) => rowsOf(underlying, session.date)),
        Stream.map((rows) => ({
          records: rows.filter((r) => {
            const t = OptionContracts.eventTime(r)
            return t >= fromMs && t < toMs
          }),
          rejected: []
        }))
      )
  }
}

/** The REST side (backfill, discover). */
export const make: Effect.Effect<Feed<OptionContractRow>, never, MassiveRest | AppConfig> = Effect.map(
  makeDiscoverDay,
  fromDiscovery
)
