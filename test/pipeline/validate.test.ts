import { describe, expect, it } from "@effect/vitest"
import { type StockBar, StockBars1s } from "../../src/domain/StockBar.js"
import { makeDeduplicator } from "../../src/pipeline/dedupe.js"
import { makeValidator } from "../../src/pipeline/validate.js"
import { AllTypes, type AllTypesRow, allTypesRows } from "../support/allTypes.js"

const open = Date.parse("2024-03-04T14:30:00Z")
const window = { date: "2024-03-04", startMs: open, endMs: Date.parse("2024-03-04T21:00:00Z") }
const bar = (over: Partial<StockBar> = {}): StockBar => ({
  symbol: "SPY",
  ts: open,
  open: 510,
  high: 510.5,
  low: 509.5,
  close: 510.2,
  volume: 1200,
  vwap: 510.1,
  trades: 12,
  ...over
})

describe("validator", () => {
  const validate = makeValidator(StockBars1s)

  it("passes good bars and nullable fields", () => {
    const good = [bar(), bar({ ts: open + 1000, vwap: null, trades: null })]
    const result = validate(good, window)
    expect(result.valid).toEqual(good)
    expect(result.rejected).toEqual([])
  })

  it("rejects each kind of bad bar with a specific reason", () => {
    const cases: ReadonlyArray<[StockBar, string]> = [
      [bar({ high: 509 }), "low 509.5 is above high 509"],
      [bar({ open: 511 }), "open 511 or close 510.2 is above high 510.5"],
      [bar({ close: 509 }), "open 510 or close 509 is below low 509.5"],
      [bar({ volume: -1 }), "volume -1 is negative"],
      [bar({ open: Number.NaN }), "open NaN is not a finite number"],
      [bar({ vwap: Number.POSITIVE_INFINITY }), "vwap Infinity is not a finite number"],
      [bar({ trades: 1.5 }), "trades 1.5 is not a whole number"],
      [
        bar({ ts: open - 1000 }),
        "ts 2024-03-04T14:29:59.000Z is outside 2024-03-04's window [2024-03-04T14:30:00.000Z, 2024-03-04T21:00:00.000Z)"
      ],
      [
        bar({ ts: window.endMs }),
        "ts 2024-03-04T21:00:00.000Z is outside 2024-03-04's window [2024-03-04T14:30:00.000Z, 2024-03-04T21:00:00.000Z)"
      ],
      [{ ...bar(), symbol: undefined } as unknown as StockBar, "symbol is missing"]
    ]
    for (const [input, reason] of cases) {
      const result = validate([input], window)
      expect(result.valid, reason).toEqual([])
      expect(result.rejected).toEqual([{ record: input, reason }])
    }
  })
})

