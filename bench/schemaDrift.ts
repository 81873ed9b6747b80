/**
 * What the schema drift check costs on the hot paths, against the work it rides on:
 *
 *   - REST: `scanAggregatesBody` of a 50,000-bar page (which now keeps the first bar's text), and
 *     the check's share per page: `JSON.parse` of that text plus `ShapeChecker.check`;
 *   - WebSocket: `decodeFrame` of frames of 10 and of 1,000 `A` events, and the check's cost per
 *     sampled frame: `firstEventOf` plus `ShapeChecker.check` (a connection samples the first frame
 *     of a chunk, at most every 100 ms: the share is that of a connection sampling every frame);
 *   - the check of a sample with unknown keys (`dv`, `dav`) once its signature is known.
 *
 * Best of 5 rounds each.
 *
 *   taskset -c 1 node bin/run-ts.mjs bench/schemaDrift.ts
 */
import { ShapeChecker, shapeOf } from "../src/monitor/SchemaDrift.js"
import { scanAggregatesBody } from "../src/sources/massive/aggregatesBody.js"
import { firstEventOf } from "../src/sources/massive/MassiveSocket.js"
import { codec } from "../src/sources/massive/stockBarsFeed.js"
import { AggregateBar, stockBarCodec } from "../src/sources/massive/wire.js"
import { AggregateEvent, decodeFrame } from "../src/sources/massive/wsWire.js"

const ROUNDS = 5
/** Best time of one call of `f`, in microseconds (`repeat` calls a round). */
const bestUs = (repeat: number, f: () => void): number => {
  f()
  let ms = Number.POSITIVE_INFINITY
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now()
    for (let i = 0; i < repeat; i++) f()
    ms = Math.min(ms, performance.now() - t0)
  }
  return (ms * 1000) / repeat
}
const us = (x: number) => `${x < 10 ? x.toFixed(2) : Math.round(x).toLocaleString("en-US")} µs`
const share = (part: number, whole: number) => `${((part / whole) * 100).toFixed(3)} %`

let sink = 0

// REST: a page of 50,000 per-second bars.
const bars = Array.from({ length: 50_000 }, (_, i) => ({
  v: 100 + i,
  vw: 500.1 + i / 1000,
  o: 500,
  c: 500.2,
  h: 500.3,
  l: 499.9,
  t: 1704205800000 + i * 1000,
  n: 3
}))
const body = JSON.stringify({ ticker: "SPY", status: "OK", resultsCount: bars.length, results: bars })
const scan = bestUs(5, () => {
  sink += scanAggregatesBody(body, "SPY", stockBarCodec)?.bars.length ?? 0
})
const firstBar = scanAggregatesBody(body, "SPY", stockBarCodec)?.firstBar ?? ""
const restChecker = new ShapeChecker(shapeOf(AggregateBar))
const restCheck = bestUs(10_000, () => {
  sink += restChecker.check(JSON.parse(firstBar) as Record<string, unknown>).length
})

// WebSocket frames.
const event = (i: number) => ({
  ev: "A",
  sym: `S${i}`,
  v: 200,
  av: 8_000_000,
  op: 470.1,
  vw: 471.02,
  o: 471,
  c: 471.05,
  h: 471.1,
  l: 470.99,
  a: 470.8,
  z: 50,
  s: 1_709_650_800_000,
  e: 1_709_650_801_000
})
const wsChecker = new ShapeChecker(shapeOf(AggregateEvent))
const frameRows: Array<[string, string, string, string]> = []
for (const size of [10, 1000]) {
  const frame = JSON.stringify(Array.from({ length: size }, (_, i) => event(i)))
  const decode = bestUs(size === 10 ? 20_000 : 200, () => {
    sink += decodeFrame(frame, 0, codec).length
  })
  const check = bestUs(20_000, () => {
    const sample = firstEventOf(frame)
    if (sample !== undefined) sink += wsChecker.check(sample).length
  })
  frameRows.push([`WebSocket frame of ${size} A events`, us(decode), us(check), share(check, decode)])
}

// A drifting sample (dv, dav) once its signature is known.
const drifting = { ...event(0), dv: "200.5", dav: "8000000.25" }
const known = bestUs(100_000, () => {
  sink += wsChecker.check(drifting).length
})

const rows: Array<[string, string, string, string]> = [
  ["REST page of 50,000 bars (scanAggregatesBody)", us(scan), us(restCheck), share(restCheck, scan)],
  ...frameRows
]
console.log("| path | decode | drift check | share |")
console.log("| --- | --- | --- | --- |")
for (const r of rows) console.log(`| ${r.join(" | ")} |`)
console.log(`\nShapeChecker.check of a drifting sample (dv, dav), signature known: ${us(known)}`)
if (sink < 0) console.log(sink)
