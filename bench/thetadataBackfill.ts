/**
 * ThetaData backfill benchmark: one trading day of SPXW greeks to `max_dte` from the ThetaData
 * simulator (about 40 expirations × 200 strikes × 2 rights × 390 minutes ≈ 6 M rows at 60 DTE), end
 * to end through the real runner: terminal client (HTTP, streamed CSV decode) → validator →
 * deduplicator → sinks (Parquet; SQL too with `sql`) → checkpoints, `sources.thetadata.concurrency`
 * expirations at a time, each committed on its own.
 *
 *   node bin/run-ts.mjs bench/thetadataBackfill.ts [date] [max_dte] [parquet|sql] [concurrency]
 *
 * The simulator runs in a child process (bench/thetaSimProcess.ts), as the terminal does, so this
 * process's RSS is tapehouse's alone. It reports rows, wall time, rows/s, this process's CPU time,
 * and its peak RSS: sampled every 50 ms from `process.memoryUsage().rss` and, at the end, VmHWM
 * from /proc/self/status (the kernel's high-water mark, which includes start-up); and the peak of
 * the JS heap in use (what is live, garbage not yet collected included).
 */
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import * as Os from "node:os"
import { Effect, Layer, Logger, LogLevel } from "effect"
import * as MarketCalendar from "../src/calendar/MarketCalendar.js"
import { AppConfig } from "../src/config/AppConfig.js"
import * as Checkpoints from "../src/pipeline/Checkpoints.js"
import * as Backfill from "../src/runners/backfill.js"
import * as Quarantine from "../src/sinks/Quarantine.js"
import * as SinksLive from "../src/sinks/SinksLive.js"
import * as OptionGreeksFeed from "../src/sources/thetadata/optionGreeksFeed.js"
import * as ThetaTerminal from "../src/sources/thetadata/ThetaTerminal.js"
import { benchConfig, scratchDir } from "./benchConfig.js"

const DATE = process.argv[2] ?? "2024-11-04"
const MAX_DTE = Number(process.argv[3] ?? 60)
const SINKS = process.argv[4] ?? "parquet"
const CONCURRENCY = Number(process.argv[5] ?? 3)
if (SINKS !== "parquet" && SINKS !== "sql") throw new Error(`sinks must be parquet or sql, not ${SINKS}`)

const fmt = (n: number) => Math.round(n).toLocaleString("en-US")
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0)

/** The simulator's process, started and stopped with the scope; its v3 URL. */
const simProcess = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly kill: () => void }>((resume) => {
    const child = spawn(process.execPath, ["bin/run-ts.mjs", "bench/thetaSimProcess.ts", "100", "4"], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let text = ""
    child.stdout.on("data", (chunk: Buffer) => {
      text += chunk.toString()
      const nl = text.indexOf("\n")
      if (nl >= 0)
        resume(Effect.succeed({ url: text.slice(0, nl).trim(), kill: () => child.kill("SIGKILL") }))
    })
    child.once("error", (e) => resume(Effect.die(e)))
  }),
  ({ kill }) => Effect.sync(kill)
)

const vmHwmMb = (): number => {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))
  return m === null ? Number.NaN : Number(m[1]) / 1024
}

const program = Effect.gen(function* () {
  const { url } = yield* simProcess
  const dataDir = yield* scratchDir("tapehouse-bench-theta-")
  const base = benchConfig({ dataDir, restUrl: "http://127.0.0.1:1", parquet: true, sql: SINKS === "sql" })
  const config = {
    ...base,
    thetadata: { ...base.thetadata, url, api: "v3" as const, maxDte: MAX_DTE, concurrency: CONCURRENCY }
  }
  const stack = Layer.mergeAll(
    ThetaTerminal.Live,
    MarketCalendar.Test,
    Layer.effect(Checkpoints.Checkpoints, Checkpoints.make(dataDir)),
    Quarantine.Live,
    SinksLive.fromConfig
  ).pipe(Layer.provideMerge(Layer.succeed(AppConfig, config)))

  // What the process holds before the backfill (Node, tsx, the modules): the work's share is above it.
  const startRss = process.memoryUsage().rss
  let peakRss = startRss
  let peakHeap = process.memoryUsage().heapUsed
  const sampler = setInterval(() => {
    const m = process.memoryUsage()
    if (m.rss > peakRss) peakRss = m.rss
    if (m.heapUsed > peakHeap) peakHeap = m.heapUsed
  }, 50)
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  let lastUnits = ""
  const report = yield* Effect.gen(function* () {
    const feed = yield* OptionGreeksFeed.make
    return yield* Backfill.run(
      feed,
      { symbols: ["SPXW"], from: DATE, to: DATE, overwrite: true, concurrency: 1 },
      (p) => {
        if (p.units !== undefined) lastUnits = `${p.units.done}/${p.units.total}`
      }
    )
  }).pipe(Effect.provide(stack), Effect.scoped, Effect.ensuring(Effect.sync(() => clearInterval(sampler))))
  const wallMs = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  const cpuS = (cpu.user + cpu.system) / 1e6
  const expirations = report.committed.length
  console.log(
    `SPXW ${DATE}, max_dte ${MAX_DTE}, ${SINKS}, concurrency ${CONCURRENCY}: ${expirations} expirations (${lastUnits} units), ${fmt(report.rows)} rows, ${report.rejected} rejected, ${(report.bytes / 1024 / 1024).toFixed(1)} MiB Parquet`
  )
  console.log(
    `wall ${(wallMs / 1000).toFixed(2)} s, ${fmt(report.rows / (wallMs / 1000))} rows/s; this process CPU ${cpuS.toFixed(2)} s (${fmt(report.rows / cpuS)} rows per CPU s); RSS at start ${mb(startRss)} MB, peak RSS sampled ${mb(peakRss)} MB, VmHWM ${vmHwmMb().toFixed(0)} MB, peak JS heap used ${mb(peakHeap)} MB`
  )
  console.log(
    `machine: ${Os.cpus()[0]?.model ?? "?"} × ${Os.cpus().length}, load average ${Os.loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}, Node ${process.version}`
  )
}).pipe(Effect.scoped)

Effect.runPromise(program.pipe(Logger.withMinimumLogLevel(LogLevel.Warning))).then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
