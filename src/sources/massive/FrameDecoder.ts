/**
 * Decodes WebSocket frames, the large ones on a worker thread.
 *
 * Why: at a quarter of a million bars a second, `JSON.parse` of the frames alone takes most of the
 * event loop, the same loop that runs validation, the sinks and the flush schedule (measured in
 * bench/stream.ts). A frame of many bars is parsed on a worker and comes back as columns; building
 * the `StockBar`s from them here costs a small fraction of the parse.
 *
 * - Frames shorter than `WORKER_MIN_CHARS` (handshake, status, a few symbols) are decoded here: a
 *   round trip to the worker would cost more than it saves. The events are the same either way.
 * - Order: `decodeEach` answers with each frame's events, in frame order.
 * - One worker per process, started on first use; it holds the process open only while a batch is
 *   in flight. If it cannot start or dies, its batches (kept here until answered) are decoded in
 *   this thread, and so is everything after: nothing is lost because of the worker.
 */
import { Worker } from "node:worker_threads"
import type { PerFrame } from "../../runners/LiveFeed.js"
import { type DecodeRequest, type DecodeResponse, fromWorkerEvents, WORKER_READY } from "./barColumns.js"
import { type AggregateCodec, decodeFrame } from "./wsWire.js"

/** Frames at least this long (about 50 aggregates) go to the worker. */
export const WORKER_MIN_CHARS = 10_000

interface Batch {
  readonly frames: ReadonlyArray<string>
  readonly receivedAt: ReadonlyArray<number>
  /** Decodes the batch in this thread (the worker is gone), or turns the worker's answer into records. */
  readonly here: () => void
  readonly answer: (response: DecodeResponse) => void
}

let worker: Worker | undefined
/** Settles when the current worker has loaded its code, or is gone. */
let loaded: Promise<void> = Promise.resolve()
let markLoaded: () => void = () => {}
let unavailable = false
let nextId = 1
const inFlight = new Map<number, Batch>()
/** Batches answered by the worker, and batches of large frames decoded here because it was gone. */
const counts = { onWorker: 0, fellBack: 0 }

/** How many batches of large frames the worker decoded, and how many fell back to this thread. */
export const stats = (): { readonly onWorker: number; readonly fellBack: number } => ({ ...counts })

/** Whether a frame is large enough to be worth decoding on the worker. */
export const isLarge = (frame: string): boolean => frame.length >= WORKER_MIN_CHARS

/** The number of events a frame holds, so a queue can bound its memory before the frame is decoded. */
export { eventCount } from "../../runners/spillCodec.js"

const decodeHere = <A>(
  frames: ReadonlyArray<string>,
  receivedAt: ReadonlyArray<number>,
  codec: AggregateCodec<A>
): PerFrame<A> => frames.map((frame, i) => decodeFrame(frame, receivedAt[i]!, codec))

/** The worker is gone: what it held is decoded here, and everything after. */
const abandon = (w: Worker): void => {
  if (worker !== w) return
  markLoaded()
  worker = undefined
  unavailable = true
  const batches = [...inFlight.values()]
  inFlight.clear()
  counts.fellBack += batches.length
  for (const b of batches) b.here()
}

const start = (): Worker | undefined => {
  if (unavailable) return undefined
  if (worker !== undefined) return worker
  try {
    loaded = new Promise((resolve) => {
      markLoaded = resolve
    })
    const w = new Worker(new URL("./frameDecodeWorker.mjs", import.meta.url))
    w.on("message", (response: DecodeResponse | typeof WORKER_READY) => {
      if (response === WORKER_READY) return markLoaded()
      const batch = inFlight.get(response.id)
      if (batch === undefined) return
      inFlight.delete(response.id)
      if (inFlight.size === 0) w.unref()
      counts.onWorker++
      batch.answer(response)
    })
    w.on("error", () => abandon(w))
    w.on("exit", () => abandon(w))
    w.unref()
    worker = w
    return w
  } catch {
    markLoaded()
    unavailable = true
    return undefined
  }
}

/**
 * The events of each frame, as `decodeFrame` gives them with `codec` (`receivedAt`: when each frame
 * arrived). Synchronous (an array) when every frame is small; otherwise a promise of the worker's
 * answer.
 */
export const decodeEach = <A>(
  frames: ReadonlyArray<string>,
  times: ReadonlyArray<number>,
  codec: AggregateCodec<A>
): PerFrame<A> | Promise<PerFrame<A>> => {
  let large = false
  for (const f of frames) if (isLarge(f)) large = true
  if (!large) return decodeHere(frames, times, codec)
  const w = start()
  if (w === undefined) {
    counts.fellBack++
    return decodeHere(frames, times, codec)
  }
  return new Promise((resolve) => {
    const id = nextId++
    inFlight.set(id, {
      frames,
      receivedAt: times,
      here: () => resolve(decodeHere(frames, times, codec)),
      answer: (response) => {
        if (codec.noteOpen !== undefined) for (const [sym, op] of response.opens) codec.noteOpen(sym, op)
        resolve(response.events.map((events) => fromWorkerEvents(events, codec)))
      }
    })
    w.ref()
    const request: DecodeRequest = { id, frames, receivedAt: times, ev: codec.ev, volume: codec.volume }
    w.postMessage(request)
  })
}

/**
 * Starts the worker (if it is not running). The promise settles once it has loaded its code (about
 * a second: it compiles the decoder through tsx) or could not start; it never rejects. A stream
 * waits for it before subscribing, so the feed's first frames are not held up behind the start.
 */
export const warmUp = (): Promise<void> => {
  start()
  return loaded
}

/** Stops the worker; batches in flight are decoded in this thread. The next large batch starts a new one. */
export const shutdown = async (): Promise<void> => {
  const w = worker
  if (w === undefined) return
  markLoaded()
  worker = undefined
  const batches = [...inFlight.values()]
  inFlight.clear()
  await w.terminate()
  counts.fellBack += batches.length
  for (const b of batches) b.here()
}
