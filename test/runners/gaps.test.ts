import { describe, expect, it } from "@effect/vitest"
import { gapsAtStart, makeGapTracker } from "../../src/runners/gaps.js"

const OPEN = 1_000_000
const STALL = 900_000

describe("gaps", () => {
  it("at a restart: from where the earlier capture stopped for the symbols it held, from the open for the others", () => {
    const gaps = gapsAtStart({
      symbols: ["SPY", "QQQ", "IWM"],
      lastBySymbol: new Map([
        ["SPY", OPEN + 60_000],
        ["QQQ", OPEN + 59_000]
      ]),
      openMs: OPEN
    })
    expect(gaps).toEqual([
      { start: OPEN + 61_000, symbols: ["SPY", "QQQ"], cause: "restart", liveOnly: true },
      { start: OPEN, symbols: ["IWM"], cause: "late-start", liveOnly: true }
    ])
  })

  it("a restart gap closes at the first bar of this run's connection, not at a spill backlog of the last run", () => {
    const tracker = makeGapTracker({ symbols: ["SPY"], openMs: OPEN, stallAfterMs: STALL })
    tracker.openGaps(
      gapsAtStart({ symbols: ["SPY"], lastBySymbol: new Map([["SPY", OPEN + 5000]]), openMs: OPEN })
    )
    // The backlog the last run left in the spill: received before it stopped.
    expect(tracker.data(OPEN + 3000, OPEN + 5000, 50)).toEqual([])
    tracker.liveSince(2_000)
    expect(tracker.data(OPEN + 4000, OPEN + 5000, 60)).toEqual([])
    expect(tracker.data(OPEN + 3_600_000, OPEN + 3_600_000, 2_000)).toEqual([
      { start: OPEN + 6000, end: OPEN + 3_600_000, symbols: ["SPY"], cause: "restart" }
    ])
    expect(tracker.open()).toEqual([])
  })

  it("a disconnect opens one reconnect gap from the newest bar; a long silence is a stall; the close ends what is open", () => {
    const tracker = makeGapTracker({ symbols: ["SPY"], openMs: OPEN, stallAfterMs: STALL })
    expect(tracker.data(OPEN, OPEN + 1000, 1)).toEqual([])
    tracker.disconnected()
    tracker.disconnected()
    expect(tracker.data(OPEN + 60_000, OPEN + 61_000, 2)).toEqual([
      { start: OPEN + 2000, end: OPEN + 60_000, symbols: ["SPY"], cause: "reconnect" }
    ])
    expect(tracker.data(OPEN + 61_000 + STALL + 5000, OPEN + 61_000 + STALL + 5000, 3)).toEqual([
      { start: OPEN + 62_000, end: OPEN + 61_000 + STALL + 5000, symbols: ["SPY"], cause: "stall" }
    ])
    tracker.disconnected()
    expect(tracker.closeAll(OPEN + 10_000_000)).toEqual([
      { start: OPEN + 61_000 + STALL + 6000, end: OPEN + 10_000_000, symbols: ["SPY"], cause: "reconnect" }
    ])
  })

  it("handed over: a refused connection's gaps close at the first record of its symbols on the taker", () => {
    const refused = makeGapTracker({ symbols: ["QQQ"], openMs: OPEN, stallAfterMs: STALL })
    const taker = makeGapTracker({ symbols: ["SPY"], openMs: OPEN, stallAfterMs: STALL })
    expect(refused.data(OPEN, OPEN + 4000, 1)).toEqual([])
    expect(taker.data(OPEN, OPEN + 4000, 1)).toEqual([])
    refused.disconnected()
    expect(taker.awaited()).toBeUndefined()
    taker.adopt(["QQQ"], refused.handOver())
    expect(refused.open()).toEqual([])
    expect([...taker.awaited()!]).toEqual(["QQQ"])
    // The taker's own records do not close it; the first QQQ record does, at its time.
    expect(taker.data(OPEN + 5000, OPEN + 9000, 2)).toEqual([])
    expect(taker.data(OPEN + 10_000, OPEN + 12_000, 3, OPEN + 11_000)).toEqual([
      { start: OPEN + 5000, end: OPEN + 11_000, symbols: ["QQQ"], cause: "reconnect" }
    ])
    expect(taker.awaited()).toBeUndefined()
    // Later losses of the taker cover what it took over.
    taker.disconnected()
    expect(taker.closeAll(OPEN + 100_000)).toEqual([
      { start: OPEN + 13_000, end: OPEN + 100_000, symbols: ["SPY", "QQQ"], cause: "reconnect" }
    ])
  })

  it("a loss of the taker while a handed-over gap waits opens a gap for its own symbols only", () => {
    const taker = makeGapTracker({ symbols: ["SPY"], openMs: OPEN, stallAfterMs: STALL })
    expect(taker.data(OPEN, OPEN + 4000, 1)).toEqual([])
    taker.adopt(["QQQ"], [{ start: OPEN + 2000, symbols: ["QQQ"], cause: "reconnect", liveOnly: false }])
    taker.disconnected()
    expect(taker.data(OPEN + 60_000, OPEN + 61_000, 2)).toEqual([
      { start: OPEN + 5000, end: OPEN + 60_000, symbols: ["SPY"], cause: "reconnect" }
    ])
    expect(taker.closeAll(OPEN + 100_000)).toEqual([
      { start: OPEN + 2000, end: OPEN + 100_000, symbols: ["QQQ"], cause: "reconnect" }
    ])
  })
})
