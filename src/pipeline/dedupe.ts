/** Deduplicator: one record per key, the last one received wins; output sorted by key. */
import { compareByKey, type Dataset } from "../domain/Dataset.js"

export interface Deduplicated<A> {
  readonly rows: Array<A>
  /** How many records were replaced by a later record with the same key. */
  readonly duplicates: number
}

/**
 * Three paths, cheapest first, all giving the same result:
 * - sorted input (vendor pages): one pass to confirm the order, one to drop equal neighbours;
 * - time-ordered input across instruments (a live feed: every frame holds one second of many
 *   symbols), for keys `[instrument, time]`: rows are bucketed by instrument in arrival order; when
 *   every bucket's times strictly increase there is no duplicate, and the buckets in instrument
 *   order are the sorted output. No comparison sort, no string keys;
 * - otherwise a stable sort (arrival order kept among equal keys, so "last" is still the last
 *   received), then the same neighbour pass.
 */
export const makeDeduplicator = <A>(dataset: Dataset<A>) => {
  const compare = compareByKey(dataset)
  const instrument = dataset.instrument
  const time = dataset.key[1]
  const bucketable = dataset.key.length === 2 && dataset.key[0] === instrument && time !== undefined

  const isSorted = (records: ReadonlyArray<A>): boolean => {
    for (let i = 1; i < records.length; i++) if (compare(records[i - 1]!, records[i]!) > 0) return false
    return true
  }

  /** The sorted output when each instrument's times strictly increase in arrival order, else undefined. */
  const byInstrument = (records: ReadonlyArray<A>): Array<A> | undefined => {
    const buckets = new Map<unknown, Array<A>>()
    for (let i = 0; i < records.length; i++) {
      const a = records[i]!
      const id = a[instrument]
      const bucket = buckets.get(id)
      if (bucket === undefined) buckets.set(id, [a])
      else {
        const before = bucket[bucket.length - 1]![time!] as unknown
        const at = a[time!] as unknown
        if (typeof before !== "number" || typeof at !== "number" || !(at > before)) return undefined
        bucket.push(a)
      }
    }
    const ids = [...buckets.keys()]
    for (const id of ids) if (typeof id !== "string") return undefined
    ;(ids as Array<string>).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))
    const rows: Array<A> = new Array(records.length)
    let k = 0
    for (const id of ids) for (const a of buckets.get(id)!) rows[k++] = a
    return rows
  }

  /** Equal neighbours of sorted records dropped (the later kept). */
  const dropEqualNeighbours = (sorted: ReadonlyArray<A>): Array<A> => {
    const rows: Array<A> = []
    for (let i = 0; i < sorted.length; i++) {
      const a = sorted[i]!
      if (rows.length > 0 && compare(rows[rows.length - 1]!, a) === 0) rows[rows.length - 1] = a
      else rows.push(a)
    }
    return rows
  }

  return (records: ReadonlyArray<A>): Deduplicated<A> => {
    // One pass for the usual case: strictly increasing keys are sorted and free of duplicates.
    let increasing = true
    for (let i = 1; i < records.length; i++) {
      if (compare(records[i - 1]!, records[i]!) >= 0) {
        increasing = false
        break
      }
    }
    if (increasing) return { rows: records.slice(), duplicates: 0 }
    let sorted = records
    if (!isSorted(records)) {
      const fast = bucketable ? byInstrument(records) : undefined
      if (fast !== undefined) return { rows: fast, duplicates: 0 }
      sorted = [...records].sort(compare)
    }
    const rows = dropEqualNeighbours(sorted)
    return { rows, duplicates: records.length - rows.length }
  }
}
