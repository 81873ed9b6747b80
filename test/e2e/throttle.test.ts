/**
 * The REST client under flow control and network failures, through the CLI: a 429 storm mixed
 * with 5xx and cut bodies slows a backfill down but does not fail it; the throttle budget ends a
 * request with a message naming its key; an unreachable URL names the host, the cause and the fix.
 */
import * as Net from "node:net"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { StockBar } from "../../src/domain/StockBar.js"
import { StockBars1s } from "../../src/domain/StockBar.js"
import * as MassiveSim from "../../src/sim/MassiveSim.js"
import { secondBars } from "../../src/sim/syntheticMarket.js"
import { backfillArgs, makeConfigDir, runCli } from "../support/cli.js"
import { readLake, tempDir } from "../support/fixtures.js"

const KEY = "sk-test-SECRET-5e1d0b44"
const AGGS = /^\/v2\/aggs\//

const env = (url: string, dataDir: string) => ({
  TAPEHOUSE_MASSIVE_URL: url,
  MASSIVE_API_KEY: KEY,
  TAPEHOUSE_DATA_DIR: dataDir
})

const bySymbolThenTime = (a: StockBar, b: StockBar) =>
  a.symbol === b.symbol ? a.ts - b.ts : a.symbol < b.symbol ? -1 : 1

/** Longest run of answers in a row that were not a success. */
const longestBadRun = (statuses: ReadonlyArray<{ readonly status: number; readonly fault?: string }>) => {
  let longest = 0
  let run = 0
  for (const r of statuses) {
    run = r.status === 200 && r.fault === undefined ? 0 : run + 1
    longest = Math.max(longest, run)
  }
  return longest
}

