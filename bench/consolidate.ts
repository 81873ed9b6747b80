/**
 * Consolidation benchmark: a full simulator day of SPY (23,400 seconds), I:VIX and SPY's tracked
 * option chain (every call and put within ±1 % of the open expiring within `max_dte` days: about
 * 130 contracts at 7, ~1M per-second bars), written to a scratch lake, then consolidated.
 *
 *   node bin/run-ts.mjs bench/consolidate.ts [date] [max_dte] [parquet|sql]
 *
 * Passes: `compute` (read the lake and compute both datasets, nothing written) and `consolidate`
 * (the same, then staged writes through the sinks and the checkpoints: what `tapehouse consolidate
 * --date D` does), each run twice; the second run of each is the figure (the first warms the JIT).
 * Prints wall time, rows, and the process's CPU time.
 */
import { Effect, Layer, Logger, LogLevel } from "effect"
import { AppConfig } from "../src/config/AppConfig.js"
import { computeDay, consolidateDay } from "../src/consolidate/consolidateDay.js"
import { IndexBars1s } from "../src/domain/IndexBar.js"
import { OptionBars1s } from "../src/domain/OptionBar.js"
import { parseOptionTicker } from "../src/domain/optionTicker.js"
import { StockBars1s } from "../src/domain/StockBar.js"
import { addDays } from "../src/domain/time.js"
import * as Checkpoints from "../src/pipeline/Checkpoints.js"
import { contractsListed, optionSecondBars, underlyingOpen } from "../src/sim/options/optionsChain.js"
import { indexSecondBars } from "../src/sim/syntheticIndices.js"
import { secondBars } from "../src/sim/syntheticMarket.js"
import * as ParquetSink from "../src/sinks/ParquetSink.js"
import * as SinksLive from "../src/sinks/SinksLive.js"
import { benchConfig, scratchDir } from "./benchConfig.js"

const DATE = process.argv[2] ?? "2024-03-05"
const MAX_DTE = Number(process.argv[3] ?? 7)
const SINKS = process.argv[4] ?? "parquet"
if (SINKS !== "parquet" && SINKS !== "sql") throw new Error(`sinks must be parquet or sql, not ${SINKS}`)

const fmt = (n: number) => Math.round(n).toLocaleString("en-US")

/** The day's inputs, from the simulator's generators into the lake (as a backfill leaves them). */
const writeInputs = (dataDir: string) =>
  Effect.gen(function* () {
    const sink = yield* ParquetSink.make({ dataDir, compression: "snappy", rowGroupSize: 100_000 })
    const open = underlyingOpen("SPY", DATE)!
    const tickers = contractsListed("SPY", DATE, DATE, addDays(DATE, MAX_DTE))
      .filter((c) => Math.abs(c.strikeMilli / 1000 - open) <= open * 0.01)
      .map((c) => c.ticker)
    const options = tickers
      .flatMap((ticker) => {
        const p = parseOptionTicker(ticker)!
        return optionSecondBars(ticker, DATE).map((b) => ({
          ...b,
          symbol: ticker,
          underlying: "SPY",
          expiration_date: p.expirationDate,
          strike_price: p.strikeMilli / 1000,
          contract_type: p.type
        }))
      })
      .sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : a.ts - b.ts))
    const spy = secondBars("SPY", DATE)
    const vix = indexSecondBars("I:VIX", DATE).map((b) => ({
      symbol: b.symbol,
      ts: b.ts,
      open: b.open,
      high: b.high,
      low: b.low,
      close: b.close
    }))
    const write = <A>(
      dataset: Parameters<typeof sink.commit<A>>[0]["dataset"],
      instruments: Array<string>,
      rows: ReadonlyArray<A>
    ) => sink.commit({ dataset, date: DATE, instruments, rows, mode: "replace" })
    yield* write(StockBars1s, ["SPY"], spy)
    yield* write(IndexBars1s, ["I:VIX"], vix)
    yield* write(OptionBars1s, ["SPY"], options)
    return { contracts: tickers.length, optionBars: options.length, spyBars: spy.length }
  })

const timed = <A, E, R>(label: string, effect: Effect.Effect<A, E, R>, rows: (a: A) => string) =>
  Effect.gen(function* () {
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    const result = yield* effect
    const ms = performance.now() - t0
    const cpu = process.cpuUsage(cpu0)
    console.log(
      `${label.padEnd(24)} ${(ms / 1000).toFixed(2)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s CPU, ${rows(result)}`
    )
    return result
  })

const program = Effect.gen(function* () {
  const dataDir = yield* scratchDir("tapehouse-bench-consolidate-")
  const config = benchConfig({ dataDir, restUrl: "http://127.0.0.1:1", parquet: true, sql: SINKS === "sql" })
  const inputs = yield* writeInputs(dataDir)
  console.log(
    `${DATE} SPY: ${fmt(inputs.spyBars)} underlying bars, ${inputs.contracts} contracts (max_dte ${MAX_DTE}), ${fmt(inputs.optionBars)} option bars; sinks: ${SINKS === "sql" ? "parquet + embedded PGlite" : "parquet"}`
  )
  const services = Layer.mergeAll(
    Layer.effect(Checkpoints.Checkpoints, Checkpoints.make(dataDir)),
    SinksLive.fromConfig
  ).pipe(Layer.provideMerge(Layer.succeed(AppConfig, config)))
  yield* Effect.gen(function* () {
    for (const pass of [1, 2])
      yield* timed(
        `compute (run ${pass})`,
        computeDay(dataDir, "SPY", DATE),
        (r) => `${fmt(r.options.length)} option rows, ${fmt(r.features.length)} feature rows`
      )
    for (const pass of [1, 2])
      yield* timed(
        `consolidate (run ${pass})`,
        consolidateDay("SPY", DATE),
        (r) => `${fmt(r.optionRows)} option rows, ${fmt(r.featureRows)} feature rows`
      )
  }).pipe(Effect.provide(services))
}).pipe(Effect.scoped)

Effect.runPromise(program.pipe(Logger.withMinimumLogLevel(LogLevel.Warning))).catch((e) => {
  console.error(e)
  process.exitCode = 1
})
