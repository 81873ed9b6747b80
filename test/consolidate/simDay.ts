/**
 * A day of the simulator's market as the lake holds it: SPY's per-second bars, I:VIX, and the
 * option bars of contracts near the money, straight from the simulator's generators.
 */
import type { OptionBar } from "../../src/domain/OptionBar.js"
import { parseOptionTicker } from "../../src/domain/optionTicker.js"
import type { StockBar } from "../../src/domain/StockBar.js"
import { addDays } from "../../src/domain/time.js"
import { contractsListed, optionSecondBars, underlyingOpen } from "../../src/sim/options/optionsChain.js"
import { indexSecondBars } from "../../src/sim/syntheticIndices.js"
import { secondBars } from "../../src/sim/syntheticMarket.js"

export const optionBarsOf = (ticker: string, date: string): ReadonlyArray<OptionBar> => {
  const p = parseOptionTicker(ticker)!
  return optionSecondBars(ticker, date).map((b) => ({
    symbol: ticker,
    underlying: p.underlying,
    expiration_date: p.expirationDate,
    strike_price: p.strikeMilli / 1000,
    contract_type: p.type,
    ts: b.ts,
    open: b.open,
    high: b.high,
    low: b.low,
    close: b.close,
    volume: b.volume,
    vwap: b.vwap,
    trades: b.trades
  }))
}

export interface SimDay {
  readonly underlying: ReadonlyArray<StockBar>
  readonly vix: ReadonlyArray<StockBar>
  readonly options: ReadonlyArray<OptionBar>
}

/** `underlying`'s day with the contracts within `band` of the open expiring within `maxDte` days. */
export const simDay = (underlying: string, date: string, band: number, maxDte: number): SimDay => {
  const open = underlyingOpen(underlying, date)!
  const tickers = contractsListed(underlying, date, date, addDays(date, maxDte))
    .filter((c) => Math.abs(c.strikeMilli / 1000 - open) <= open * band)
    .map((c) => c.ticker)
  return {
    underlying: secondBars(underlying, date),
    vix: indexSecondBars("I:VIX", date),
    options: tickers.flatMap((t) => optionBarsOf(t, date))
  }
}
