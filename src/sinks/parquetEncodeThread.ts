/**
 * Encodes large column tables to Parquet on a worker thread, so that the main thread (which decodes
 * the vendor's bytes, validates and runs the pipeline) does not also spend the encoder's and
 * snappy's time: a fifth of a ThetaData backfill's CPU (bench/RESULTS.md).
 *
 * - The bytes are those `encodeColumns` writes in this thread (the same code runs there).
 * - The columns are not copied when their arrays live in a SharedArrayBuffer (`concatRows` joins a
 *   unit's batches into such arrays): the worker reads them where they are, and nothing writes to
 *   a committed table. Other arrays are copied by `postMessage`; string columns cross as their
 *   distinct strings and a code per row.
 * - One worker per process, started on first use; it holds the process open only while a table is
 *   in flight, so tests and the CLI end without stopping it. If it cannot start, tables are
 *   encoded in this thread.
 * - A worker that stops before it answered (it crashed or was terminated) fails every table in
 *   flight with `EncodeThreadError`: the sink's commit fails, so nothing of that write is committed
 *   or checkpointed. The next table starts a new worker.
 */
import { Worker } from "node:worker_threads"
import { Data } from "effect"
import { type ColumnTable, type EncodeOptions, encodeColumnTable, ParquetCodecError } from "./parquetCodec.js"
import { codedStrings, type EncodeRequest, type EncodeResponse } from "./parquetEncodeWire.js"

/** The encoder thread stopped before it answered. */
export class EncodeThreadError extends Data.TaggedError("EncodeThreadError")<{ readonly detail: string }> {
  override get message(): string {
    return this.detail
  }
}

interface Pending {
  readonly resolve: (bytes: Uint8Array) => void
  readonly reject: (error: ParquetCodecError | EncodeThreadError) => void
}

let worker: Worker | undefined
let unavailable = false
let nextId = 1
const inFlight = new Map<number, Pending>()
const counts = { onWorker: 0, here: 0 }

/** Tables the worker encoded, tables encoded in this thread (no worker), and tables in flight now. */
export const stats = (): { readonly onWorker: number; readonly here: number; readonly inFlight: number } => ({
  ...counts,
  inFlight: inFlight.size
})

/** The worker `w` stopped: the tables it held fail, and the next table starts a new worker. */
const lost = (w: Worker, why: string): void => {
  if (worker !== w) return
  worker = undefined
  const pending = [...inFlight.values()]
  inFlight.clear()
  for (const p of pending)
    p.reject(
      new EncodeThreadError({
        detail: `the Parquet encoder thread stopped before it answered (${why}); the write was not committed`
      })
    )
}

const start = (): Worker | undefined => {
  if (unavailable) return undefined
  if (worker !== undefined) return worker
  try {
    const w = new Worker(new URL("./parquetEncodeWorker.mjs", import.meta.url), {
      resourceLimits: { maxYoungGenerationSizeMb: 4 }
    })
    w.on("message", (response: EncodeResponse) => {
      const pending = inFlight.get(response.id)
      if (pending === undefined) return
      inFlight.delete(response.id)
      if (inFlight.size === 0) w.unref()
      counts.onWorker++
      if ("bytes" in response) pending.resolve(response.bytes)
      else pending.reject(new ParquetCodecError({ detail: response.error }))
    })
    w.on("error", (cause) => lost(w, cause instanceof Error ? cause.message : String(cause)))
    w.on("exit", (code) => lost(w, `exit code ${code}`))
    w.unref()
    worker = w
    return w
  } catch {
    unavailable = true
    return undefined
  }
}

/**
 * The Parquet bytes of `table` (those `encodeColumnTable` gives), encoded on the worker thread.
 * Rejects with `ParquetCodecError` when the table cannot be encoded, `EncodeThreadError` when the
 * worker stopped before it answered.
 */
export const encodeOffThread = (table: ColumnTable, options: EncodeOptions): Promise<Uint8Array> => {
  const w = start()
  if (w === undefined) {
    counts.here++
    try {
      return Promise.resolve(encodeColumnTable(table, options))
    } catch (cause) {
      return Promise.reject(cause)
    }
  }
  return new Promise((resolve, reject) => {
    const id = nextId++
    inFlight.set(id, { resolve, reject })
    w.ref()
    const columns = table.table.columns.map((c) =>
      c.kind === "string" ? codedStrings(c.values, c.present) : c
    )
    const request: EncodeRequest = {
      id,
      table: { ...table, table: { length: table.table.length, columns } },
      options
    }
    try {
      w.postMessage(request)
    } catch (cause) {
      inFlight.delete(id)
      if (inFlight.size === 0) w.unref()
      reject(
        new ParquetCodecError({
          detail: `cannot send ${table.name} to the encoder thread: ${cause instanceof Error ? cause.message : String(cause)}`
        })
      )
    }
  })
}

/** Stops the worker (tables in flight fail with `EncodeThreadError`); the next table starts a new one. */
export const shutdown = async (): Promise<void> => {
  const w = worker
  if (w === undefined) return
  lost(w, "shut down")
  await w.terminate()
}
