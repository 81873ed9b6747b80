/**
 * How socket events are written to, and read back from, the stream's spill files (one line each).
 *
 * A `Bars` event that carries its frame's text (`raw`: a large frame of bars and nothing else) is
 * written as that text, `R<receivedAt> <frame>`, and parsed again when read: spilling then costs a
 * write, not a re-encoding of every bar, and reading back goes through the same decoder as the
 * live feed (the worker thread for large frames). That is what lets a stream that fell behind catch
 * up instead of spending its time on its own spill. Every other event is a JSON line.
 */

import * as FrameDecoder from "../sources/massive/FrameDecoder.js"
import type { SocketEvent } from "../sources/massive/MassiveSocket.js"
import { decodeFrame } from "../sources/massive/wsWire.js"

const RAW = "R"

export const encode = (e: SocketEvent): string => {
  if (e._tag === "Bars" && e.raw !== undefined) {
    // A frame with a raw line break (legal JSON whitespace) cannot be one line: JSON it is.
    if (!e.raw.includes("\n")) return `${RAW}${e.receivedAt} ${e.raw}`
    const { raw: _, ...rest } = e
    return JSON.stringify(rest)
  }
  return JSON.stringify(e)
}

/**
 * The event a raw line's frame decodes to: the one `Bars` event it was. A frame that no longer
 * decodes to bars alone (spilled by an older version with another decoder) goes to quarantine whole,
 * with the reason, rather than being split or dropped.
 */
const fromFrame = (frame: string, receivedAt: number, events: ReadonlyArray<SocketEvent>): SocketEvent => {
  const only = events.length === 1 ? events[0]! : undefined
  // It keeps its text, so it can spill again as cheaply.
  if (only?._tag === "Bars") return only.raw === frame ? only : { ...only, raw: frame }
  return {
    _tag: "Rejected",
    rejected: [{ record: { frame }, reason: "a spilled frame no longer decodes to bars alone" }],
    receivedAt
  }
}

const splitRaw = (line: string): { readonly receivedAt: number; readonly frame: string } => {
  const space = line.indexOf(" ")
  return { receivedAt: Number(line.slice(RAW.length, space)), frame: line.slice(space + 1) }
}

/** One line back into its event, in this thread (`decodeLines` is the fast way). */
export const decode = (line: string): SocketEvent => {
  if (!line.startsWith(RAW)) return JSON.parse(line) as SocketEvent
  const { receivedAt, frame } = splitRaw(line)
  return fromFrame(frame, receivedAt, decodeFrame(frame, receivedAt))
}

/** Lines read at once: raw frames go to the frame decoder together (a worker thread when large). */
export const decodeLines = (
  lines: ReadonlyArray<string>
): ReadonlyArray<SocketEvent> | Promise<ReadonlyArray<SocketEvent>> => {
  const rawAt: Array<number> = []
  const frames: Array<string> = []
  const times: Array<number> = []
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (!line.startsWith(RAW)) continue
    const { receivedAt, frame } = splitRaw(line)
    rawAt.push(i)
    frames.push(frame)
    times.push(receivedAt)
  }
  const assemble = (perFrame: FrameDecoder.PerFrame): Array<SocketEvent> => {
    const out: Array<SocketEvent> = new Array(lines.length)
    let k = 0
    for (let i = 0; i < lines.length; i++) {
      if (k < rawAt.length && rawAt[k] === i) {
        out[i] = fromFrame(frames[k]!, times[k]!, perFrame[k]!)
        k++
      } else out[i] = JSON.parse(lines[i]!) as SocketEvent
    }
    return out
  }
  if (frames.length === 0) return assemble([])
  const perFrame = FrameDecoder.decodeEach(frames, times)
  return perFrame instanceof Promise ? perFrame.then(assemble) : assemble(perFrame)
}
