/**
 * Rows of `book_deltas` (long format: one row per level change, the rows of one event sharing its
 * ids and times) back to the events and snapshots they were captured from, so a replay can run
 * them through the same sync procedure as the live capture (depthSync.ts). Rows marked
 * `is_snapshot` are the REST snapshot the capture synced from; their `u` is its lastUpdateId.
 *
 * Columnar in, objects out per event (not per row): a day of BTCUSDT is tens of millions of rows
 * but under a million events.
 */
import type { DepthEvent, DepthSnapshot } from "../sources/binance/depthWire.js"

/** Columns of a run of `book_deltas` rows of one symbol, in capture order. */
export interface DeltaColumns {
  readonly length: number
  /** Exchange event time E, ms. */
  readonly E: ArrayLike<number>
  /** USD-M transaction time T, ms; absent or null on spot. */
  readonly T?: ArrayLike<number | null> | undefined
  readonly U: ArrayLike<number>
  readonly u: ArrayLike<number>
  /** USD-M previous final id; absent or null on spot. */
  readonly pu?: ArrayLike<number | null> | undefined
  readonly sideIsBid: ArrayLike<boolean | number>
  /** Fixed-point integers at the symbol's scales. */
  readonly price: ArrayLike<number>
  readonly size: ArrayLike<number>
  readonly isSnapshot: ArrayLike<boolean | number>
}

export type ReplayItem =
  | { readonly _tag: "event"; readonly event: DepthEvent }
  | { readonly _tag: "snapshot"; readonly snapshot: DepthSnapshot; readonly E: number }

const num = (v: number | null | undefined): number | undefined =>
  v === null || v === undefined ? undefined : v

interface Open {
  snapshot: boolean
  E: number
  T: number | undefined
  U: number
  u: number
  pu: number | undefined
  bidPrices: Array<number>
  bidSizes: Array<number>
  askPrices: Array<number>
  askSizes: Array<number>
}

/**
 * Groups rows into events across batches (an event cut by a file boundary stays one event): push
 * each batch in order, take what it completed, and `finish` at the end for the last one.
 */
export class EventAssembler {
  private open: Open | undefined = undefined

  constructor(readonly symbol: string) {}

  push(rows: DeltaColumns, out: Array<ReplayItem>): void {
    const { E, U, u, sideIsBid, price, size, isSnapshot } = rows
    const T = rows.T
    const pu = rows.pu
    for (let i = 0; i < rows.length; i++) {
      const snap = isSnapshot[i] === true || isSnapshot[i] === 1
      const ui = u[i]!
      const Ui = U[i]!
      const Ei = E[i]!
      let o = this.open
      if (o === undefined || o.snapshot !== snap || o.u !== ui || o.U !== Ui || o.E !== Ei) {
        if (o !== undefined) out.push(this.close(o))
        o = {
          snapshot: snap,
          E: Ei,
          T: num(T?.[i]),
          U: Ui,
          u: ui,
          pu: num(pu?.[i]),
          bidPrices: [],
          bidSizes: [],
          askPrices: [],
          askSizes: []
        }
        this.open = o
      }
      if (sideIsBid[i] === true || sideIsBid[i] === 1) {
        o.bidPrices.push(price[i]!)
        o.bidSizes.push(size[i]!)
      } else {
        o.askPrices.push(price[i]!)
        o.askSizes.push(size[i]!)
      }
    }
  }

  finish(out: Array<ReplayItem>): void {
    if (this.open !== undefined) out.push(this.close(this.open))
    this.open = undefined
  }

  private close(o: Open): ReplayItem {
    if (o.snapshot)
      return {
        _tag: "snapshot",
        E: o.E,
        snapshot: {
          lastUpdateId: o.u,
          E: o.E,
          T: o.T,
          bidPrices: o.bidPrices,
          bidSizes: o.bidSizes,
          askPrices: o.askPrices,
          askSizes: o.askSizes
        }
      }
    return {
      _tag: "event",
      event: {
        symbol: this.symbol,
        E: o.E,
        T: o.T,
        U: o.U,
        u: o.u,
        pu: o.pu,
        bidPrices: o.bidPrices,
        bidSizes: o.bidSizes,
        askPrices: o.askPrices,
        askSizes: o.askSizes
      }
    }
  }
}
