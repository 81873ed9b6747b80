/**
 * The proof that matters most: for a backfilled day D, `stream` fed by `simulate` of D produces a
 * lake equal to the backfill of D, row for row, including after a forced disconnect in the
 * middle (repaired through REST). Real HTTP and WebSocket on loopback, real Parquet.
 */
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer } from "effect"
import { StockBars1s } from "../../src/domain/StockBar.js"
import * as Alerts from "../../src/monitor/Alerts.js"
import type { OpenSpillFile } from "../../src/pipeline/SpillQueue.js"
import * as Backfill from "../../src/runners/backfill.js"
import * as StreamRunner from "../../src/runners/stream.js"
import { serveStoredDay } from "../../src/sim/lakeBars.js"
import * as MassiveSim from "../../src/sim/MassiveSim.js"
import { readPartition } from "../../src/sinks/ParquetSink.js"
import { decodeTable } from "../../src/sinks/parquetCodec.js"
import { quarantineColumns } from "../../src/sinks/Quarantine.js"
import * as StockBarsFeed from "../../src/sources/massive/stockBarsFeed.js"
import { backfillStack, filesUnder, streamStack, tempDir, testConfig } from "../support/fixtures.js"
import { makeTempDir, removeTempDirs } from "../support/tempDirs.js"

const DATE = "2024-03-04"
const SYMBOLS = ["SPY", "QQQ"]

/** Backfills D from the synthetic market into a fresh data dir. */
const backfillDay = (dataDir: string) =>
  Effect.gen(function* () {
    const sim = yield* MassiveSim.make()
    const config = testConfig(dataDir, sim.url)
    yield* Effect.flatMap(StockBarsFeed.make, (source) =>
      Backfill.run(source, { symbols: SYMBOLS, from: DATE, to: DATE, overwrite: false, concurrency: 1 })
    ).pipe(Effect.provide(backfillStack(config)))
  }).pipe(Effect.scoped)

/**
 * D backfilled once for the file: every test only reads it (the replay serves it; each stream
 * writes its own data dir).
 */
let backfillDir = ""
beforeAll(async () => {
  backfillDir = makeTempDir("tapehouse-rt-a-")
  await Effect.runPromise(backfillDay(backfillDir))
}, 120_000)
afterAll(removeTempDirs)
const backfilledDay = Effect.sync(() => backfillDir)

const streamInto = (
  restUrl: string,
  wsUrl: string,
  reconcile: boolean,
  queueCapacity = 100_000,
  openSpillFile?: OpenSpillFile,
  into?: string
) =>
  Effect.gen(function* () {
    const dataDir = into ?? (yield* tempDir("tapehouse-rt-b-"))
    const base = testConfig(dataDir, restUrl)
    const config = {
      ...base,
      massive: { ...base.massive, wsUrl },
      stream: { ...base.stream, flushIntervalMs: 200, queueCapacity }
    }
    const layer = streamStack(config)
    const context = yield* Layer.build(layer)
    const report = yield* Effect.flatMap(StockBarsFeed.makeLive, (feed) =>
      StreamRunner.run(feed, {
        instruments: SYMBOLS,
        source: "massive-stocks",
        reconcile,
        ...(openSpillFile === undefined ? {} : { openSpillFile })
      })
    ).pipe(Effect.scoped, Effect.provide(context))
    const alerts = yield* Alerts.collected.pipe(Effect.provide(context))
    return { dataDir, report, alerts }
  })

