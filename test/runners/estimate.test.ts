import { describe, expect, it } from "@effect/vitest"
import { estimateBackfill, ROWS_PER_SECOND } from "../../src/runners/estimate.js"

const sizing = { rowsPerInstrumentDay: 20_000, parquetBytesPerRow: 20, sqlBytesPerRow: 150 }

describe("estimateBackfill", () => {
  it("counts rows, requests and disk from the sizing; the free tier's rate limit bounds the time", () => {
    const e = estimateBackfill({
      sizing,
      tradingDays: 252,
      instruments: 2,
      pageLimit: 50_000,
      rateLimitPerMinute: 5,
      parquet: true,
      sql: "embedded"
    })
    expect(e).toEqual({
      instrumentDays: 504,
      rows: 10_080_000,
      requests: 504,
      parquetBytes: 201_600_000,
      sqlBytes: 1_512_000_000,
      seconds: (504 / 5) * 60,
      boundBy: "rate limit"
    })
  })

  it("without a rate limit the pipeline's measured speed bounds it; pages follow the page size", () => {
    const e = estimateBackfill({
      sizing,
      tradingDays: 100,
      instruments: 1,
      pageLimit: 5000,
      rateLimitPerMinute: 0,
      parquet: true,
      sql: "none"
    })
    expect(e.requests).toBe(400)
    expect(e.sqlBytes).toBe(0)
    expect(e.seconds).toBe(2_000_000 / ROWS_PER_SECOND.parquet)
    expect(e.boundBy).toBe("pipeline")
  })
})
