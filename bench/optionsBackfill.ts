/**
 * Options backfill benchmark: one day of SPY's tracked chain (every call and put within ±1 % of
 * the open, expiring within 7 days: ~120 contracts, ~1M per-second bars) from the in-process
 * Massive simulator, no rate limit, through the real HTTP client, discovery, validator,
 * deduplicator, Parquet sink and checkpoints. Prints rows/s and where the time goes:
 *   - sim compute: the simulator's pricing of the contracts' bars alone (no HTTP);
 *   - requests: discovery plus every contract's pages through the feed (sim + JSON + HTTP + decode);
 *   - tapehouse: the backfill run minus its requests (validate, dedupe, Parquet, checkpoints).
 *
 *   node bin/run-ts.mjs bench/optionsBackfill.ts [date] [max_dte]
 */
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

const seconds = (ms: number) => Number((ms / 1000).toFixed(2))

const program = Effect.gen(function* () {
  const sim = yield* MassiveSim.make({ port: 0, markets: [optionsMarket] })
  registerOptionContracts(sim)
  const dataDir = yield* scratchDir("tapehouse-bench-options-")
  const base = benchConfig({ dataDir, restUrl: sim.url, parquet: true, sql: false })
  const config = { ...base, options: { ...base.options, maxDte: MAX_DTE } }
  const stack = Layer.mergeAll(
    MassiveRest.Live,
    MarketCalendar.Test,
    Layer.effect(Checkpoints.Checkpoints, Checkpoints.make(dataDir)),
    Quarantine.Live,
    SinksLive.fromConfig
  ).pipe(Layer.provideMerge(Layer.succeed(AppConfig, config)))

  // The simulator's own cost: the tracked contracts' bars, priced without HTTP.
  const open = underlyingOpen("SPY", DATE)!
  const tracked = contractsListed("SPY", DATE, DATE, addDays(DATE, MAX_DTE)).filter(
    (c) => c.strikeMilli / 1000 >= open * 0.99 && c.strikeMilli / 1000 <= open * 1.01
  )
  let t = performance.now()
  let simRows = 0
  for (const c of tracked) simRows += optionSecondBars(c.ticker, DATE).length
  const simMs = performance.now() - t

  return yield* Effect.gen(function* () {
    const feed = yield* OptionBarsFeed.make
    const session = (yield* MarketCalendar.MarketCalendar).day(DATE)
    if (session._tag !== "open") return yield* Effect.die(`${DATE} is not a session`)

    t = performance.now()
    const fetched = yield* feed
      .fetchDay("SPY", session)
      .pipe(Stream.runFold(0, (n, page) => n + page.records.length))
    const requestsMs = performance.now() - t

    t = performance.now()
    const report = yield* Backfill.run(feed, {
      symbols: ["SPY"],
      from: DATE,
      to: DATE,
      overwrite: true,
      concurrency: 1
    })
    const runMs = performance.now() - t
    const stats = yield* (yield* MassiveRest.MassiveRest).stats
    console.log(`SPY ${DATE}, max_dte ${MAX_DTE}: ${tracked.length} contracts, ${report.rows} rows committed`)
    console.log("| measure | seconds | rows/s |")
    console.log("|---|---|---|")
    console.log(
      `| sim compute alone (${simRows} bars) | ${seconds(simMs)} | ${Math.round(simRows / (simMs / 1000)).toLocaleString("en-US")} |`
    )
    console.log(
      `| requests: discovery + pages through the feed (${fetched} bars) | ${seconds(requestsMs)} | ${Math.round(fetched / (requestsMs / 1000)).toLocaleString("en-US")} |`
    )
    console.log(
      `| backfill run end to end (Parquet) | ${seconds(runMs)} | ${Math.round(report.rows / (runMs / 1000)).toLocaleString("en-US")} |`
    )
    console.log(
      `| tapehouse: run minus requests | ${seconds(runMs - requestsMs)} | ${Math.round(report.rows / ((runMs - requestsMs) / 1000)).toLocaleString("en-US")} |`
    )
    console.log(`requests made (both passes): ${stats.requests}`)
  }).pipe(Effect.provide(stack))
}).pipe(Effect.scoped)

Effect.runPromise(program.pipe(Logger.withMinimumLogLevel(LogLevel.Warning))).catch((e) => {
  console.error(e)
  process.exit(1)
})
