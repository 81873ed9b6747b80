/**
 * ThetaData backfill benchmark: one trading day of SPXW greeks to `max_dte` from the ThetaData
 * simulator (about 40 expirations × 200 strikes × 2 rights × 390 minutes ≈ 6 M rows at 60 DTE), end
 * to end through the real runner: terminal client (HTTP, streamed CSV decode) → validator →
 * deduplicator → sinks (Parquet; SQL too with `sql`) → checkpoints, `sources.thetadata.concurrency`
 * expirations at a time, each committed on its own.
 *
 *   node bin/run-ts.mjs bench/thetadataBackfill.ts [date] [max_dte] [parquet|sql] [concurrency] [dist|ts]
 *
 * The simulator runs in a child process (bench/thetaSimProcess.ts), as the terminal does.
 * - `dist` (the default): the product as users run it, the compiled CLI (`npm run build` first):
 *   `node bin/tapehouse.mjs backfill --dataset option_greeks_1m …` in a child process, with a copy
 *   of config/ (SQL per the sinks argument, calendar from the rules). bench/exitStats.mjs, preloaded
 *   into it, reports its CPU time and VmHWM (the kernel's RSS high-water mark, start-up included)
 *   at exit; its RSS is also sampled every 50 ms from /proc. Rows come from the checkpoint journal.
 * - `ts`: the runner in this process through tsx (its compiler and module cache add ~250 MB of
 *   RSS that is not the product's): RSS sampled every 50 ms and VmHWM at the end, CPU time of this
 *   process, and the peak of the JS heap in use.
 * Both report rows, wall time, rows/s of wall time and rows per CPU second (the figure that holds
 * on a shared machine).
 */
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import * as NodeFs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
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
const MODE = process.argv[6] ?? "dist"
if (SINKS !== "parquet" && SINKS !== "sql") throw new Error(`sinks must be parquet or sql, not ${SINKS}`)
if (MODE !== "dist" && MODE !== "ts") throw new Error(`mode must be dist or ts, not ${MODE}`)

const fmt = (n: number) => Math.round(n).toLocaleString("en-US")
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0)

/** The simulator's process, started and stopped with the scope; its v3 URL. */
const simProcess = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly cpuSeconds: () => number; readonly kill: () => void }>(
    (resume) => {
      const child = spawn(process.execPath, ["bin/run-ts.mjs", "bench/thetaSimProcess.ts", "100", "4"], {
        stdio: ["ignore", "pipe", "inherit"]
      })
      let text = ""
      child.stdout.on("data", (chunk: Buffer) => {
        text += chunk.toString()
        const nl = text.indexOf("\n")
        if (nl >= 0)
          resume(
            Effect.succeed({
              url: text.slice(0, nl).trim(),
              cpuSeconds: () => processCpuSeconds(child.pid),
              kill: () => child.kill("SIGKILL")
            })
          )
      })
      child.once("error", (e) => resume(Effect.die(e)))
    }
  ),
  ({ kill }) => Effect.sync(kill)
)

/** User + system CPU seconds a live process (of this machine) has used so far, from /proc/PID/stat. */
const processCpuSeconds = (pid: number | undefined): number => {
  if (pid === undefined) return Number.NaN
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  // Fields after the command name (which may hold spaces), from field 3: utime is 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return (Number(fields[11]) + Number(fields[12])) / 100
}

const vmHwmMb = (): number => {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))
  return m === null ? Number.NaN : Number(m[1]) / 1024
}

const machine = () =>
  `machine: ${Os.cpus()[0]?.model ?? "?"} × ${Os.cpus().length}, load average ${Os.loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}, Node ${process.version}`

