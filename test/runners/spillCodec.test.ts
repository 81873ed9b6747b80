/** Spill lines: undecoded frames written as they came and read back without a parse; other events as JSON. */
import { describe, expect, it } from "@effect/vitest"
import type { StockBar } from "../../src/domain/StockBar.js"
import type { LiveEvent } from "../../src/runners/LiveFeed.js"
import * as SpillCodec from "../../src/runners/spillCodec.js"

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

const bar: StockBar = {
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

describe("spill codec", () => {
  it("an undecoded frame is one line of its text, read back as the same frame from the same connection", () => {
    const raw = frameOf(600, AT)
    const arrival: SpillCodec.Arrival<StockBar> = {
      conn: 3,
      event: { _tag: "Frame", raw, receivedAt: AT + 5, count: 600 }
    }
    const line = SpillCodec.encode(arrival)
    expect(line).toBe(`R${AT + 5},3 ${raw}`)
    expect(SpillCodec.decode(line)).toEqual(arrival)
  })

  it("every other event is a JSON line and comes back equal", () => {
    const events: Array<LiveEvent<StockBar>> = [
      { _tag: "Connected", at: AT, attempt: 1 },
      { _tag: "Records", records: [bar], receivedAt: AT },
      {
        _tag: "Rejected",
        rejected: [{ record: { frame: "x" }, reason: "frame is not JSON" }],
        receivedAt: AT
      },
      { _tag: "Unknown", ev: "T", count: 2, sample: "{}" },
      { _tag: "Status", status: "success", message: "ok", at: AT },
      { _tag: "Disconnected", at: AT + 1, reason: "1006" }
    ]
    const arrivals = events.map((event, i) => ({ conn: i % 2, event }))
    const lines = arrivals.map(SpillCodec.encode)
    for (const line of lines) expect(line.startsWith("{")).toBe(true)
    expect(lines.map((l) => SpillCodec.decode<StockBar>(l))).toEqual(arrivals)
  })

  it("a frame with a raw line break is written as JSON, still one line, and comes back equal", () => {
    const raw = frameOf(300, AT).replace("},{", "},\n{")
    const arrival: SpillCodec.Arrival<StockBar> = {
      conn: 0,
      event: { _tag: "Frame", raw, receivedAt: AT, count: 300 }
    }
    const line = SpillCodec.encode(arrival)
    expect(line.includes("\n")).toBe(false)
    expect(SpillCodec.decode(line)).toEqual(arrival)
  })

  it("lines spilled by the earlier version (no connection, Bars events) read back as connection 0", () => {
    const raw = frameOf(10, AT)
    expect(SpillCodec.decode(`R${AT} ${raw}`)).toEqual({
      conn: 0,
      event: { _tag: "Frame", raw, receivedAt: AT, count: 10 }
    })
    expect(SpillCodec.decode(JSON.stringify({ _tag: "Bars", ev: "A", bars: [bar], receivedAt: AT }))).toEqual(
      {
        conn: 0,
        event: { _tag: "Records", records: [bar], receivedAt: AT }
      }
    )
    expect(SpillCodec.decode(JSON.stringify({ _tag: "Connected", at: AT, attempt: 2 }))).toEqual({
      conn: 0,
      event: { _tag: "Connected", at: AT, attempt: 2 }
    })
  })
})
