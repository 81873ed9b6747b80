/**
 * Encoding and validating one day of SPY per-second bars (~22k rows), alone: the two stages the
 * column types touch on the existing dataset, timed over 20 days × 5 rounds (median per day).
 * It imports only modules that predate the column types, so the same file runs on an older
 * commit for a before/after comparison.
 *
 *   taskset -c 1 node bin/run-ts.mjs bench/encodeBars.ts
 */
import { nyseDay } from "../src/calendar/nyseRules.js"
import type { StockBar } from "../src/domain/StockBar.js"
import { StockBars1s } from "../src/domain/StockBar.js"
import { makeValidator } from "../src/pipeline/validate.js"
import { secondBars } from "../src/sim/syntheticMarket.js"
import { encodeParquet } from "../src/sinks/parquetCodec.js"

const days: Array<{ date: string; bars: ReadonlyArray<StockBar>; startMs: number; endMs: number }> = []
for (let d = new Date("2023-01-03"); days.length < 20; d.setUTCDate(d.getUTCDate() + 1)) {
  const date = d.toISOString().slice(0, 10)
  const session = nyseDay(date)
  if (session._tag === "open")
    days.push({ date, bars: secondBars("SPY", date), startMs: session.openMs, endMs: session.closeMs })
}
const validate = makeValidator(StockBars1s)
const encode: Array<number> = []
const check: Array<number> = []
for (let round = 0; round < 6; round++) {
  let e = 0
  let v = 0
  for (const day of days) {
    let t0 = performance.now()
    validate(day.bars, day)
    v += performance.now() - t0
    t0 = performance.now()
    encodeParquet(StockBars1s, day.bars, { compression: "snappy", rowGroupSize: 100_000 })
    e += performance.now() - t0
  }
  if (round > 0) {
    // round 0 warms up
    encode.push(e / days.length)
    check.push(v / days.length)
  }
}
const rows = days.reduce((n, d) => n + d.bars.length, 0) / days.length
const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
console.log(
  `${Math.round(rows)} rows/day: encode ${median(encode).toFixed(1)} ms/day (min ${Math.min(...encode).toFixed(1)}), ` +
    `validate ${median(check).toFixed(1)} ms/day (min ${Math.min(...check).toFixed(1)})`
)