describe("round trip: backfill D → simulate D → stream", () => {
  it.scopedLive(
    "the streamed lake equals the backfill row for row, after a forced disconnect repaired through REST",
    () =>
      Effect.gen(function* () {
        const backfillDir = yield* backfilledDay
        const expected = yield* readPartition(backfillDir, StockBars1s, DATE)
        // Paced (4000x): the replay goes on while the client is disconnected, so bars are really missed.
        const served = yield* serveStoredDay({ dataDir: backfillDir, date: DATE, speed: 4000 })
        // Drop the connection after a few thousand frames: the client reconnects, the gap is repaired.
        served.socket.faults.inject({ kind: "drop", afterFrames: 3000 })
        const { dataDir, report } = yield* streamInto(served.restUrl, served.wsUrl, false)
        expect(report.stats.reconnects).toBe(1)
        const gaps = report.continuity.filter((c) => c.kind === "gap")
        expect(gaps).toHaveLength(1)
        expect(gaps[0]!.status).toBe("repaired")
        expect(gaps[0]!.rows).toBeGreaterThan(0)
        // Without reconciliation, every column but the trade count (absent from the WebSocket feed)
        // matches the backfill, row for row.
        const streamed = yield* readPartition(dataDir, StockBars1s, DATE)
        const withoutTrades = (rows: typeof expected) => rows.map((b) => ({ ...b, trades: null }))
        expect(withoutTrades(streamed)).toEqual(withoutTrades(expected))
      }),
    180_000
  )

  it.scopedLive(
    "with the end-of-session reconciliation the lake equals the backfill exactly, and the ledger says verified",
    () =>
      Effect.gen(function* () {
        const backfillDir = yield* backfilledDay
        const expected = yield* readPartition(backfillDir, StockBars1s, DATE)
        // Paced (4000x): the replay goes on while the client is disconnected, so bars are really missed.
        const served = yield* serveStoredDay({ dataDir: backfillDir, date: DATE, speed: 4000 })
        served.socket.faults.inject({ kind: "drop", afterFrames: 5000 })
        const { dataDir, report } = yield* streamInto(served.restUrl, served.wsUrl, true)
        expect(yield* readPartition(dataDir, StockBars1s, DATE)).toEqual(expected)
        const reconcile = report.continuity.find((c) => c.kind === "reconcile")
        expect(reconcile?.status).toBe("verified")
        expect(report.continuity.filter((c) => c.kind === "gap").map((g) => g.status)).toEqual(["repaired"])
      }),
    180_000
  )

  it.scopedLive(
    "a burst far above the sink's speed spills to disk and drains in order: nothing lost",
    () =>
      Effect.gen(function* () {
        const backfillDir = yield* backfilledDay
        const expected = yield* readPartition(backfillDir, StockBars1s, DATE)
        const served = yield* serveStoredDay({ dataDir: backfillDir, date: DATE, speed: "max" })
        // One bar in memory: every frame offered while another waits goes through the spill file.
        const { dataDir, report, alerts } = yield* streamInto(served.restUrl, served.wsUrl, false, 1)
        expect(report.stats.spilled).toBeGreaterThan(0)
        expect(alerts.some((a) => a.kind === "spill")).toBe(true)
        const streamed = yield* readPartition(dataDir, StockBars1s, DATE)
        expect(streamed.map((b) => ({ ...b, trades: null }))).toEqual(
          expected.map((b) => ({ ...b, trades: null }))
        )
      }),
    180_000
  )

  it.scopedLive(
    "disk full while spilling: the stream stops with a clear error, and every row it committed is intact",
    () =>
      Effect.gen(function* () {
        const backfillDir = yield* backfilledDay
        const expected = yield* readPartition(backfillDir, StockBars1s, DATE)
        const served = yield* serveStoredDay({ dataDir: backfillDir, date: DATE, speed: "max" })
        // A disk with no space left: segment files open, but no byte can be written to them.
        const fullDisk: OpenSpillFile = async () => ({
          write: async () => {
            throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" })
          },
          truncate: async () => {},
          close: async () => {}
        })
        const dataDir = yield* tempDir("tapehouse-rt-b-")
        const exit = yield* Effect.exit(streamInto(served.restUrl, served.wsUrl, false, 1, fullDisk, dataDir))
        expect(Exit.isFailure(exit)).toBe(true)
        const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
        expect(error).toMatchObject({ _tag: "SpillError" })
        const message = String((error as Error).message)
        expect(message).toContain("ENOSPC (no space left on device)")
        expect(message).toContain("Free space on the disk holding")
        expect(message).toContain("nothing was dropped")
        expect(message).toContain(Path.join("state", "spill", "massive-stocks"))
        // What was committed before the stop is readable and equal to the vendor's bars, with no
        // duplicate and no half-written file.
        const streamed = yield* readPartition(dataDir, StockBars1s, DATE)
        expect(streamed.length).toBeGreaterThan(0)
        const byKey = new Map(expected.map((b) => [`${b.symbol}|${b.ts}`, { ...b, trades: null }]))
        expect(new Set(streamed.map((b) => `${b.symbol}|${b.ts}`)).size).toBe(streamed.length)
        for (const b of streamed) expect(b).toEqual(byKey.get(`${b.symbol}|${b.ts}`))
        const lakeFiles = yield* filesUnder(Path.join(dataDir, "lake"))
        expect(lakeFiles.filter((f) => !f.endsWith(".parquet"))).toEqual([])
      }),
    180_000
  )

  it.scopedLive(
    "malformed, non-array and unknown-event frames: quarantined or counted, skipped, reported as schema drift",
    () =>
      Effect.gen(function* () {
        const backfillDir = yield* backfilledDay
        const expected = yield* readPartition(backfillDir, StockBars1s, DATE)
        const served = yield* serveStoredDay({ dataDir: backfillDir, date: DATE, speed: "max" })
        served.socket.faults.inject({ kind: "malformed" }, { times: 2 })
        served.socket.faults.inject({ kind: "non-array" })
        served.socket.faults.inject({ kind: "unknown-event" }, { times: 3 })
        const { dataDir, report, alerts } = yield* streamInto(served.restUrl, served.wsUrl, false)
        expect(report.stats.rejected).toBe(3)
        expect(report.stats.unknownEvents).toBe(3)
        expect(alerts.filter((a) => a.kind === "schema-drift")).toHaveLength(1)
        const quarantined = (yield* filesUnder(Path.join(dataDir, "quarantine"))).filter((f) =>
          f.endsWith(".parquet")
        )
        expect(quarantined.length).toBeGreaterThan(0)
        const rejects = yield* Effect.promise(async () => {
          const out: Array<Record<string, unknown>> = []
          for (const f of quarantined)
            out.push(
              ...(await decodeTable(
                quarantineColumns(StockBars1s),
                await NodeFs.readFile(Path.join(dataDir, "quarantine", f))
              ))
            )
          return out
        })
        expect(rejects.map((r) => String(r.reason)).sort()).toEqual([
          "frame is not JSON",
          "frame is not JSON",
          "frame is not a JSON array"
        ])
        // The real frames around the bad ones were all delivered.
        const streamed = yield* readPartition(dataDir, StockBars1s, DATE)
        expect(streamed.length).toBe(expected.length)
      }),
    180_000
  )
})
