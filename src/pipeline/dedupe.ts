/** Deduplicator: one record per key, the last one received wins; output sorted by key. */
import { compareByKey, type Dataset } from "../domain/Dataset.js"

export interface Deduplicated<A> {
  readonly rows: Array<A>
  /** How many records were replaced by a later record with the same key. */
  readonly duplicates: number
}

/**
 * Vendor pages arrive sorted, so the common case is one pass to confirm the order and one to
 * drop equal neighbours: no hashing, no string keys. Otherwise a stable sort (arrival order kept
 * among equal keys, so "last" is still the last received) does the same.
 */
export const makeDeduplicator = <A>(dataset: Dataset<A>) => {
  const compare = compareByKey(dataset)
  return (records: ReadonlyArray<A>): Deduplicated<A> => {
    let sorted = records
    for (let i = 1; i < records.length; i++) {
      if (compare(records[i - 1]!, records[i]!) > 0) {
        sorted = [...records].sort(compare)
        break
      }
    }
    const rows: Array<A> = []
    for (let i = 0; i < sorted.length; i++) {
      const a = sorted[i]!
      if (rows.length > 0 && compare(rows[rows.length - 1]!, a) === 0) rows[rows.length - 1] = a
      else rows.push(a)
    }
    return { rows, duplicates: records.length - rows.length }
  }
}
