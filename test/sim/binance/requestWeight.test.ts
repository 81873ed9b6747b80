import { describe, expect, it } from "vitest"
import {
  makeRequestWeight,
  spotDepthWeight,
  usdmDepthWeight
} from "../../../src/sim/binance/requestWeight.js"

describe("requestWeight", () => {
  it("weighs depth requests by limit as the spec's tables say", () => {
    expect([1, 100, 101, 500, 501, 1000, 1001, 5000].map(spotDepthWeight)).toEqual([
      5, 5, 25, 25, 50, 50, 250, 250
    ])
    expect([5, 10, 20, 50, 100, 500, 1000].map(usdmDepthWeight)).toEqual([2, 2, 2, 2, 5, 10, 20])
  })

  it("429 past the minute's limit, 418 for a request inside Retry-After, bans doubling; a new minute starts at 0", () => {
    const w = makeRequestWeight({ limit: 10, banMs: 120_000 })
    const t = 60_000 * 100 + 15_000
    expect(w.charge(6, t)).toEqual({ _tag: "Ok", used: 6 })
    expect(w.charge(6, t + 1)).toEqual({ _tag: "TooMany", used: 12, retryAfterSeconds: 45 })
    expect(w.charge(1, t + 2)).toMatchObject({
      _tag: "Banned",
      retryAfterSeconds: 120,
      untilMs: t + 2 + 120_000
    })
    // Still banned in the next minute; then the weight starts over.
    expect(w.charge(1, t + 60_000)).toMatchObject({ _tag: "Banned", retryAfterSeconds: 61 })
    const after = t + 2 + 120_000
    expect(w.charge(1, after)).toEqual({ _tag: "Ok", used: 1 })
    expect(w.charge(20, after + 1)._tag).toBe("TooMany")
    expect(w.charge(1, after + 2)).toMatchObject({ _tag: "Banned", retryAfterSeconds: 240 })
    expect(w.bans()).toBe(2)
    // Waiting out the Retry-After of a 429 is not a ban.
    const v = makeRequestWeight({ limit: 10, banMs: 1000 })
    expect(v.charge(11, 0)._tag).toBe("TooMany")
    expect(v.charge(1, 60_000)).toEqual({ _tag: "Ok", used: 1 })
    expect(v.bans()).toBe(0)
  })
})
