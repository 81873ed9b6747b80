/**
 * Backfill benchmark: 20 trading days of SPY per-second bars from the in-process Massive
 * simulator, no rate limit, through the real HTTP client and pipeline, to Parquet alone and to
 * Parquet + PGlite. Prints rows/s and RSS (peak, and after each quarter of the days, to show
 * that memory does not grow with the number of days).
 *
 *   node bin/run-ts.mjs bench/backfill.ts [parquet|parquet+pglite|all] [days]
 *   taskset -c 0 node bin/run-ts.mjs bench/backfill.ts     # pinned to one core
 */
import { Effect, Layer, Logger, LogLevel } from "effect"
import * as MarketCalendar from "../src/calendar/MarketCalendar.js"
import { AppConfig } from "../src/config/AppConfig.js"
import * as Checkpoints from "../src/pipeline/Checkpoints.js"
import * as Backfill from "../src/runners/backfill.js"
import * as MassiveSim from "../src/sim/MassiveSim.js"
import * as Quarantine from "../src/sinks/Quarantine.js"
import * as SinksLive from "../src/sinks/SinksLive.js"
import * as MassiveRest from "../src/sources/massive/MassiveRest.js"
import * as StockBarsFeed from "../src/sources/massive/stockBarsFeed.js"
import { benchConfig, scratchDir } from "./benchConfig.js"

const mode = process.argv[2] ?? "all"
const days = Number(process.argv[3] ?? 20)
// 20 trading days from 2024-01-02 (MLK day 2024-01-15 is skipped by the calendar).
const FROM = "2024-01-02"
const TO = days === 20 ? "2024-01-30" : "2024-12-31"

interface Result {
  readonly sinks: string
  readonly days: number
  readonly rows: number
  readonly seconds: number
  readonly rowsPerSecond: number
  readonly peakRssMiB: number
  readonly rssByQuarterMiB: ReadonlyArray<number>
}

const mib = (bytes: number) => Math.round(bytes / 1024 / 1024)

const runOnce = (sinks: "parquet" | "parquet+pglite") =>
  Effect.gen(function* () {
    const sim = yield* MassiveSim.make({ port: 0 })
    const dataDir = yield* scratchDir("tapehouse-bench-")
    const config = benchConfig({ dataDir, restUrl: sim.url, parquet: true, sql: sinks === "parquet+pglite" })
    const stack = Layer.mergeAll(
      MassiveRest.Live,
      MarketCalendar.Test,
      Layer.effect(Checkpoints.Checkpoints, Checkpoints.make(dataDir)),
      Quarantine.Live,
      SinksLive.fromConfig
    ).pipe(Layer.provide(Layer.succeed(AppConfig, config)))

    let peak = process.memoryUsage().rss
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss)
    }, 20)
    const rssByDay: Array<number> = []
    const report = yield* Effect.gen(function* () {
      const source = yield* StockBarsFeed.make
      // Sinks (and PGlite) are up before the clock starts: the figure is the backfill itself.
      const started = performance.now()
      const r = yield* Backfill.run(
        source,
        { symbols: ["SPY"], from: FROM, to: TO, overwrite: false, concurrency: 2 },
        (p) => {
          if (p.daysDone > 0) rssByDay[p.daysDone - 1] = process.memoryUsage().rss
        }
      )
      return { r, seconds: (performance.now() - started) / 1000 }
    }).pipe(Effect.provide(stack), Effect.ensuring(Effect.sync(() => clearInterval(sampler))))
    const n = rssByDay.length
    const quarters = [Math.ceil(n / 4), Math.ceil(n / 2), Math.ceil((3 * n) / 4), n].map((i) =>
      mib(rssByDay[i - 1] ?? 0)
    )
    const result: Result = {
      sinks,
      days: report.r.committed.length,
      rows: report.r.rows,
      seconds: Number(report.seconds.toFixed(2)),
      rowsPerSecond: Math.round(report.r.rows / report.seconds),
      peakRssMiB: mib(peak),
      rssByQuarterMiB: quarters
    }
    return result
  }).pipe(Effect.scoped)

const program = Effect.gen(function* () {
  const modes: Array<"parquet" | "parquet+pglite"> =
    mode === "all" ? ["parquet", "parquet+pglite"] : [mode as "parquet" | "parquet+pglite"]
  const results: Array<Result> = []
  for (const m of modes) results.push(yield* runOnce(m))
  console.log(
    "| sinks | days | rows | seconds | rows/s | peak RSS MiB | RSS after 1/4, 1/2, 3/4, all days (MiB) |"
  )
  console.log("|---|---|---|---|---|---|---|")
  for (const r of results)
    console.log(
      `| ${r.sinks} | ${r.days} | ${r.rows} | ${r.seconds} | ${r.rowsPerSecond.toLocaleString("en-US")} | ${r.peakRssMiB} | ${r.rssByQuarterMiB.join(", ")} |`
    )
})

Effect.runPromise(program.pipe(Logger.withMinimumLogLevel(LogLevel.Warning))).catch((e) => {
  console.error(e)
  process.exit(1)
})
