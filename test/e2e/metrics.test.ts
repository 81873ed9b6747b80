/**
 * `tapehouse stream --metrics-port 0`: a running stream, fed a stored day by the simulator on
 * loopback, is scraped over HTTP and its Prometheus text parsed.
 */
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Backfill from "../../src/runners/backfill.js"
import { serveStoredDay } from "../../src/sim/lakeBars.js"
import * as MassiveSim from "../../src/sim/MassiveSim.js"
import * as StockBarsFeed from "../../src/sources/massive/stockBarsFeed.js"
import { collect, makeConfigDir, start } from "../support/cli.js"
import { backfillStack, tempDir, testConfig } from "../support/fixtures.js"

const DATE = "2024-03-04"

interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

/** The samples of Prometheus text exposition (format 0.0.4), line by line; comments are skipped. */
const parseExposition = (text: string): ReadonlyArray<Sample> =>
  text.split("\n").flatMap((line): Array<Sample> => {
    if (line.trim() === "" || line.startsWith("#")) return []
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line)
    if (m === null) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_s, c: string) => (c === "n" ? "\n" : c))
    const value = m[3] === "+Inf" ? Number.POSITIVE_INFINITY : Number(m[3])
    if (Number.isNaN(value) && m[3] !== "NaN") throw new Error(`not a sample value: ${line}`)
    return [{ name: m[1]!, labels, value }]
  })

const find = (samples: ReadonlyArray<Sample>, name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))

describe("tapehouse stream --metrics-port", () => {
  it.scopedLive(
    "serves records, queue, connection and latency metrics as Prometheus text while it streams",
    () =>
      Effect.gen(function* () {
        const sim = yield* MassiveSim.make()
        const backfillDir = yield* tempDir("tapehouse-e2e-metrics-")
        yield* Effect.flatMap(StockBarsFeed.make, (source) =>
          Backfill.run(source, { symbols: ["SPY"], from: DATE, to: DATE, overwrite: false, concurrency: 1 })
        ).pipe(Effect.provide(backfillStack(testConfig(backfillDir, sim.url))))
        const served = yield* serveStoredDay({ dataDir: backfillDir, date: DATE, speed: 20 })
        const dir = yield* tempDir()
        const configDir = yield* makeConfigDir(dir, { sql: false })
        const child = start(
          [
            "--config-dir",
            configDir,
            "stream",
            "--dataset",
            "stock_bars_1s",
            "--symbols",
            "SPY",
            "--metrics-port",
            "0"
          ],
          {
            env: {
              TAPEHOUSE_MASSIVE_URL: served.restUrl,
              TAPEHOUSE_MASSIVE_WS_URL: served.wsUrl,
              MASSIVE_API_KEY: "k-e2e-1234",
              TAPEHOUSE_DATA_DIR: Path.join(dir, "data")
            }
          }
        )
        const done = collect(child, 120_000)
        let stdout = ""
        child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()))

        // Scrapes until a flush has been committed and timed.
        const samples = yield* Effect.promise(async () => {
          const deadline = Date.now() + 60_000
          for (;;) {
            const url = /metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(stdout)?.[1]
            if (url !== undefined) {
              const response = await fetch(url)
              expect(response.status).toBe(200)
              expect(response.headers.get("content-type")).toContain("text/plain")
              const parsed = parseExposition(await response.text())
              const timed = find(parsed, "tapehouse_arrival_to_durable_seconds_count", {
                dataset: "stock_bars_1s"
              })
              if ((timed[0]?.value ?? 0) > 0) return parsed
            }
            if (Date.now() > deadline) throw new Error(`no timed commit within 60 s; stdout:\n${stdout}`)
            await new Promise((r) => setTimeout(r, 200))
          }
        })
        child.kill("SIGTERM")
        const result = yield* Effect.promise(() => done)
        expect(result.code, result.stderr).toBe(0)

        const bars = { dataset: "stock_bars_1s" }
        const received = find(samples, "tapehouse_records_received_total", bars)[0]?.value ?? 0
        const committed = find(samples, "tapehouse_records_committed_total", bars)[0]?.value ?? 0
        expect(received).toBeGreaterThan(0)
        expect(committed).toBeGreaterThan(0)
        expect(committed).toBeLessThanOrEqual(received)
        expect(find(samples, "tapehouse_queue_depth", bars)).toHaveLength(1)
        expect(find(samples, "tapehouse_spill_bytes", bars)[0]?.value).toBe(0)
        // One connection, in exactly one state; its heartbeat age a few seconds at most.
        const states = find(samples, "tapehouse_connection_state", bars)
        expect(states.length).toBeGreaterThanOrEqual(5)
        expect(states.filter((s) => s.value === 1)).toHaveLength(1)
        const connection = states[0]!.labels.connection!
        const age = find(samples, "tapehouse_heartbeat_age_seconds", { ...bars, connection })
        expect(age[0]?.value).toBeGreaterThanOrEqual(0)
        expect(age[0]?.value).toBeLessThan(60)
        // Histograms: cumulative buckets up to +Inf, which holds every observation.
        for (const name of ["tapehouse_commit_seconds", "tapehouse_arrival_to_durable_seconds"]) {
          const buckets = find(samples, `${name}_bucket`, bars)
          expect(buckets.length).toBeGreaterThan(5)
          const counts = buckets.map((b) => b.value)
          expect([...counts].sort((a, b) => a - b)).toEqual(counts)
          const count = find(samples, `${name}_count`, bars)[0]!.value
          expect(buckets.find((b) => b.labels.le === "+Inf")?.value).toBe(count)
          expect(find(samples, `${name}_sum`, bars)[0]!.value).toBeGreaterThanOrEqual(0)
        }
      }),
    180_000
  )
})
