/**
 * A stream stopped and started again inside the session, as a user does it through the CLI: a
 * replay of a stored day on loopback (what `tapehouse simulate` serves), `stream`, `stop`, a pause
 * while the session goes on, `stream` again to the close, and `status` all along. The restarted
 * stream repairs what it missed through REST and records it in the continuity ledger.
 *
 * The replay's session clock is this test's TestClock: the session only moves when the test moves
 * it, so however long a command takes to start, the stop and the restart land where the test says.
 */
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { Continuity } from "../../src/domain/Continuity.js"
import { type StockBar, StockBars1s } from "../../src/domain/StockBar.js"
import { newYorkTimeToEpochMs } from "../../src/domain/time.js"
import * as Backfill from "../../src/runners/backfill.js"
import { serveStoredDay } from "../../src/sim/lakeBars.js"
import * as MassiveSim from "../../src/sim/MassiveSim.js"
import { readPartition } from "../../src/sinks/ParquetSink.js"
import * as StockBarsFeed from "../../src/sources/massive/stockBarsFeed.js"
import { collect, makeConfigDir, runCli, start } from "../support/cli.js"
import { backfillStack, readLake, tempDir, testConfig } from "../support/fixtures.js"

const DATE = "2024-03-04"
const ny = (h: number, m: number) => newYorkTimeToEpochMs(DATE, h, m)

/** Polls on real time (the TestClock does not move by itself). */
const waitFor = <A>(what: string, probe: () => A | undefined | Promise<A | undefined>, timeoutMs = 90_000) =>
  Effect.promise(async () => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = await probe()
      if (found !== undefined) return found
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  })

const pause = (ms: number) => Effect.promise(() => new Promise((r) => setTimeout(r, ms)))

/** Every column the WebSocket carries (it has no trade counts). */
const wsColumns = (b: StockBar) => [b.symbol, b.ts, b.open, b.high, b.low, b.close, b.volume, b.vwap]
const byKey = (a: StockBar, b: StockBar) =>
  a.symbol === b.symbol ? a.ts - b.ts : a.symbol < b.symbol ? -1 : 1

