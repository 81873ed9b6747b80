/** Spill lines: raw frames written as they came, everything read back as the event it was. */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as SpillCodec from "../../src/runners/spillCodec.js"
import * as FrameDecoder from "../../src/sources/massive/FrameDecoder.js"
import type { SocketEvent } from "../../src/sources/massive/MassiveSocket.js"

const AT = 1_709_562_600_000

const frameOf = (symbols: number, s: number) =>
  JSON.stringify(
    Array.from({ length: symbols }, (_, i) => ({
      ev: "A",
      sym: `S${i}`,
      v: 100 + i,
      vw: i % 2 === 0 ? null : 10.125,
      o: 10.5,
      c: 10.25,
      h: 11,
      l: 10,
      s,
      e: s + 1000
    }))
  )

afterAll(() => FrameDecoder.shutdown())

describe("spill codec", () => {
  it("a large bar-only frame is written as its text and read back as the same event, on the worker or not", async () => {
    const frame = frameOf(600, AT)
    const [event] = (await FrameDecoder.decode([frame], AT + 5)) as ReadonlyArray<SocketEvent>
    expect(event).toMatchObject({ _tag: "Bars", raw: frame, receivedAt: AT + 5 })
    const line = SpillCodec.encode(event!)
    expect(line).toBe(`R${AT + 5} ${frame}`)
    expect(line.includes("\n")).toBe(false)
    expect(SpillCodec.decode(line)).toEqual(event)
    const back = await SpillCodec.decodeLines([line])
    expect(back).toEqual([event])
  })

  it("other events are JSON lines; a mixed batch comes back in order, one event per line", async () => {
    const big = (await FrameDecoder.decode([frameOf(300, AT)], AT)) as ReadonlyArray<SocketEvent>
    const events: Array<SocketEvent> = [
      { _tag: "Connected", at: AT, attempt: 1 },
      big[0]!,
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
      { _tag: "Disconnected", at: AT + 1, reason: "1006" },
      ((await FrameDecoder.decode([frameOf(400, AT + 1000)], AT + 1000)) as ReadonlyArray<SocketEvent>)[0]!
    ]
    const lines = events.map(SpillCodec.encode)
    expect(lines.filter((l) => l.startsWith("R"))).toHaveLength(2)
    expect(await SpillCodec.decodeLines(lines)).toEqual(events)
    expect(lines.map(SpillCodec.decode)).toEqual(events)
  })

  it("a frame with a raw line break is written as JSON (one line), without its text", () => {
    const frame = frameOf(300, AT).replace("},{", "},\n{")
    const event: SocketEvent = { _tag: "Bars", ev: "A", bars: [], receivedAt: AT, raw: frame }
    const line = SpillCodec.encode(event)
    expect(line.includes("\n")).toBe(false)
    expect(SpillCodec.decode(line)).toEqual({ _tag: "Bars", ev: "A", bars: [], receivedAt: AT })
  })

  it("a spilled frame that no longer decodes to bars alone goes to quarantine whole, with the reason", async () => {
    const line = `R${AT} [{"ev":"status","status":"success","message":"x"}]`
    const expected = {
      _tag: "Rejected",
      rejected: [
        {
          record: { frame: '[{"ev":"status","status":"success","message":"x"}]' },
          reason: "a spilled frame no longer decodes to bars alone"
        }
      ],
      receivedAt: AT
    }
    expect(SpillCodec.decode(line)).toEqual(expected)
    expect(await SpillCodec.decodeLines([line])).toEqual([expected])
  })
})
