/**
 * The worker side of `parquetEncodeThread`: encodes a `ColumnTable` to Parquet bytes on its own
 * thread and sends them back (their buffer transferred, no copy). The columns arrive shared
 * (SharedArrayBuffer) or copied; nothing here writes to them. Started through
 * `parquetEncodeWorker.mjs` (tsx) or as dist/parquetEncodeWorker.mjs (the build).
 *
 * Memory: a table's shared arrays are freed only when both threads dropped them, and this thread
 * allocates little JS, so V8 would keep the last tables' wrappers (and so their ~21 MB each, and
 * the encoder's output buffers) until a rare major collection: measured, 190 MB more peak RSS for
 * a ThetaData day. A full collection once the queue is empty frees them at once (a few ms on this
 * thread's small heap).
 */
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { parentPort } from "node:worker_threads"
import { encodeColumnTable, loadCompression } from "./parquetEncode.js"
import { type EncodeRequest, type EncodeResponse, tableOfRequest } from "./parquetEncodeWire.js"

setFlagsFromString("--expose-gc")
const collect = runInNewContext("gc") as () => void

let queued = 0
/** After a table is answered: a full collection once no other table waits. */
const done = () => {
  queued--
  if (queued === 0) setImmediate(() => queued === 0 && collect())
}

const port = parentPort
if (port !== null) {
  port.on("message", (request: EncodeRequest) => {
    queued++
    loadCompression(request.options.compression)
      .then(() => {
        const bytes = encodeColumnTable(tableOfRequest(request), request.options, true)
        const response: EncodeResponse = { id: request.id, bytes }
        port.postMessage(response, [bytes.buffer as ArrayBuffer])
      })
      .catch((cause: unknown) => {
        const response: EncodeResponse = {
          id: request.id,
          error: cause instanceof Error ? cause.message : String(cause)
        }
        port.postMessage(response)
      })
      .finally(done)
  })
}
