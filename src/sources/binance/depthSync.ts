/**
 * Keeps one symbol's local book in sync with Binance's diff-depth stream by the official
 * procedure (spec ../shared/specs/binance.md §1.4 spot, §2.4 USD-M futures): buffer events, take
 * a REST snapshot, drop what the snapshot already holds, check the first event against the
 * snapshot's lastUpdateId, then check every event's continuity. A pure state machine: it holds the
 * book and the buffer, does no I/O, and tells the caller through each outcome when to fetch a
 * snapshot. A gap re-syncs this symbol only and is reported with its ids, times and an estimate
 * of the level changes lost, for the continuity ledger.
 */
import { OrderBook } from "../../books/OrderBook.js"
import type { DepthEvent, DepthSnapshot } from "./depthWire.js"

/** Which procedure: spot (`U`/`u` contiguous) or USD-M futures (`pu` chain). */
export type DepthRules = "spot" | "usdm"

/** A sequence gap: update ids the stream skipped, found between two events. */
export interface SequenceGap {
  readonly symbol: string
  /** First update id missed: the last applied id + 1. */
  readonly firstMissingId: number
  /**
   * Last update id missed. Spot: the revealing event's `U` - 1 (spot ids are contiguous, §1.2).
   * USD-M: the revealing event's `pu`, the final id of the last event missed (futures ids jump
   * between events, §2.2, so `U` - 1 would overstate the range).
   */
  readonly lastMissingId: number
  /** lastMissingId - firstMissingId + 1 (0 when a USD-M `pu` points backwards). */
  readonly missingIds: number
  /**
   * Level changes (rows of book_deltas) lost, estimated as missingIds × the level changes per
   * update id seen since the last sync (1 per id when none was seen yet).
   */
  readonly eventsLostEstimate: number
  /**
   * Exchange time (E) of the last event applied before the gap (the snapshot's T or E when none
   * was; undefined for a spot snapshot, which carries no time).
   */
  readonly fromTime: number | undefined
  /** Exchange time (E) of the event that revealed the gap. */
  readonly toTime: number
}

export type SyncOutcome =
  /** Held until a snapshot arrives. `requestSnapshot`: fetch one now (none is awaited yet). */
  | { readonly _tag: "Buffered"; readonly requestSnapshot: boolean }
  /** Applied to the book. */
  | { readonly _tag: "Applied" }
  /** Ignored: the book already holds this event's updates. */
  | { readonly _tag: "Stale" }
  /** The snapshot was applied and the buffer replayed onto it; the book is live. */
  | {
      readonly _tag: "Synced"
      readonly lastUpdateId: number
      readonly dropped: number
      readonly applied: number
    }
  /**
   * The snapshot is older than the first buffered event (§1.4 step 3): fetch another snapshot.
   * The buffer is kept.
   */
  | { readonly _tag: "SnapshotTooOld"; readonly lastUpdateId: number; readonly firstBufferedU: number }
  /** Events were missed: the book is discarded; fetch a new snapshot for this symbol. */
  | { readonly _tag: "Gap"; readonly gap: SequenceGap }
  /** A snapshot arrived while the book is live (none was asked for): not used. */
  | { readonly _tag: "SnapshotIgnored" }

const APPLIED: SyncOutcome = Object.freeze({ _tag: "Applied" })
const STALE: SyncOutcome = Object.freeze({ _tag: "Stale" })
const BUFFERED: SyncOutcome = Object.freeze({ _tag: "Buffered", requestSnapshot: false })
const BUFFERED_REQUEST: SyncOutcome = Object.freeze({ _tag: "Buffered", requestSnapshot: true })
const SNAPSHOT_IGNORED: SyncOutcome = Object.freeze({ _tag: "SnapshotIgnored" })

/** Running counts for status and the fidelity report. */
export interface SyncStats {
  readonly appliedEvents: number
  readonly appliedLevels: number
  readonly staleEvents: number
  readonly gaps: number
  readonly missingIds: number
  readonly eventsLostEstimate: number
  readonly snapshotsApplied: number
  readonly snapshotsTooOld: number
  /** Events dropped from the front of a full buffer (safe: see `onEvent`). */
  readonly bufferOverflow: number
}

export interface DepthSyncOptions {
  /** Most events held while waiting for a snapshot (default 100,000). */
  readonly maxBuffered?: number
  /**
   * Called with every event about to be applied to the book (live or replayed from the buffer),
   * before the book changes: a capture writes exactly these to its log.
   */
  readonly onApply?: (event: DepthEvent) => void
  /** Called when a snapshot has replaced the book, before the buffered events are replayed onto it. */
  readonly onSnapshotLoaded?: (snapshot: DepthSnapshot) => void
}

