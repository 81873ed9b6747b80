/**
 * A price-level order book on fixed-point integers (see fixedPoint.ts): each side is a pair of
 * sorted typed arrays (price key, size), kept sorted on every change by binary search and a
 * shift of the levels behind the change. The best level is stored LAST, so the changes that
 * dominate real feeds (near the top of the book) shift only a few entries, and the top N levels
 * are read straight off the end of the arrays: no sorting, no allocation.
 *
 * Measured against a red-black tree (tardis-dev's OrderBook) in bench/books.ts.
 */

const INITIAL_CAPACITY = 256
// Shifts shorter than this are done by a loop: a typed array's copyWithin costs a call into the
// runtime that a handful of moves does not repay.
const LOOP_SHIFT = 24

/**
 * One side of a book. Levels are held sorted by key ascending, key = price for bids and -price for
 * asks, so on both sides the best level has the largest key and sits last.
 */
export class BookSide {
  private keys: Float64Array
  private sizes: Float64Array
  private n = 0
  private readonly sign: 1 | -1

  constructor(
    readonly isBid: boolean,
    capacity: number = INITIAL_CAPACITY
  ) {
    this.sign = isBid ? 1 : -1
    this.keys = new Float64Array(Math.max(capacity, 4))
    this.sizes = new Float64Array(Math.max(capacity, 4))
  }

  /** Number of levels held. */
  get length(): number {
    return this.n
  }

  /** Price of the i-th best level (0 = best); undefined past the last level. */
  price(i: number): number | undefined {
    const j = this.n - 1 - i
    return j >= 0 && i >= 0 ? this.sign * this.keys[j]! + 0 : undefined
  }

  /** Size of the i-th best level (0 = best); undefined past the last level. */
  size(i: number): number | undefined {
    const j = this.n - 1 - i
    return j >= 0 && i >= 0 ? this.sizes[j] : undefined
  }

  /** Size held at `price`, 0 when there is no such level. */
  sizeAt(price: number): number {
    const key = this.sign * price
    const i = this.search(key)
    return i < this.n && this.keys[i] === key ? this.sizes[i]! : 0
  }

  /**
   * Copies the best `levels` levels (best first) into `prices`/`sizes` from `offset`; returns how
   * many there were (fewer when the side is thinner).
   */
  top(levels: number, prices: Float64Array | number[], sizes: Float64Array | number[], offset = 0): number {
    const count = Math.min(levels, this.n)
    const keys = this.keys
    const held = this.sizes
    for (let i = 0, j = this.n - 1; i < count; i++, j--) {
      prices[offset + i] = this.sign * keys[j]! + 0
      sizes[offset + i] = held[j]!
    }
    return count
  }

  /** Sets the level at `price` to `size`; size 0 deletes it (a no-op when it is not held). */
  set(price: number, size: number): void {
    const key = this.sign * price
    const keys = this.keys
    const n = this.n
    const i = this.search(key)
    if (i < n && keys[i] === key) {
      if (size === 0) this.removeAt(i)
      else this.sizes[i] = size
    } else if (size !== 0) {
      this.insertAt(i, key, size)
    }
  }

  /** Removes every level. */
  clear(): void {
    this.n = 0
  }

  /**
   * Replaces the side with `count` levels listed best first (bids descending, asks ascending, as
   * Binance snapshots list them); zero sizes are skipped. Levels out of that order are still
   * accepted: the load then falls back to inserting them one by one.
   */
  load(prices: ArrayLike<number>, sizes: ArrayLike<number>, count: number = prices.length): void {
    this.n = 0
    this.reserve(count)
    const keys = this.keys
    let m = 0
    let last = Number.POSITIVE_INFINITY
    // Best first in the input = descending key; stored ascending, so fill from the end.
    for (let i = 0; i < count; i++) {
      const size = sizes[i]!
      if (size === 0) continue
      const key = this.sign * prices[i]!
      if (!(key < last)) {
        this.loadUnordered(prices, sizes, count)
        return
      }
      last = key
      m++
    }
    for (let i = 0, j = m - 1; i < count; i++) {
      const size = sizes[i]!
      if (size === 0) continue
      keys[j] = this.sign * prices[i]!
      this.sizes[j] = size
      j--
    }
    this.n = m
  }

  private loadUnordered(prices: ArrayLike<number>, sizes: ArrayLike<number>, count: number): void {
    this.n = 0
    for (let i = 0; i < count; i++) this.set(prices[i]!, sizes[i]!)
  }

  /** Index of the first key >= `key` (n when none). */
  private search(key: number): number {
    const keys = this.keys
    let lo = 0
    let hi = this.n
    // Most changes land near the best level (the end): test the last slot first.
    if (hi > 0 && keys[hi - 1]! < key) return hi
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (keys[mid]! < key) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  private insertAt(i: number, key: number, size: number): void {
    if (this.n === this.keys.length) this.reserve(this.n * 2)
    const keys = this.keys
    const sizes = this.sizes
    const n = this.n
    if (n - i < LOOP_SHIFT) {
      for (let j = n; j > i; j--) {
        keys[j] = keys[j - 1]!
        sizes[j] = sizes[j - 1]!
      }
    } else {
      keys.copyWithin(i + 1, i, n)
      sizes.copyWithin(i + 1, i, n)
    }
    keys[i] = key
    sizes[i] = size
    this.n = n + 1
  }

  private removeAt(i: number): void {
    const keys = this.keys
    const sizes = this.sizes
    const n = this.n - 1
    if (n - i < LOOP_SHIFT) {
      for (let j = i; j < n; j++) {
        keys[j] = keys[j + 1]!
        sizes[j] = sizes[j + 1]!
      }
    } else {
      keys.copyWithin(i, i + 1, n + 1)
      sizes.copyWithin(i, i + 1, n + 1)
    }
    this.n = n
  }

  private reserve(capacity: number): void {
    if (capacity <= this.keys.length) return
    const keys = new Float64Array(capacity)
    const sizes = new Float64Array(capacity)
    keys.set(this.keys.subarray(0, this.n))
    sizes.set(this.sizes.subarray(0, this.n))
    this.keys = keys
    this.sizes = sizes
  }
}

/** Both sides of one instrument's book, prices and sizes as fixed-point integers. */
export class OrderBook {
  readonly bids = new BookSide(true)
  readonly asks = new BookSide(false)

  /** Sets one level; size 0 deletes it (a delete of a level not held is normal on Binance). */
  set(isBid: boolean, price: number, size: number): void {
    ;(isBid ? this.bids : this.asks).set(price, size)
  }

  /** Applies `count` level changes (absolute sizes, 0 = delete) to one side, in order. */
  apply(
    isBid: boolean,
    prices: ArrayLike<number>,
    sizes: ArrayLike<number>,
    count: number = prices.length
  ): void {
    const side = isBid ? this.bids : this.asks
    for (let i = 0; i < count; i++) side.set(prices[i]!, sizes[i]!)
  }

  /** Replaces the whole book with a snapshot whose levels are listed best first per side. */
  loadSnapshot(
    bidPrices: ArrayLike<number>,
    bidSizes: ArrayLike<number>,
    askPrices: ArrayLike<number>,
    askSizes: ArrayLike<number>
  ): void {
    this.bids.load(bidPrices, bidSizes)
    this.asks.load(askPrices, askSizes)
  }

  clear(): void {
    this.bids.clear()
    this.asks.clear()
  }

  /** True when the best bid is at or above the best ask. */
  get crossed(): boolean {
    const bid = this.bids.price(0)
    const ask = this.asks.price(0)
    return bid !== undefined && ask !== undefined && bid >= ask
  }
}
