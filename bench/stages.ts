/**
 * Per-stage cost of one trading day of SPY per-second bars (about 22k rows), to see where a
 * backfill's time goes: the simulator's generation and JSON, the client's parse and decode,
 * validation, dedupe, Parquet encoding and the atomic write. Single thread, no HTTP.
 *
 *   node bin/run-ts.mjs bench/stages.ts
 */
import * as NodeFs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { Effect } from "effect"
import { nyseDay } from "../src/calendar/nyseRules.js"
import { StockBars1s } from "../src/domain/StockBar.js"
import { makeDeduplicator } from "../src/pipeline/dedupe.js"
import { makeValidator } from "../src/pipeline/validate.js"
import { secondBars } from "../src/sim/syntheticMarket.js"
import { writeFileAtomic } from "../src/sinks/atomicFile.js"
import { encodeParquet } from "../src/sinks/parquetCodec.js"
import { decodeBar } from "../src/sources/massive/wire.js"

const dates: Array<string> = []
for (let d = new Date("2023-01-03"); dates.length < 40; d.setUTCDate(d.getUTCDate() + 1)) {
  const iso = d.toISOString().slice(0, 10)
  if (nyseDay(iso)._tag === "open") dates.push(iso)
}
const validate = makeValidator(StockBars1s)
const dedupe = makeDeduplicator(StockBars1s)
const dir = await NodeFs.mkdtemp(Path.join(Os.tmpdir(), "tapehouse-stages-"))

const totals = new Map<string, number>()
const time = <A>(stage: string, f: () => A): A => {
  const t0 = performance.now()
  const out = f()
  totals.set(stage, (totals.get(stage) ?? 0) + performance.now() - t0)
  return out
}
let rows = 0
for (const date of dates) {
  const bars = time("sim: generate bars", () => secondBars("SPY", date))
  const body = time("sim: JSON.stringify page", () =>
    JSON.stringify({
      ticker: "SPY",
      results: bars.map((b) => ({
        v: b.volume,
        vw: b.vwap,
        o: b.open,
        c: b.close,
        h: b.high,
        l: b.low,
        t: b.ts,
        n: b.trades
      }))
    })
  )
  const parsed = time("client: JSON.parse", () => JSON.parse(body) as { results: Array<unknown> })
  const decoded = time("client: decode bars", () => {
    const out = []
    for (const raw of parsed.results) {
      const r = decodeBar(raw, "SPY")
      if (r._tag === "Bar") out.push(r.bar)
    }
    return out
  })
  const session = nyseDay(date)
  if (session._tag !== "open") continue
  const valid = time(
    "pipeline: validate",
    () => validate(decoded, { date, startMs: session.openMs, endMs: session.closeMs }).valid
  )
  const deduped = time("pipeline: dedupe", () => dedupe(valid).rows)
  const bytes = time("sink: encode Parquet (snappy)", () =>
    encodeParquet(StockBars1s, deduped, { compression: "snappy", rowGroupSize: 100000 })
  )
  const t0 = performance.now()
  await Effect.runPromise(writeFileAtomic(Path.join(dir, `${date}.parquet`), bytes))
  totals.set(
    "sink: atomic write + fsync",
    (totals.get("sink: atomic write + fsync") ?? 0) + performance.now() - t0
  )
  rows += deduped.length
}
await NodeFs.rm(dir, { recursive: true, force: true })
const all = [...totals.values()].reduce((a, b) => a + b, 0)
console.log(`${dates.length} days, ${rows} rows; per day (about ${Math.round(rows / dates.length)} rows):`)
console.log("| stage | ms per day | rows/s alone | share |")
console.log("|---|---|---|---|")
for (const [stage, ms] of totals)
  console.log(
    `| ${stage} | ${(ms / dates.length).toFixed(1)} | ${Math.round((rows / ms) * 1000).toLocaleString("en-US")} | ${((100 * ms) / all).toFixed(0)}% |`
  )
console.log(
  `| all stages | ${(all / dates.length).toFixed(1)} | ${Math.round((rows / all) * 1000).toLocaleString("en-US")} | 100% |`
)
