/**
 * `tapehouse demo` (what `npm start` runs): the whole offline path end to end. Starts the Massive
 * simulator on a free loopback port, backfills each dataset of `DEMO` for five trading days through
 * the real REST client into the Parquet lake and the embedded Postgres, streams a full-speed replay
 * of the last day of the four streamed datasets in one stream set (bars and option bars over the
 * WebSocket path, each on its cluster, the option chain discovered from SPY's `op`; news polled from
 * the replay's REST), each reconciled at its close, and prints where to look. Beside it, SPXW greeks
 * of the last day come from the ThetaData simulator through the terminal client (option_greeks_1m).
 */
import * as Path from "node:path"
import { Command } from "@effect/cli"
import { Console, Effect, Layer, Option, Redacted } from "effect"
import { AppConfig, type AppConfigShape } from "../config/AppConfig.js"
import { type DatasetName, derivedDatasets, entryOf, massiveFeedOf } from "../domain/datasets.js"
import { StatusLine } from "../monitor/StatusLine.js"
import type { StreamStats } from "../monitor/StreamStats.js"
import * as Checkpoints from "../pipeline/Checkpoints.js"
import type { BackfillReport } from "../runners/backfill.js"
import type { StreamReport } from "../runners/stream.js"
import type { DatasetStream } from "../runners/streamSet.js"
import { tapehouseWith } from "./commandLine.js"
import {
  formatBytes,
  formatDuration,
  formatInt,
  progressLine,
  rowsPerSecond,
  summaryLine,
  table
} from "./display.js"
import { backfillServices, loggingLayer } from "./layers.js"
import { root } from "./root.js"
import { prepareDataDir, resolveConfig } from "./setup.js"
import { countersLine, streamServices } from "./streamCommand.js"

/** What the demo captures: each dataset with its instruments, over the same five trading days. */
export const DEMO = {
  from: "2024-03-04",
  to: "2024-03-08",
  datasets: [
    { name: "stock_bars_1s", instruments: ["SPY"], replay: true, unit: "bars over WebSocket" },
    { name: "index_bars_1s", instruments: ["I:VIX"], replay: true, unit: "bars over WebSocket" },
    { name: "option_contracts", instruments: ["SPY"], replay: false, unit: "contracts" },
    // The chain is discovered again at the replayed open, from the `op` of SPY's first aggregate.
    // Its bars are backfilled for the replayed day only (a day of the 0DTE chain is about 65,000 bars).
    {
      name: "option_bars_1s",
      instruments: ["SPY"],
      replay: true,
      unit: "bars over WebSocket",
      from: "2024-03-08"
    },
    // Always open: polled from the replay's REST until the replayed day is over (then one last poll).
    { name: "news", instruments: ["SPY"], replay: true, unit: "articles polled over REST" },
    { name: "news_sentiment", instruments: ["SPY"], replay: true, unit: "insights polled over REST" }
  ],
  /** How often the replay's news is polled (a replayed day passes in seconds). */
  newsPollIntervalMs: 250,
  /** The option chain tracked: contracts expiring the same day (0DTE), within ±1 % of the open. */
  optionsMaxDte: 0,
  /**
   * SPXW greeks from the ThetaData simulator for the last day: its expirations within `maxDte` days
   * (2024-03-08 and 2024-03-11), `strikesPerSide` strikes each side of the open (a few seconds).
   */
  greeks: { symbol: "SPXW", maxDte: 3, strikesPerSide: 5 }
} as const satisfies {
  readonly from: string
  readonly to: string
  readonly datasets: ReadonlyArray<{
    readonly name: DatasetName
    readonly instruments: ReadonlyArray<string>
    /** Streamed again from the replay of the last day. */
    readonly replay: boolean
    /** What its records are, as the stream line says. */
    readonly unit: string
    /** Its first backfilled day, when later than `from`. */
    readonly from?: string
  }>
  readonly newsPollIntervalMs: number
  readonly optionsMaxDte: number
  readonly greeks: { readonly symbol: string; readonly maxDte: number; readonly strikesPerSide: number }
}

