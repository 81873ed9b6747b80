/** `stock_bars_1s` from Massive: per-second custom aggregates of a ticker by day or by window, and `A.<ticker>` live on `/stocks`. */
import { Effect, Stream } from "effect"
import { type StockBar, StockBars1s } from "../../domain/StockBar.js"
import type { Feed } from "../../runners/Feed.js"
import { MassiveRest, type MassiveRestShape } from "./MassiveRest.js"
import { MassiveSocket, type MassiveSocketShape } from "./MassiveSocket.js"
import { aggregateFeed } from "./massiveLive.js"
import type { AggregateCodec } from "./wsWire.js"

/** A per-second aggregate as a stock bar; the WebSocket carries no trade count. */
export const codec: AggregateCodec<StockBar> = {
  ev: "A",
  volume: "required",
  toRecord: (symbol, ts, open, high, low, close, v, vw) => ({
    symbol,
    ts,
    open,
    high,
    low,
    close,
    volume: v ?? 0,
    vwap: vw ?? null,
    trades: null
  })
}

const build = (rest: MassiveRestShape, socket: MassiveSocketShape | undefined) => {
  const seconds = (ticker: string, from: string | number, to: string | number) =>
    rest
      .aggregates({ ticker, multiplier: 1, timespan: "second", from, to })
      .pipe(Stream.map((page) => ({ records: page.bars, rejected: page.rejected })))
  const feed: Feed<StockBar> = {
    dataset: StockBars1s,
    vendor: "Massive",
    fetchDay: (symbol, session) => seconds(symbol, session.date, session.date),
    fetchWindow: (symbols, _session, fromMs, toMs) =>
      Stream.fromIterable(symbols).pipe(
        Stream.flatMap((symbol) =>
          seconds(symbol, fromMs, toMs - 1).pipe(
            // The API's `to` is inclusive and in whole bars: keep [fromMs, toMs) exactly.
            Stream.map((page) => ({
              records: page.records.filter((b) => b.ts >= fromMs && b.ts < toMs),
              rejected: page.rejected
            }))
          )
        )
      ),
    // The WebSocket's per-second aggregates carry no trade count.
    liveLacks: ["trades"],
    ...(socket === undefined
      ? {}
      : { live: aggregateFeed(socket, rest, { cluster: "stocks", codec, subject: (b) => b.symbol }) })
  }
  return feed
}

/** The REST side (backfill). */
export const make = Effect.map(MassiveRest, (rest) => build(rest, undefined))

/** With its live side on `/stocks` (stream). */
export const makeLive = Effect.gen(function* () {
  const live = build(yield* MassiveRest, yield* MassiveSocket)
  return { ...live, live: live.live! }
})
