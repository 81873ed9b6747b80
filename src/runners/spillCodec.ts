/**
 * How queued live events are written to, and read back from, the stream's spill files (one line
 * each), with the index of the connection they came from.
 *
 * An undecoded `Frame` (a large frame) is written as its text, `R<receivedAt>,<conn> <frame>`, and
 * read back as the same `Frame`: spilling costs a write, and reading back costs no parse. The frame
 * is decoded once, when it is processed, wherever it waited. That is what lets a stream that fell
 * behind catch up instead of spending its time on its own spill. Every other event is a JSON line.
 * Lines written by earlier versions (no connection, `Bars` events) read back as connection 0.
 */
import type { LiveEvent } from "./LiveFeed.js"

/** A live event as queued: which of the feed's connections it came from. */
export interface Arrival<A> {
  readonly conn: number
  readonly event: LiveEvent<A>
}

const RAW = "R"

/** The number of events a frame of flat events holds (each is an object: its `{`). */
export const eventCount = (frame: string): number => {
  let n = 0
  for (let i = frame.indexOf("{"); i >= 0; i = frame.indexOf("{", i + 1)) n++
  return n
}

export const encode = <A>(a: Arrival<A>): string => {
  const e = a.event
  // A frame with a raw line break (legal JSON whitespace) cannot be one line as it is: JSON it is.
  return e._tag === "Frame" && !e.raw.includes("\n")
    ? `${RAW}${e.receivedAt},${a.conn} ${e.raw}`
    : JSON.stringify(a)
}

interface Legacy {
  readonly _tag?: string
  readonly bars?: ReadonlyArray<unknown>
  readonly receivedAt?: number
}

export const decode = <A>(line: string): Arrival<A> => {
  if (line.startsWith(RAW)) {
    const space = line.indexOf(" ")
    const head = line.slice(RAW.length, space)
    const comma = head.indexOf(",")
    const raw = line.slice(space + 1)
    const receivedAt = Number(comma < 0 ? head : head.slice(0, comma))
    return {
      conn: comma < 0 ? 0 : Number(head.slice(comma + 1)),
      event: { _tag: "Frame", raw, receivedAt, count: eventCount(raw) }
    }
  }
  const parsed = JSON.parse(line) as Arrival<A> | Legacy
  if ("event" in parsed) return parsed
  // Written before events named their connection: `Bars` were the stock bars' records.
  const legacy = parsed as Legacy
  const event =
    legacy._tag === "Bars"
      ? ({ _tag: "Records", records: legacy.bars ?? [], receivedAt: legacy.receivedAt ?? 0 } as LiveEvent<A>)
      : (legacy as LiveEvent<A>)
  return { conn: 0, event }
}