/**
 * SPXW greeks of the last demo day from the ThetaData simulator (v3, on a free loopback port),
 * backfilled through the terminal client and the same runner, one partition per expiration.
 */
const backfillGreeks = (config: AppConfigShape) =>
  Effect.gen(function* () {
    const [Backfill, ThetaSim, ThetaTerminal, GreeksFeed] = yield* Effect.promise(() =>
      Promise.all([
        import("../runners/backfill.js"),
        import("../sim/thetadata/ThetaSim.js"),
        import("../sources/thetadata/ThetaTerminal.js"),
        import("../sources/thetadata/optionGreeksFeed.js")
      ])
    )
    const sim = yield* ThetaSim.make({ strikesPerSide: DEMO.greeks.strikesPerSide })
    const thetaConfig: AppConfigShape = {
      ...config,
      thetadata: { ...config.thetadata, url: sim.url, api: "v3", maxDte: DEMO.greeks.maxDte }
    }
    yield* Console.log(
      `ThetaData simulator listening on ${sim.url}. Backfilling option_greeks_1m ${DEMO.greeks.symbol} ${DEMO.to}, expirations within ${DEMO.greeks.maxDte} days, through the terminal client…`
    )
    const line = yield* StatusLine
    const terminal = yield* Layer.build(ThetaTerminal.Live).pipe(
      Effect.provideService(AppConfig, thetaConfig)
    )
    const source = yield* GreeksFeed.make.pipe(
      Effect.provide(terminal),
      Effect.provideService(AppConfig, thetaConfig)
    )
    return yield* Backfill.run(
      source,
      { symbols: [DEMO.greeks.symbol], from: DEMO.to, to: DEMO.to, overwrite: false, concurrency: 1 },
      (p) => line.show(progressLine("option_greeks_1m", p))
    ).pipe(
      Effect.ensuring(Effect.sync(() => line.clear())),
      Effect.provide(backfillServices(thetaConfig)),
      Effect.provideService(AppConfig, thetaConfig)
    )
  }).pipe(Effect.scoped)

/** What one dataset's capture of the replay did, in one line. */
const streamLine = (report: StreamReport, unit: string, seconds: number) => {
  const { stats, continuity } = report
  const repaired = continuity.filter((c) => c.kind === "gap").reduce((n, c) => n + c.rows, 0)
  return [
    `replay of ${report.session}: ${formatInt(stats.messages)} ${unit} in ${seconds.toFixed(1)} s`,
    unit.includes("WebSocket")
      ? ` (${formatInt(stats.messages / Math.max(seconds, 0.001))} msgs/s), ${stats.reconnects} reconnect(s)`
      : "",
    repaired > 0 ? `, ${formatInt(repaired)} rows repaired through REST (gaps)` : "",
    `; reconciled through REST: ${continuity.find((c) => c.kind === "reconcile")?.status ?? "no"}`
  ].join("")
}

/**
 * Backfill, then the replay streamed through the live path, then the summary. One logger for all of
 * it: the two parts take their services without one of their own (a logger per part outlived the
 * first part and every line of the second was written twice).
 */
