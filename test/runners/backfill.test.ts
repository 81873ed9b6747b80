/**
 * The backfill runner over real HTTP against the Massive simulator on loopback: the happy path,
 * idempotence, and each fault the issue lists. Parquet files are read back.
 */
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { SqlClient } from "@effect/sql"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Logger, LogLevel } from "effect"
import * as MarketCalendar from "../../src/calendar/MarketCalendar.js"
import { AppConfig } from "../../src/config/AppConfig.js"
import { compareByKey } from "../../src/domain/Dataset.js"
import { type StockBar, StockBars1s } from "../../src/domain/StockBar.js"
import * as Checkpoints from "../../src/pipeline/Checkpoints.js"
import * as Backfill from "../../src/runners/backfill.js"
import * as MassiveSim from "../../src/sim/MassiveSim.js"
import { secondBars } from "../../src/sim/syntheticMarket.js"
import { decodeTable } from "../../src/sinks/parquetCodec.js"
import * as Quarantine from "../../src/sinks/Quarantine.js"
import { quarantineColumns } from "../../src/sinks/Quarantine.js"
import { Sinks } from "../../src/sinks/Sink.js"
import * as SinksLive from "../../src/sinks/SinksLive.js"
import { SqlReady } from "../../src/sinks/SinksLive.js"
import * as MassiveRest from "../../src/sources/massive/MassiveRest.js"
import * as StockBarsFeed from "../../src/sources/massive/stockBarsFeed.js"
import {
  backfillStack,
  filesUnder,
  lakeSnapshot,
  readLake,
  tempDir,
  testConfig
} from "../support/fixtures.js"
import { dataDirWithEmptyDb, WARM_UP_TIMEOUT_MS, warmUpTemplate } from "../support/pgTemplate.js"
import { removeTempDirs } from "../support/tempDirs.js"

beforeAll(warmUpTemplate, WARM_UP_TIMEOUT_MS)
afterAll(removeTempDirs)

const request = (
  symbols: ReadonlyArray<string>,
  from: string,
  to: string,
  overwrite = false
): Backfill.BackfillRequest => ({
  symbols,
  from,
  to,
  overwrite,
  concurrency: 2
})

/** Starts a simulator and a data dir; returns a function running one backfill against them. */
const setup = (simOptions: MassiveSim.MassiveSimOptions = {}, over: Parameters<typeof testConfig>[2] = {}) =>
  Effect.gen(function* () {
    const sim = yield* MassiveSim.make(simOptions)
    // With SQL, an empty embedded database copied from a template (no initdb per test).
    const dataDir = over.sql === true ? yield* Effect.promise(() => dataDirWithEmptyDb()) : yield* tempDir()
    const config = testConfig(dataDir, sim.url, over)
    const backfill = (req: Backfill.BackfillRequest) =>
      Effect.flatMap(StockBarsFeed.make, (source) => Backfill.run(source, req)).pipe(
        Effect.provide(backfillStack(config))
      )
    return { sim, dataDir, config, backfill }
  })

const expectedBars = (symbols: ReadonlyArray<string>, dates: ReadonlyArray<string>): Array<StockBar> =>
  symbols.flatMap((s) => dates.flatMap((d) => [...secondBars(s, d)])).sort(compareByKey(StockBars1s))

const aggregateRequests = (sim: MassiveSim.MassiveSimServer) =>
  sim.requests().filter((r) => r.path.startsWith("/v2/aggs/"))

const dayPath = (symbol: string, date: string) =>
  new RegExp(`^/v2/aggs/ticker/${symbol}/range/1/second/[^/]+/${date}$`)

