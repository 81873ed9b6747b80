/**
 * The fidelity report of one symbol-day (`tapehouse fidelity`): how much of the update-id sequence
 * the capture holds, how much exchange time a contiguous book covers, and how close the book
 * rebuilt from the stored deltas is to the REST snapshots taken during capture. Pure computation:
 * the command replays the lake and hands the counts and comparisons here.
 *
 * - gap_ratio: level changes lost ÷ level changes expected (stored + lost) in the day. The losses
 *   are those the capture recorded in the continuity ledger (`rows` of its `gap` rows for the
 *   symbol), so a gap counts even where the lake holds no row around it; a break in the stored
 *   update ids that no ledger gap accounts for is added too, estimated at the day's level changes
 *   per update id (`unrecorded_gaps` counts those; it should be 0).
 * - id_gap_ratio (cross-check from the stored ids alone): update ids inside breaks of the stored
 *   chain ÷ the update-id range the book spanned (first id held to last id held). On spot every
 *   id is one book update; on USD-M ids are not contiguous, so it is the share of the id range.
 * - coverage: exchange time between consecutive events applied with no gap or re-sync between,
 *   ÷ the day.
 * - best_bid_rms / best_ask_rms: root mean square, in price units, of rebuilt best price minus the
 *   snapshot's, over the snapshots the rebuilt book could be compared with.
 * - depth_correlation[i]: Pearson correlation, over those snapshots and both sides, of the size
 *   at the i-th best level in the rebuilt book and in the snapshot (null when either series is
 *   constant and the two differ, 1 when they are equal).
 */

import type { ReplayCounts } from "./deltaReplay.js"
import type { OrderBook } from "./OrderBook.js"

/** One REST snapshot set against the rebuilt book at the same update id. */
export interface BookComparison {
  /** Snapshot time (exchange time when the venue gives one, else capture time), ms. */
  readonly time: number
  readonly lastUpdateId: number
  /** Last update id the rebuilt book had applied (<= lastUpdateId). */
  readonly bookUpdateId: number
  /** Best prices, fixed point; undefined for an empty side. */
  readonly bookBestBid: number | undefined
  readonly snapBestBid: number | undefined
  readonly bookBestAsk: number | undefined
  readonly snapBestAsk: number | undefined
  /** Sizes of the best `levels` levels per side (0 past a thin side), fixed point. */
  readonly bookBidSizes: ReadonlyArray<number>
  readonly snapBidSizes: ReadonlyArray<number>
  readonly bookAskSizes: ReadonlyArray<number>
  readonly snapAskSizes: ReadonlyArray<number>
  /** True when the best `levels` levels of both sides are equal, prices and sizes. */
  readonly topEqual: boolean
}

export interface SnapshotLevels {
  readonly lastUpdateId: number
  readonly bidPrices: ReadonlyArray<number>
  readonly bidSizes: ReadonlyArray<number>
  readonly askPrices: ReadonlyArray<number>
  readonly askSizes: ReadonlyArray<number>
}

const sizesOf = (sizes: ReadonlyArray<number>, levels: number): Array<number> =>
  Array.from({ length: levels }, (_, i) => sizes[i] ?? 0)

/** Compares the book (as it stands) with a snapshot over the best `levels` levels per side. */
export const compareWithSnapshot = (
  book: OrderBook,
  bookUpdateId: number,
  snapshot: SnapshotLevels,
  time: number,
  levels: number
): BookComparison => {
  const bookSide = (isBid: boolean) => {
    const side = isBid ? book.bids : book.asks
    const prices: Array<number> = []
    const sizes: Array<number> = []
    side.top(levels, prices, sizes)
    return { prices, sizes }
  }
  const bids = bookSide(true)
  const asks = bookSide(false)
  const sameTop = (
    p: Array<number>,
    s: Array<number>,
    sp: ReadonlyArray<number>,
    ss: ReadonlyArray<number>
  ) => {
    const n = Math.min(levels, sp.length)
    if (p.length !== n) return false
    for (let i = 0; i < n; i++) if (p[i] !== sp[i] || s[i] !== ss[i]) return false
    return true
  }
  return {
    time,
    lastUpdateId: snapshot.lastUpdateId,
    bookUpdateId,
    bookBestBid: bids.prices[0],
    snapBestBid: snapshot.bidPrices[0],
    bookBestAsk: asks.prices[0],
    snapBestAsk: snapshot.askPrices[0],
    bookBidSizes: sizesOf(bids.sizes, levels),
    snapBidSizes: sizesOf(snapshot.bidSizes, levels),
    bookAskSizes: sizesOf(asks.sizes, levels),
    snapAskSizes: sizesOf(snapshot.askSizes, levels),
    topEqual:
      sameTop(bids.prices, bids.sizes, snapshot.bidPrices, snapshot.bidSizes) &&
      sameTop(asks.prices, asks.sizes, snapshot.askPrices, snapshot.askSizes)
  }
}

