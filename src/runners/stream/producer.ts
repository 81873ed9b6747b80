/**
 * Stage 2 of a stream: the producer. Every connection of the feed is read into the dataset's
 * bounded queue, which spills to disk and never drops; the producer never waits for the pipeline.
 * What the monitors read about the feed itself is noted here, as events come off the socket and
 * before the queue, so a pipeline that is behind (a slow sink, a backlog in the spill) is not taken
 * for a silent or lost feed.
 */
import { Chunk, Effect, Stream } from "effect"
import { dropConnection, setConnectionOf } from "../../monitor/StreamStats.js"
import type { Arrival } from "../spillCodec.js"
import type { StreamContext } from "./context.js"
import type { Frames } from "./frames.js"

/** Notes what arrived on connection `conn` (counters, connection state, this run's first data). */
const noteArrivals = <A>(ctx: StreamContext<A>, conn: number, arrivals: ReadonlyArray<Arrival<A>>) => {
  const stats = ctx.stats
  const id = ctx.connections[conn]!.id
  stats.frames += arrivals.length
  const lastBefore = stats.lastMessageAt
  for (const { event: e } of arrivals)
    switch (e._tag) {
      case "Records":
        if (e.records.length > 0) {
          stats.lastMessageAt = e.receivedAt
          ctx.gaps[conn]!.liveSince(e.receivedAt)
        }
        break
      case "Frame":
        stats.lastMessageAt = e.receivedAt
        ctx.gaps[conn]!.liveSince(e.receivedAt)
        break
      case "Connected":
        setConnectionOf(stats, id, "connected")
        break
      case "Disconnected":
        setConnectionOf(stats, id, "disconnected")
        stats.reconnects++
        break
      case "Moved":
        dropConnection(stats, id)
        break
    }
  // Once per chunk: this connection's data heartbeat.
  if (stats.lastMessageAt !== lastBefore && stats.lastMessageAt !== undefined)
    stats.lastMessageAtByConnection.set(id, stats.lastMessageAt)
}

/**
 * Reads every connection into the queue until interrupted; fails when a connection fails for good
 * (a refused key or entitlement) or the spill cannot be written. Large frames are decoded on arrival
 * (on the worker) and queued as records; waiting for that holds the socket back (TCP does the
 * queueing) rather than filling the queue. While the queue spills they go to the spill undecoded,
 * and are decoded once, when they come back.
 */
export const run = <A>(ctx: StreamContext<A>, frames: Frames<A>) =>
  Effect.forEach(
    ctx.connections,
    (connection, conn) => {
      setConnectionOf(ctx.stats, connection.id, "connecting")
      return connection.events.pipe(
        Stream.runForEachChunk((chunk) => {
          const arrivals = Chunk.toReadonlyArray(chunk).map((event): Arrival<A> => ({ conn, event }))
          noteArrivals(ctx, conn, arrivals)
          frames.noteSubjects(arrivals.map((a) => a.event))
          if (ctx.queue.stats().spilling || !arrivals.some((a) => a.event._tag === "Frame"))
            return ctx.queue.offer(arrivals)
          // Uninterruptible: frames taken off the socket are queued, not lost, when the stream stops.
          return Effect.uninterruptible(Effect.flatMap(frames.expand(arrivals), ctx.queue.offer))
        })
      )
    },
    { concurrency: "unbounded", discard: true }
  )
