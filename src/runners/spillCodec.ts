/**
 * How socket events are written to, and read back from, the stream's spill files (one line each).
 *
 * An undecoded `Frame` (a large frame of aggregates) is written as its text, `R<receivedAt> <frame>`,
 * and read back as the same `Frame`: spilling costs a write, and reading back costs no parse. The
 * frame is decoded once, when it is processed, wherever it waited. That is what lets a stream that
 * fell behind catch up instead of spending its time on its own spill. Every other event is a JSON
 * line.
 */
import { eventCount } from "../sources/massive/FrameDecoder.js"
import type { SocketEvent } from "../sources/massive/MassiveSocket.js"

const RAW = "R"

export const encode = (e: SocketEvent): string =>
  // A frame with a raw line break (legal JSON whitespace) cannot be one line as it is: JSON it is.
  e._tag === "Frame" && !e.raw.includes("\n") ? `${RAW}${e.receivedAt} ${e.raw}` : JSON.stringify(e)

export const decode = (line: string): SocketEvent => {
  if (!line.startsWith(RAW)) return JSON.parse(line) as SocketEvent
  const space = line.indexOf(" ")
  const raw = line.slice(space + 1)
  return { _tag: "Frame", raw, receivedAt: Number(line.slice(RAW.length, space)), count: eventCount(raw) }
}
