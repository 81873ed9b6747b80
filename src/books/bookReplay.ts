/**
 * Replays stored events and sync snapshots of one symbol through the live sync procedure
 * (depthSync.ts), so a rebuilt book follows exactly the rules the capture followed, and counts
 * what `fidelity` and `assess` report: events and level changes applied, sequence gaps (update
 * ids never seen), and the exchange time covered by a contiguous book.
 *
 * A hook runs before each item reaches the sync, while the book still holds everything before it:
 * the sampler of `books` and the snapshot comparison of `fidelity` read the book there.
 */
import { type DepthRules, DepthSync, type SequenceGap } from "../sources/binance/depthSync.js"
import type { ReplayItem } from "./deltaEvents.js"

/** Gaps kept in full for reports; past this only the counts grow. */
const MAX_GAPS_KEPT = 10_000

export interface ReplayWindow {
  /** Exchange time window the counts are clipped to, ms, end exclusive. */
  readonly startMs: number
  readonly endMs: number
  /** Width of the per-bucket event counts (charts, peak rates). Default 60 s. */
  readonly bucketMs?: number
}

export interface ReplayCounts {
  readonly events: number
  readonly appliedEvents: number
  readonly appliedLevels: number
  readonly snapshotsLoaded: number
  readonly gaps: number
  readonly missingIds: number
  /** First and last update id the book held (snapshot or event); undefined when never synced. */
  readonly firstId: number | undefined
  readonly lastId: number | undefined
  readonly firstE: number | undefined
  readonly lastE: number | undefined
  /** Exchange time between consecutive events applied with no gap or re-sync between, ms. */
  readonly coveredMs: number
}

export class BookReplay {
  readonly sync: DepthSync
  readonly gapList: Array<SequenceGap> = []
  /** Events per bucket of the window (applied or not). */
  readonly eventBuckets: Uint32Array
  readonly bucketMs: number
  private c = {
    events: 0,
    snapshotsLoaded: 0,
    gaps: 0,
    missingIds: 0,
    coveredMs: 0
  }
  private firstId: number | undefined = undefined
  private firstE: number | undefined = undefined
  private lastE: number | undefined = undefined
  /** E of the last event applied while the chain is unbroken; undefined right after a (re)sync. */
  private chainE: number | undefined = undefined

  constructor(
    readonly symbol: string,
    rules: DepthRules,
    readonly window: ReplayWindow,
    private readonly before?: (item: ReplayItem, sync: DepthSync) => void
  ) {
    this.sync = new DepthSync(symbol, rules)
    this.bucketMs = window.bucketMs ?? 60_000
    this.eventBuckets = new Uint32Array(
      Math.max(1, Math.ceil((window.endMs - window.startMs) / this.bucketMs))
    )
  }

  get counts(): ReplayCounts {
    const synced = this.firstId !== undefined
    return {
      ...this.c,
      appliedEvents: this.sync.stats.appliedEvents,
      appliedLevels: this.sync.stats.appliedLevels,
      firstId: this.firstId,
      lastId: synced ? this.sync.lastUpdateId : undefined,
      firstE: this.firstE,
      lastE: this.lastE
    }
  }

  feed(item: ReplayItem): void {
    this.before?.(item, this.sync)
    const sync = this.sync
    if (item._tag === "snapshot") {
      const outcome = sync.onSnapshot(item.snapshot)
      if (outcome._tag === "Synced") {
        this.c.snapshotsLoaded++
        this.firstId ??= outcome.lastUpdateId
        // Counted from the events applied after it; the replayed buffer is not time-ordered with it.
        this.chainE = undefined
      } else if (outcome._tag === "Gap") this.onGap(outcome.gap)
      return
    }
    const event = item.event
    const E = event.E
    this.c.events++
    if (E >= this.window.startMs && E < this.window.endMs) {
      const b = Math.floor((E - this.window.startMs) / this.bucketMs)
      this.eventBuckets[b] = this.eventBuckets[b]! + 1
    }
    this.firstE ??= E
    this.lastE = E
    const outcome = sync.onEvent(event)
    if (outcome._tag === "Applied") {
      if (this.chainE !== undefined) this.c.coveredMs += this.clipped(this.chainE, E)
      this.chainE = E
    } else if (outcome._tag === "Gap") this.onGap(outcome.gap)
  }

  private onGap(gap: SequenceGap): void {
    this.c.gaps++
    this.c.missingIds += gap.missingIds
    if (this.gapList.length < MAX_GAPS_KEPT) this.gapList.push(gap)
    this.chainE = undefined
  }

  private clipped(from: number, to: number): number {
    const a = Math.max(from, this.window.startMs)
    const b = Math.min(to, this.window.endMs)
    return b > a ? b - a : 0
  }
}
