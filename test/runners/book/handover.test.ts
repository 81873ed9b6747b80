import { describe, expect, it } from "vitest"
import { Handover } from "../../../src/runners/book/handover.js"
import type { DepthEvent } from "../../../src/sources/binance/depthWire.js"

const ev = (U: number, u: number, pu?: number): DepthEvent => ({
  symbol: "X",
  E: u,
  T: undefined,
  U,
  u,
  pu,
  bidPrices: [],
  bidSizes: [],
  askPrices: [],
  askSizes: []
})

/** Feeds events as the capture does: the old connection's go on at once, then drain. */
const harness = (usdm: boolean, symbols = 1) => {
  const h = new Handover(usdm, symbols)
  const applied: Array<number> = []
  let lastU = -1
  const process = (e: DepthEvent) => {
    applied.push(e.u)
    lastU = Math.max(lastU, e.u)
  }
  return {
    h,
    applied,
    old: (e: DepthEvent) => {
      if (h.admit("X", lastU, e, 0, 0n, false)) process(e)
      h.drain("X", lastU, process)
    },
    fresh: (e: DepthEvent) => {
      if (h.admit("X", lastU, e, 0, 0n, true)) process(e)
    }
  }
}

describe("Handover", () => {
  it("lets the new connection's events through once one is a duplicate or the next (spot)", () => {
    const t = harness(false, 1)
    t.old(ev(1, 10))
    t.fresh(ev(1, 10)) // a duplicate: joins
    expect(t.h.complete).toBe(true)
    t.fresh(ev(11, 20))
    t.old(ev(11, 20))
    expect(t.applied).toEqual([10, 10, 20, 20])
  })

  it("holds the new connection's events while it runs ahead of the old, then releases them in order", () => {
    const t = harness(false, 1)
    t.old(ev(1, 10))
    t.fresh(ev(21, 30)) // the old one has not delivered 11-20 yet
    t.fresh(ev(31, 40))
    expect(t.applied).toEqual([10])
    expect(t.h.complete).toBe(false)
    t.old(ev(11, 20)) // now 21-30 follows: released, in order
    expect(t.applied).toEqual([10, 20, 30, 40])
    expect(t.h.complete).toBe(true)
  })

  it("follows pu on USD-M, and releases what is held when the old connection ends", () => {
    const t = harness(true, 2)
    t.old(ev(100, 110, 90))
    t.fresh(ev(130, 140, 120)) // pu 120: the old one's next event (111-120) is not seen yet
    expect(t.applied).toEqual([110])
    t.h.finish(() => (e) => t.applied.push(e.u))
    expect(t.applied).toEqual([110, 140])
    const u = harness(true, 1)
    u.old(ev(100, 110, 90))
    u.fresh(ev(115, 120, 110)) // pu = the last u seen: the next in chain
    expect(u.applied).toEqual([110, 120])
    expect(u.h.complete).toBe(true)
  })
})
