/**
 * `option_bars_1s` from Massive: an underlying-day's unit of work is every contract its discovery
 * tracks that day, each contract's per-second custom aggregates (spec §6) with the contract's terms
 * added. Contracts are fetched in ticker order, a few at a time, and their pages come out in that
 * order, so the day arrives sorted by key.
 */
import { Effect, Option, Stream } from "effect"
import type { AppConfig } from "../../config/AppConfig.js"
import { type OptionBar, OptionBars1s } from "../../domain/OptionBar.js"
import type { Feed, SourcePage } from "../../runners/Feed.js"
import { MassiveRest, type MassiveRestShape } from "./MassiveRest.js"
import { type DiscoverDay, makeDiscoverDay } from "./optionChainDay.js"
import type { OptionContract } from "./optionContracts.js"
import type { BarCodec } from "./wire.js"

/** Contracts whose pages are fetched at once (the REST client bounds requests in flight too). */
export const CONTRACTS_IN_FLIGHT = 4

const byTicker = (a: OptionContract, b: OptionContract) =>
  a.ticker < b.ticker ? -1 : a.ticker > b.ticker ? 1 : 0

/** Decodes a contract's aggregates straight into option bars carrying the contract's terms. */
export const codecOf = (contract: OptionContract): BarCodec<OptionBar> => ({
  volume: "required",
  toRecord: (symbol, ts, open, high, low, close, v, vw, n) => ({
    symbol,
    underlying: contract.underlying,
    expiration_date: contract.expirationDate,
    strike_price: contract.strike,
    contract_type: contract.type,
    ts,
    open,
    high,
    low,
    close,
    volume: v ?? 0,
    vwap: vw ?? null,
    trades: n ?? null
  })
})

const build = (rest: MassiveRestShape, discoverDay: DiscoverDay): Feed<OptionBar> => {
  /** One contract's bars in [from, to] (dates or epoch ms, as the API takes), every page. */
  const contractPages = (contract: OptionContract, from: string | number, to: string | number) =>
    rest
      .aggregates({ ticker: contract.ticker, multiplier: 1, timespan: "second", from, to }, codecOf(contract))
      .pipe(
        Stream.map((page): SourcePage<OptionBar> => ({ records: page.bars, rejected: page.rejected })),
        Stream.runCollect
      )

  /** Every tracked contract's pages for the day, in ticker order. */
  const chainPages = (underlying: string, date: string, from: string | number, to: string | number) =>
    Stream.unwrap(
      Effect.map(discoverDay(underlying, date), (found) =>
        Stream.fromIterable(
          Option.match(found, { onNone: () => [], onSome: (d) => [...d.contracts].sort(byTicker) })
        ).pipe(
          Stream.mapEffect((contract) => contractPages(contract, from, to), {
            concurrency: CONTRACTS_IN_FLIGHT
          }),
          Stream.mapConcatChunk((pages) => pages)
        )
      )
    )

  return {
    dataset: OptionBars1s,
    vendor: "Massive",
    fetchDay: (underlying, session) => chainPages(underlying, session.date, session.date, session.date),
    fetchWindow: (underlyings, session, fromMs, toMs) =>
      Stream.fromIterable(underlyings).pipe(
        Stream.flatMap((underlying) =>
          chainPages(underlying, session.date, fromMs, toMs - 1).pipe(
            // The API's `to` is inclusive and in whole bars: keep [fromMs, toMs) exactly.
            Stream.map((page) => ({
              records: page.records.filter((b) => b.ts >= fromMs && b.ts < toMs),
              rejected: page.rejected
            }))
          )
        )
      )
  }
}

/** The REST side (backfill). A live side (`makeLive`, `/options`) takes the same `build` plus a socket. */
export const make: Effect.Effect<Feed<OptionBar>, never, MassiveRest | AppConfig> = Effect.gen(function* () {
  return build(yield* MassiveRest, yield* makeDiscoverDay)
})
