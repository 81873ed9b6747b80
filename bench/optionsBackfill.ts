/**
 * Options backfill benchmark: one day of SPY's tracked chain (every call and put within ±1 % of
 * the open, expiring within 7 days: ~120 contracts, ~1M per-second bars) from the Massive
 * simulator, no rate limit, through the real HTTP client, discovery, validator, deduplicator, sinks
 * and checkpoints.
 *
 *   node bin/run-ts.mjs bench/optionsBackfill.ts [date] [max_dte] [worker|inline] [parquet|sql]
 *
 * - `worker` (default): the simulator runs on a worker thread, as a vendor runs out of process;
 *   `inline`: on tapehouse's own event loop (how the figures before 2026-12-02 were taken).
 * - `parquet` (default): the Parquet sink; `sql`: Parquet and SQL (embedded PGlite), as in
 *   production with both sinks on.
 *
 * Passes, in this order (each a whole day, `--overwrite`):
 *   1. run, cold: the simulator prices every contract-second on first touch;
 *   2. requests: discovery plus every contract's pages through the feed, nothing else
 *      (simulator serving + JSON + HTTP + the client's decode);
 *   3. run, warm: the simulator serves days it has priced.
 * "tapehouse" = run (warm) − requests: validation, dedupe, sinks, checkpoints. Each pass prints wall
 * time, the process's CPU time (all threads), the main thread's CPU time (tapehouse's, and with
 * `inline` the simulator's too) and, with `worker`, the simulator thread's event-loop busy time.
 */
import { readFileSync } from "node:fs"
import { Worker } from "node:worker_threads"
import { Effect, Layer, Logger, LogLevel, Stream } from "effect"
import * as MarketCalendar from "../src/calendar/MarketCalendar.js"
import { AppConfig } from "../src/config/AppConfig.js"
import { addDays } from "../src/domain/time.js"
import * as Checkpoints from "../src/pipeline/Checkpoints.js"
import * as Backfill from "../src/runners/backfill.js"
import * as MassiveSim from "../src/sim/MassiveSim.js"
import { contractsListed, optionSecondBars, underlyingOpen } from "../src/sim/options/optionsChain.js"
import { optionsMarket, registerOptionContracts } from "../src/sim/options/optionsSim.js"
import * as Quarantine from "../src/sinks/Quarantine.js"
import * as SinksLive from "../src/sinks/SinksLive.js"
import * as MassiveRest from "../src/sources/massive/MassiveRest.js"
import * as OptionBarsFeed from "../src/sources/massive/optionBarsFeed.js"
import { benchConfig, scratchDir } from "./benchConfig.js"

const DATE = process.argv[2] ?? "2024-03-05"
const MAX_DTE = Number(process.argv[3] ?? 7)
const SIM = process.argv[4] ?? "worker"
const SINKS = process.argv[5] ?? "parquet"
if (SIM !== "worker" && SIM !== "inline") throw new Error(`sim must be worker or inline, not ${SIM}`)
if (SINKS !== "parquet" && SINKS !== "sql") throw new Error(`sinks must be parquet or sql, not ${SINKS}`)

const fmt = (n: number) => Math.round(n).toLocaleString("en-US")
const secs = (ms: number) => (ms / 1000).toFixed(2)

/** The simulator on a worker thread (through tsx there too); its URL, and the thread to measure and stop. */
const simWorker = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly worker: Worker }>((resume) => {
    const worker = new Worker(new URL("./tsWorker.mjs", import.meta.url), {
      workerData: { script: new URL("./optionsSimWorker.ts", import.meta.url).href }
    })
    worker.once("message", (m: { url: string }) => resume(Effect.succeed({ url: m.url, worker })))
    worker.once("error", (e) => resume(Effect.die(e)))
  }),
  ({ worker }) => Effect.promise(() => worker.terminate())
)

/** This (main) thread's CPU time in ms, from /proc (Linux; Node 20 has no per-thread CPU clock). */
const mainThreadCpuMs = (): number => {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  // utime and stime, fields 14 and 15 of stat(5), in clock ticks of 10 ms.
  return (Number(fields[11]) + Number(fields[12])) * 10
}

interface Sample {
  readonly wall: number
  readonly cpu: NodeJS.CpuUsage
  readonly mainCpuMs: number
  readonly simElu: ReturnType<typeof performance.eventLoopUtilization> | undefined
}

