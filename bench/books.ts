/**
 * Book rebuild speed: our OrderBook (src/books) against tardis-dev's OrderBook (red-black trees,
 * float prices) on the same deltas, in the same run, on one core.
 *
 *   node bin/run-ts.mjs bench/books.ts [events] [passes]
 *
 * Inputs, decoded before timing (ours to fixed-point integers, tardis's to its BookChange with
 * Number() prices, as its Binance mapper does):
 * - a seeded synthetic BTCUSDT-like stream (test/support/randomDepth.ts): a 1000-level snapshot,
 *   then `events` depthUpdate events (default 200,000) of 1-12 level changes, mostly near the top;
 * - the real captures in ../shared/fixtures/binance (when present), each replayed many times from
 *   its snapshot (the events the sync applies).
 * An "update" is one level change of an event (one row of book_deltas); the time of each rebuild
 * includes loading its snapshot, whose levels are not counted. Each figure is the best of `passes`
 * (default 5) passes in CPU time of this process, each engine timed in turn on each input.
 * Last, the cost of getting there on the capture path: the synthetic events' frame text through
 * JSON.parse and decodeDepthEvent.
 */
import { Either } from "effect"
import { type BookChange, OrderBook as TardisOrderBook } from "tardis-dev"
import { OrderBook } from "../src/books/OrderBook.js"
import { type DepthRules, DepthSync } from "../src/sources/binance/depthSync.js"
import {
  type DepthEvent,
  type DepthSnapshot,
  decodeDepthEvent,
  decodeDepthSnapshot,
  framePayload
} from "../src/sources/binance/depthWire.js"
import { type SymbolScales, symbolScales } from "../src/sources/binance/exchangeInfo.js"
import { haveBinanceFixtures, loadCapture } from "../test/support/binanceFixtures.js"
import { randomDepth, randomScales } from "../test/support/randomDepth.js"
import { bookChange } from "../test/support/tardisBook.js"

const EVENTS = Number(process.argv[2] ?? 200_000)
const PASSES = Number(process.argv[3] ?? 5)
const fmt = (n: number) => Math.round(n).toLocaleString("en-US")

const cpuMs = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

interface Workload {
  readonly name: string
  readonly rules: DepthRules
  readonly scales: SymbolScales
  readonly snapshot: DepthSnapshot
  readonly events: ReadonlyArray<DepthEvent>
  readonly tardisSnapshot: BookChange
  readonly tardisEvents: ReadonlyArray<BookChange>
  readonly levelChanges: number
  /** Rebuilds per timed pass (small captures are replayed many times). */
  readonly repeat: number
}

type RawEvent = { b: string[][]; a: string[][] }

const workload = (
  name: string,
  rules: DepthRules,
  scales: SymbolScales,
  rawSnapshot: { bids: string[][]; asks: string[][] },
  rawEvents: ReadonlyArray<RawEvent>,
  repeat: number
): Workload => {
  const events = rawEvents.map((raw) => Either.getOrThrow(decodeDepthEvent(raw, scales)))
  return {
    name,
    rules,
    scales,
    snapshot: Either.getOrThrow(decodeDepthSnapshot(rawSnapshot, scales)),
    events,
    tardisSnapshot: bookChange(scales.symbol, true, rawSnapshot.bids, rawSnapshot.asks),
    tardisEvents: rawEvents.map((raw) => bookChange(scales.symbol, false, raw.b, raw.a)),
    levelChanges: events.reduce((n, e) => n + e.bidPrices.length + e.askPrices.length, 0),
    repeat
  }
}

const workloads: Workload[] = []
/** The synthetic events as combined-stream frame text, as they arrive on the WebSocket. */
let rawTexts: string[] = []
{
  const start = Date.now()
  const stream = randomDepth({ seed: 1, events: EVENTS, depth: 1000 })
  rawTexts = stream.events
    .slice(1)
    .map((data) => JSON.stringify({ stream: `${randomScales.symbol.toLowerCase()}@depth@100ms`, data }))
  // The first event is the one the snapshot already holds (see randomDepth): not replayed.
  workloads.push(
    workload(
      `synthetic, ${fmt(EVENTS)} events`,
      "spot",
      randomScales,
      stream.snapshot,
      stream.events.slice(1),
      1
    )
  )
  console.log(`built the synthetic stream in ${fmt(Date.now() - start)} ms`)
}
if (haveBinanceFixtures) {
  for (const venue of ["binance-spot", "binance-usdm"] as const) {
    const capture = loadCapture(venue)
    const scales = Either.getOrThrow(symbolScales(venue, capture.exchangeInfo)).get(capture.symbol)!
    // The events the official procedure applies onto this snapshot (no gap in either capture).
    const rules = venue === "binance-spot" ? "spot" : "usdm"
    const sync = new DepthSync(capture.symbol, rules)
    const payloads = capture.frames.map((f) => framePayload(f.frame) as RawEvent)
    const decoded = payloads.map((raw) => Either.getOrThrow(decodeDepthEvent(raw, scales)))
    for (const e of decoded) sync.onEvent(e)
    const outcome = sync.onSnapshot(Either.getOrThrow(decodeDepthSnapshot(capture.snapshot, scales)))
    if (outcome._tag !== "Synced") throw new Error(`${capture.symbol}: ${outcome._tag}`)
    workloads.push(
      workload(
        `${capture.symbol} capture ×2000`,
        rules,
        scales,
        capture.snapshot,
        payloads.slice(outcome.dropped),
        2000
      )
    )
  }
}

