/**
 * `index_bars_1s` from Massive: per-second custom aggregates of an index (`I:VIX`) by day or by
 * window, and `A.I:<index>` live on `/indices`. Index bars carry no volume, VWAP or trade count, on
 * REST (no `v`/`vw`/`n`, no `adjusted`) as on the WebSocket (spec §7, §11.4).
 */
import { Effect } from "effect"
import { type LiveCapableFeed, registry } from "../../domain/datasets.js"
import { type IndexBar, IndexBars1s } from "../../domain/IndexBar.js"
import type { Feed } from "../../runners/Feed.js"
import { MassiveRest, type MassiveRestShape } from "./MassiveRest.js"
import { MassiveSocket, type MassiveSocketShape } from "./MassiveSocket.js"
import { secondAggregatesFeed } from "./secondAggregatesFeed.js"
import type { BarCodec } from "./wire.js"
import type { AggregateCodec } from "./wsWire.js"

const toIndexBar = (symbol: string, ts: number, open: number, high: number, low: number, close: number) => ({
  symbol,
  ts,
  open,
  high,
  low,
  close
})

/** A REST bar (`o,h,l,c,t`) as an index bar. */
export const restCodec: BarCodec<IndexBar> = { volume: "none", toRecord: toIndexBar }

/** A WebSocket aggregate (`sym,o,h,l,c,s`) as an index bar. */
export const codec: AggregateCodec<IndexBar> = { ev: "A", volume: "none", toRecord: toIndexBar }

const build = (rest: MassiveRestShape, socket: MassiveSocketShape | undefined): Feed<IndexBar> =>
  secondAggregatesFeed<IndexBar>(rest, socket, {
    dataset: IndexBars1s,
    restCodec,
    liveCodec: codec,
    live: registry.index_bars_1s.live
  })

/** The REST side (backfill). */
export const make: Effect.Effect<Feed<IndexBar>, never, MassiveRest> = Effect.map(MassiveRest, (rest) =>
  build(rest, undefined)
)

/** With its live side on `/indices` (stream). */
export const makeLive: Effect.Effect<
  LiveCapableFeed<IndexBar>,
  never,
  MassiveRest | MassiveSocket
> = Effect.gen(function* () {
  const live = build(yield* MassiveRest, yield* MassiveSocket)
  return { ...live, live: live.live! }
})
