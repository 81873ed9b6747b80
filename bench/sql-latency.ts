/**
 * Where the time of `tapehouse sql` goes, on a small lake (two days of SPY per-second bars, about
 * 44,000 rows, in the embedded database), with nobody holding the database ("alone": the command
 * opens it) and while another process holds and serves it ("joined": the command connects to its
 * socket; here this process is the owner).
 *
 * 1. In this process, the steps of the command's SQL part, each timed: finding a served database,
 *    opening it (PGlite on its thread) or connecting, the migrations check, the query, the close.
 * 2. The real CLI in a child process: time to its first output (the answer) and to its exit, and
 *    CPU time (`/usr/bin/time`), for `--help` (Node and loading the modules, which every command
 *    pays), `sql` alone with `sinks.sql.keep_open_ms` 0 (it opens and closes the database itself),
 *    `sql` as a first call (nobody holds the database: it starts the keeper and joins it), `sql` as
 *    a later call (it joins the keeper the first call left), and `sql` joined to another owner.
 *
 *   node bin/run-ts.mjs bench/sql-latency.ts [runs=5] [bin=bin/tapehouse.mjs]
 *
 * `bin` may point at another checkout's bin to time it on the same lake (e.g. before a change).
 */
import { spawn } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { SqlClient } from "@effect/sql"
import { Context, Effect, Exit, Layer, Logger, LogLevel, Option, Scope } from "effect"
import { displayTypes } from "../src/cli/sqlValues.js"
import { AppConfig } from "../src/config/AppConfig.js"
import { StockBars1s } from "../src/domain/StockBar.js"
import { secondBars } from "../src/sim/syntheticMarket.js"
import * as EmbeddedPg from "../src/sinks/EmbeddedPg.js"
import * as EmbeddedPgAddress from "../src/sinks/EmbeddedPgAddress.js"
import { SqlReady } from "../src/sinks/SinksLive.js"
import * as SqlClientLive from "../src/sinks/SqlClientLive.js"
import * as SqlSink from "../src/sinks/SqlSink.js"
import { Migrations } from "../src/sinks/sqlSchema.js"
import { benchConfig, scratchDir } from "./benchConfig.js"

const runs = Number(process.argv[2] ?? 5)
const bin = Path.resolve(process.argv[3] ?? "bin/tapehouse.mjs")
const QUERY = "SELECT symbol, count(*) AS bars FROM stock_bars_1s GROUP BY symbol"

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? Number.NaN
}

const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const started = performance.now()
    const value = yield* effect
    return [value, performance.now() - started] as const
  })

/** The command's SQL part, step by step; milliseconds per step. */
const steps = (dataDir: string) =>
  Effect.gen(function* () {
    const [served, find] = yield* timed(EmbeddedPgAddress.findServed(dataDir, "0 millis"))
    const scope = yield* Scope.make()
    const [client, open] = yield* timed(
      Layer.buildWithScope(
        SqlClientLive.layerFrom(
          { dataDir, url: Option.none() },
          { types: displayTypes, joinRunning: true, settings: EmbeddedPg.briefSessionSettings }
        ),
        scope
      )
    )
    // What `migrate: true` adds where the command opens the database (a served one was migrated).
    const [, migrations] = Option.isSome(served)
      ? [undefined, 0]
      : yield* timed(Layer.buildWithScope(Migrations, scope).pipe(Effect.provide(client)))
    const sql = Context.get(client, SqlClient.SqlClient)
    const [, query] = yield* timed(sql.unsafe(QUERY).raw)
    const [, close] = yield* timed(Scope.close(scope, Exit.void))
    return { joined: Option.isSome(served), find, open, migrations, query, close }
  })

interface CliTime {
  readonly code: number | null
  /** Until the first byte of the answer on stdout. */
  readonly answer: number
  readonly wall: number
  readonly cpu: number
}

const cli = (args: ReadonlyArray<string>, dataDir: string, keepOpenMs: number) =>
  Effect.async<CliTime>((resume) => {
    const started = performance.now()
    let answer = Number.NaN
    let stderr = ""
    const child = spawn("/usr/bin/time", ["-f", "%e %U %S", process.execPath, bin, ...args], {
      env: {
        ...process.env,
        TAPEHOUSE_DATA_DIR: dataDir,
        TAPEHOUSE_SQL_KEEP_OPEN_MS: String(keepOpenMs),
        NO_COLOR: "1"
      },
      stdio: ["ignore", "pipe", "pipe"]
    })
    child.stdout.on("data", () => {
      if (Number.isNaN(answer)) answer = performance.now() - started
    })
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("close", (code) => {
      const [wall, user, sys] = (stderr.trim().split("\n").at(-1) ?? "").split(" ").map(Number)
      resume(
        Effect.succeed({
          code,
          answer,
          wall: (wall ?? Number.NaN) * 1000,
          cpu: ((user ?? Number.NaN) + (sys ?? Number.NaN)) * 1000
        })
      )
    })
  })

