import { describe, expect, it } from "vitest"
import { assessLines, assessReport } from "../../src/books/assess.js"
import type { ReplayCounts } from "../../src/books/deltaReplay.js"
import {
  compareWithSnapshot,
  type FidelityInput,
  fidelityReport,
  type LedgerGap,
  pearson,
  rms
} from "../../src/books/fidelity.js"
import { fidelityHtml } from "../../src/books/fidelityHtml.js"
import { OrderBook } from "../../src/books/OrderBook.js"
import { parseEvery } from "../../src/cli/bookCommands.js"

const counts = (over: Partial<ReplayCounts> = {}): ReplayCounts => ({
  events: 1000,
  appliedEvents: 1000,
  appliedLevels: 5000,
  snapshotBlocks: 2,
  skippedBeforeSnapshot: 0,
  gaps: 1,
  missingIds: 10,
  firstId: 1,
  lastId: 10_000,
  coveredMs: 43_200_000,
  peakEventsPerSecond: 12,
  largestSnapshotLevels: 2000,
  ...over
})

const DAY = Date.UTC(2026, 0, 5)

const ledgerGap = (start: number, end: number, eventsLost: number): LedgerGap => ({
  start,
  end,
  cause: "sequence-gap",
  eventsLost,
  firstMissingId: undefined,
  lastMissingId: undefined
})

