/**
 * Samples a rebuilt book's top N levels on a fixed grid of exchange time (`books --every`): the
 * row at time t is the book after every event with E <= t. Rows are gathered in columnar blocks
 * (typed arrays, one per column) cut at file boundaries (`fileMs`, an hour by default) so memory
 * stays bounded over a day and each block becomes one Parquet file. No row is made while the book
 * is not held (before the first snapshot block), between the last event before a gap and the
 * re-sync block after it (the caller `skip`s those), or past the last event: the grid never runs
 * ahead of the data.
 */
import type { BeforeEvent, HeldBook } from "./deltaReplay.js"

export interface TopBlock {
  /** Start of the file period the rows fall in, ms. */
  readonly periodStartMs: number
  readonly rows: number
  readonly ts: Float64Array
  /** Last update id applied at the sample. */
  readonly u: Float64Array
  /** Per level i: prices and sizes (fixed-point integers), and 1 where the level exists. */
  readonly bidPx: ReadonlyArray<Float64Array>
  readonly bidSz: ReadonlyArray<Float64Array>
  readonly bidPresent: ReadonlyArray<Uint8Array>
  readonly askPx: ReadonlyArray<Float64Array>
  readonly askSz: ReadonlyArray<Float64Array>
  readonly askPresent: ReadonlyArray<Uint8Array>
}

export interface TopSamplerOptions {
  readonly levels: number
  readonly everyMs: number
  /** Grid window, ms, end exclusive; the grid starts at the first multiple of everyMs >= fromMs. */
  readonly fromMs: number
  readonly toMs: number
  /** Rows of a block are cut where this period changes (default 1 h). */
  readonly fileMs?: number
}

export class TopSampler {
  private next: number
  private readonly fileMs: number
  private block: Mutable | undefined = undefined
  private readonly done: Array<TopBlock> = []
  private readonly scratchPx: Float64Array
  private readonly scratchSz: Float64Array
  samples = 0

  constructor(readonly options: TopSamplerOptions) {
    this.next = Math.ceil(options.fromMs / options.everyMs) * options.everyMs
    this.fileMs = options.fileMs ?? 3_600_000
    this.scratchPx = new Float64Array(options.levels)
    this.scratchSz = new Float64Array(options.levels)
  }

  /**
   * Call before applying an item with exchange time E: samples every grid time t < E from the book
   * as it stands (it holds the events up to the previous one).
   */
  before(E: number, at: HeldBook): void {
    const end = Math.min(E, this.options.toMs)
    if (this.next >= end) return
    if (!at.held) {
      // Nothing to sample: skip the grid times the book is not held for.
      this.skip(E)
      return
    }
    while (this.next < end) {
      this.sample(this.next, at)
      this.next += this.options.everyMs
    }
  }

  /**
   * Skips the grid times before E without sampling: the book held there is not the exchange's
   * (the capture missed updates and re-synced at E).
   */
  skip(E: number): void {
    const end = Math.min(E, this.options.toMs)
    if (this.next < end)
      this.next += Math.ceil((end - this.next) / this.options.everyMs) * this.options.everyMs
  }

  /** After the last item: samples grid times up to and including lastE (the last event's time). */
  finish(lastE: number | undefined, at: HeldBook): void {
    if (lastE !== undefined) this.before(Math.min(lastE + 1, this.options.toMs), at)
    this.cut()
  }

  /** Blocks completed since the last call. */
  take(): Array<TopBlock> {
    return this.done.splice(0, this.done.length)
  }

  private sample(t: number, at: HeldBook): void {
    const period = Math.floor(t / this.fileMs) * this.fileMs
    let b = this.block
    if (b !== undefined && (b.periodStartMs !== period || b.rows === b.ts.length)) {
      this.cut()
      b = undefined
    }
    if (b === undefined) {
      const remaining = Math.ceil(
        (Math.min(period + this.fileMs, this.options.toMs) - t) / this.options.everyMs
      )
      b = newBlock(period, Math.max(1, remaining), this.options.levels)
      this.block = b
    }
    const r = b.rows
    b.ts[r] = t
    b.u[r] = at.lastUpdateId
    const levels = this.options.levels
    const book = at.book
    const px = this.scratchPx
    const sz = this.scratchSz
    let n = book.bids.top(levels, px, sz)
    for (let i = 0; i < levels; i++) {
      if (i < n) {
        b.bidPx[i]![r] = px[i]!
        b.bidSz[i]![r] = sz[i]!
        b.bidPresent[i]![r] = 1
      }
    }
    n = book.asks.top(levels, px, sz)
    for (let i = 0; i < levels; i++) {
      if (i < n) {
        b.askPx[i]![r] = px[i]!
        b.askSz[i]![r] = sz[i]!
        b.askPresent[i]![r] = 1
      }
    }
    b.rows = r + 1
    this.samples++
  }

  private cut(): void {
    const b = this.block
    this.block = undefined
    if (b === undefined || b.rows === 0) return
    this.done.push(b.rows === b.ts.length ? b : trimmed(b))
  }
}

type Mutable = { -readonly [K in keyof TopBlock]: TopBlock[K] }

const newBlock = (periodStartMs: number, capacity: number, levels: number): Mutable => {
  const arrays = () => Array.from({ length: levels }, () => new Float64Array(capacity))
  const masks = () => Array.from({ length: levels }, () => new Uint8Array(capacity))
  return {
    periodStartMs,
    rows: 0,
    ts: new Float64Array(capacity),
    u: new Float64Array(capacity),
    bidPx: arrays(),
    bidSz: arrays(),
    bidPresent: masks(),
    askPx: arrays(),
    askSz: arrays(),
    askPresent: masks()
  }
}

const trimmed = (b: Mutable): TopBlock => {
  const n = b.rows
  return {
    periodStartMs: b.periodStartMs,
    rows: n,
    ts: b.ts.subarray(0, n),
    u: b.u.subarray(0, n),
    bidPx: b.bidPx.map((a) => a.subarray(0, n)),
    bidSz: b.bidSz.map((a) => a.subarray(0, n)),
    bidPresent: b.bidPresent.map((a) => a.subarray(0, n)),
    askPx: b.askPx.map((a) => a.subarray(0, n)),
    askSz: b.askSz.map((a) => a.subarray(0, n)),
    askPresent: b.askPresent.map((a) => a.subarray(0, n))
  }
}

/**
 * The replay hook that feeds `sampler`: grid times are sampled before each event, and skipped up
 * to a re-sync block after a gap (a block whose id is not the book's: updates were missed, so the
 * book before it was not the exchange's).
 */
export const samplerHook =
  (sampler: TopSampler): BeforeEvent =>
  (E, _U, u, isSnapshot, at) => {
    if (isSnapshot && at.held && u !== at.lastUpdateId) sampler.skip(E)
    else sampler.before(E, at)
  }
