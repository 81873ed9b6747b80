/**
 * Rebuilds a book from book_deltas rows, in row order: a block of `is_snapshot` rows replaces the
 * book (a block is the run of consecutive snapshot rows sharing final_update_id and
 * received_time), every other row sets one level (size 0 deletes it). The capture writes exactly
 * the rows it applied, so replaying a symbol's segments in seq order gives the capture's book.
 */
import type { BookDeltaRows } from "./bookSegments.js"
import type { OrderBook } from "./OrderBook.js"

/** Where a replay stands between calls (one per symbol). */
export interface ReplayState {
  /** final_update_id of the last row applied; -1 before any. */
  lastUpdateId: number
  /** Event time (ms) of the last row applied; -1 before any. */
  lastEventTime: number
  /** The previous row was a snapshot row, of the block with these ids and time. */
  inSnapshot: boolean
  snapshotId: number
  snapshotReceived: bigint
}

export const initialReplayState = (): ReplayState => ({
  lastUpdateId: -1,
  lastEventTime: -1,
  inSnapshot: false,
  snapshotId: -1,
  snapshotReceived: -1n
})

/**
 * Applies rows [from, to) to `book`; `onEvent` (optional) is called after the last row of each
 * event (rows sharing final_update_id and received_time), with the row index, so a caller can
 * sample the book at event boundaries.
 */
export const applyDeltaRows = (
  book: OrderBook,
  rows: BookDeltaRows,
  state: ReplayState,
  from = 0,
  to = rows.length,
  onEvent?: (row: number) => void
): void => {
  const { isSnapshot, finalUpdateId, receivedTime, sideIsBid, price, size, eventTime } = rows
  for (let i = from; i < to; i++) {
    const id = finalUpdateId[i]!
    if (isSnapshot[i] === 1) {
      const received = receivedTime[i]!
      if (!state.inSnapshot || state.snapshotId !== id || state.snapshotReceived !== received) {
        book.clear()
        state.inSnapshot = true
        state.snapshotId = id
        state.snapshotReceived = received
      }
    } else {
      state.inSnapshot = false
    }
    book.set(sideIsBid[i] === 1, price[i]!, size[i]!)
    state.lastUpdateId = id
    state.lastEventTime = eventTime[i]!
    if (onEvent !== undefined) {
      const next = i + 1
      if (
        next >= to ||
        finalUpdateId[next] !== id ||
        receivedTime[next] !== receivedTime[i] ||
        isSnapshot[next] !== isSnapshot[i]
      ) {
        onEvent(i)
      }
    }
  }
}