/** Best CPU time of PASSES runs of `f`, ms. */
const timeIt = (f: () => void): number => {
  f() // warm-up
  let best = Number.POSITIVE_INFINITY
  for (let i = 0; i < PASSES; i++) {
    const start = cpuMs()
    f()
    best = Math.min(best, cpuMs() - start)
  }
  return best
}

let sink = 0 // keeps results observable so nothing is optimised away

const ours = (w: Workload) => () => {
  for (let r = 0; r < w.repeat; r++) {
    const book = new OrderBook()
    const s = w.snapshot
    book.loadSnapshot(s.bidPrices, s.bidSizes, s.askPrices, s.askSizes)
    for (const e of w.events) {
      book.apply(true, e.bidPrices, e.bidSizes)
      book.apply(false, e.askPrices, e.askSizes)
    }
    sink += book.bids.length
  }
}

const oursSynced = (w: Workload) => () => {
  for (let r = 0; r < w.repeat; r++) {
    const sync = new DepthSync(w.scales.symbol, w.rules)
    // The workload's events are those the sync applies onto this snapshot, each checked live.
    sync.onSnapshot(w.snapshot)
    for (const e of w.events) sync.onEvent(e)
    sink += sync.book.bids.length
  }
}

const tardis = (w: Workload) => () => {
  for (let r = 0; r < w.repeat; r++) {
    const book = new TardisOrderBook()
    book.update(w.tardisSnapshot)
    for (const change of w.tardisEvents) book.update(change)
    sink += book.bestBid()?.amount ?? 0
  }
}

const TOP = 20
const oursTop = (w: Workload) => () => {
  const prices = new Float64Array(TOP)
  const sizes = new Float64Array(TOP)
  for (let r = 0; r < w.repeat; r++) {
    const book = new OrderBook()
    const s = w.snapshot
    book.loadSnapshot(s.bidPrices, s.bidSizes, s.askPrices, s.askSizes)
    for (const e of w.events) {
      book.apply(true, e.bidPrices, e.bidSizes)
      book.apply(false, e.askPrices, e.askSizes)
      sink += book.bids.top(TOP, prices, sizes) + book.asks.top(TOP, prices, sizes)
    }
  }
}

const tardisTop = (w: Workload) => () => {
  for (let r = 0; r < w.repeat; r++) {
    const book = new TardisOrderBook()
    book.update(w.tardisSnapshot)
    for (const change of w.tardisEvents) {
      book.update(change)
      for (const side of [book.bids(), book.asks()]) {
        let n = 0
        for (const level of side) {
          sink += level.amount
          if (++n === TOP) break
        }
      }
    }
  }
}

console.log(`node ${process.version}, ${PASSES} passes, best CPU time; an update = one level change\n`)
console.log(
  "| deltas | updates | ours (OrderBook) | ours + sync (DepthSync) | tardis-dev OrderBook | ratio |"
)
console.log("| --- | --: | --: | --: | --: | --: |")
const rows: string[] = []
for (const w of workloads) {
  // Only the events' level changes count as updates; loading each snapshot is in the time.
  const total = w.levelChanges * w.repeat
  const t = timeIt(tardis(w))
  const o = timeIt(ours(w))
  const os = timeIt(oursSynced(w))
  const rate = (ms: number) => `${fmt((total / ms) * 1000)}/s`
  console.log(
    `| ${w.name} | ${fmt(total)} | ${rate(o)} | ${rate(os)} | ${rate(t)} | ${(t / o).toFixed(1)}× |`
  )
  const tt = timeIt(tardisTop(w))
  const ot = timeIt(oursTop(w))
  rows.push(`| ${w.name} | ${rate(ot)} | ${rate(tt)} | ${(tt / ot).toFixed(1)}× |`)
}
console.log(`\nThe same, reading the top ${TOP} levels of both sides after every event:\n`)
console.log("| deltas | ours | tardis-dev | ratio |")
console.log("| --- | --: | --: | --: |")
for (const row of rows) console.log(row)

// The capture path's share before the book: the WebSocket frame's text to a checked event.
{
  const w = workloads[0]!
  const decode = () => {
    for (const text of rawTexts) {
      const decoded = decodeDepthEvent(framePayload(JSON.parse(text)), w.scales)
      if (Either.isRight(decoded)) sink += decoded.right.u
    }
  }
  const ms = timeIt(decode)
  console.log(
    `\nDecoding the synthetic stream from frame text (JSON.parse + decodeDepthEvent): ${fmt((rawTexts.length / ms) * 1000)} events/s, ${fmt((w.levelChanges / ms) * 1000)} level changes/s`
  )
}
if (sink === -1) console.log(sink)