export class DepthSync {
  readonly book = new OrderBook()
  private phase: "buffering" | "synced" = "buffering"
  private buffer: Array<DepthEvent> = []
  /** Index of the oldest buffered event (a full buffer advances it instead of shifting). */
  private head = 0
  private awaitingSnapshot = false
  /** Last update id applied (the snapshot's lastUpdateId right after a sync). */
  private local = -1
  /** No event applied since the snapshot: the next one must pass the first-event rule. */
  private firstPending = false
  /** An event was seen (and dropped as stale) since the snapshot: the stream was flowing. */
  private seenSinceSnapshot = false
  private lastE: number | undefined = undefined
  private syncId = 0
  private levelsSinceSync = 0
  private readonly maxBuffered: number
  private readonly onApply: ((event: DepthEvent) => void) | undefined
  private readonly onSnapshotLoaded: ((snapshot: DepthSnapshot) => void) | undefined
  private counts = {
    appliedEvents: 0,
    appliedLevels: 0,
    staleEvents: 0,
    gaps: 0,
    missingIds: 0,
    eventsLostEstimate: 0,
    snapshotsApplied: 0,
    snapshotsTooOld: 0,
    bufferOverflow: 0
  }

  constructor(
    readonly symbol: string,
    readonly rules: DepthRules,
    options: DepthSyncOptions = {}
  ) {
    this.maxBuffered = Math.max(1, options.maxBuffered ?? 100_000)
    this.onApply = options.onApply
    this.onSnapshotLoaded = options.onSnapshotLoaded
  }

  /** True once a snapshot is applied and the book follows the stream. */
  get synced(): boolean {
    return this.phase === "synced"
  }

  /** The last update id applied to the book (meaningful when synced). */
  get lastUpdateId(): number {
    return this.local
  }

  /** Events held for the next snapshot. */
  get buffered(): number {
    return this.buffer.length - this.head
  }

  get stats(): SyncStats {
    return { ...this.counts }
  }

  /**
   * One diff-depth event, in stream order.
   *
   * Without a book the event is buffered (§1.4 step 1, §2.4 step 1). A full buffer drops its
   * oldest event: that can only make the first buffered `U` larger, so a snapshot the dropped
   * event would have been needed for fails the too-old check and is fetched again.
   */
  onEvent(event: DepthEvent): SyncOutcome {
    if (this.phase === "buffering") {
      this.push(event)
      if (this.awaitingSnapshot) return BUFFERED
      this.awaitingSnapshot = true
      return BUFFERED_REQUEST
    }
    return this.step(event)
  }

  /**
   * A REST snapshot fetched after events were buffered (§1.4 steps 2-6, §2.4 steps 2-5). Applied
   * when it is not older than the buffer; the buffer is then replayed onto it by the same rules
   * as live events.
   */
  onSnapshot(snapshot: DepthSnapshot): SyncOutcome {
    if (this.phase === "synced") return SNAPSHOT_IGNORED
    const L = snapshot.lastUpdateId
    const first = this.buffer[this.head]
    // §1.4 step 3: "If snapshot lastUpdateId < the U of the first buffered event, the snapshot
    // is too old: fetch it again." (Conservative: L = U - 1 would be contiguous.) §2.4 has no
    // such step, but its first-event rule `U <= lastUpdateId` fails on the same condition, so
    // USD-M takes the same path.
    if (first !== undefined && L < first.U) {
      this.counts.snapshotsTooOld++
      this.awaitingSnapshot = true
      return { _tag: "SnapshotTooOld", lastUpdateId: L, firstBufferedU: first.U }
    }
    // §1.4 step 5 / §2.4: the local book := the snapshot, local id := lastUpdateId.
    this.book.loadSnapshot(snapshot.bidPrices, snapshot.bidSizes, snapshot.askPrices, snapshot.askSizes)
    this.counts.snapshotsApplied++
    this.phase = "synced"
    this.awaitingSnapshot = false
    this.local = L
    this.syncId = L
    this.levelsSinceSync = 0
    this.firstPending = true
    this.seenSinceSnapshot = false
    this.lastE = snapshot.T ?? snapshot.E
    this.onSnapshotLoaded?.(snapshot)
    // §1.4 step 6: apply the buffered events by the update procedure (steps 4's drops included).
    const pending = this.buffer
    const start = this.head
    this.buffer = []
    this.head = 0
    let dropped = 0
    let applied = 0
    for (let i = start; i < pending.length; i++) {
      const outcome = this.step(pending[i]!)
      if (outcome === APPLIED) applied++
      else if (outcome === STALE) dropped++
      else {
        // A gap inside the buffer: the revealing event is already buffered again by `step`;
        // the events after it wait with it for the next snapshot.
        for (let j = i + 1; j < pending.length; j++) this.push(pending[j]!)
        return outcome
      }
    }
    return { _tag: "Synced", lastUpdateId: L, dropped, applied }
  }