describe("rms and pearson", () => {
  it("compute on known series", () => {
    expect(rms([3, -4])).toBeCloseTo(Math.sqrt(12.5), 12)
    expect(rms([])).toBeNull()
    expect(pearson([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12)
    expect(pearson([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 12)
    expect(pearson([1, 2, 3, 4], [1, 3, 2, 4])).toBeCloseTo(0.8, 12)
    expect(pearson([5, 5], [5, 5])).toBe(1)
    expect(pearson([5, 5], [1, 2])).toBeNull()
    expect(pearson([], [])).toBeNull()
  })
})

describe("fidelityReport", () => {
  it("measures the rebuilt book against snapshots: errors in price units, correlation per level", () => {
    const book = new OrderBook()
    book.loadSnapshot([10_000, 9_990], [5, 3], [10_010, 10_020], [2, 4])
    const equal = compareWithSnapshot(
      book,
      500,
      {
        lastUpdateId: 500,
        bidPrices: [10_000, 9_990],
        bidSizes: [5, 3],
        askPrices: [10_010, 10_020],
        askSizes: [2, 4]
      },
      DAY + 60_000,
      2
    )
    expect(equal.topEqual).toBe(true)
    // The snapshot's best bid is one cent (scale 2) higher, its best ask 3 cents lower.
    const off = compareWithSnapshot(
      book,
      500,
      {
        lastUpdateId: 505,
        bidPrices: [10_001, 10_000],
        bidSizes: [1, 5],
        askPrices: [10_007],
        askSizes: [6]
      },
      DAY + 120_000,
      2
    )
    expect(off.topEqual).toBe(false)
    expect(off.snapAskSizes).toEqual([6, 0])
    const input = (): FidelityInput => ({
      venue: "binance-spot",
      symbol: "BTCUSDT",
      date: "2026-01-05",
      levels: 2,
      priceScale: 2,
      sizeScale: 0,
      dayStartMs: DAY,
      dayEndMs: DAY + 86_400_000,
      counts: counts(),
      gaps: [{ firstMissingId: 100, lastMissingId: 109, missingIds: 10, toTime: DAY + 3_600_000 }],
      // The ledger holds the gap the stored ids show (ids 100-104 seen missing at the time), and
      // one around which no row was stored (the stored chain shows no break there).
      ledgerGaps: [
        { ...ledgerGap(DAY + 3_599_900, DAY + 3_600_000, 6), firstMissingId: 100, lastMissingId: 104 },
        { ...ledgerGap(DAY + 7_000_000, DAY + 7_000_200, 4), firstMissingId: 2000, lastMissingId: 2010 }
      ],
      comparisons: [equal, off],
      snapshotsNotCompared: 1,
      eventsPerMinute: [1, 2, 3]
    })
    const report = fidelityReport(input())
    // Level changes lost (ledger) ÷ (5000 stored + lost); the stored ids' own ratio beside it.
    expect(report).toMatchObject({
      events_lost: 10,
      ledger_gaps: 2,
      ledger_events_lost: 10,
      unrecorded_gaps: 0
    })
    expect(report.gap_ratio).toBeCloseTo(10 / 5010, 15)
    expect(report.id_gap_ratio).toBeCloseTo(10 / 10_000, 15)
    expect(report.ledger_gap_list[1]).toEqual({
      start: "2026-01-05T01:56:40.000Z",
      end: "2026-01-05T01:56:40.200Z",
      cause: "sequence-gap",
      events_lost: 4,
      first_missing_id: 2000,
      last_missing_id: 2010
    })
    expect(report.coverage).toBeCloseTo(0.5, 15)
    expect(report.best_bid_rms).toBeCloseTo(Math.sqrt((0 + 0.01 ** 2) / 2), 12)
    expect(report.best_ask_rms).toBeCloseTo(Math.sqrt((0 + 0.03 ** 2) / 2), 12)
    // Level 0 sizes: book [5, 2, 5, 2] vs snapshot [5, 2, 1, 6].
    expect(report.depth_correlation[0]).toBeCloseTo(pearson([5, 2, 5, 2], [5, 2, 1, 6])!, 12)
    expect(report.depth_correlation).toHaveLength(2)
    expect(report).toMatchObject({ snapshots_compared: 2, snapshots_top_equal: 1, snapshots_not_compared: 1 })
    expect(report.gap_list[0]!.time).toBe("2026-01-05T01:00:00.000Z")

    const html = fidelityHtml(report)
    expect(html.match(/<svg /g)).toHaveLength(3)
    expect(html).toContain("0.1996 %") // the gap ratio
    expect(html).toContain("0.1000 %") // the stored ids' ratio

    // Without the ledger, the break in the stored ids is estimated at the day's level changes per
    // id held: 10 ids × 5000 / 9990.
    const alone = fidelityReport({ ...input(), ledgerGaps: [] })
    expect(alone).toMatchObject({ events_lost: 5, unrecorded_gaps: 1, ledger_gaps: 0 })
    expect(alone.gap_ratio).toBeCloseTo(5 / 5005, 15)
    expect(html).not.toMatch(/<script|<img|https?:\/\/(?!www\.w3\.org)/)
  })

  it("reports null measures when nothing could be compared", () => {
    const report = fidelityReport({
      venue: "binance-usdm",
      symbol: "X",
      date: "2026-01-05",
      levels: 3,
      priceScale: 4,
      sizeScale: 0,
      dayStartMs: DAY,
      dayEndMs: DAY + 86_400_000,
      counts: counts({
        firstId: undefined,
        lastId: undefined,
        coveredMs: 0,
        appliedLevels: 0,
        gaps: 0,
        missingIds: 0
      }),
      gaps: [],
      ledgerGaps: [],
      comparisons: [],
      snapshotsNotCompared: 0,
      eventsPerMinute: []
    })
    expect(report).toMatchObject({
      gap_ratio: null,
      id_gap_ratio: null,
      best_bid_rms: null,
      best_ask_rms: null,
      coverage: 0
    })
    expect(report.depth_correlation).toEqual([null, null, null])
    expect(fidelityHtml(report)).toContain("n/a")
  })
})

describe("assessReport", () => {
  it("reports availability, gap statistics, rates and estimates from the counts", () => {
    const r = assessReport(
      {
        venue: "binance-spot",
        symbol: "BTCUSDT",
        from: "2026-01-05",
        to: "2026-01-06",
        days: [{ date: "2026-01-05", files: 3, bytes: 30 * 1024 * 1024 }],
        counts: counts(),
        largestFileRows: 1_000_000,
        largestGapIds: 10,
        levels: 20,
        everyMs: 100
      },
      ["2026-01-05", "2026-01-06"]
    )
    expect(r).toMatchObject({
      days_requested: 2,
      days_with_deltas: 1,
      missing_days: ["2026-01-06"],
      availability: 0.25,
      gap_ratio: 10 / 10_000,
      largest_gap_ids: 10,
      peak_events_per_second: 12,
      disk_bytes_per_day: 30 * 1024 * 1024,
      disk_bytes_per_year: 365 * 30 * 1024 * 1024
    })
    expect(r.events_per_second).toBeCloseTo(1000 / 43_200, 12)
    expect(r.level_changes_per_second).toBeCloseTo(5000 / 43_200, 12)
    // 864,000 rows a day of ts, u and 80 decimals plus the symbol.
    expect(r.books_bytes_per_day_uncompressed).toBe(864_000 * (8 * 82 + 8))
    expect(r.rebuild_memory_bytes).toBeGreaterThan(1_000_000 * 66)
    expect(assessLines(r).join("\n")).toContain("missing: 2026-01-06")
  })
})

describe("parseEvery (books --every)", () => {
  it("reads ms, s and m from 10 ms to a day", () => {
    expect(parseEvery("100ms")).toBe(100)
    expect(parseEvery("1s")).toBe(1000)
    expect(parseEvery("5m")).toBe(300_000)
    expect(parseEvery("1440m")).toBe(86_400_000)
    for (const bad of ["5ms", "1441m", "1h", "0.5s", "", "100"]) expect(parseEvery(bad), bad).toBeUndefined()
  })
})