/** Stops the keeper serving `dataDir`, if one does, and waits until it released the database. */
const stopKeeper = (dataDir: string) =>
  Effect.promise(async () => {
    const lock = EmbeddedPg.parseLock(
      await Fs.readFile(EmbeddedPgAddress.lockPath(dataDir), "utf8").catch(() => "")
    )
    if (lock === undefined || !lock.keeper || !EmbeddedPgAddress.isAlive(lock.pid)) return
    process.kill(lock.pid, "SIGTERM")
    while (EmbeddedPgAddress.isAlive(lock.pid)) await new Promise((resolve) => setTimeout(resolve, 20))
  })

const cliRuns = (
  label: string,
  args: ReadonlyArray<string>,
  dataDir: string,
  options: { readonly keepOpenMs: number; readonly before?: Effect.Effect<void> } = { keepOpenMs: 0 }
) =>
  Effect.gen(function* () {
    const results: Array<CliTime> = []
    for (let i = 0; i < runs; i++) {
      if (options.before !== undefined) yield* options.before
      results.push(yield* cli(args, dataDir, options.keepOpenMs))
    }
    const failed = results.filter((r) => r.code !== 0).length
    const ms = (k: "answer" | "wall" | "cpu") => Math.round(median(results.map((r) => r[k])))
    return `| ${label} | ${ms("answer")} | ${ms("wall")} | ${ms("cpu")} | ${failed === 0 ? "" : `${failed} of ${runs} failed`} |`
  })

const program = Effect.gen(function* () {
  const dataDir = yield* scratchDir("tapehouse-bench-sql-")
  const config = benchConfig({ dataDir, restUrl: "http://127.0.0.1:1", parquet: false, sql: true })
  yield* Effect.gen(function* () {
    const sink = yield* SqlSink.make()
    for (const date of ["2024-03-04", "2024-03-05"])
      yield* sink.commit({
        dataset: StockBars1s,
        date,
        instruments: ["SPY"],
        rows: secondBars("SPY", date),
        mode: "replace"
      })
  }).pipe(Effect.provide(SqlReady.pipe(Layer.provide(Layer.succeed(AppConfig, config)))))

  const alone: Array<Effect.Effect.Success<ReturnType<typeof steps>>> = []
  for (let i = 0; i < runs; i++) alone.push(yield* steps(dataDir))
  const help = yield* cliRuns("`tapehouse --help` (start, modules)", ["--help"], dataDir)
  const sqlAlone = yield* cliRuns("`tapehouse sql` alone, keep_open_ms 0", ["sql", QUERY], dataDir)
  const keep = { keepOpenMs: 300_000 }
  const sqlFirst = yield* cliRuns("`tapehouse sql` first call (starts the keeper)", ["sql", QUERY], dataDir, {
    ...keep,
    before: stopKeeper(dataDir)
  })
  const sqlLater = yield* cliRuns(
    "`tapehouse sql` later call (joins the keeper)",
    ["sql", QUERY],
    dataDir,
    keep
  )
  yield* stopKeeper(dataDir)

  // This process becomes the owner: it holds the database and serves it.
  const ownerScope = yield* Scope.make()
  yield* Layer.buildWithScope(SqlClientLive.layerFrom({ dataDir, url: Option.none() }), ownerScope)
  const joined: Array<Effect.Effect.Success<ReturnType<typeof steps>>> = []
  for (let i = 0; i < runs; i++) joined.push(yield* steps(dataDir))
  const sqlJoined = yield* cliRuns(
    "`tapehouse sql` joined (another process holds the database)",
    ["sql", QUERY],
    dataDir
  )
  yield* Scope.close(ownerScope, Exit.void)

  const row = (label: string, xs: ReadonlyArray<Effect.Effect.Success<ReturnType<typeof steps>>>) =>
    `| ${label} | ${(["find", "open", "migrations", "query", "close"] as const)
      .map((k) => Math.round(median(xs.map((x) => x[k]))))
      .join(" | ")} |`
  console.log(
    `\`node bin/run-ts.mjs bench/sql-latency.ts ${process.argv.slice(2).join(" ")}\`: median of ${runs} runs, milliseconds; Node ${process.version}, ${Os.cpus().length} cores, load average ${Os.loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`
  )
  console.log("")
  console.log("| sql's steps in process | find served | open or connect | migrations check | query | close |")
  console.log("|---|---|---|---|---|---|")
  console.log(row("alone (opens the database)", alone))
  console.log(row("joined (connects to the owner)", joined))
  console.log("")
  console.log(`| CLI (${Path.relative(process.cwd(), bin)}) | first output | exit | CPU (user + sys) | |`)
  console.log("|---|---|---|---|---|")
  for (const line of [help, sqlAlone, sqlFirst, sqlLater, sqlJoined]) console.log(line)
})

Effect.runPromise(program.pipe(Effect.scoped, Logger.withMinimumLogLevel(LogLevel.Warning))).then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
