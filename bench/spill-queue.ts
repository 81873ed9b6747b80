/**
 * Items per second through the spill queue: a producer offering socket-sized chunks synchronously
 * (`offerUnsafe`, as the socket handler does) and a consumer taking batches, with no spill (capacity
 * above the burst) and with spill (a small capacity, so nearly everything goes through segment files,
 * JSON encode and decode included). Prints a markdown table.
 *
 *   node bin/run-ts.mjs bench/spill-queue.ts [items]
 */
import * as NodeFs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { Effect, Fiber } from "effect"
import * as SpillQueue from "../src/pipeline/SpillQueue.js"

interface Bar {
  readonly sym: string
  readonly t: number
  readonly o: number
  readonly h: number
  readonly l: number
  readonly c: number
  readonly v: number
}

const total = Number(process.argv[2] ?? 1_000_000)
const chunkSize = 500
const batchSize = 4096
const chunks: Array<ReadonlyArray<Bar>> = []
for (let i = 0; i < total; i += chunkSize) {
  const chunk: Array<Bar> = []
  for (let j = i; j < Math.min(total, i + chunkSize); j++) {
    chunk.push({
      sym: "SPY",
      t: 1_700_000_000_000 + j * 1000,
      o: 450.1,
      h: 450.5,
      l: 449.9,
      c: 450.2,
      v: j % 1000
    })
  }
  chunks.push(chunk)
}

const codec = {
  encode: (bar: Bar) => JSON.stringify(bar),
  decode: (line: string) => JSON.parse(line) as Bar
}

interface Row {
  readonly scenario: string
  readonly ms: number
  readonly spilled: number
}

/**
 * With `yieldEvery`, producer and consumer run concurrently and the producer yields after that many
 * chunks (a socket delivering bursts); without it the whole input is offered before the consumer starts.
 */
const run = (scenario: string, capacity: number, yieldEvery: number | undefined) =>
  Effect.gen(function* () {
    const dir = yield* Effect.promise(() => NodeFs.mkdtemp(Path.join(Os.tmpdir(), "tapehouse-spill-bench-")))
    const queue = yield* SpillQueue.make<Bar>({ dir, capacity, ...codec })
    const t0 = performance.now()
    const produce = Effect.gen(function* () {
      let n = 0
      for (const chunk of chunks) {
        // Over `maxStaged` the producer is told the disk lags: it waits for the writer, as a runner would pause.
        if (queue.offerUnsafe(chunk) !== undefined) yield* queue.flush
        if (yieldEvery !== undefined && ++n % yieldEvery === 0) yield* Effect.yieldNow()
      }
      yield* queue.end
    })
    let received = 0
    let last = -1
    const consume = Effect.gen(function* () {
      for (;;) {
        const batch = yield* queue.takeBatch(batchSize)
        if (batch.length === 0) return
        for (const bar of batch) {
          if (bar.t <= last) throw new Error("out of order")
          last = bar.t
        }
        received += batch.length
      }
    })
    if (yieldEvery !== undefined) {
      const producer = yield* Effect.fork(produce)
      yield* consume
      yield* Fiber.join(producer)
    } else {
      yield* produce
      yield* consume
    }
    const ms = performance.now() - t0
    if (received !== total) throw new Error(`received ${received} of ${total}`)
    const row: Row = { scenario, ms, spilled: queue.stats().spilledTotal }
    yield* Effect.promise(() => NodeFs.rm(dir, { recursive: true, force: true }))
    return row
  }).pipe(Effect.scoped)

/** What the spill costs at least: the caller's codec, encode and decode of every item, with no queue. */
const codecAlone = (): Row => {
  const t0 = performance.now()
  for (const chunk of chunks) {
    let text = ""
    for (const bar of chunk) text += codec.encode(bar) + "\n"
    const lines = text.slice(0, -1).split("\n")
    for (const line of lines) codec.decode(line)
  }
  return {
    scenario: "baseline: JSON encode + decode of every item, no queue",
    ms: performance.now() - t0,
    spilled: 0
  }
}

const rows: Array<Row> = []
const program = Effect.gen(function* () {
  yield* run("warm-up", 1_000_000_000, 1)
  rows.push(yield* run("no spill: producer and consumer together", 1_000_000_000, 1))
  rows.push(yield* run("bursts of 20k over capacity 5k, consumer running", 5_000, 40))
  rows.push(yield* run("whole input spilled first, then drained (capacity 10k)", 10_000, undefined))
  rows.push(codecAlone())
})
await Effect.runPromise(program)

const fmt = (n: number) => Math.round(n).toLocaleString("en-US")
console.log(
  `SpillQueue, ${fmt(total)} items in chunks of ${chunkSize}, batches of ${batchSize}, Node ${process.version}\n`
)
console.log("| scenario | items/s | spilled | ms |")
console.log("|---|---:|---:|---:|")
for (const row of rows) {
  console.log(`| ${row.scenario} | ${fmt((total / row.ms) * 1000)} | ${fmt(row.spilled)} | ${fmt(row.ms)} |`)
}