const program = Effect.gen(function* () {
  let url: string
  let worker: Worker | undefined
  if (SIM === "worker") {
    const w = yield* simWorker
    url = w.url
    worker = w.worker
  } else {
    const sim = yield* MassiveSim.make({ port: 0, markets: [optionsMarket] })
    registerOptionContracts(sim)
    url = sim.url
  }
  /** Each pass gets a data dir of its own: a run into an empty lake, as a first backfill of the day is. */
  const stackIn = (dataDir: string) => {
    const base = benchConfig({ dataDir, restUrl: url, parquet: true, sql: SINKS === "sql" })
    const config = { ...base, options: { ...base.options, maxDte: MAX_DTE } }
    return Layer.mergeAll(
      MassiveRest.Live,
      MarketCalendar.Test,
      Layer.effect(Checkpoints.Checkpoints, Checkpoints.make(dataDir)),
      Quarantine.Live,
      SinksLive.fromConfig
    ).pipe(Layer.provideMerge(Layer.succeed(AppConfig, config)))
  }
  const inFreshLake = <A, E>(effect: Effect.Effect<A, E, Layer.Layer.Success<ReturnType<typeof stackIn>>>) =>
    Effect.flatMap(scratchDir("tapehouse-bench-options-"), (dataDir) =>
      Effect.scoped(Effect.provide(effect, stackIn(dataDir)))
    )

  const open = underlyingOpen("SPY", DATE)!
  const tracked = contractsListed("SPY", DATE, DATE, addDays(DATE, MAX_DTE)).filter(
    (c) => c.strikeMilli / 1000 >= open * 0.99 && c.strikeMilli / 1000 <= open * 1.01
  )
  const sample = (): Sample => ({
    wall: performance.now(),
    cpu: process.cpuUsage(),
    mainCpuMs: mainThreadCpuMs(),
    simElu: worker?.performance.eventLoopUtilization()
  })
  const rows: Array<string> = []
  const line = (what: string, n: number, a: Sample, b: Sample): { wall: number; mainCpu: number } => {
    const wall = b.wall - a.wall
    const cpuMs = (b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system) / 1000
    const mainCpu = b.mainCpuMs - a.mainCpuMs
    const simBusy =
      worker === undefined || a.simElu === undefined || b.simElu === undefined
        ? "–"
        : secs(worker.performance.eventLoopUtilization(b.simElu, a.simElu).active)
    rows.push(
      `| ${what} | ${fmt(n)} | ${secs(wall)} | ${secs(cpuMs)} | ${secs(mainCpu)} | ${simBusy} | ${fmt(n / (wall / 1000))} | ${fmt(n / (mainCpu / 1000))} |`
    )
    return { wall, mainCpu }
  }

  // The simulator's pricing alone, cold, on this thread (with `worker` its cache is not the one serving).
  if (SIM === "worker") {
    const a = sample()
    let simRows = 0
    for (const c of tracked) simRows += optionSecondBars(c.ticker, DATE).length
    line("sim pricing alone, cold (this thread, no HTTP)", simRows, a, sample())
  }
  const backfill = Effect.gen(function* () {
    const feed = yield* OptionBarsFeed.make
    return yield* Backfill.run(feed, {
      symbols: ["SPY"],
      from: DATE,
      to: DATE,
      overwrite: true,
      concurrency: 1
    })
  })
  const requests = Effect.gen(function* () {
    const feed = yield* OptionBarsFeed.make
    const session = (yield* MarketCalendar.MarketCalendar).day(DATE)
    if (session._tag !== "open") return yield* Effect.die(`${DATE} is not a session`)
    return yield* feed.fetchDay("SPY", session).pipe(Stream.runFold(0, (n, page) => n + page.records.length))
  })

  let a = sample()
  const cold = yield* inFreshLake(backfill)
  line(`backfill run, sim cold (${SINKS})`, cold.rows, a, sample())

  a = sample()
  const fetched = yield* inFreshLake(requests)
  const requestsMs = line("requests alone, sim warm", fetched, a, sample())

  a = sample()
  const warm = yield* inFreshLake(backfill)
  const runMs = line(`backfill run, sim warm (${SINKS})`, warm.rows, a, sample())

  console.log(
    `SPY ${DATE}, max_dte ${MAX_DTE}, sim ${SIM}, sinks ${SINKS}: ${tracked.length} contracts, ${warm.rows} rows a run`
  )
  console.log(
    "| pass | rows | wall s | CPU s, all threads | CPU s, main thread | sim thread busy s | rows/s (wall) | rows/s (main thread CPU) |"
  )
  console.log("|---|---|---|---|---|---|---|---|")
  for (const r of rows) console.log(r)
  const own = runMs.mainCpu - requestsMs.mainCpu
  console.log(
    `tapehouse (warm run − requests): ${secs(runMs.wall - requestsMs.wall)} s wall, ${fmt(warm.rows / ((runMs.wall - requestsMs.wall) / 1000))} rows/s; main thread CPU ${secs(own)} s, ${fmt(warm.rows / (own / 1000))} rows/s`
  )
}).pipe(Effect.scoped)

Effect.runPromise(program.pipe(Logger.withMinimumLogLevel(LogLevel.Warning))).catch((e) => {
  console.error(e)
  process.exit(1)
})
