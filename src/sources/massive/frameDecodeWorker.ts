/**
 * The worker side of `FrameDecoder`: `JSON.parse` and `decodeFrame` of large frames on their own
 * thread. Bars go back as columns (symbols, and one Float64Array transferred without a copy), which
 * the main thread turns into `StockBar`s far faster than it could parse the JSON. Other events go
 * back as they are (they are rare and small). Started through `frameDecodeWorker.mjs`.
 */
import { parentPort } from "node:worker_threads"
import type { SocketEvent } from "./MassiveSocket.js"
import { decodeFrame } from "./wsWire.js"

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

const port = parentPort
if (port !== null) {
  port.on("message", (request: DecodeRequest) => {
    const transfer: Array<ArrayBuffer> = []
    const events = request.frames.map((frame, i) =>
      toWorkerEvents(decodeFrame(frame, request.receivedAt[i]!), transfer)
    )
    const response: DecodeResponse = { id: request.id, events }
    port.postMessage(response, transfer)
  })
}