const showcase = (config: AppConfigShape, simUrl: string) =>
  Effect.gen(function* () {
    const plans = DEMO.datasets.map((d) => ({
      ...d,
      from: "from" in d ? d.from : DEMO.from,
      entry: entryOf(d.name)
    }))
    const [
      Backfill,
      StreamSet,
      { serveStoredDay },
      modules,
      { consolidateCompleted },
      { previewOf },
      { readPartition }
    ] = yield* Effect.promise(() =>
      Promise.all([
        import("../runners/backfill.js"),
        import("../runners/streamSet.js"),
        import("../sim/lakeBars.js"),
        Promise.all(plans.map((p) => massiveFeedOf(p.entry))),
        import("../consolidate/afterInputs.js"),
        import("../consolidate/preview.js"),
        import("../sinks/compact.js")
      ])
    )
    // The datasets the replay streams again, each with its live feed (outcomes come in this order).
    const live = plans.flatMap((plan, i) => {
      const makeLive = modules[i]!.makeLive
      return plan.replay && makeLive !== undefined ? [{ plan, i, makeLive }] : []
    })
    // Follow-ups to copy: on the same data dir and config as this run.
    const tapehouse = tapehouseWith(yield* root)
    yield* Console.log(`Massive simulator listening on ${simUrl} (offline demo: no vendor is contacted).`)
    const line = yield* StatusLine
    const reports: Array<BackfillReport> = []
    for (const [i, plan] of plans.entries()) {
      yield* Console.log(
        `Backfilling ${plan.name} ${plan.instruments.join(",")} ${plan.from}..${DEMO.to} through the REST client…`
      )
      const report = yield* Effect.gen(function* () {
        const source = yield* modules[i]!.make
        return yield* Backfill.run(
          source,
          {
            symbols: plan.instruments,
            from: plan.from,
            to: DEMO.to,
            overwrite: false,
            concurrency: config.backfill.concurrency
          },
          (p) => line.show(progressLine(plan.name, p))
        )
      }).pipe(
        Effect.ensuring(Effect.sync(() => line.clear())),
        Effect.provide(backfillServices(config)),
        Effect.provideService(AppConfig, config)
      )
      reports.push(report)
    }
    const greeks = yield* backfillGreeks(config)
    // The live path: replay the last demo day of every dataset stored for it (simulate --speed max:
    // the bars on their WebSocket clusters, the news on REST) and capture them together as `stream
    // --datasets` does (socket or poller → spill queue → pipeline → sinks → reconcile).
    yield* Console.log(
      `Streaming a replay of ${DEMO.to} through the live path (simulate --speed max → stream --datasets ${live
        .map((l) => l.plan.name)
        .filter((n) => n !== "news_sentiment")
        .join(",")})…`
    )
    const streamed = yield* Effect.gen(function* () {
      // The replay starts once the stocks and indices clusters have their subscriber, and holds after
      // its first second until the option chain, drawn from that second's `op`, has subscribed.
      const served = yield* serveStoredDay({
        dataDir: config.dataDir,
        date: DEMO.to,
        speed: "max",
        start: "every-cluster",
        lateClusters: ["options"]
      })
      const streamConfig = {
        ...config,
        massive: { ...config.massive, restUrl: served.restUrl, wsUrl: served.wsUrl },
        news: { ...config.news, pollIntervalMs: DEMO.newsPollIntervalMs }
      }
      const started = Date.now()
      return yield* Effect.gen(function* () {
        const streams: Array<DatasetStream<unknown>> = []
        for (const { plan, makeLive } of live) {
          streams.push({
            feed: yield* makeLive,
            request: {
              instruments: plan.instruments,
              source: `demo-${plan.entry.streamSource}`,
              reconcile: true
            }
          })
        }
        const latest = new Map<string, StreamStats>()
        const outcomes = yield* StreamSet.runAll(streams, (s) => {
          latest.set(s.source, s)
          line.show([...latest.values()].map(countersLine).join("  |  "))
        })
        const seconds = (Date.now() - started) / 1000
        // The end of the session, as `stream` ends it: the replayed day consolidated once its inputs are in.
        line.clear()
        yield* Console.log(`Consolidating ${DEMO.to} (options_enriched_1s, underlying_features_1s)…`)
        const consolidated = yield* consolidateCompleted(
          outcomes.flatMap((o, k) =>
            o._tag === "Done"
              ? [
                  {
                    dataset: live[k]!.plan.name,
                    instruments: live[k]!.plan.instruments,
                    dates: [o.report.session]
                  }
                ]
              : []
          ),
          config.options.underlyings
        ).pipe(Effect.provideService(AppConfig, config))
        return { outcomes, seconds, consolidated }
      }).pipe(Effect.provide(streamServices(streamConfig)))
    }).pipe(Effect.scoped, Effect.ensuring(Effect.sync(() => line.clear())))

    const store = yield* Checkpoints.make(config.dataDir)
    const lines: Array<string> = []
    for (const [i, plan] of plans.entries()) {
      const report = reports[i]!
      const k = live.findIndex((l) => l.i === i)
      const outcome = k < 0 ? undefined : streamed.outcomes[k]
      const days = [...(yield* store.days(plan.name)).values()].filter((d) => d.status === "done")
      const files = [...(yield* store.files(plan.name)).values()]
      const lake = Path.join(config.dataDir, "lake", plan.name)
      const stream =
        outcome === undefined
          ? "not captured live (stored as the backfill wrote it)"
          : outcome._tag === "Failed"
            ? `replay of ${DEMO.to} failed: ${outcome.message}`
            : streamLine(outcome.report, plan.unit, streamed.seconds)
      lines.push(
        "",
        `dataset      ${plan.name} ${plan.instruments.join(",")}`,
        report.committed.length > 0
          ? `this run     ${report.committed.length} day(s) fetched, ${formatInt(report.rows)} rows, ${formatBytes(report.bytes)}, ${formatInt(rowsPerSecond(report.rows, report.elapsedMs))} rows/s in ${formatDuration(report.elapsedMs)}`
          : `this run     nothing fetched: all ${report.alreadyDone.length} day(s) were already done (${report.alreadyDone.map((d) => d.date).join(", ")})`,
        ...(report.failed.length > 0
          ? [`failed       ${report.failed.map((f) => `${f.date}: ${f.reason}`).join("; ")}`]
          : []),
        `stream       ${stream}`,
        `lake         ${days.length} day(s), ${formatInt(days.reduce((n, d) => n + (d.rows ?? 0), 0))} rows, ${files.length} file(s), ${formatBytes(files.reduce((n, f) => n + f.bytes, 0))}`,
        `files        ${lake}/date=YYYY-MM-DD/part-0000.parquet`,
        `sql          table ${plan.name} in the embedded Postgres at ${Path.join(config.dataDir, "state", "pg")}`
      )
    }
    const greekFiles = [...(yield* store.files("option_greeks_1m")).values()]
    lines.push(
      "",
      `dataset      option_greeks_1m ${DEMO.greeks.symbol} (ThetaData simulator)`,
      `this run     ${summaryLine(greeks)}`,
      `lake         ${greekFiles.length} file(s), ${formatInt(greekFiles.reduce((n, f) => n + f.rows, 0))} rows, ${formatBytes(greekFiles.reduce((n, f) => n + f.bytes, 0))}`,
      `files        ${Path.join(config.dataDir, "lake", "option_greeks_1m")}/date=YYYY-MM-DD/expiration=YYYY-MM-DD/part-0000.parquet`,
      `sql          table option_greeks_1m (strike numeric(18,3))`
    )
    // The consolidated day: what was built, and a few of its rows.
    lines.push("", ...streamed.consolidated)
    const preview = previewOf(
      DEMO.to,
      (yield* readPartition(config.dataDir, derivedDatasets.optionsEnriched, DEMO.to)).filter(
        (r) => r.underlying === "SPY"
      ),
      yield* readPartition(config.dataDir, derivedDatasets.underlyingFeatures, DEMO.to)
    )
    if (preview !== undefined)
      lines.push(
        `options_enriched_1s at ${new Date(preview.ts).toISOString()} (the busiest second after 10:00 New York):`,
        table(preview.header, preview.options),
        "underlying_features_1s, the same second:",
        table(preview.featureHeader, preview.features)
      )
    const relLake = Path.relative(process.cwd(), Path.join(config.dataDir, "lake")) || "."
    lines.push(
      "",
      "Look at it with DuckDB:",
      `  duckdb -c "SELECT symbol, date, count(*) AS bars, min(ts), max(ts), sum(volume) FROM read_parquet('${relLake}/stock_bars_1s/*/*.parquet', hive_partitioning = true) GROUP BY ALL ORDER BY date"`,
      "and with SQL (SPY against VIX, minute by minute):",
      `  ${tapehouse} sql "SELECT symbol, (ts AT TIME ZONE 'America/New_York')::date AS day, count(*) AS bars, round(sum(volume)) AS volume FROM stock_bars_1s GROUP BY 1, 2 ORDER BY 2"`,
      `  ${tapehouse} sql "SELECT date_trunc('minute', s.ts) AS minute, round(avg(s.close)::numeric, 2) AS spy, round(avg(v.close)::numeric, 2) AS vix FROM stock_bars_1s s JOIN index_bars_1s v ON v.ts = s.ts AND v.symbol = 'I:VIX' WHERE s.symbol = 'SPY' AND s.ts >= '2024-03-08 14:30Z' GROUP BY 1 ORDER BY 1 LIMIT 10"`,
      "SPXW greeks by expiration (the Hive partitions give date and expiration):",
      `  duckdb -c "SELECT date, expiration, count(*) AS rows, avg(implied_vol) AS iv FROM read_parquet('${relLake}/option_greeks_1m/*/*/*.parquet', hive_partitioning = true) GROUP BY ALL ORDER BY ALL"`,
      `  ${tapehouse} sql "SELECT expiration, strike, ts, bid, ask, delta, implied_vol FROM option_greeks_1m WHERE strike = (SELECT min(strike) FROM option_greeks_1m) ORDER BY expiration, ts LIMIT 5"`,
      "and the consolidated day (each option row with its underlying's features at the same second):",
      `  ${tapehouse} sql "SELECT symbol, ts, close, underlying_price, iv, delta, rsi_14, vix FROM consolidated_1s WHERE iv IS NOT NULL ORDER BY ts, symbol LIMIT 10"`,
      `  duckdb -c "SELECT symbol, date_trunc('minute', ts) AS minute, avg(iv) AS iv, avg(delta) AS delta FROM read_parquet('${relLake}/options_enriched_1s/*/*.parquet', hive_partitioning = true) WHERE iv IS NOT NULL GROUP BY ALL ORDER BY minute, symbol LIMIT 20"`,
      `State of every day: ${tapehouse} status`
    )
    for (const text of lines) yield* Console.log(text)
    const failed = streamed.outcomes.find((o) => o._tag === "Failed")
    if (failed !== undefined && failed._tag === "Failed") return yield* Effect.fail(failed.error)
  }).pipe(Effect.provide(loggingLayer(config)))