describe("tapehouse stream, stopped and started again during the session", () => {
  it.scoped(
    "the restart repairs the window it missed and the ledger records it; status sees the live and the stopped day",
    () =>
      Effect.gen(function* () {
        // The vendor's day, replayed from 15:00 at 60×: one TestClock second is one session minute.
        // (Each session second is a wake-up of the replay on the TestClock: the last hour keeps it short.)
        const sim = yield* MassiveSim.make()
        const vendorDir = yield* tempDir("tapehouse-restart-vendor-")
        yield* Effect.flatMap(StockBarsFeed.make, (source) =>
          Backfill.run(source, {
            symbols: ["SPY", "QQQ"],
            from: DATE,
            to: DATE,
            overwrite: false,
            concurrency: 1
          })
        ).pipe(Effect.provide(backfillStack(testConfig(vendorDir, sim.url))))
        const vendorDay = [...(yield* readLake(vendorDir, StockBars1s))].sort(byKey)
        const served = yield* serveStoredDay({ dataDir: vendorDir, date: DATE, speed: 60, fromMs: ny(15, 0) })
        const session = () => served.socket.sessionTimeMs()
        const subscribed = () =>
          served.socket.stats().connections.filter((c) => c.open && c.subscriptions.length > 0)
        /** Moves the session on by `minutes`, a minute at a time, letting the stream keep up. */
        const advance = (minutes: number) =>
          Effect.gen(function* () {
            for (let i = 0; i < minutes; i++) {
              yield* TestClock.adjust("1 second")
              yield* pause(15)
            }
          })

        const dir = yield* tempDir()
        const configDir = yield* makeConfigDir(dir, {
          sql: false,
          replace: [["settings.yaml", /heartbeat_interval_ms: \d+/, "heartbeat_interval_ms: 60000"]]
        })
        const dataDir = Path.join(dir, "data")
        const env = {
          TAPEHOUSE_MASSIVE_URL: served.restUrl,
          TAPEHOUSE_MASSIVE_WS_URL: served.wsUrl,
          MASSIVE_API_KEY: "k-restart-1234",
          TAPEHOUSE_DATA_DIR: dataDir
        }
        const status = (...args: Array<string>) =>
          runCli(["--config-dir", configDir, "status", ...args], { env })
        const streamArgs = [
          ...["--config-dir", configDir, "stream", "--dataset", "stock_bars_1s"],
          ...["--symbols", "SPY,QQQ", "--no-reconcile"]
        ]
        const partition = Path.join(dataDir, "lake", "stock_bars_1s", `date=${DATE}`)
        const parts = () =>
          NodeFs.readdir(partition)
            .catch(() => [] as Array<string>)
            .then((names) => names.filter((f) => /^part-\d{6}\.parquet$/.test(f)).length)

        // 1. The first capture: 15:00 to about 15:15.
        const first = start(streamArgs, { env })
        const firstDone = collect(first, 120_000)
        yield* waitFor("the first stream's subscription", () =>
          subscribed().length === 1 ? true : undefined
        )
        yield* advance(15)
        yield* waitFor("part files of the first capture", async () =>
          (await parts()) >= 3 ? true : undefined
        )

        // Live: the heartbeat says connected (written when the state changed, not 60 s later), and
        // the day shows as being streamed, with its rows and part files.
        const live = yield* status()
        expect(live.code, live.stderr).toBe(0)
        expect(live.stdout).toMatch(
          /stream massive-stocks running \(pid \d+, SPY,QQQ, .*\); heartbeat .* ago: connected/
        )
        expect(live.stdout).toMatch(
          /streamed stock_bars_1s 2024-03-04: streaming now; [\d,]+ rows in \d+ part file\(s\)/
        )
        expect(live.stdout).toMatch(/SPY\s+2024-03-04\s+streaming/)

        const stop = yield* runCli(["--config-dir", configDir, "stop"], { env })
        expect(stop.code, stop.stderr).toBe(0)
        const firstResult = yield* Effect.promise(() => firstDone)
        expect(firstResult.code, firstResult.stderr).toBe(0)

        // Stopped mid-session: status still sees the day, its part files and rows.
        const stopped = yield* status("--json")
        expect(stopped.code, stopped.stderr).toBe(0)
        const report = JSON.parse(stopped.stdout) as {
          datasets: Array<{
            dataset: string
            counts: Record<string, number>
            streamedDays: Array<{ date: string; state: string; parts: number; rows: number }>
          }>
        }
        const bars = report.datasets.find((d) => d.dataset === "stock_bars_1s")!
        expect(bars.counts.streaming).toBe(2)
        expect(bars.streamedDays).toEqual([expect.objectContaining({ date: DATE, state: "stopped" })])
        expect(bars.streamedDays[0]!.rows).toBe((yield* readLake(dataDir, StockBars1s)).length)
        expect(bars.streamedDays[0]!.rows).toBeGreaterThan(0)

        // 2. The session goes on for 20 minutes with nobody listening.
        const stoppedAt = session()
        yield* advance(20)

        // 3. The stream starts again and runs to the close.
        const restarted = start(streamArgs, { env })
        const secondDone = collect(restarted, 180_000)
        yield* waitFor("the second stream's subscription", () =>
          subscribed().length === 1 ? true : undefined
        )
        yield* advance(Math.ceil((ny(16, 0) - session()) / 60_000) + 2)
        yield* waitFor("the end of the replay", () => (served.socket.isFinished() ? true : undefined))
        const second = yield* Effect.promise(() => secondDone)
        expect(second.code, second.stderr).toBe(0)
        expect(second.stdout).toMatch(/gap \S+–\S+: repaired, [1-9]\d* rows/)

        // The ledger holds both windows, repaired through REST: the late start (the first stream
        // began at 15:00 with nothing before it) and the restart.
        const ledger = yield* readPartition(dataDir, Continuity, DATE)
        const gaps = ledger.filter((r) => r.kind === "gap").sort((a, b) => a.start - b.start)
        expect(gaps.map((g) => [g.cause, g.status, g.symbols])).toEqual([
          ["late-start", "repaired", "SPY,QQQ"],
          ["restart", "repaired", "SPY,QQQ"]
        ])
        expect(gaps[0]!.start).toBe(ny(9, 30))
        expect(gaps.every((g) => g.rows > 0)).toBe(true)
        expect(gaps[1]!.start).toBeLessThan(stoppedAt)
        // It ends at the first bar the restarted stream got: published 3 s after its second.
        expect(gaps[1]!.end).toBeGreaterThanOrEqual(stoppedAt + 20 * 60_000 - 3000)
        // The restart raised an alert; the late start, repaired whole, is in the ledger only.
        const alerts = (yield* Effect.promise(() =>
          NodeFs.readFile(Path.join(dataDir, "state", "alerts.jsonl"), "utf8")
        ))
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line) as { kind: string; message: string })
        expect(alerts.filter((a) => a.kind === "gap").map((a) => a.message.split(" ")[0])).toEqual([
          "restart"
        ])

        // The lake equals the vendor's day in every column the WebSocket carries.
        const lake = [...(yield* readPartition(dataDir, StockBars1s, DATE))].sort(byKey)
        expect(lake.map(wsColumns)).toEqual(vendorDay.map(wsColumns))

        const after = yield* status()
        expect(after.stdout).toMatch(
          /coverage 2024-03-04 stock_bars_1s: every gap repaired; 2 gap\(s\) \(late-start \S+ repaired, [\d,]+ rows; restart \S+ repaired, [\d,]+ rows\)/
        )
        expect(after.stdout).toMatch(/SPY\s+2024-03-04\s+streamed/)
      }),
    300_000
  )
})