  /**
   * Continues from a book restored after a restart (a checkpoint and the log after it): the book
   * is live at `lastUpdateId`, and the next event must continue it (spot: U ≤ id + 1; USD-M:
   * pu = id), else it is a gap, re-synced from a snapshot as any other.
   */
  restore(
    bidPrices: ArrayLike<number>,
    bidSizes: ArrayLike<number>,
    askPrices: ArrayLike<number>,
    askSizes: ArrayLike<number>,
    lastUpdateId: number,
    lastEventTime: number
  ): void {
    this.book.loadSnapshot(bidPrices, bidSizes, askPrices, askSizes)
    this.phase = "synced"
    this.buffer = []
    this.head = 0
    this.awaitingSnapshot = false
    this.firstPending = false
    this.seenSinceSnapshot = true
    this.local = lastUpdateId
    this.syncId = lastUpdateId
    this.levelsSinceSync = 0
    this.lastE = lastEventTime
  }

  /** Discards the book and the buffer (a reconnect: the next events start a new sync). */
  reset(): void {
    this.book.clear()
    this.phase = "buffering"
    this.buffer = []
    this.head = 0
    this.awaitingSnapshot = false
    this.firstPending = false
    this.local = -1
  }

  private step(event: DepthEvent): SyncOutcome {
    return this.rules === "spot" ? this.stepSpot(event) : this.stepUsdm(event)
  }

  /** §1.4 (spot, text corrected 2025-11-12). */
  private stepSpot(event: DepthEvent): SyncOutcome {
    const L = this.local
    // Step 4 "drop every event with u <= lastUpdateId", and the update procedure's "u < local
    // id: ignore". An event with u == local id holds nothing newer either, so both use <=.
    if (event.u <= L) return this.stale()
    // First event: must satisfy U <= lastUpdateId + 1 <= u (u >= L+1 holds past the drop).
    // Afterwards: "U > local id + 1: events were missed, restart from step 1"; normally
    // U == previous u + 1.
    if (event.U > L + 1)
      return this.firstPending && !this.seenSinceSnapshot ? this.tooOld(event) : this.gap(event)
    return this.apply(event)
  }

  /** §2.4 (USD-M futures). */
  private stepUsdm(event: DepthEvent): SyncOutcome {
    const L = this.local
    if (this.firstPending) {
      // Step 3: drop events with u < lastUpdateId (strict).
      if (event.u < L) return this.stale()
      // Step 4: the first event applied must satisfy U <= lastUpdateId <= u.
      if (event.U > L) return this.seenSinceSnapshot ? this.gap(event) : this.tooOld(event)
      return this.apply(event)
    }
    // An event the book already holds (the same stream on two connections during a planned
    // reconnect) is ignored, as on spot.
    if (event.u <= L) return this.stale()
    // Step 5: every later event's pu must equal the previous event's u; otherwise re-initialise.
    if (event.pu !== L) return this.gap(event)
    return this.apply(event)
  }

  private apply(event: DepthEvent): SyncOutcome {
    const book = this.book
    this.onApply?.(event)
    // Quantities are absolute; 0 removes the level, also one not held (§1.4, §2.4 steps 6-7).
    book.apply(true, event.bidPrices, event.bidSizes)
    book.apply(false, event.askPrices, event.askSizes)
    const levels = event.bidPrices.length + event.askPrices.length
    this.local = event.u
    this.lastE = event.E
    this.firstPending = false
    this.levelsSinceSync += levels
    this.counts.appliedEvents++
    this.counts.appliedLevels += levels
    return APPLIED
  }

  private stale(): SyncOutcome {
    this.seenSinceSnapshot = true
    this.counts.staleEvents++
    return STALE
  }

  /** The first event after a snapshot starts past it, and no earlier event was seen. */
  private tooOld(event: DepthEvent): SyncOutcome {
    const L = this.local
    this.counts.snapshotsTooOld++
    this.restart(event)
    return { _tag: "SnapshotTooOld", lastUpdateId: L, firstBufferedU: event.U }
  }

  private gap(event: DepthEvent): SyncOutcome {
    const first = this.local + 1
    const last = this.rules === "usdm" && event.pu !== undefined ? event.pu : event.U - 1
    const missingIds = Math.max(0, last - first + 1)
    const idSpan = this.local - this.syncId
    const perId = idSpan > 0 ? this.levelsSinceSync / idSpan : 1
    const gap: SequenceGap = {
      symbol: this.symbol,
      firstMissingId: first,
      lastMissingId: last,
      missingIds,
      eventsLostEstimate: Math.round(missingIds * perId),
      fromTime: this.lastE,
      toTime: event.E
    }
    this.counts.gaps++
    this.counts.missingIds += missingIds
    this.counts.eventsLostEstimate += gap.eventsLostEstimate
    this.restart(event)
    return { _tag: "Gap", gap }
  }

  /** Back to step 1 with `event` as the first buffered event; the caller fetches a snapshot. */
  private restart(event: DepthEvent): void {
    this.book.clear()
    this.phase = "buffering"
    this.firstPending = false
    this.buffer = [event]
    this.head = 0
    this.awaitingSnapshot = true
  }

  private push(event: DepthEvent): void {
    if (this.buffer.length - this.head >= this.maxBuffered) {
      this.head++
      this.counts.bufferOverflow++
      if (this.head >= this.maxBuffered) {
        this.buffer = this.buffer.slice(this.head)
        this.head = 0
      }
    }
    this.buffer.push(event)
  }
}