export const demoCommand = Command.make("demo", {}, () =>
  Effect.gen(function* () {
    const loaded = yield* resolveConfig(yield* root)
    const [MassiveSim, OptionsSim, NewsRoute, OptionsChain] = yield* Effect.promise(() =>
      Promise.all([
        import("../sim/MassiveSim.js"),
        import("../sim/options/optionsSim.js"),
        import("../sim/newsRoute.js"),
        import("../sim/options/optionsChain.js")
      ])
    )
    const sim = yield* MassiveSim.make({
      port: 0,
      markets: [...MassiveSim.SYNTHETIC_MARKETS, OptionsSim.optionsMarket]
    })
    OptionsSim.registerOptionContracts(sim)
    NewsRoute.register(sim)
    const config = {
      ...loaded,
      options: { ...loaded.options, maxDte: DEMO.optionsMaxDte },
      // The simulator's rate and yields, so the implied volatility of its option bars is its smile.
      analytics: {
        riskFreeRate: OptionsChain.RATE,
        dividendYield: {
          default: loaded.analytics.dividendYield.default,
          byUnderlying: Object.fromEntries(
            Object.entries(OptionsChain.RULES).map(([underlying, rules]) => [underlying, rules.dividendYield])
          )
        }
      },
      massive: {
        ...loaded.massive,
        restUrl: sim.url,
        apiKey: Option.some(Redacted.make("demo-key")),
        rateLimitPerMinute: 0
      }
    }
    yield* prepareDataDir(config)
    yield* showcase(config, sim.url)
  }).pipe(Effect.scoped)
).pipe(
  Command.withDescription(
    "Offline demo (npm start): start the built-in Massive simulator, backfill SPY per-second bars, I:VIX per-second values, SPY's tracked option contracts and their per-second bars, and SPY news with its sentiment for 2024-03-04..2024-03-08 into the lake and the embedded Postgres, SPXW first-order greeks of 2024-03-08 from the built-in ThetaData simulator (two expirations), stream a full-speed replay of the last day of all four through the live path in one stream set (bars on their WebSocket clusters, the option chain discovered from SPY's op, news polled from the replay's REST until the replayed day is over), and print how to query them. Idempotent."
  )
)
