/** `stock_bars_1s` from Massive: per-second custom aggregates of a ticker by day or by window, and `A.<ticker>` live on `/stocks`. */
import { Effect, Option } from "effect"
import { type LiveCapableFeed, registry } from "../../domain/datasets.js"
import { type StockBar, StockBars1s } from "../../domain/StockBar.js"
import type { Feed } from "../../runners/Feed.js"
import { MassiveRest, type MassiveRestShape } from "./MassiveRest.js"
import { MassiveSocket, type MassiveSocketShape } from "./MassiveSocket.js"
import { OfficialOpens } from "./OfficialOpens.js"
import { secondAggregatesFeed } from "./secondAggregatesFeed.js"
import { stockBarCodec } from "./wire.js"
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

const build = (
  rest: MassiveRestShape,
  socket: MassiveSocketShape | undefined,
  liveCodec: AggregateCodec<StockBar> = codec
): Feed<StockBar> =>
  secondAggregatesFeed<StockBar>(rest, socket, {
    dataset: StockBars1s,
    restCodec: stockBarCodec,
    liveCodec,
    live: registry.stock_bars_1s.live,
    // The WebSocket's per-second aggregates carry no trade count.
    liveLacks: ["trades"]
  })

/** The REST side (backfill). */
export const make: Effect.Effect<Feed<StockBar>, never, MassiveRest> = Effect.map(MassiveRest, (rest) =>
  build(rest, undefined)
)

/**
 * With its live side on `/stocks` (stream). When the process keeps `OfficialOpens`, the day's
 * official opens its aggregates carry (`op`) are noted there, for the feeds that start from them.
 */
export const makeLive: Effect.Effect<
  LiveCapableFeed<StockBar>,
  never,
  MassiveRest | MassiveSocket
> = Effect.gen(function* () {
  const opens = yield* Effect.serviceOption(OfficialOpens)
  const liveCodec = Option.match(opens, {
    onNone: () => codec,
    onSome: (o): AggregateCodec<StockBar> => ({ ...codec, noteOpen: o.note })
  })
  const live = build(yield* MassiveRest, yield* MassiveSocket, liveCodec)
  return { ...live, live: live.live! }
})
