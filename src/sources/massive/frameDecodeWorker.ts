/**
 * The worker side of `FrameDecoder`: `JSON.parse` and `decodeFrame` of large frames on their own
 * thread. Aggregates go back as columns (symbols, and one Float64Array transferred without a copy),
 * which the main thread turns into the dataset's records far faster than it could parse the JSON. Other events go
 * back as they are (they are rare and small). Started through `frameDecodeWorker.mjs`.
 */
import { parentPort } from "node:worker_threads"
import {
  type DecodeRequest,
  type DecodeResponse,
  rowCodec,
  toWorkerEvents,
  WORKER_READY
} from "./barColumns.js"
import { decodeFrame } from "./wsWire.js"

const port = parentPort
if (port !== null) {
  port.on("message", (request: DecodeRequest) => {
    const transfer: Array<ArrayBuffer> = []
    const opens = new Map<string, number>()
    const codec = rowCodec(request, opens)
    const events = request.frames.map((frame, i) =>
      toWorkerEvents(decodeFrame(frame, request.receivedAt[i]!, codec), transfer)
    )
    const response: DecodeResponse = { id: request.id, events, opens: [...opens] }
    port.postMessage(response, transfer)
  })
  port.postMessage(WORKER_READY)
}
