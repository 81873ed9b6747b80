import { describe, expect, it } from "vitest"
import {
  type OptionGreek,
  OptionGreeks1m,
  parseThousandths,
  thousandthsText
} from "../../src/domain/OptionGreek.js"
import { newYorkTimeToEpochMs } from "../../src/domain/time.js"
import { makeValidator } from "../../src/pipeline/validate.js"

const row = (over: Partial<OptionGreek> = {}): OptionGreek => ({
  symbol: "SPXW",
  expiration: "2024-11-08",
  strike: 5_800_000,
  right: "call",
  ts: newYorkTimeToEpochMs("2024-11-04", 9, 30),
  bid: 10.1,
  ask: 10.3,
  delta: 0.5,
  theta: -1,
  vega: 100,
  rho: 10,
  epsilon: -10,
  lambda: 50,
  implied_vol: 0.15,
  iv_error: 0,
  underlying_ts: newYorkTimeToEpochMs("2024-11-04", 9, 30),
  underlying_price: 5800,
  ...over
})

describe("option_greeks_1m", () => {
  it("reads a strike straight from its text into thousandths, never through a float", () => {
    expect(parseThousandths("262.500")).toBe(262_500)
    expect(parseThousandths("5100")).toBe(5_100_000)
    expect(parseThousandths("0.5")).toBe(500)
    expect(parseThousandths("4735.0000")).toBe(4_735_000)
    // 0.1 + 0.2 style errors cannot happen: 1.005 is 1005 thousandths exactly
    expect(parseThousandths("1.005")).toBe(1005)
    for (const bad of ["", ".5", "5.", "1.0005", "-5", "1e3", "12a"])
      expect(parseThousandths(bad)).toBeUndefined()
    expect(thousandthsText(262_500)).toBe("262.500")
    expect(thousandthsText(5_100_000)).toBe("5100.000")
  })

  it("is keyed by contract and minute, with an exact decimal strike", () => {
    expect(OptionGreeks1m.key).toEqual(["symbol", "expiration", "strike", "right", "ts"])
    expect(OptionGreeks1m.columns.find((c) => c.name === "strike")).toMatchObject({
      type: "decimal",
      scale: 3
    })
  })

  it("rejects each rule's violation with its reason, and rows outside the session", () => {
    const validate = makeValidator(OptionGreeks1m)
    const window = {
      date: "2024-11-04",
      startMs: newYorkTimeToEpochMs("2024-11-04", 9, 30),
      endMs: newYorkTimeToEpochMs("2024-11-04", 16, 0)
    }
    const cases: ReadonlyArray<[Partial<OptionGreek>, string]> = [
      [{ right: "C" }, 'right "C" is not call or put'],
      [{ strike: 0 }, "strike 0 is not positive"],
      [{ bid: 10.4, ask: 10.3 }, "bid 10.4 is above ask 10.3"],
      [{ delta: 1.2 }, "delta 1.2 is outside [-1, 1]"],
      [{ delta: -0.2 }, "delta -0.2 is negative for a call"],
      [{ right: "put", delta: 0.2 }, "delta 0.2 is positive for a put"],
      [{ implied_vol: -0.1 }, "implied_vol -0.1 is negative"],
      [{ ts: newYorkTimeToEpochMs("2024-11-04", 16, 0) }, "outside 2024-11-04's window"]
    ]
    const good = [row(), row({ bid: null, ask: 0.05 }), row({ right: "put", delta: -0.4 })]
    const { valid, rejected } = validate([...good, ...cases.map(([over]) => row(over))], window)
    expect(valid).toHaveLength(good.length)
    expect(rejected.map((r) => r.reason)).toEqual(cases.map(([, reason]) => expect.stringContaining(reason)))
  })
})
