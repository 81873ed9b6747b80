/**
 * A Massive dataset of per-second custom aggregates, whatever its asset class: REST by day or by
 * window (`/v2/aggs/ticker/{ticker}/range/1/second/…`) read through the dataset's bar codec, and, when
 * the registry gives it a cluster, `A.<ticker>` live there. `stock_bars_1s` and `index_bars_1s` are
 * this with their own codecs.
 */
import { Stream } from "effect"
import type { Dataset } from "../../domain/Dataset.js"
import type { LiveWire } from "../../domain/datasets.js"
import type { Feed } from "../../runners/Feed.js"
import type { MassiveRestShape } from "./MassiveRest.js"
import type { MassiveSocketShape } from "./MassiveSocket.js"
import { aggregateFeed } from "./massiveLive.js"
import type { BarCodec } from "./wire.js"
import type { AggregateCodec } from "./wsWire.js"

export interface SecondAggregatesOptions<A extends { readonly symbol: string; readonly ts: number }> {
  readonly dataset: Dataset<A>
  /** How REST bars become records. */
  readonly restCodec: BarCodec<A>
  /** How WebSocket aggregates become records. */
  readonly liveCodec: AggregateCodec<A>
  /** The registry's cluster and wire for it (undefined: REST only). */
  readonly live: LiveWire | undefined
  /** Columns the live aggregates do not carry (the reconciliation fills them from REST). */
  readonly liveLacks?: ReadonlyArray<keyof A & string>
}

/** The feed; its live side only with a `socket` and a cluster. */
export const secondAggregatesFeed = <A extends { readonly symbol: string; readonly ts: number }>(
  rest: MassiveRestShape,
  socket: MassiveSocketShape | undefined,
  options: SecondAggregatesOptions<A>
): Feed<A> => {
  const seconds = (ticker: string, from: string | number, to: string | number) =>
    rest
      .aggregates({ ticker, multiplier: 1, timespan: "second", from, to }, options.restCodec)
      .pipe(Stream.map((page) => ({ records: page.bars, rejected: page.rejected })))
  return {
    dataset: options.dataset,
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
    ...(options.liveLacks === undefined ? {} : { liveLacks: options.liveLacks }),
    ...(socket === undefined || options.live === undefined
      ? {}
      : {
          live: aggregateFeed(socket, rest, {
            cluster: options.live.cluster,
            codec: options.liveCodec,
            subject: (b) => b.symbol
          })
        })
  }
}
