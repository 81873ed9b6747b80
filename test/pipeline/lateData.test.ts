import { describe, expect, it } from "@effect/vitest"
import { type StockBar, StockBars1s } from "../../src/domain/StockBar.js"
import { newYorkTimeToEpochMs } from "../../src/domain/time.js"
import { acceptedDates, makeLateDataFilter } from "../../src/pipeline/lateData.js"

const bar = (date: string, h: number): StockBar => ({
  symbol: "SPY",
  ts: newYorkTimeToEpochMs(date, h, 0),
  open: 1,
  high: 1,
  low: 1,
  close: 1,
  volume: 1,
  vwap: null,
  trades: null
})

describe("late data", () => {
  it("accepts the current trading day and rejects older days with a reason", () => {
    const filter = makeLateDataFilter(StockBars1s, "2024-03-04", 0)
    const today = bar("2024-03-04", 10)
    const friday = bar("2024-03-01", 15)
    const { accepted, rejected } = filter([today, friday])
    expect(accepted).toEqual([today])
    expect(rejected).toEqual([
      {
        record: friday,
        reason:
          "late data: a record of 2024-03-01 arrived during the 2024-03-04 session (accepted: the current trading day only; settings.stream.late_data_days)"
      }
    ])
  })

  it("late_data_days widens the window by trading days, skipping weekends and holidays", () => {
    expect([...acceptedDates("2024-04-01", 2)].sort()).toEqual(["2024-03-27", "2024-03-28", "2024-04-01"])
    const filter = makeLateDataFilter(StockBars1s, "2024-04-01", 1)
    expect(filter([bar("2024-03-28", 12), bar("2024-03-27", 12)]).accepted).toEqual([bar("2024-03-28", 12)])
  })
})
