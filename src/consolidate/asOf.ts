/**
 * "The last value at or before ts" over a series sorted by time: the as-of lookup every
 * consolidated column uses, so that nothing after ts is read.
 */

/** A time series as two parallel columns, ascending by `ts`. */
export interface Series {
  readonly ts: Float64Array
  readonly value: Float64Array
}

export const seriesOf = <A>(
  rows: ReadonlyArray<A>,
  ts: (a: A) => number,
  value: (a: A) => number
): Series => {
  const sorted = [...rows].sort((a, b) => ts(a) - ts(b))
  const out = { ts: new Float64Array(sorted.length), value: new Float64Array(sorted.length) }
  for (let i = 0; i < sorted.length; i++) {
    out.ts[i] = ts(sorted[i]!)
    out.value[i] = value(sorted[i]!)
  }
  return out
}

/** The index of the last point with ts' ≤ ts, or −1 when there is none. */
export const indexAtOrBefore = (series: Series, ts: number): number => {
  let lo = 0
  let hi = series.ts.length - 1
  let found = -1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    if (series.ts[mid]! <= ts) {
      found = mid
      lo = mid + 1
    } else hi = mid - 1
  }
  return found
}

/** The value of the last point at or before ts, or null. */
export const valueAtOrBefore = (series: Series, ts: number): number | null => {
  const i = indexAtOrBefore(series, ts)
  return i < 0 ? null : series.value[i]!
}
