/** Spill lines: undecoded frames written as they came and read back without a parse; other events as JSON. */
import { describe, expect, it } from "@effect/vitest"
import * as SpillCodec from "../../src/runners/spillCodec.js"
import type { SocketEvent } from "../../src/sources/massive/MassiveSocket.js"

const AT = 1_709_562_600_000

const frameOf = (symbols: number, s: number) =>
  JSON.stringify(
    Array.from({ length: symbols }, (_, i) => ({
      ev: "A",
      sym: `S${i}`,
      v: 1,
      vw: null,
      o: 1,
      c: 1,
      h: 1,
      l: 1,
      s
    }))
  )

describe("spill codec", () => {
  it("an undecoded frame is one line of its text, read back as the same frame", () => {
    const raw = frameOf(600, AT)
    const event: SocketEvent = { _tag: "Frame", raw, receivedAt: AT + 5, count: 600 }
    const line = SpillCodec.encode(event)
    expect(line).toBe(`R${AT + 5} ${raw}`)
    expect(SpillCodec.decode(line)).toEqual(event)
  })

  it("every other event is a JSON line and comes back equal", () => {
    const events: Array<SocketEvent> = [
      { _tag: "Connected", at: AT, attempt: 1 },
      {
        _tag: "Bars",
        ev: "A",
        bars: [
          {
            symbol: "SPY",
            ts: AT,
            open: 1,
            high: 2,
            low: 0.5,
            close: 1.5,
            volume: 10,
            vwap: null,
            trades: null
          }
        ],
        receivedAt: AT
      },
      {
        _tag: "Rejected",
        rejected: [{ record: { frame: "x" }, reason: "frame is not JSON" }],
        receivedAt: AT
      },
      { _tag: "Unknown", ev: "T", count: 2, sample: "{}" },
      { _tag: "Status", status: "success", message: "ok", at: AT },
      { _tag: "Disconnected", at: AT + 1, reason: "1006" }
    ]
    const lines = events.map(SpillCodec.encode)
    for (const line of lines) expect(line.startsWith("{")).toBe(true)
    expect(lines.map(SpillCodec.decode)).toEqual(events)
  })

  it("a frame with a raw line break is written as JSON, still one line, and comes back equal", () => {
    const raw = frameOf(300, AT).replace("},{", "},\n{")
    const event: SocketEvent = { _tag: "Frame", raw, receivedAt: AT, count: 300 }
    const line = SpillCodec.encode(event)
    expect(line.includes("\n")).toBe(false)
    expect(SpillCodec.decode(line)).toEqual(event)
  })
})
