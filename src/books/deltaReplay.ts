/**
 * Replays a symbol's stored `book_deltas` rows event by event (bookReplay.ts applies them), and
 * checks the update-id chain the way the capture did (../shared/specs/binance.md §1.4 spot: U =
 * previous u + 1, after a snapshot U <= L + 1 <= u; §2.4 USD-M: pu = previous u, after a snapshot
 * U <= L <= u). What it counts is what `fidelity` reports:
 *
 * - a break in the chain is a gap; the update ids between are ids the lake holds no delta for (a
 *   re-sync snapshot block with a later lastUpdateId bridges the book, not the updates);
 * - exchange time between consecutive events with no break between is covered.
 *
 * A hook runs before each event is applied, while the book holds everything before it: the
 * sampler of `books` and the snapshot comparison of `fidelity` read the book there. Rows before
 * the first snapshot block are skipped: a book cannot be rebuilt without one.
 */

import { applyDeltaRows, initialReplayState, type ReplayState } from "./bookReplay.js"
import type { BookDeltaRows } from "./bookSegments.js"
import { OrderBook } from "./OrderBook.js"

export type ChainRules = "spot" | "usdm"

/** The rules of a venue: binance-usdm follows the `pu` chain, anything else spot's. */
export const chainRulesOf = (venue: string): ChainRules => (venue === "binance-usdm" ? "usdm" : "spot")

/** The book as a hook sees it. */
export interface HeldBook {
  readonly book: OrderBook
  /** Last update id applied; -1 before the first snapshot block. */
  readonly lastUpdateId: number
  /** A snapshot block has been applied: the book is the exchange's. */
  readonly held: boolean
}

/** One gap: the update ids the lake holds no delta for, and when it was seen (exchange time, ms). */
export interface ChainGap {
  readonly firstMissingId: number
  readonly lastMissingId: number
  readonly missingIds: number
  readonly toTime: number
}

export interface ReplayCounts {
  readonly events: number
  readonly appliedEvents: number
  readonly appliedLevels: number
  readonly snapshotBlocks: number
  readonly skippedBeforeSnapshot: number
  readonly gaps: number
  readonly missingIds: number
  /** First and last update id the book held; undefined before the first snapshot block. */
  readonly firstId: number | undefined
  readonly lastId: number | undefined
  readonly coveredMs: number
  /** Most events in one second of exchange time. */
  readonly peakEventsPerSecond: number
  /** Rows (levels, both sides) of the largest snapshot block. */
  readonly largestSnapshotLevels: number
}

export interface ReplayWindow {
  /** Exchange time the counts are clipped to, ms, end exclusive. */
  readonly startMs: number
  readonly endMs: number
}

/**
 * Event hook: exchange time E, first and final ids U and u of the event (or snapshot block, whose
 * U and u are its lastUpdateId) about to be applied.
 */
export type BeforeEvent = (E: number, U: number, u: number, isSnapshot: boolean, at: HeldBook) => void

const MAX_GAPS_KEPT = 10_000

export class DeltaReplay implements HeldBook {
  readonly book = new OrderBook()
  readonly gapList: Array<ChainGap> = []
  /** Events per minute of the window. */
  readonly eventsPerMinute: Uint32Array
  private readonly state: ReplayState = initialReplayState()
  private isHeld = false
  /** Right after a snapshot block: the next event passes the first-event rule. */
  private afterBlock = false
  private chainE: number | undefined = undefined
  private largestRows = 0
  private firstId: number | undefined = undefined
  private c = {
    events: 0,
    appliedEvents: 0,
    appliedLevels: 0,
    snapshotBlocks: 0,
    skippedBeforeSnapshot: 0,
    gaps: 0,
    missingIds: 0,
    coveredMs: 0,
    peakEventsPerSecond: 0,
    largestSnapshotLevels: 0
  }
  private second = Number.NaN
  private inSecond = 0

  constructor(
    readonly rules: ChainRules,
    readonly window: ReplayWindow,
    private readonly before?: BeforeEvent
  ) {
    this.eventsPerMinute = new Uint32Array(Math.max(1, Math.ceil((window.endMs - window.startMs) / 60_000)))
  }

  get held(): boolean {
    return this.isHeld
  }