/** Root mean square of `diffs`; null when there are none. */
export const rms = (diffs: ReadonlyArray<number>): number | null => {
  if (diffs.length === 0) return null
  let s = 0
  for (const d of diffs) s += d * d
  return Math.sqrt(s / diffs.length)
}

/**
 * Pearson correlation of two series of equal length; 1 when they are equal, null when there are
 * fewer than two pairs or either is constant while they differ (undefined correlation).
 */
export const pearson = (xs: ReadonlyArray<number>, ys: ReadonlyArray<number>): number | null => {
  const n = Math.min(xs.length, ys.length)
  if (n === 0) return null
  let equal = true
  for (let i = 0; i < n; i++) if (xs[i] !== ys[i]) equal = false
  if (equal) return 1
  if (n < 2) return null
  let mx = 0
  let my = 0
  for (let i = 0; i < n; i++) {
    mx += xs[i]!
    my += ys[i]!
  }
  mx /= n
  my /= n
  let sxy = 0
  let sxx = 0
  let syy = 0
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx
    const dy = ys[i]! - my
    sxy += dx * dy
    sxx += dx * dx
    syy += dy * dy
  }
  if (sxx === 0 || syy === 0) return null
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)))
}

/** A gap the capture recorded in the continuity ledger (runners/bookCapture.ts ledgerRow). */
export interface LedgerGap {
  /** Exchange time of the last event applied before it, and of the event that revealed it, ms. */
  readonly start: number
  readonly end: number
  readonly cause: string | null
  /** Level changes lost (the capture's estimate). */
  readonly eventsLost: number
  /** Update ids missed, when the row's detail names them. */
  readonly firstMissingId: number | undefined
  readonly lastMissingId: number | undefined
}

export interface FidelityInput {
  readonly venue: string
  readonly symbol: string
  readonly date: string
  readonly levels: number
  readonly priceScale: number
  readonly sizeScale: number
  readonly dayStartMs: number
  readonly dayEndMs: number
  readonly counts: ReplayCounts
  readonly gaps: ReadonlyArray<{
    readonly firstMissingId: number
    readonly lastMissingId: number
    readonly missingIds: number
    readonly toTime: number
  }>
  /** The symbol's gaps recorded in the continuity ledger whose end falls in the day. */
  readonly ledgerGaps: ReadonlyArray<LedgerGap>
  readonly comparisons: ReadonlyArray<BookComparison>
  /** Snapshots of the day that could not be compared (the book was not held at their id). */
  readonly snapshotsNotCompared: number
  /** Events per minute of the day, for the chart. */
  readonly eventsPerMinute: ReadonlyArray<number>
}

export interface FidelityReport {
  readonly venue: string
  readonly symbol: string
  readonly date: string
  readonly levels: number
  /** Level changes lost ÷ (stored + lost); null when there are neither. */
  readonly gap_ratio: number | null
  /** Level changes lost: recorded in the ledger, plus the estimate for unrecorded breaks. */
  readonly events_lost: number
  readonly ledger_gaps: number
  readonly ledger_events_lost: number
  /** Breaks in the stored ids that no ledger gap accounts for (should be 0). */
  readonly unrecorded_gaps: number
  /** Cross-check from the stored ids: ids in breaks ÷ the id range spanned; null without a book. */
  readonly id_gap_ratio: number | null
  /** Breaks in the stored update-id chain, and the ids they miss. */
  readonly gaps: number
  readonly missing_ids: number
  readonly coverage: number
  readonly covered_seconds: number
  readonly events: number
  readonly applied_events: number
  readonly level_changes: number
  readonly snapshots_compared: number
  readonly snapshots_not_compared: number
  readonly snapshots_top_equal: number
  /** In price units (e.g. USDT); null without a comparison. */
  readonly best_bid_rms: number | null
  readonly best_ask_rms: number | null
  readonly depth_correlation: ReadonlyArray<number | null>
  readonly ledger_gap_list: ReadonlyArray<{
    readonly start: string
    readonly end: string
    readonly cause: string | null
    readonly events_lost: number
    readonly first_missing_id: number | null
    readonly last_missing_id: number | null
  }>
  readonly gap_list: ReadonlyArray<{
    readonly first_missing_id: number
    readonly last_missing_id: number
    readonly missing_ids: number
    readonly time: string
  }>
  /** Per snapshot compared: time, best bid/ask errors in price units (for the charts). */
  readonly series: ReadonlyArray<{
    readonly time: string
    readonly bid_error: number | null
    readonly ask_error: number | null
  }>
  readonly events_per_minute: ReadonlyArray<number>
}

