/**
 * The simulated Massive options market, to plug into the simulators: `O:` per-second aggregates
 * (a `PrefixMarket` for `MassiveSim`'s `markets`), the contracts reference endpoints
 * (`registerOptionContracts`), and the `/options` WebSocket replay (`optionsClusterFeed` for
 * `MassiveSocketSim`'s `clusters`).
 */
import { addDays } from "../../domain/time.js"
import type { MassiveSimServer, PrefixMarket } from "../MassiveSim.js"
import type { ClusterFeed } from "../MassiveSocketSim.js"
import { optionContractsRoute } from "./contractsRoute.js"
import { contractsListed, optionSecondBars, underlyingOpen } from "./optionsChain.js"

/** Per-second bars of `O:` tickers from the synthetic chain, written like stock aggregates (spec §6). */
export const optionsMarket: PrefixMarket = { prefix: "O:", bars: optionSecondBars, wire: "stock" }

/** Serves `/v3/reference/options/contracts` and `/{ticker}` on `sim`; returns the remover. */
export const registerOptionContracts = (sim: MassiveSimServer): (() => void) =>
  sim.registerRoute(optionContractsRoute(sim.now))

export interface OptionsFeedOptions {
  /** Default SPY, QQQ, IWM. */
  readonly underlyings?: ReadonlyArray<string>
  /** Strikes within ± this fraction of the underlying's open (inclusive); default 0.01. */
  readonly band?: number
  /** Expirations from the date to date + this many calendar days; default 7. */
  readonly maxDte?: number
}

/**
 * The contracts near the money on `date`: calls and puts of `underlyings` whose strike lies within
 * ±`band` of the underlying's open, expiring within `maxDte` calendar days. The whole chain (about
 * 1,500 SPY contracts a day) would take minutes to price per second; this is the set a stream
 * subscribes to after discovery.
 */
export const nearTheMoney = (date: string, options: OptionsFeedOptions = {}): ReadonlyArray<string> => {
  const band = options.band ?? 0.01
  const tickers: Array<string> = []
  for (const underlying of options.underlyings ?? ["SPY", "QQQ", "IWM"]) {
    const open = underlyingOpen(underlying, date)
    if (open === undefined) continue
    for (const c of contractsListed(underlying, date, date, addDays(date, options.maxDte ?? 7))) {
      const strike = c.strikeMilli / 1000
      if (strike >= open * (1 - band) && strike <= open * (1 + band)) tickers.push(c.ticker)
    }
  }
  return tickers
}

/** The `/options` cluster's replay of `date`: `A.O:…` per-second aggregates of the near-the-money contracts. */
export const optionsClusterFeed = (date: string, options: OptionsFeedOptions = {}): ClusterFeed => ({
  cluster: "options",
  symbols: nearTheMoney(date, options),
  bars: optionSecondBars,
  wire: "stock"
})