describe("tapehouse backfill under throttling and network failures", () => {
  it.scopedLive(
    "a 429 storm (one request in seven) with 5xx and cut bodies (one in six of the others) slows the backfill, which finishes like a clean one and reports the throttling",
    () =>
      Effect.gen(function* () {
        const sim = yield* MassiveSim.make({ pageSize: 5000 })
        // Per symbol, so that each fault counts one sequence of requests (a symbol's pages and
        // days come one after the other). Faults are tried in order: the 429 sees every page
        // request of its symbol, the 503 and the cut body only what the faults before let through.
        for (const symbol of ["SPY", "QQQ"]) {
          const path = new RegExp(`^/v2/aggs/ticker/${symbol}/`)
          sim.faults.inject({ kind: "status", status: 429, retryAfter: "0.2" }, { every: 7, path })
          sim.faults.inject({ kind: "status", status: 503 }, { every: 12, path })
          sim.faults.inject({ kind: "truncated" }, { every: 11, path })
        }
        const dir = yield* tempDir()
        // One day at a time, so that a symbol's requests, and so which page meets which fault, come in a fixed order.
        const configDir = yield* makeConfigDir(dir, {
          sql: false,
          replace: [["settings.yaml", /concurrency: 2/, "concurrency: 1"]]
        })
        const dataDir = Path.join(dir, "data")
        const days = ["2024-03-04", "2024-03-05", "2024-03-06"]
        const result = yield* runCli(backfillArgs(configDir, "SPY,QQQ", days[0]!, days[2]!), {
          env: env(sim.url, dataDir)
        })
        expect(result.code, result.stderr).toBe(0)

        const answers = sim.requests().filter((r) => AGGS.test(r.path))
        const throttled = answers.filter((r) => r.status === 429).length
        expect(throttled).toBeGreaterThanOrEqual(3)
        expect(answers.filter((r) => r.status === 503).length).toBeGreaterThanOrEqual(1)
        expect(answers.filter((r) => r.fault === "truncated").length).toBeGreaterThanOrEqual(1)
        // A page of each symbol met a 429 and errors three times in a row: with 429s counted
        // against the three attempts, it would have failed.
        for (const symbol of ["SPY", "QQQ"])
          expect(longestBadRun(answers.filter((r) => r.path.includes(`/${symbol}/`))), symbol).toBe(3)

        const lake = [...(yield* readLake(dataDir, StockBars1s))].sort(bySymbolThenTime)
        const clean = ["SPY", "QQQ"]
          .flatMap((s) => days.flatMap((d) => secondBars(s, d)))
          .sort(bySymbolThenTime)
        expect(lake.length).toBe(clean.length)
        expect(lake).toEqual(clean)

        const summary = result.stdout.trim().split("\n")
        expect(summary).toHaveLength(1)
        expect(summary[0]).toMatch(/3 committed, 0 instrument-day\(s\) already done, 0 failed;/)
        const note = /; (\d+) request\(s\) throttled, ([\d.]+) (ms|s) waiting$/.exec(summary[0]!)
        expect(note, summary[0]).not.toBeNull()
        expect(Number(note![1])).toBe(throttled)
        const waitedMs = Number(note![2]) * (note![3] === "s" ? 1000 : 1)
        expect(waitedMs).toBeGreaterThanOrEqual(throttled * 200 - 100)
        expect(result.stderr).toMatch(
          new RegExp(
            `Massive REST: \\d+ request\\(s\\), ${throttled} throttled \\(HTTP 429\\) with [\\d.]+ (ms|s) waiting, [1-9]\\d* retried after errors`
          )
        )
        expect(result.stdout + result.stderr).not.toContain(KEY)
      })
  )

  it.scopedLive(
    "a request throttled past http.max_throttle_wait_ms fails, saying so and naming the key",
    () =>
      Effect.gen(function* () {
        const sim = yield* MassiveSim.make()
        sim.faults.inject({ kind: "status", status: 429, retryAfter: "0.2" }, { every: 1, path: AGGS })
        const dir = yield* tempDir()
        const configDir = yield* makeConfigDir(dir, {
          sql: false,
          replace: [["retry.yaml", /max_throttle_wait_ms: \d+/, "max_throttle_wait_ms: 700"]]
        })
        const dataDir = Path.join(dir, "data")
        const result = yield* runCli(backfillArgs(configDir, "SPY", "2024-03-04", "2024-03-04"), {
          env: env(sim.url, dataDir)
        })
        expect(result.code).toBe(1)
        // 429 at about 0, 0.2, 0.4 and 0.6 s, then the next wait would end past 0.7 s; fewer on a
        // slow machine, as the budget counts by the clock from the first 429
        const throttled = sim.requests().filter((r) => r.status === 429).length
        expect(throttled).toBeGreaterThanOrEqual(2)
        expect(throttled).toBeLessThanOrEqual(4)
        expect(result.stderr).toMatch(
          new RegExp(
            `SPY 2024-03-04: Massive request /v2/aggs/\\S+ failed \\(HTTP 429\\): throttled for \\d+ ms \\(${throttled} answer\\(s\\) of HTTP 429, .*\\); waiting another 200 ms would pass retry\\.http\\.max_throttle_wait_ms \\(700 ms\\)\\. Raise that key`
          )
        )
        // every 429 but the last was waited out for the 200 ms the server asked
        expect(result.stdout).toMatch(
          new RegExp(`; ${throttled} request\\(s\\) throttled, ${(throttled - 1) * 200} ms waiting$`, "m")
        )
      })
  )

  it.scopedLive("an unreachable REST URL names the host, ECONNREFUSED and what to do", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(
        () =>
          new Promise<number>((resolve) => {
            const server = Net.createServer()
            server.listen(0, "127.0.0.1", () => {
              const address = server.address()
              server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
            })
          })
      )
      const url = `http://127.0.0.1:${port}`
      const dir = yield* tempDir()
      const configDir = yield* makeConfigDir(dir, { sql: false })
      const dataDir = Path.join(dir, "data")
      const result = yield* runCli(backfillArgs(configDir, "SPY", "2024-03-04", "2024-03-04"), {
        env: env(url, dataDir)
      })
      expect(result.code).toBe(1)
      expect(result.stderr).toContain(
        `SPY 2024-03-04: Massive request /v2/aggs/ticker/SPY/range/1/second/2024-03-04/2024-03-04?adjusted=true&sort=asc&limit=50000 failed: ${url} refused the connection (ECONNREFUSED): nothing listens there; check sources.massive.rest_url / TAPEHOUSE_MASSIVE_URL, or start the simulator (tapehouse sim serve) (after 3 attempts)`
      )
      expect(result.stderr).not.toContain("Transport")
      expect(result.stdout + result.stderr).not.toContain(KEY)
    })
  )
})
