/**
 * `option_bars_1s` from Massive: an underlying-day's unit of work is every contract its discovery
 * tracks that day, each contract's per-second custom aggregates (spec §6) with the contract's terms
 * added. Contracts are fetched in ticker order, a few at a time, and their pages come out in that
 * order, so the day arrives sorted by key.
 */
import { Effect, Option, Stream } from "effect"
import { AppConfig } from "../../config/AppConfig.js"
import type { LiveCapableFeed } from "../../domain/datasets.js"
import { type OptionBar, OptionBars1s } from "../../domain/OptionBar.js"
import { parseOptionTicker } from "../../domain/optionTicker.js"
import type { Feed, SourcePage } from "../../runners/Feed.js"
import { MassiveRest, type MassiveRestShape } from "./MassiveRest.js"
import { MassiveSocket } from "./MassiveSocket.js"
import { aggregateFeed } from "./massiveLive.js"
import { OfficialOpens } from "./OfficialOpens.js"
import { type DiscoverDay, makeDiscoverDay } from "./optionChainDay.js"
import { chainSubjectsFor } from "./optionChainLive.js"
import type { OptionContract } from "./optionContracts.js"
import type { BarCodec } from "./wire.js"
import type { AggregateCodec } from "./wsWire.js"

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

/** A contract's terms read from its OCC ticker (all a live aggregate names); undefined when it is not one. */
export const contractOfTicker = (ticker: string): OptionContract | undefined => {
  const parts = parseOptionTicker(ticker)
  if (parts === undefined) return undefined
  return {
    ticker,
    underlying: parts.underlying,
    type: parts.type,
    exerciseStyle: "american",
    expirationDate: parts.expirationDate,
    strike: parts.strikeMilli / 1000,
    sharesPerContract: 100,
    primaryExchange: null,
    cfi: null
  }
}

/**
 * A WebSocket aggregate (`A.O:…`) as an option bar, its terms from the ticker; no trade count. A
 * ticker that is not an OCC one gives a bar without an underlying, which validation quarantines.
 */
export const liveCodec = (): AggregateCodec<OptionBar> => {
  const terms = new Map<string, OptionContract | undefined>()
  return {
    ev: "A",
    volume: "required",
    toRecord: (symbol, ts, open, high, low, close, v, vw) => {
      let contract = terms.get(symbol)
      if (contract === undefined && !terms.has(symbol)) {
        contract = contractOfTicker(symbol)
        terms.set(symbol, contract)
      }
      return {
        symbol,
        underlying: contract?.underlying ?? "",
        expiration_date: contract?.expirationDate ?? "",
        strike_price: contract?.strike ?? Number.NaN,
        contract_type: contract?.type ?? "",
        ts,
        open,
        high,
        low,
        close,
        volume: v ?? 0,
        vwap: vw ?? null,
        trades: null
      }
    }
  }
}

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
    // Instruments are underlyings (their whole tracked chain), or contracts (what a live stream's
    // gaps and reconciliation name: its subjects).
    fetchWindow: (instruments, session, fromMs, toMs) =>
      Stream.fromIterable(instruments).pipe(
        Stream.flatMap((instrument) => {
          const contract = contractOfTicker(instrument)
          const pages =
            contract === undefined
              ? chainPages(instrument, session.date, fromMs, toMs - 1)
              : Stream.unwrap(
                  Effect.map(contractPages(contract, fromMs, toMs - 1), (chunk) => Stream.fromChunk(chunk))
                )
          return pages.pipe(
            // The API's `to` is inclusive and in whole bars: keep [fromMs, toMs) exactly.
            Stream.map((page) => ({
              records: page.records.filter((b) => b.ts >= fromMs && b.ts < toMs),
              rejected: page.rejected
            }))
          )
        })
      ),
    // The WebSocket's per-second aggregates carry no trade count.
    liveLacks: ["trades"]
  }
}

/** The REST side (backfill). */
export const make: Effect.Effect<Feed<OptionBar>, never, MassiveRest | AppConfig> = Effect.gen(function* () {
  return build(yield* MassiveRest, yield* makeDiscoverDay)
})

/** How long the chain waits at the open for the stocks feed's `op` before asking REST for the open. */
export const OPEN_WAIT_MS = 60_000

/**
 * With its live side: `A.O:…` on `/options`, sharded at `options.contracts_per_connection`
 * contracts a connection; at the open, the contracts within the band around each underlying's
 * official open (the stocks feed's `op` in the same process, or REST), expiring within
 * `options.max_dte` days.
 */
export const makeLive: Effect.Effect<
  LiveCapableFeed<OptionBar>,
  never,
  MassiveRest | MassiveSocket | AppConfig
> = Effect.gen(function* () {
  const rest = yield* MassiveRest
  const socket = yield* MassiveSocket
  const config = yield* AppConfig
  const opens = yield* Effect.serviceOption(OfficialOpens)
  const feed = build(rest, yield* makeDiscoverDay)
  return {
    ...feed,
    live: {
      ...aggregateFeed(socket, rest, {
        cluster: "options",
        codec: liveCodec(),
        subject: (b) => b.symbol,
        perConnection: config.options.contractsPerConnection,
        perConnectionKey: "options.contracts_per_connection"
      }),
      subjectsFor: chainSubjectsFor(rest, opens, { maxDte: config.options.maxDte, openWaitMs: OPEN_WAIT_MS })
    }
  }
})
