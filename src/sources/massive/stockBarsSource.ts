/** `stock_bars_1s` from Massive: the day's per-second custom aggregates of one ticker. */
import { Effect, Stream } from "effect"
import { type StockBar, StockBars1s } from "../../domain/StockBar.js"
import type { BackfillSource } from "../../runners/BackfillSource.js"
import { MassiveRest } from "./MassiveRest.js"

export const make = Effect.gen(function* () {
  const rest = yield* MassiveRest
  const source: BackfillSource<StockBar> = {
    dataset: StockBars1s,
    vendor: "Massive",
    fetchDay: (symbol, session) =>
      rest
        .aggregates({
          ticker: symbol,
          multiplier: 1,
          timespan: "second",
          from: session.date,
          to: session.date
        })
        .pipe(Stream.map((page) => ({ records: page.bars, rejected: page.rejected })))
  }
  return source
})
