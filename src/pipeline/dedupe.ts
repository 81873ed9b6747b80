/** Deduplicator: one record per key, the last one received wins; output sorted by key. */
import { compareByKey, type Dataset, keyOf } from "../domain/Dataset.js"

export interface Deduplicated<A> {
  readonly rows: Array<A>
  /** How many records were replaced by a later record with the same key. */
  readonly duplicates: number
}

export const makeDeduplicator = <A>(dataset: Dataset<A>) => {
  const key = keyOf(dataset)
  const compare = compareByKey(dataset)
  return (records: ReadonlyArray<A>): Deduplicated<A> => {
    const byKey = new Map<string, A>()
    for (let i = 0; i < records.length; i++) {
      const a = records[i]!
      byKey.set(key(a), a)
    }
    const rows = Array.from(byKey.values())
    rows.sort(compare)
    return { rows, duplicates: records.length - rows.length }
  }
}