const diffOf = (a: number | undefined, b: number | undefined, pow: number): number | undefined =>
  a === undefined || b === undefined ? undefined : (a - b) / pow

/** The report from the replay's counts and comparisons. */
export const fidelityReport = (input: FidelityInput): FidelityReport => {
  const { counts, comparisons, levels } = input
  const pow = 10 ** input.priceScale
  const span =
    counts.firstId === undefined || counts.lastId === undefined ? 0 : counts.lastId - counts.firstId + 1
  const bidDiffs: Array<number> = []
  const askDiffs: Array<number> = []
  const series: Array<FidelityReport["series"][number]> = []
  for (const c of comparisons) {
    const b = diffOf(c.bookBestBid, c.snapBestBid, pow)
    const a = diffOf(c.bookBestAsk, c.snapBestAsk, pow)
    if (b !== undefined) bidDiffs.push(b)
    if (a !== undefined) askDiffs.push(a)
    series.push({ time: new Date(c.time).toISOString(), bid_error: b ?? null, ask_error: a ?? null })
  }
  const depth: Array<number | null> = []
  for (let i = 0; i < levels; i++) {
    const xs: Array<number> = []
    const ys: Array<number> = []
    for (const c of comparisons) {
      xs.push(c.bookBidSizes[i] ?? 0, c.bookAskSizes[i] ?? 0)
      ys.push(c.snapBidSizes[i] ?? 0, c.snapAskSizes[i] ?? 0)
    }
    depth.push(pearson(xs, ys))
  }
  const dayMs = input.dayEndMs - input.dayStartMs
  // Breaks of the stored chain with no ledger gap over the same ids: estimated at the day's
  // level changes per update id held.
  const recorded = (g: FidelityInput["gaps"][number]) =>
    input.ledgerGaps.some(
      (l) =>
        l.firstMissingId !== undefined &&
        l.lastMissingId !== undefined &&
        l.firstMissingId <= g.lastMissingId &&
        g.firstMissingId <= l.lastMissingId
    )
  const unrecorded = input.gaps.filter((g) => !recorded(g))
  const perId = counts.appliedLevels / Math.max(1, span - counts.missingIds)
  const unrecordedLost = Math.round(unrecorded.reduce((n, g) => n + g.missingIds, 0) * perId)
  const ledgerLost = input.ledgerGaps.reduce((n, g) => n + g.eventsLost, 0)
  const lost = ledgerLost + unrecordedLost
  const expected = counts.appliedLevels + lost
  return {
    venue: input.venue,
    symbol: input.symbol,
    date: input.date,
    levels,
    gap_ratio: expected > 0 ? lost / expected : null,
    events_lost: lost,
    ledger_gaps: input.ledgerGaps.length,
    ledger_events_lost: ledgerLost,
    unrecorded_gaps: unrecorded.length,
    id_gap_ratio: span > 0 ? counts.missingIds / span : null,
    gaps: counts.gaps,
    missing_ids: counts.missingIds,
    coverage: dayMs > 0 ? counts.coveredMs / dayMs : 0,
    covered_seconds: counts.coveredMs / 1000,
    events: counts.events,
    applied_events: counts.appliedEvents,
    level_changes: counts.appliedLevels,
    snapshots_compared: comparisons.length,
    snapshots_not_compared: input.snapshotsNotCompared,
    snapshots_top_equal: comparisons.filter((c) => c.topEqual).length,
    best_bid_rms: rms(bidDiffs),
    best_ask_rms: rms(askDiffs),
    depth_correlation: depth,
    ledger_gap_list: input.ledgerGaps.map((g) => ({
      start: new Date(g.start).toISOString(),
      end: new Date(g.end).toISOString(),
      cause: g.cause,
      events_lost: g.eventsLost,
      first_missing_id: g.firstMissingId ?? null,
      last_missing_id: g.lastMissingId ?? null
    })),
    gap_list: input.gaps.map((g) => ({
      first_missing_id: g.firstMissingId,
      last_missing_id: g.lastMissingId,
      missing_ids: g.missingIds,
      time: new Date(g.toTime).toISOString()
    })),
    series,
    events_per_minute: input.eventsPerMinute
  }
}