describe("validator: column types", () => {
  const validate = makeValidator(AllTypes)
  const everything = { date: "2024-01-02", startMs: 0, endMs: 2 ** 52 }

  it("passes every type's values, edge values and nulls included", () => {
    const rows = [...allTypesRows(30, true), ...allTypesRows(30, false)]
    const result = validate(rows, everything)
    expect(result.rejected).toEqual([])
    expect(result.valid).toEqual(rows)
  })

  it("rejects a value not of its column's type with a specific reason", () => {
    const cases: ReadonlyArray<[Partial<Record<keyof AllTypesRow, unknown>>, string]> = [
      [{ flag: "true" }, 'flag "true" is not a boolean'],
      [{ maybeFlag: 0 }, "maybeFlag 0 is not a boolean"],
      [{ day: "2023-02-29" }, 'day "2023-02-29" is not a real date (YYYY-MM-DD)'],
      [{ day: "2024-13-01" }, 'day "2024-13-01" is not a real date (YYYY-MM-DD)'],
      [{ day: "2024-1-05" }, 'day "2024-1-05" is not a real date (YYYY-MM-DD)'],
      [
        { maybeDay: "2024-01-05T00:00:00Z" },
        'maybeDay "2024-01-05T00:00:00Z" is not a real date (YYYY-MM-DD)'
      ],
      [{ day: 19000 }, "day 19000 is not a real date (YYYY-MM-DD)"],
      [{ ns: 1_704_205_800_000 }, "ns 1704205800000 is not epoch nanoseconds (a bigint within int64)"],
      [
        { maybeNs: 2n ** 63n },
        "maybeNs 9223372036854775808n is not epoch nanoseconds (a bigint within int64)"
      ],
      [{ price: 1.5 }, "price 1.5 is not a decimal scaled by 10^2 (a safe integer)"],
      [{ qty: 2 ** 53 }, "qty 9007199254740992 is not a decimal scaled by 10^8 (a safe integer)"],
      [{ whole: "12" }, 'whole "12" is not a decimal scaled by 10^0 (a safe integer)'],
      [{ tags: "SPY" }, 'tags "SPY" is not a list of strings'],
      [{ tags: ["SPY", 5] }, "tags[1] 5 is not a string"],
      [{ maybeTags: [null] }, "maybeTags[0] null is not a string"],
      [{ tags: null }, "tags is missing"],
      [{ day: undefined }, "day is missing"]
    ]
    const good = allTypesRows(1, false)[0]!
    for (const [change, reason] of cases) {
      const input = { ...good, ...change } as AllTypesRow
      const result = validate([input], everything)
      expect(result.valid, reason).toEqual([])
      expect(result.rejected).toEqual([{ record: input, reason }])
    }
  })
})

describe("deduplicator", () => {
  const dedupe = makeDeduplicator(StockBars1s)

  it("keeps the last record per key and sorts by key", () => {
    const first = bar({ ts: open + 1000, close: 510 })
    const corrected = bar({ ts: open + 1000, close: 510.3 })
    const qqq = bar({ symbol: "QQQ", ts: open })
    const result = dedupe([first, bar(), qqq, corrected])
    expect(result.duplicates).toBe(1)
    expect(result.rows).toEqual([qqq, bar(), corrected])
  })
})

describe("deduplicator on a live feed's batches (time-ordered across symbols)", () => {
  const dedupe = makeDeduplicator(StockBars1s)
  const symbols = ["SPY", "AAPL", "QQQ", "IWM"]
  const frames = (seconds: number) =>
    Array.from({ length: seconds }, (_, s) =>
      symbols.map((symbol) => bar({ symbol, ts: open + s * 1000, close: 510 + s }))
    ).flat()
  const bySort = (rows: ReadonlyArray<ReturnType<typeof bar>>) =>
    [...rows].sort((x, y) => (x.symbol < y.symbol ? -1 : x.symbol > y.symbol ? 1 : x.ts - y.ts))

  it("sorts by (symbol, ts) without losing or adding a row", () => {
    const input = frames(30)
    const result = dedupe(input)
    expect(result.duplicates).toBe(0)
    expect(result.rows).toEqual(bySort(input))
  })

  it("a correction later in the batch replaces the earlier bar (the fast path gives way)", () => {
    const input = frames(5)
    const correction = bar({ symbol: "QQQ", ts: open + 2000, close: 999 })
    const result = dedupe([...input, correction])
    expect(result.duplicates).toBe(1)
    expect(result.rows).toHaveLength(input.length)
    expect(result.rows.find((b) => b.symbol === "QQQ" && b.ts === open + 2000)).toBe(correction)
    expect(result.rows).toEqual(
      bySort([...input.filter((b) => !(b.symbol === "QQQ" && b.ts === open + 2000)), correction])
    )
  })

  it("a symbol's bars out of time order are still sorted and kept", () => {
    const input = frames(3)
    const swapped = [...input.slice(4), ...input.slice(0, 4)]
    const result = dedupe(swapped)
    expect(result.duplicates).toBe(0)
    expect(result.rows).toEqual(bySort(input))
  })
})
