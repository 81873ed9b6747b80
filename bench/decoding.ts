/**
 * The hot per-message paths, alone, in bars (or lines) per second: what used to be wall-clock
 * assertions inside unit tests (wire.test.ts, wsWire.test.ts, redact.test.ts), measured here.
 *
 *   - REST: one page of 23,400 aggregate bars decoded by `decodeBar` (plain checks), and by the
 *     `AggregateBar` Schema for comparison;
 *   - WebSocket: frames of 10 and of 1,000 `A` events decoded by `decodeFrame` with the stock bars'
 *     codec, against `JSON.parse` alone on the same frames;
 *   - the log redactor on an ordinary line (no secret in it).
 *
 * Best of 5 rounds each.
 *
 *   taskset -c 1 node bin/run-ts.mjs bench/decoding.ts
 */
import { Schema } from "effect"
import { makeRedactor } from "../src/config/redact.js"
import { codec } from "../src/sources/massive/stockBarsFeed.js"
import { AggregateBar, decodeBar } from "../src/sources/massive/wire.js"
import { decodeFrame } from "../src/sources/massive/wsWire.js"

const ROUNDS = 5
const best = (items: number, f: () => void): number => {
  f()
  let ms = Number.POSITIVE_INFINITY
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now()
    f()
    ms = Math.min(ms, performance.now() - t0)
  }
  return (items / ms) * 1000
}
const perSecond = (rate: number, unit: string) => `${Math.round(rate).toLocaleString("en-US")} ${unit}/s`

// REST page of a session of per-second bars.
const bars = Array.from({ length: 23_400 }, (_, i) => ({
  v: 100 + i,
  vw: 500.1 + i / 1000,
  o: 500,
  c: 500.2,
  h: 500.3,
  l: 499.9,
  t: 1704205800000 + i * 1000,
  n: 3
}))
let kept = 0
const plain = best(bars.length * 10, () => {
  for (let k = 0; k < 10; k++) for (const b of bars) if (decodeBar(b, "SPY")._tag === "Bar") kept++
})
const schema = Schema.decodeUnknownEither(AggregateBar)
const viaSchema = best(bars.length, () => {
  for (const b of bars) if (schema(b)._tag === "Right") kept++
})

// WebSocket frames of `size` A events, 100,000 events in all.
const frames = (size: number): ReadonlyArray<string> =>
  Array.from({ length: 100_000 / size }, (_, f) =>
    JSON.stringify(
      Array.from({ length: size }, (_, i) => ({
        ev: "A",
        sym: `S${i}`,
        v: 100,
        av: 1000 + f,
        op: 500,
        vw: 500.1,
        o: 500,
        c: 500.2,
        h: 500.3,
        l: 499.9,
        a: 500.05,
        z: 10,
        s: 1704205800000 + f * 1000,
        e: 1704205801000 + f * 1000
      }))
    )
  )
const ws: Array<string> = []
for (const size of [10, 1000]) {
  const texts = frames(size)
  const decode = best(100_000, () => {
    for (const t of texts) decodeFrame(t, 0, codec)
  })
  const parse = best(100_000, () => {
    for (const t of texts) JSON.parse(t)
  })
  ws.push(
    `| WebSocket frames of ${size} A events: decodeFrame | ${perSecond(decode, "events")} | JSON.parse alone: ${perSecond(parse, "events")} |`
  )
}

const redact = makeRedactor([
  "abcdefghijklmnopqrstuvwxyz0123456789ZYXW",
  "postgres://app:s3cr3t@db:5432/lake"
])
const line = "backfill AAPL 2024-05-01: 23400 rows in 3 pages, committed to parquet and sql"
const redacted = best(100_000, () => {
  for (let i = 0; i < 100_000; i++) redact(line)
})

console.log(`node ${process.version}, ${new Date().toISOString()}`)
console.log("| path | rate | for comparison |")
console.log("| --- | --- | --- |")
console.log(
  `| REST page of 23,400 bars: decodeBar | ${perSecond(plain, "bars")} | AggregateBar Schema: ${perSecond(viaSchema, "bars")} |`
)
for (const row of ws) console.log(row)
console.log(`| redact, a line without a secret | ${perSecond(redacted, "lines")} | |`)
if (kept === 0) throw new Error("nothing decoded")
