/**
 * What the frame decode worker and `FrameDecoder` exchange: requests of frames, and their events
 * with the bars as columns (symbols, and one Float64Array transferred without a copy). Kept apart
 * from the worker's entry so that loading it never touches a thread's message port.
 */
import type { StockBar } from "../../domain/StockBar.js"
import type { SocketEvent } from "./MassiveSocket.js"

/** Numbers per bar in `values`: ts, open, high, low, close, volume, vwap (NaN for null). */
export const BAR_WIDTH = 7

export interface DecodeRequest {
  readonly id: number
  readonly frames: ReadonlyArray<string>
  /** When each frame was received. */
  readonly receivedAt: ReadonlyArray<number>
}

/** A `Bars` event as columns. */
export interface BarColumns {
  readonly _tag: "BarColumns"
  readonly ev: "A" | "AM"
  readonly symbols: ReadonlyArray<string>
  readonly values: Float64Array
  readonly receivedAt: number
}

export type WorkerEvent = Exclude<SocketEvent, { readonly _tag: "Bars" }> | BarColumns

export interface DecodeResponse {
  readonly id: number
  /** The events of each frame, in frame order. */
  readonly events: ReadonlyArray<ReadonlyArray<WorkerEvent>>
}

/** What the worker posts once its code is loaded, before any response. */
export const WORKER_READY = "ready"

/** The `Bars` events of `decodeFrame` as columns; the others unchanged. */
export const toWorkerEvents = (events: ReadonlyArray<SocketEvent>, transfer: Array<ArrayBuffer>) =>
  events.map((e): WorkerEvent => {
    if (e._tag !== "Bars") return e
    const n = e.bars.length
    const symbols: Array<string> = new Array(n)
    const values = new Float64Array(n * BAR_WIDTH)
    for (let i = 0; i < n; i++) {
      const b = e.bars[i]!
      const k = i * BAR_WIDTH
      symbols[i] = b.symbol
      values[k] = b.ts
      values[k + 1] = b.open
      values[k + 2] = b.high
      values[k + 3] = b.low
      values[k + 4] = b.close
      values[k + 5] = b.volume
      // JSON has no NaN, so NaN can stand for null here.
      values[k + 6] = b.vwap ?? Number.NaN
    }
    transfer.push(values.buffer)
    return { _tag: "BarColumns", ev: e.ev ?? "A", symbols, values, receivedAt: e.receivedAt }
  })

/** The worker's events as `SocketEvent`s: columns back into bars. */
export const fromWorkerEvents = (events: ReadonlyArray<WorkerEvent>): Array<SocketEvent> =>
  events.map((e): SocketEvent => {
    if (e._tag !== "BarColumns") return e
    const { symbols, values } = e
    const n = symbols.length
    const bars: Array<StockBar> = new Array(n)
    for (let i = 0; i < n; i++) {
      const k = i * BAR_WIDTH
      const vwap = values[k + 6]!
      bars[i] = {
        symbol: symbols[i]!,
        ts: values[k]!,
        open: values[k + 1]!,
        high: values[k + 2]!,
        low: values[k + 3]!,
        close: values[k + 4]!,
        volume: values[k + 5]!,
        vwap: Number.isNaN(vwap) ? null : vwap,
        trades: null
      }
    }
    return { _tag: "Bars", ev: e.ev, bars, receivedAt: e.receivedAt }
  })
