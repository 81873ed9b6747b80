/**
 * Parses large greeks bodies on a worker thread, so that the main thread (which reads the network,
 * validates, deduplicates and encodes Parquet) does not also spend the CSV decode's time: about
 * two fifths of a ThetaData backfill's main thread (bench/RESULTS.md).
 *
 * - The parser is the same (`makeGreeksCsvParser`), so are the batches, rejects and line numbers.
 *   A batch's typed arrays come back transferred, not copied.
 * - One worker per process, started (`prepare`) when the client asks for greeks; bodies that
 *   start before it has loaded its code are parsed in this thread, and so is everything if it
 *   cannot start. It holds the process open only while a body is open on it, so tests and the CLI
 *   end without stopping it.
 * - At most `MAX_IN_FLIGHT` chunks of a body wait for the worker (`busy`): the stream stops
 *   reading the network until they are parsed, so memory stays bounded.
 * - A worker that stops while bodies are open on it fails each of them with `DecodeThreadStopped`
 *   (their units are not committed); later bodies are parsed in this thread.
 */
import { Worker } from "node:worker_threads"
import { Effect } from "effect"
import { type BodyParser, DecodeThreadStopped, type Parsed } from "./greeksBodyParser.js"
import type { ThetaApi } from "./greeksCsv.js"
import { DECODER_READY, type DecodeRequest, type DecodeResponse, fromWire } from "./greeksDecodeWire.js"

/** Chunks of one body sent to the worker and not yet answered, beyond which the body is `busy`. */
export const MAX_IN_FLIGHT = 32

/**
 * The worker's heap. It holds little (a parser per body, a chunk's text at a time), but V8's
 * defaults let it grow to 50 MB of garbage before collecting, which the process's peak RSS felt;
 * the old generation's limit is several times what it holds.
 */
const WORKER_HEAP = { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 32 }

interface OpenBody {
  readonly answer: (response: DecodeResponse) => void
  readonly stopped: (detail: string) => void
}

let worker: Worker | undefined
let ready = false
let unavailable = false
let nextId = 1
const open = new Map<number, OpenBody>()
const counts = { onWorker: 0, here: 0 }

/** Bodies parsed on the worker, bodies parsed in this thread (by `greeksFromBytes`), bodies open now. */
export const stats = (): { readonly onWorker: number; readonly here: number; readonly open: number } => ({
  ...counts,
  open: open.size
})

/** Counts a body parsed in this thread. */
export const countedHere = (): void => {
  counts.here++
}

const stop = (w: Worker, detail: string): void => {
  if (worker !== w) return
  worker = undefined
  ready = false
  unavailable = true
  const bodies = [...open.values()]
  open.clear()
  for (const b of bodies) b.stopped(detail)
}

/** Starts the worker if it is not running (and can run): the bodies after it has loaded go there. */
export const prepare = (): void => {
  if (unavailable || worker !== undefined) return
  try {
    const w = new Worker(new URL("./greeksDecodeWorker.mjs", import.meta.url), {
      resourceLimits: WORKER_HEAP
    })
    w.on("message", (message: DecodeResponse | typeof DECODER_READY) => {
      if (message === DECODER_READY) {
        ready = true
        return
      }
      open.get(message.id)?.answer(message)
    })
    w.on("error", (e) => stop(w, `the CSV decoding thread failed: ${e.message}`))
    w.on("exit", (code) => stop(w, `the CSV decoding thread stopped (exit code ${code})`))
    w.unref()
    worker = w
  } catch {
    unavailable = true
  }
}

/**
 * Starts the worker if it is not running; settles once it has loaded its code, or cannot (then
 * bodies are parsed in this thread). For tests and callers that want the next body on the worker.
 */
export const warmUp = (): Promise<boolean> =>
  new Promise((resolve) => {
    prepare()
    const poll = () => {
      if (ready) resolve(true)
      else if (worker === undefined) resolve(false)
      else setTimeout(poll, 5)
    }
    poll()
  })

/** Stops the worker (tests: a worker that dies mid-body). Bodies open on it fail; later ones start a new one. */
export const shutdown = async (): Promise<void> => {
  const w = worker
  if (w === undefined) return
  await w.terminate()
  stop(w, "the CSV decoding thread was stopped")
  unavailable = false
}

/** A parser of one body on the worker, if it has loaded; undefined (parse in this thread) if not. */
export const threadParser = (api: ThetaApi): BodyParser<Uint8Array> | undefined => {
  if (!ready || worker === undefined) return undefined
  const w = worker
  const id = nextId++
  const done: Array<Parsed> = []
  let inFlight = 0
  let closed = false
  let lines: number | undefined
  let failure: DecodeThreadStopped | undefined
  let wake: (() => void) | undefined
  const post = (request: DecodeRequest, transfer: Array<ArrayBuffer> = []) => w.postMessage(request, transfer)
  /** Resumes the one wait in progress (`waitFor`), if any, to look again. */
  const wakeUp = () => {
    const resume = wake
    wake = undefined
    resume?.()
  }
  const forget = () => {
    if (open.delete(id) && open.size === 0) w.unref()
  }
  open.set(id, {
    answer: (response) => {
      for (const p of response.parsed) done.push(fromWire(p))
      if (response.last === undefined) inFlight--
      else {
        lines = response.last.lines
        forget()
      }
      wakeUp()
    },
    stopped: (detail) => {
      failure = new DecodeThreadStopped({ detail })
      wakeUp()
    }
  })
  w.ref()
  counts.onWorker++
  post({ type: "open", id, api })
  const taken = (): Array<Parsed> => done.splice(0)
  /** Waits until `until()` holds or the worker is gone. */
  const waitFor = (until: () => boolean): Effect.Effect<void, DecodeThreadStopped> =>
    Effect.async<void, DecodeThreadStopped>((resume) => {
      const check = () => {
        if (failure !== undefined) resume(Effect.fail(failure))
        else if (until()) resume(Effect.void)
        else wake = check
      }
      check()
      return Effect.sync(() => {
        wake = undefined
      })
    })
  const finish = (type: "end" | "cut") =>
    Effect.suspend(() => {
      if (failure !== undefined) return Effect.fail(failure)
      closed = true
      post({ type, id })
      return waitFor(() => lines !== undefined)
    })
  return {
    push: (bytes) => {
      inFlight++
      // A copy moves to the worker: the chunk's own buffer may still be the HTTP client's (a
      // view into a socket read), and moving it would empty it under that owner.
      const copy = bytes.slice()
      post({ type: "feed", id, bytes: copy }, [copy.buffer])
      return taken()
    },
    busy: () => inFlight >= MAX_IN_FLIGHT,
    settle: Effect.map(
      waitFor(() => inFlight < MAX_IN_FLIGHT),
      taken
    ),
    end: Effect.map(finish("end"), taken),
    cut: Effect.map(finish("cut"), () => ({ parsed: taken(), lines: lines! })),
    close: () => {
      if (!closed && failure === undefined && open.has(id)) post({ type: "close", id })
      closed = true
      forget()
    }
  }
}