/** config/ copied into `dataDir`/config for the CLI: SQL on or off, concurrency, no calendar API. */
const writeConfigDir = (dataDir: string) =>
  Effect.promise(async () => {
    const dir = Path.join(dataDir, "config")
    await NodeFs.mkdir(dir, { recursive: true })
    for (const name of ["settings.yaml", "sources.yaml", "sinks.yaml", "retry.yaml"]) {
      let text = await NodeFs.readFile(Path.join("config", name), "utf8")
      if (name === "sinks.yaml" && SINKS === "parquet")
        text = text.replace(/(sql:\s*\n(?:\s*#.*\n)*\s*enabled:) true/, "$1 false")
      if (name === "sources.yaml")
        text = text
          .replace(/calendar_from_api: true/, "calendar_from_api: false")
          .replace(/(thetadata:[\s\S]*?concurrency:) \d+/, `$1 ${CONCURRENCY}`)
      await NodeFs.writeFile(Path.join(dir, name), text)
    }
    return dir
  })

/** Rows and rejects the run recorded done in the checkpoint journal, and the Parquet bytes. */
const journalTotals = (dataDir: string) =>
  Effect.promise(async () => {
    const text = await NodeFs.readFile(
      Path.join(dataDir, "state", "checkpoints", "option_greeks_1m.jsonl"),
      "utf8"
    )
    let rows = 0
    let rejected = 0
    let bytes = 0
    let units = 0
    for (const line of text.split("\n")) {
      if (line === "") continue
      const e = JSON.parse(line) as {
        kind: string
        status?: string
        rows?: number
        rejected?: number
        bytes?: number
      }
      if (e.kind === "day" && e.status === "done") {
        rows += e.rows ?? 0
        rejected += e.rejected ?? 0
        units++
      }
      if (e.kind === "file") bytes += e.bytes ?? 0
    }
    return { rows, rejected, bytes, units }
  })

/** The compiled CLI in a child process, measured from the outside. */
const distProgram = Effect.gen(function* () {
  const { url, cpuSeconds: simCpuSeconds } = yield* simProcess
  const dataDir = yield* scratchDir("tapehouse-bench-theta-")
  const configDir = yield* writeConfigDir(dataDir)
  const statsFile = Path.join(dataDir, "exit-stats.json")
  // TAPEHOUSE_BENCH_NODE_FLAGS: extra node flags for the CLI (e.g. --cpu-prof --cpu-prof-dir=DIR).
  const nodeFlags = (process.env.TAPEHOUSE_BENCH_NODE_FLAGS ?? "").split(" ").filter((f) => f !== "")
  const args = [
    ...nodeFlags,
    "--import",
    Path.resolve("bench/exitStats.mjs"),
    "bin/tapehouse.mjs",
    "--config-dir",
    configDir,
    "backfill",
    "--dataset",
    "option_greeks_1m",
    "--symbols",
    "SPXW",
    "--from",
    DATE,
    "--to",
    DATE,
    "--max-dte",
    String(MAX_DTE),
    "--overwrite"
  ]
  const simCpu0 = simCpuSeconds()
  const t0 = performance.now()
  const result = yield* Effect.async<{ code: number | null; peakRssKb: number; stderr: string }>((resume) => {
    const child = spawn(process.execPath, args, {
      stdio: ["ignore", "ignore", "pipe"],
      env: {
        ...process.env,
        TAPEHOUSE_THETADATA_URL: url,
        TAPEHOUSE_DATA_DIR: dataDir,
        TAPEHOUSE_BENCH_STATS: statsFile
      }
    })
    let stderr = ""
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    let peakRssKb = 0
    const sampler = setInterval(() => {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))
        if (m !== null) peakRssKb = Math.max(peakRssKb, Number(m[1]))
      } catch {
        // The child has just exited.
      }
    }, 50)
    child.once("exit", (code) => {
      clearInterval(sampler)
      resume(Effect.succeed({ code, peakRssKb, stderr }))
    })
  })
  const wallMs = performance.now() - t0
  const simCpuS = simCpuSeconds() - simCpu0
  if (result.code !== 0) return yield* Effect.dieMessage(`the CLI exited ${result.code}: ${result.stderr}`)
  const stats = JSON.parse(yield* Effect.promise(() => NodeFs.readFile(statsFile, "utf8"))) as {
    userUs: number
    systemUs: number
    vmHwmKb: number | null
    peak: { rss: number; heapTotal: number; heapUsed: number; arrayBuffers: number }
  }
  const totals = yield* journalTotals(dataDir)
  const cpuS = (stats.userUs + stats.systemUs) / 1e6
  console.log(
    `dist CLI: SPXW ${DATE}, max_dte ${MAX_DTE}, ${SINKS}, concurrency ${CONCURRENCY}: ${totals.units} expirations, ${fmt(totals.rows)} rows, ${totals.rejected} rejected, ${(totals.bytes / 1024 / 1024).toFixed(1)} MiB Parquet`
  )
  console.log(
    `wall ${(wallMs / 1000).toFixed(2)} s (process start included), ${fmt(totals.rows / (wallMs / 1000))} rows/s; CLI process CPU ${cpuS.toFixed(2)} s (user ${(stats.userUs / 1e6).toFixed(2)}, system ${(stats.systemUs / 1e6).toFixed(2)}): ${fmt(totals.rows / cpuS)} rows per CPU s; peak RSS sampled ${mb(result.peakRssKb * 1024)} MB, VmHWM ${stats.vmHwmKb === null ? "?" : mb(stats.vmHwmKb * 1024)} MB; peaks sampled inside: JS heap used ${mb(stats.peak.heapUsed)} MB (reserved ${mb(stats.peak.heapTotal)} MB), array buffers ${mb(stats.peak.arrayBuffers)} MB`
  )
  console.log(
    `simulator process CPU during the run ${simCpuS.toFixed(2)} s: ${(simCpuS / (wallMs / 1000)).toFixed(2)} core over the wall time`
  )
  console.log(machine())
}).pipe(Effect.scoped)

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
    `tsx in-process: SPXW ${DATE}, max_dte ${MAX_DTE}, ${SINKS}, concurrency ${CONCURRENCY}: ${expirations} expirations (${lastUnits} units), ${fmt(report.rows)} rows, ${report.rejected} rejected, ${(report.bytes / 1024 / 1024).toFixed(1)} MiB Parquet`
  )
  console.log(
    `wall ${(wallMs / 1000).toFixed(2)} s, ${fmt(report.rows / (wallMs / 1000))} rows/s; this process CPU ${cpuS.toFixed(2)} s (${fmt(report.rows / cpuS)} rows per CPU s); RSS at start ${mb(startRss)} MB, peak RSS sampled ${mb(peakRss)} MB, VmHWM ${vmHwmMb().toFixed(0)} MB, peak JS heap used ${mb(peakHeap)} MB`
  )
  console.log(machine())
}).pipe(Effect.scoped)

Effect.runPromise(
  (MODE === "dist" ? distProgram : program).pipe(Logger.withMinimumLogLevel(LogLevel.Warning))
).then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
