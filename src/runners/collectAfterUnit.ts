/**
 * A unit held as columns (a ThetaData expiration: some 20 MB of typed arrays, and its joined copy)
 * is garbage once committed, but V8 frees array buffers only when it collects, and left to itself
 * it lets far more pile up first: with three downloads at a time, the peak RSS of a ThetaData day
 * swung by 40 MB from run to run (bench/RESULTS.md). After a large unit, while this thread's array
 * buffers exceed `COLLECT_ABOVE_BYTES`, a full collection of its heap keeps that peak near what is
 * really held (a few tens of milliseconds, after some of the units).
 */
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"

/** Units of at least this many rows held as columns may be followed by a collection… */
export const LARGE_UNIT_ROWS = 50_000

/** …when this thread's array buffers (live or not yet collected) exceed this. */
export const COLLECT_ABOVE_BYTES = 64 * 1024 * 1024

let collect: (() => void) | undefined

/** Collects this thread's garbage, if `rows` (a unit just committed, held as columns) is large. */
export const collectAfterUnit = (rows: number): void => {
  if (rows < LARGE_UNIT_ROWS || process.memoryUsage().arrayBuffers < COLLECT_ABOVE_BYTES) return
  if (collect === undefined) {
    // `gc` is only given to contexts made after the flag is set.
    setFlagsFromString("--expose-gc")
    collect = runInNewContext("gc") as () => void
  }
  collect()
}
