/**
 * Undecoded frames on their way through a stream: a large frame is decoded once, on the feed's
 * worker thread, as soon as it is known — when it comes off the socket while the queue holds it in
 * memory, or when it is read back from the spill — and its events are taken when the flush reaches
 * it. The events a frame decodes to tell which instruments arrived and when (for the quiet-symbol
 * monitor), noted then.
 */
import { Effect } from "effect"
import type { StreamStats } from "../../monitor/StreamStats.js"
import type { LiveEvent, LiveFeed } from "../LiveFeed.js"
import type { Arrival } from "../spillCodec.js"

export interface Frames<A> {
  /** Starts decoding the frames among `arrivals` (on the worker for large ones). */
  readonly predecode: (arrivals: ReadonlyArray<Arrival<A>>) => void
  /** `arrivals` with every frame replaced by its events, in order. */
  readonly expand: (arrivals: ReadonlyArray<Arrival<A>>) => Effect.Effect<ReadonlyArray<Arrival<A>>>
  /** Notes, per instrument, when its records came off the socket (never moving one back in time). */
  readonly noteSubjects: (events: ReadonlyArray<LiveEvent<A>>) => void
}

type FrameEvent = Extract<LiveEvent<unknown>, { readonly _tag: "Frame" }>

export const make = <A>(live: LiveFeed<A>, stats: StreamStats): Frames<A> => {
  /** Decodes started for frames still in memory, by arrival. */
  const decoding = new WeakMap<
    Arrival<A>,
    Promise<ReadonlyArray<LiveEvent<A>>> | ReadonlyArray<LiveEvent<A>>
  >()

  const noteSubjects = (events: ReadonlyArray<LiveEvent<A>>) => {
    const bySubject = stats.lastMessageAtBySymbol
    for (const e of events) {
      if (e._tag !== "Records") continue
      const at = e.receivedAt
      for (const r of e.records) {
        const subject = live.subject(r)
        const before = bySubject.get(subject)
        if (before === undefined || before < at) bySubject.set(subject, at)
      }
    }
  }

  const predecode = (arrivals: ReadonlyArray<Arrival<A>>) => {
    const frames = arrivals.filter((a) => a.event._tag === "Frame" && !decoding.has(a))
    if (frames.length === 0) return
    const events = frames.map((a) => a.event as FrameEvent)
    const perFrame = live.decodeFrames(
      events.map((f) => f.raw),
      events.map((f) => f.receivedAt)
    )
    for (let i = 0; i < frames.length; i++)
      decoding.set(frames[i]!, perFrame instanceof Promise ? perFrame.then((all) => all[i]!) : perFrame[i]!)
  }

  const expand = (arrivals: ReadonlyArray<Arrival<A>>): Effect.Effect<ReadonlyArray<Arrival<A>>> => {
    if (!arrivals.some((a) => a.event._tag === "Frame")) return Effect.succeed(arrivals)
    predecode(arrivals)
    return Effect.promise(async () => {
      const out: Array<Arrival<A>> = []
      for (const a of arrivals) {
        if (a.event._tag !== "Frame") {
          out.push(a)
          continue
        }
        const decoded = await decoding.get(a)!
        decoding.delete(a)
        noteSubjects(decoded)
        for (const event of decoded) out.push({ conn: a.conn, event })
      }
      return out
    })
  }

  return { predecode, expand, noteSubjects }
}