describe("backfill over the Massive simulator", () => {
  it.scopedLive("writes exactly the vendor's bars, one file per day, following next_url pages", () =>
    Effect.gen(function* () {
      const { sim, dataDir, backfill } = yield* setup({ pageSize: 5000 })
      const report = yield* backfill(request(["SPY", "QQQ"], "2024-03-04", "2024-03-06"))
      const dates = ["2024-03-04", "2024-03-05", "2024-03-06"]
      expect(report.committed.map((d) => d.date)).toEqual(dates)
      expect(report.failed).toEqual([])
      const lake = yield* readLake(dataDir, StockBars1s)
      const expected = expectedBars(["SPY", "QQQ"], dates)
      expect(lake.length).toBe(expected.length)
      expect([...lake].sort(compareByKey(StockBars1s))).toEqual(expected)
      expect(yield* filesUnder(Path.join(dataDir, "lake"))).toEqual(
        dates.map((d) => `stock_bars_1s/date=${d}/part-0000.parquet`)
      )
      // Pagination happened: more aggregate requests than symbol-days.
      expect(aggregateRequests(sim).length).toBeGreaterThan(6)
      expect(aggregateRequests(sim).every((r) => r.auth === "bearer")).toBe(true)
      const days = yield* Effect.flatMap(Checkpoints.make(dataDir), (c) => c.days("stock_bars_1s"))
      expect([...days.values()].every((d) => d.status === "done")).toBe(true)
    })
  )

  it.scopedLive(
    "a rerun fetches nothing and leaves the lake byte for byte the same; --overwrite refetches the same data",
    () =>
      Effect.gen(function* () {
        const { sim, dataDir, backfill } = yield* setup()
        yield* backfill(request(["SPY"], "2024-03-04", "2024-03-05"))
        const before = yield* lakeSnapshot(dataDir)
        sim.clearRequests()
        const again = yield* backfill(request(["SPY"], "2024-03-04", "2024-03-05"))
        expect(again.committed).toEqual([])
        expect(again.alreadyDone).toEqual([
          { symbol: "SPY", date: "2024-03-04" },
          { symbol: "SPY", date: "2024-03-05" }
        ])
        expect(aggregateRequests(sim)).toEqual([])
        expect(yield* lakeSnapshot(dataDir)).toEqual(before)
        const overwritten = yield* backfill(request(["SPY"], "2024-03-04", "2024-03-05", true))
        expect(overwritten.committed.map((d) => d.date)).toEqual(["2024-03-04", "2024-03-05"])
        expect(aggregateRequests(sim).length).toBe(2)
        expect(yield* lakeSnapshot(dataDir)).toEqual(before)
      })
  )

  it.scopedLive(
    "adding a symbol to done days merges into the same day file, as if both were fetched together",
    () =>
      Effect.gen(function* () {
        const { dataDir, backfill } = yield* setup()
        yield* backfill(request(["SPY"], "2024-03-04", "2024-03-04"))
        yield* backfill(request(["SPY", "QQQ"], "2024-03-04", "2024-03-04"))
        const incremental = yield* lakeSnapshot(dataDir)
        const other = yield* setup()
        yield* other.backfill(request(["QQQ", "SPY"], "2024-03-04", "2024-03-04"))
        expect(yield* lakeSnapshot(other.dataDir)).toEqual(incremental)
      })
  )

  it.scopedLive("a 429 storm honouring Retry-After and a 5xx burst are retried; nothing is lost", () =>
    Effect.gen(function* () {
      const { sim, dataDir, backfill } = yield* setup()
      sim.faults.inject(
        { kind: "status", status: 429, retryAfter: "1" },
        { times: 2, path: dayPath("SPY", "2024-03-04") }
      )
      sim.faults.inject({ kind: "status", status: 503 }, { times: 2, path: dayPath("SPY", "2024-03-05") })
      const report = yield* backfill(request(["SPY"], "2024-03-04", "2024-03-05"))
      expect(report.failed).toEqual([])
      const statuses = (date: string) =>
        aggregateRequests(sim)
          .filter((r) => r.path.endsWith(date))
          .map((r) => r.status)
      expect(statuses("2024-03-04")).toEqual([429, 429, 200])
      expect(statuses("2024-03-05")).toEqual([503, 503, 200])
      expect((yield* readLake(dataDir, StockBars1s)).length).toBe(
        expectedBars(["SPY"], ["2024-03-04", "2024-03-05"]).length
      )
    })
  )

  it.scopedLive("truncated and non-JSON bodies are retried", () =>
    Effect.gen(function* () {
      const { sim, dataDir, backfill } = yield* setup()
      sim.faults.inject({ kind: "truncated" }, { path: dayPath("SPY", "2024-03-04") })
      sim.faults.inject({ kind: "non-json" }, { path: dayPath("SPY", "2024-03-05") })
      const report = yield* backfill(request(["SPY"], "2024-03-04", "2024-03-05"))
      expect(report.failed).toEqual([])
      expect(
        aggregateRequests(sim)
          .map((r) => r.fault)
          .filter((f) => f !== undefined)
          .sort()
      ).toEqual(["non-json", "truncated"])
      expect((yield* readLake(dataDir, StockBars1s)).length).toBe(
        expectedBars(["SPY"], ["2024-03-04", "2024-03-05"]).length
      )
    })
  )

  it.scopedLive(
    "a day that keeps failing is recorded with its reason, the others are committed, a rerun repairs it",
    () =>
      Effect.gen(function* () {
        const { sim, dataDir, backfill } = yield* setup()
        sim.faults.inject({ kind: "status", status: 500 }, { times: 3, path: dayPath("SPY", "2024-03-05") })
        const report = yield* backfill(request(["SPY"], "2024-03-04", "2024-03-06"))
        expect(report.committed.map((d) => d.date)).toEqual(["2024-03-04", "2024-03-06"])
        expect(report.failed).toHaveLength(1)
        expect(report.failed[0]).toMatchObject({ symbol: "SPY", date: "2024-03-05" })
        expect(report.failed[0]?.reason).toContain("500")
        const days = yield* Effect.flatMap(Checkpoints.make(dataDir), (c) => c.days("stock_bars_1s"))
        expect(days.get(Checkpoints.dayKey("SPY", "2024-03-05"))).toMatchObject({ status: "failed" })
        expect(yield* filesUnder(Path.join(dataDir, "lake"))).not.toContain(
          "stock_bars_1s/date=2024-03-05/part-0000.parquet"
        )
        sim.clearRequests()
        const rerun = yield* backfill(request(["SPY"], "2024-03-04", "2024-03-06"))
        expect(rerun.committed.map((d) => d.date)).toEqual(["2024-03-05"])
        expect(aggregateRequests(sim).every((r) => r.path.endsWith("2024-03-05"))).toBe(true)
        const clean = yield* setup()
        yield* clean.backfill(request(["SPY"], "2024-03-04", "2024-03-06"))
        expect(yield* lakeSnapshot(dataDir)).toEqual(yield* lakeSnapshot(clean.dataDir))
      })
  )

  it.scopedLive("a page repeating rows of the previous page is deduplicated", () =>
    Effect.gen(function* () {
      const { sim, dataDir, backfill } = yield* setup({ pageSize: 4000 })
      sim.faults.inject({ kind: "repeat-rows", count: 25 }, { times: 2 })
      const report = yield* backfill(request(["SPY"], "2024-03-04", "2024-03-04"))
      expect(report.duplicates).toBe(50)
      const lake = yield* readLake(dataDir, StockBars1s)
      expect(lake).toEqual(expectedBars(["SPY"], ["2024-03-04"]))
    })
  )

  it.scopedLive("bars that break OHLC rules go to quarantine with a reason, never into the lake", () =>
    Effect.gen(function* () {
      const { sim, dataDir, backfill } = yield* setup()
      sim.faults.inject({ kind: "ohlc-violation", count: 3 }, { path: dayPath("SPY", "2024-03-04") })
      const report = yield* backfill(request(["SPY"], "2024-03-04", "2024-03-04"))
      expect(report.rejected).toBe(3)
      const lake = yield* readLake(dataDir, StockBars1s)
      expect(lake.length).toBe(expectedBars(["SPY"], ["2024-03-04"]).length - 3)
      expect(lake.every((b) => b.low <= b.high)).toBe(true)
      const file = Path.join(dataDir, "quarantine", "stock_bars_1s", "date=2024-03-04", "rejects-SPY.parquet")
      const rejects = yield* Effect.promise(async () =>
        decodeTable(quarantineColumns(StockBars1s), await NodeFs.readFile(file))
      )
      expect(rejects).toHaveLength(3)
      for (const r of rejects) {
        expect(r.symbol).toBe("SPY")
        expect(String(r.reason)).toMatch(/above high|below low/)
      }
    })
  )

  it.scopedLive(
    "an unknown symbol is an empty day: recorded empty (not done), no file, retried by the next run unless accepted",
    () =>
      Effect.gen(function* () {
        const { sim, dataDir, backfill } = yield* setup()
        const report = yield* backfill(request(["SPY", "ZZZZ"], "2024-03-04", "2024-03-04"))
        expect(report.empty).toEqual([{ symbol: "ZZZZ", date: "2024-03-04" }])
        expect(yield* filesUnder(Path.join(dataDir, "lake"))).toEqual([
          "stock_bars_1s/date=2024-03-04/part-0000.parquet"
        ])
        const days = yield* Effect.flatMap(Checkpoints.make(dataDir), (c) => c.days("stock_bars_1s"))
        expect(days.get(Checkpoints.dayKey("ZZZZ", "2024-03-04"))).toMatchObject({ status: "empty", rows: 0 })
        expect(days.get(Checkpoints.dayKey("SPY", "2024-03-04"))).toMatchObject({ status: "done" })

        // The next run asks again for the empty one only.
        sim.clearRequests()
        const again = yield* backfill(request(["SPY", "ZZZZ"], "2024-03-04", "2024-03-04"))
        expect(again.alreadyDone).toEqual([{ symbol: "SPY", date: "2024-03-04" }])
        expect(again.empty).toEqual([{ symbol: "ZZZZ", date: "2024-03-04" }])
        expect(aggregateRequests(sim).map((r) => r.path)).toEqual([
          expect.stringMatching(dayPath("ZZZZ", "2024-03-04"))
        ])

        // With acceptEmpty it is taken as it is: nothing fetched.
        sim.clearRequests()
        const accepted = yield* backfill({
          ...request(["ZZZZ"], "2024-03-04", "2024-03-04"),
          acceptEmpty: true
        })
        expect(accepted.acceptedEmpty).toEqual([{ symbol: "ZZZZ", date: "2024-03-04" }])
        expect(accepted.empty).toEqual([])
        expect(aggregateRequests(sim)).toEqual([])
      })
  )

  it.scopedLive("a day that is all rejects is done, not empty: the vendor did answer", () =>
    Effect.gen(function* () {
      const { sim, dataDir, backfill } = yield* setup()
      sim.faults.inject({ kind: "ohlc-violation", count: 100_000 }, { path: dayPath("SPY", "2024-03-04") })
      const report = yield* backfill(request(["SPY"], "2024-03-04", "2024-03-04"))
      expect(report.empty).toEqual([])
      const days = yield* Effect.flatMap(Checkpoints.make(dataDir), (c) => c.days("stock_bars_1s"))
      expect(days.get(Checkpoints.dayKey("SPY", "2024-03-04"))?.status).toBe("done")
      expect(days.get(Checkpoints.dayKey("SPY", "2024-03-04"))?.rejected).toBeGreaterThan(0)
    })
  )

  it.scopedLive("a range of only holidays and a weekend fetches nothing and says why", () =>
    Effect.gen(function* () {
      const { sim, backfill } = yield* setup()
      const report = yield* backfill(request(["SPY"], "2024-03-29", "2024-03-31"))
      expect(report.tradingDays).toBe(0)
      expect(report.closedDays).toEqual([
        { date: "2024-03-29", reason: "holiday: Good Friday" },
        { date: "2024-03-30", reason: "weekend (Saturday)" },
        { date: "2024-03-31", reason: "weekend (Sunday)" }
      ])
      expect(aggregateRequests(sim)).toEqual([])
    })
  )

  it.scopedLive("a wrong API key fails at once with a clear message and exactly one request", () =>
    Effect.gen(function* () {
      const { sim, dataDir, backfill } = yield* setup(
        { apiKeys: ["the-right-key"] },
        { apiKey: "a-wrong-key-9876" }
      )
      const error = yield* Effect.flip(backfill(request(["SPY"], "2024-03-04", "2024-03-08")))
      expect(error._tag).toBe("VendorAuthError")
      expect(error.message).toContain("rejected the API key")
      expect(error.message).toContain("MASSIVE_API_KEY")
      expect(error.message).not.toContain("a-wrong-key-9876")
      expect(aggregateRequests(sim).filter((r) => r.status === 401).length).toBeGreaterThanOrEqual(1)
      expect(aggregateRequests(sim).filter((r) => r.path.endsWith("2024-03-04")).length).toBe(1)
      expect(yield* filesUnder(Path.join(dataDir, "lake"))).toEqual([])
    })
  )

  it.scopedLive("with the SQL sink, Postgres holds exactly the rows of the lake", () =>
    Effect.gen(function* () {
      const { dataDir, config, backfill } = yield* setup({}, { sql: true })
      yield* backfill(request(["SPY"], "2024-03-04", "2024-03-05"))
      yield* backfill(request(["SPY"], "2024-03-04", "2024-03-05", true))
      const lake = yield* readLake(dataDir, StockBars1s)
      const rows = yield* Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        return yield* sql<{ symbol: string; ts: Date; close: number; trades: string | null }>`
          SELECT symbol, ts, close, trades FROM stock_bars_1s ORDER BY symbol, ts`
      }).pipe(Effect.provide(SqlReady.pipe(Layer.provide(Layer.succeed(AppConfig, config)))))
      expect(rows.length).toBe(lake.length)
      expect(
        rows.map((r) => [r.symbol, r.ts.getTime(), r.close, r.trades === null ? null : Number(r.trades)])
      ).toEqual(lake.map((b) => [b.symbol, b.ts, b.close, b.trades]))
    })
  )

  describe("a reader never sees a day the checkpoints do not hold as done", () => {
    const days = ["2024-03-04", "2024-03-05", "2024-03-06"]
    const CRASH_DAY = "2024-03-05"
    const crash = () => Effect.dieMessage(`simulated crash on ${CRASH_DAY}`)

    /** Dates with a visible Parquet file, and dates whose every instrument the journal holds done. */
    const visibleAndDone = (dataDir: string) =>
      Effect.gen(function* () {
        const visible = (yield* filesUnder(Path.join(dataDir, "lake")))
          .filter((f) => f.endsWith(".parquet"))
          .map((f) => /date=(\d{4}-\d{2}-\d{2})/.exec(f)![1]!)
        const journal = yield* Effect.flatMap(Checkpoints.make(dataDir), (c) => c.days(StockBars1s.name))
        const done = days.filter((d) =>
          ["SPY", "QQQ"].every((s) => journal.get(Checkpoints.dayKey(s, d))?.status === "done")
        )
        return { visible, done }
      })

    /** The backfill stack of `config` with its checkpoints or sinks swapped for a crashing version. */
    const crashingStack = (
      config: ReturnType<typeof testConfig>,
      swap: { readonly checkpoints?: boolean; readonly publish?: boolean }
    ) => {
      const checkpoints = Layer.effect(
        Checkpoints.Checkpoints,
        Effect.map(Checkpoints.make(config.dataDir), (inner) =>
          Checkpoints.Checkpoints.of({
            ...inner,
            record: (entries) =>
              swap.checkpoints === true &&
              entries.some((e) => e.kind === "day" && e.status === "done" && e.date === CRASH_DAY)
                ? crash()
                : inner.record(entries)
          })
        )
      )
      const sinks = Layer.effect(
        Sinks,
        Effect.map(Sinks, (inner) =>
          Sinks.of({
            ...inner,
            commit: (write) =>
              Effect.map(inner.commit(write), (results) =>
                swap.publish === true && write.date === CRASH_DAY
                  ? results.map((r) => (r.publish === undefined ? r : { ...r, publish: crash() }))
                  : results
              )
          })
        )
      ).pipe(Layer.provide(SinksLive.fromConfig))
      return Layer.mergeAll(
        MassiveRest.Live,
        MarketCalendar.Test,
        checkpoints,
        Quarantine.Live,
        sinks,
        Logger.minimumLogLevel(LogLevel.Warning)
      ).pipe(Layer.provide(Layer.succeed(AppConfig, config)))
    }

    for (const [name, swap] of [
      ["a crash after the sinks committed and before the checkpoint", { checkpoints: true }],
      ["a crash after the checkpoint and before the file was published", { publish: true }]
    ] as const)
      it.scopedLive(`${name}: no file of an undone day is visible; the rerun gives the clean lake`, () =>
        Effect.gen(function* () {
          const { sim, dataDir, config, backfill } = yield* setup()
          const crashed = yield* Effect.flatMap(StockBarsFeed.make, (source) =>
            Backfill.run(source, { ...request(["SPY", "QQQ"], days[0]!, days[2]!), concurrency: 1 })
          ).pipe(Effect.provide(crashingStack(config, swap)), Effect.exit)
          expect(crashed._tag).toBe("Failure")
          const after = yield* visibleAndDone(dataDir)
          expect(after.visible).toEqual(["2024-03-04"])
          expect(after.done).toEqual(swap.publish === true ? ["2024-03-04", CRASH_DAY] : ["2024-03-04"])
          // The staged file is there, invisible to readers.
          expect(
            yield* filesUnder(Path.join(dataDir, "lake", StockBars1s.name, `date=${CRASH_DAY}`))
          ).toEqual(["part-0000.parquet.staged"])

          sim.clearRequests()
          const rerun = yield* backfill(request(["SPY", "QQQ"], days[0]!, days[2]!))
          expect(rerun.failed).toEqual([])
          // Published from the checkpoint, or redone because it was never recorded.
          const refetched = aggregateRequests(sim).some((r) => dayPath("SPY", CRASH_DAY).test(r.path))
          expect(refetched).toBe(swap.publish !== true)
          const clean = yield* setup()
          yield* clean.backfill(request(["SPY", "QQQ"], days[0]!, days[2]!))
          expect(yield* lakeSnapshot(dataDir)).toEqual(yield* lakeSnapshot(clean.dataDir))
          expect((yield* visibleAndDone(dataDir)).done).toEqual(days)
        })
      )
  })
})
