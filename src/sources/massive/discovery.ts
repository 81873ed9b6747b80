/**
 * Contract discovery: which option contracts of an underlying to collect on a day. Every call and
 * put whose strike lies within ±`band` (default 1 %) of the underlying's official open of the day,
 * bounds included, expiring from the day to `maxDte` calendar days later (default 7).
 * `discover` is the rule alone; `discoverContracts` fetches the open and the chain through the
 * REST client and applies it.
 */

import { Effect, Option, Stream } from "effect"
import { addDays } from "../../domain/time.js"
import type { MassiveRestError, MassiveRestShape } from "./MassiveRest.js"
import { listContracts, type OptionContract } from "./optionContracts.js"
import { stockBarCodec } from "./wire.js"

export const DEFAULT_MAX_DTE = 7
export const DEFAULT_BAND = 0.01

export interface DiscoveryRule {
  /** The day, YYYY-MM-DD. */
  readonly date: string
  /** The underlying's official open that day. */
  readonly open: number
  readonly maxDte?: number
  /** Fraction of the open, e.g. 0.01 for ±1 %. */
  readonly band?: number
}

/** The strike and expiration window of a rule. */
export const windowOf = (rule: DiscoveryRule) => {
  const band = rule.band ?? DEFAULT_BAND
  // A relative 1e-12 slack so that a strike exactly on the bound (open 500, strike 495) is not lost
  // to binary rounding of open × 0.99.
  const slack = rule.open * 1e-12
  return {
    strikeLow: rule.open * (1 - band) - slack,
    strikeHigh: rule.open * (1 + band) + slack,
    expirationFrom: rule.date,
    expirationTo: addDays(rule.date, rule.maxDte ?? DEFAULT_MAX_DTE)
  }
}

/** The contracts the rule selects, calls and puts only, ordered by expiration, strike, type. */
export const discover = (
  rule: DiscoveryRule,
  contracts: ReadonlyArray<OptionContract>
): ReadonlyArray<OptionContract> => {
  const w = windowOf(rule)
  return contracts
    .filter(
      (c) =>
        (c.type === "call" || c.type === "put") &&
        c.expirationDate >= w.expirationFrom &&
        c.expirationDate <= w.expirationTo &&
        c.strike >= w.strikeLow &&
        c.strike <= w.strikeHigh
    )
    .sort((a, b) =>
      a.expirationDate !== b.expirationDate
        ? a.expirationDate < b.expirationDate
          ? -1
          : 1
        : a.strike !== b.strike
          ? a.strike - b.strike
          : a.type < b.type
            ? -1
            : a.type > b.type
              ? 1
              : 0
    )
}

export interface Discovery {
  readonly underlying: string
  readonly date: string
  /** The open the band was drawn around. */
  readonly open: number
  /** Where it came from: the daily open/close, or (the day not over yet) the first per-second bar. */
  readonly openSource: "open-close" | "first-second-bar"
  readonly contracts: ReadonlyArray<OptionContract>
}

/**
 * The official open of `underlying` on `date`: `/v1/open-close`, or, while the day is not over (the
 * API answers 404 until then), the open of the day's first per-second bar. None when neither exists.
 */
export const officialOpen = (
  rest: MassiveRestShape,
  underlying: string,
  date: string
): Effect.Effect<
  Option.Option<{ readonly open: number; readonly source: Discovery["openSource"] }>,
  MassiveRestError
> =>
  rest.dailyOpenClose(underlying, date).pipe(
    Effect.map((d) => Option.some({ open: d.open, source: "open-close" as const })),
    Effect.catchIf(
      (e) => e._tag === "VendorRequestError" && e.status === 404,
      () =>
        rest
          .aggregates(
            { ticker: underlying, multiplier: 1, timespan: "second", from: date, to: date },
            stockBarCodec
          )
          .pipe(
            Stream.filter((page) => page.bars.length > 0),
            Stream.take(1),
            Stream.runHead,
            Effect.map(
              Option.map((page) => ({ open: page.bars[0]!.open, source: "first-second-bar" as const }))
            )
          )
    )
  )

/** Discovery for one underlying and day against the REST API; no open (no session) → no contracts. */
export const discoverContracts = Effect.fn("discovery.discoverContracts")(function* (
  rest: MassiveRestShape,
  underlying: string,
  date: string,
  options: { readonly maxDte?: number; readonly band?: number } = {}
) {
  const found = yield* officialOpen(rest, underlying, date)
  if (Option.isNone(found)) return Option.none<Discovery>()
  const rule: DiscoveryRule = { date, open: found.value.open, ...options }
  const w = windowOf(rule)
  // The server narrows by whole cents around the band; `discover` applies the exact rule.
  const listed = yield* listContracts(rest, {
    underlying,
    asOf: date,
    expirationFrom: w.expirationFrom,
    expirationTo: w.expirationTo,
    strikeFrom: Math.floor(w.strikeLow * 100) / 100,
    strikeTo: Math.ceil(w.strikeHigh * 100) / 100
  })
  return Option.some<Discovery>({
    underlying,
    date,
    open: found.value.open,
    openSource: found.value.source,
    contracts: discover(rule, listed)
  })
})