  get lastUpdateId(): number {
    return this.state.lastUpdateId
  }

  /** Exchange time of the last row applied; undefined before any. */
  get lastEventTime(): number | undefined {
    return this.state.lastEventTime < 0 ? undefined : this.state.lastEventTime
  }

  /** Rows of the largest segment pushed (what a reader holds at once). */
  get largestSegmentRows(): number {
    return this.largestRows
  }

  get counts(): ReplayCounts {
    return {
      ...this.c,
      firstId: this.firstId,
      lastId: this.isHeld ? this.state.lastUpdateId : undefined
    }
  }

  /** Applies the rows of one segment, in order. */
  push(rows: BookDeltaRows): void {
    const { finalUpdateId, receivedTime, isSnapshot, eventTime, firstUpdateId, prevFinalUpdateId } = rows
    const n = rows.length
    if (n > this.largestRows) this.largestRows = n
    let i = 0
    while (i < n) {
      const u = finalUpdateId[i]!
      const received = receivedTime[i]!
      const snap = isSnapshot[i] === 1
      let j = i + 1
      while (
        j < n &&
        finalUpdateId[j] === u &&
        receivedTime[j] === received &&
        (isSnapshot[j] === 1) === snap
      )
        j++
      const E = eventTime[i]!
      this.before?.(E, firstUpdateId[i]!, u, snap, this)
      if (snap) {
        this.block(u, E)
        if (j - i > this.c.largestSnapshotLevels) this.c.largestSnapshotLevels = j - i
      } else if (!this.isHeld) {
        this.c.skippedBeforeSnapshot++
        i = j
        continue
      } else this.event(E, firstUpdateId[i]!, u, prevFinalUpdateId[i]!, j - i)
      applyDeltaRows(this.book, rows, this.state, i, j)
      i = j
    }
  }

  private block(L: number, E: number): void {
    this.c.snapshotBlocks++
    if (!this.isHeld) {
      this.firstId = L
      this.isHeld = true
    } else if (L !== this.state.lastUpdateId) {
      this.gap(this.state.lastUpdateId + 1, L, E)
    }
    this.afterBlock = true
  }

  private event(E: number, U: number, u: number, pu: number, levels: number): void {
    const last = this.state.lastUpdateId
    this.c.events++
    this.c.appliedEvents++
    this.c.appliedLevels += levels
    const w = this.window
    if (E >= w.startMs && E < w.endMs) {
      const m = Math.floor((E - w.startMs) / 60_000)
      this.eventsPerMinute[m] = this.eventsPerMinute[m]! + 1
    }
    const second = Math.floor(E / 1000)
    if (second === this.second) this.inSecond++
    else {
      this.second = second
      this.inSecond = 1
    }
    if (this.inSecond > this.c.peakEventsPerSecond) this.c.peakEventsPerSecond = this.inSecond
    let broken: boolean
    let lastMissing: number
    if (this.afterBlock) {
      // First event after a snapshot block (L = last): spot U <= L+1 <= u, USD-M U <= L <= u.
      // A block the capture wrote at a day start holds its own book at L: the next event then
      // simply continues the chain (U = L + 1, or pu = L).
      broken =
        this.rules === "spot" ? U > last + 1 || u < last + 1 : !((U <= last && last <= u) || pu === last)
      lastMissing = U - 1
    } else if (this.rules === "spot") {
      broken = U !== last + 1
      lastMissing = U - 1
    } else {
      broken = pu !== last
      lastMissing = pu
    }
    this.afterBlock = false
    if (broken) this.gap(last + 1, lastMissing, E)
    else if (this.chainE !== undefined) this.c.coveredMs += this.clipped(this.chainE, E)
    this.chainE = E
  }

  private gap(first: number, last: number, E: number): void {
    const missing = Math.max(0, last - first + 1)
    this.c.gaps++
    this.c.missingIds += missing
    if (this.gapList.length < MAX_GAPS_KEPT)
      this.gapList.push({ firstMissingId: first, lastMissingId: last, missingIds: missing, toTime: E })
    this.chainE = undefined
  }

  private clipped(from: number, to: number): number {
    const a = Math.max(from, this.window.startMs)
    const b = Math.min(to, this.window.endMs)
    return b > a ? b - a : 0
  }
}
