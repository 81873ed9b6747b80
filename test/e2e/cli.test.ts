/**
 * The CLI end to end, as a user runs it: a child process per command, the Massive simulator on
 * loopback, Parquet and SQL read back, exit codes and messages checked.
 */
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { StockBars1s } from "../../src/domain/StockBar.js"
import * as MassiveSim from "../../src/sim/MassiveSim.js"
import { secondBars } from "../../src/sim/syntheticMarket.js"
import { backfillArgs, collect, makeConfigDir, runCli, start } from "../support/cli.js"
import { filesUnder, lakeSnapshot, readLake, tempDir } from "../support/fixtures.js"
import { dataDirWithEmptyDb, WARM_UP_TIMEOUT_MS, warmUpTemplate } from "../support/pgTemplate.js"
import { removeTempDirs } from "../support/tempDirs.js"

beforeAll(warmUpTemplate, WARM_UP_TIMEOUT_MS)
afterAll(removeTempDirs)

const KEY = "sk-test-SECRET-7f3a9c2e"

const env = (sim: MassiveSim.MassiveSimServer, dataDir: string, extra: Record<string, string> = {}) => ({
  TAPEHOUSE_MASSIVE_URL: sim.url,
  MASSIVE_API_KEY: KEY,
  TAPEHOUSE_DATA_DIR: dataDir,
  ...extra
})

const dayPath = (symbol: string, date: string) =>
  new RegExp(`^/v2/aggs/ticker/${symbol}/range/1/second/[^/]+/${date}$`)

describe("tapehouse CLI", () => {
  it.live("--help on every command explains every option, and exits 0", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<[ReadonlyArray<string>, ReadonlyArray<string>]> = [
        [["--help"], ["--data-dir", "--config-dir", "backfill", "discover", "status", "sim", "sql", "demo"]],
        [
          ["backfill", "--help"],
          ["--dataset", "--symbols", "--underlying", "--from", "--to", "--overwrite", "--rate-limit"]
        ],
        [
          ["discover", "--help"],
          ["--underlying", "--date", "max_dte"]
        ],
        [
          ["status", "--help"],
          ["--dataset", "--symbol", "--verify", "--json"]
        ],
        [
          ["sim", "serve", "--help"],
          ["--port", "--api-key", "--page-size", "--rate-limit"]
        ],
        [
          ["sim", "binance", "--help"],
          ["--port", "--rate", "--symbols", "--seed"]
        ],
        [["sql", "--help"], ["query"]],
        [["demo", "--help"], ["simulator"]]
      ]
      const results = yield* Effect.all(
        cases.map(([args]) => runCli(args)),
        { concurrency: 3 }
      )
      results.forEach((r, i) => {
        const [args, mentions] = cases[i]!
        expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0)
        for (const m of mentions) expect(r.stdout, `${args.join(" ")} mentions ${m}`).toContain(m)
      })
    })
  )

  it.scopedLive(
    "backfill writes the lake, prints a one-line summary, status shows it, a rerun is idempotent",
    () =>
      Effect.gen(function* () {
        const sim = yield* MassiveSim.make({ pageSize: 8000 })
        const dir = yield* tempDir()
        const configDir = yield* makeConfigDir(dir, { sql: false })
        const dataDir = Path.join(dir, "data")
        const args = backfillArgs(configDir, "SPY,QQQ", "2024-03-04", "2024-03-06")
        const first = yield* runCli(args, { env: env(sim, dataDir) })
        expect(first.code, first.stderr).toBe(0)
        const summary = first.stdout.trim().split("\n")
        expect(summary).toHaveLength(1)
        expect(summary[0]).toMatch(
          /^stock_bars_1s SPY,QQQ 2024-03-04\.\.2024-03-06: 3 trading day\(s\), 3 committed, 0 instrument-day\(s\) already done, 0 failed; [\d,]+ rows, 0 rejected, 0 duplicates; .* rows\/s in /
        )
        const lake = yield* readLake(dataDir, StockBars1s)
        const expected = ["SPY", "QQQ"].flatMap((s) =>
          ["2024-03-04", "2024-03-05", "2024-03-06"].flatMap((d) => secondBars(s, d))
        )
        expect(lake.length).toBe(expected.length)
        const before = yield* lakeSnapshot(dataDir)

        const status = yield* runCli(["--config-dir", configDir, "status", "--verify"], {
          env: env(sim, dataDir)
        })
        expect(status.code, status.stderr).toBe(0)
        expect(status.stdout).toContain("stock_bars_1s: 6 done, 0 failed, 0 pending")
        expect(status.stdout).toMatch(
          /SPY\s+2024-03-04\s+done\s+[\d,]+\s+0\s+lake\/stock_bars_1s\/date=2024-03-04\/part-0000\.parquet\s+[0-9a-f]{16}\s+ok/
        )
        const json = yield* runCli(["--config-dir", configDir, "status", "--json", "--symbol", "QQQ"], {
          env: env(sim, dataDir)
        })
        const document = JSON.parse(json.stdout) as {
          datasets: Array<{ dataset: string; days: Array<{ symbol: string; status: string; rows: number }> }>
        }
        expect(document.datasets.map((d) => d.dataset)).toEqual(["stock_bars_1s"])
        const rows = document.datasets[0]!.days
        expect(rows.map((r) => [r.symbol, r.status])).toEqual([
          ["QQQ", "done"],
          ["QQQ", "done"],
          ["QQQ", "done"]
        ])
        expect(rows.reduce((n, r) => n + r.rows, 0)).toBe(expected.filter((b) => b.symbol === "QQQ").length)

        sim.clearRequests()
        const second = yield* runCli(args, { env: env(sim, dataDir) })
        expect(second.code, second.stderr).toBe(0)
        expect(second.stdout).toContain("all 6 instrument-day(s) already done; nothing fetched")
        expect(sim.requests().filter((r) => r.path.startsWith("/v2/aggs/"))).toEqual([])
        expect(yield* lakeSnapshot(dataDir)).toEqual(before)
      })
  )

  it.scopedLive("bad usage and bad config exit 2 with a message naming what is wrong", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir()
      const dataDir = Path.join(dir, "data")
      const badConfig = yield* makeConfigDir(Path.join(dir, "bad"), {
        replace: [["sources.yaml", /rate_limit_per_minute: 0/, "rate_limit_per_minute: lots"]]
      })
      const good = yield* makeConfigDir(dir, { sql: false })
      const notADir = Path.join(dir, "occupied")
      yield* Effect.promise(() => NodeFs.writeFile(notADir, "a file, not a folder"))
      const backfill = [
        "backfill",
        "--dataset",
        "stock_bars_1s",
        "--symbols",
        "SPY",
        "--from",
        "2024-03-04",
        "--to",
        "2024-03-04"
      ]
      const [config, dates, reversed, dataDirError, unknownDataset, streamDatasets, bothDatasetOptions] =
        yield* Effect.all(
          [
            runCli(["--config-dir", badConfig, ...backfill], { env: { TAPEHOUSE_DATA_DIR: dataDir } }),
            runCli(backfillArgs(good, "SPY", "2024-13-01", "2024-03-04"), {
              env: { TAPEHOUSE_DATA_DIR: dataDir, TAPEHOUSE_MASSIVE_URL: "http://127.0.0.1:9" }
            }),
            runCli(backfillArgs(good, "SPY", "2024-03-08", "2024-03-04"), {
              env: { TAPEHOUSE_DATA_DIR: dataDir, TAPEHOUSE_MASSIVE_URL: "http://127.0.0.1:9" }
            }),
            runCli(["--config-dir", good, "--data-dir", notADir, ...backfill], {}),
            runCli(
              [
                "--config-dir",
                good,
                "backfill",
                "--dataset",
                "nope",
                "--symbols",
                "SPY",
                "--from",
                "2024-03-04",
                "--to",
                "2024-03-04"
              ],
              {}
            ),
            runCli(["--config-dir", good, "stream", "--datasets", "stock_bars_1s,stock_bars_1m"], {}),
            runCli(
              ["--config-dir", good, "stream", "--dataset", "stock_bars_1s", "--datasets", "stock_bars_1s"],
              {}
            )
          ],
          { concurrency: 3 }
        )
      expect(config.code).toBe(2)
      expect(config.stderr).toContain("sources.massive.rate_limit_per_minute")
      expect(config.stderr).toContain("lots")
      expect(dates.code).toBe(2)
      expect(dates.stderr).toContain("--from 2024-13-01 is not a date; expected YYYY-MM-DD.")
      expect(reversed.code).toBe(2)
      expect(reversed.stderr).toContain("--from 2024-03-08 is after --to 2024-03-04.")
      expect(dataDirError.code).toBe(2)
      expect(dataDirError.stderr).toContain("data_dir")
      expect(dataDirError.stderr).toContain(notADir)
      expect(unknownDataset.code).toBe(2)
      expect(streamDatasets.code).toBe(2)
      expect(streamDatasets.stderr).toContain('--datasets has "stock_bars_1m"; expected a comma list of ')
      expect(bothDatasetOptions.code).toBe(2)
      expect(bothDatasetOptions.stderr).toContain("--dataset and --datasets were both given")
    })
  )

  it.scopedLive(
    "a wrong API key exits 1 at once with a clear message; the key appears in no output and no log",
    () =>
      Effect.gen(function* () {
        const sim = yield* MassiveSim.make({ apiKeys: ["the-right-key"] })
        const dir = yield* tempDir()
        const configDir = yield* makeConfigDir(dir, { sql: false })
        const dataDir = Path.join(dir, "data")
        const result = yield* runCli(backfillArgs(configDir, "SPY", "2024-03-04", "2024-03-05"), {
          env: env(sim, dataDir, { TAPEHOUSE_LOG_LEVEL: "debug" })
        })
        expect(result.code).toBe(1)
        expect(result.stderr).toContain("rejected the API key")
        expect(result.stderr).toContain("MASSIVE_API_KEY")
        const aggregateRequests = sim.requests().filter((r) => r.path.startsWith("/v2/aggs/"))
        expect(aggregateRequests.filter((r) => r.path.endsWith("2024-03-04"))).toHaveLength(1)
        const logs = yield* filesUnder(Path.join(dataDir, "logs"))
        expect(logs.length).toBeGreaterThan(0)
        const logText = (yield* Effect.promise(() =>
          Promise.all(logs.map((f) => NodeFs.readFile(Path.join(dataDir, "logs", f), "utf8")))
        )).join("")
        for (const text of [result.stdout, result.stderr, logText]) {
          expect(text).not.toContain(KEY)
          expect(text).not.toContain("SECRET")
        }
      })
  )

  it.scopedLive("a day failing after retries exits 1 and names it; the other days are committed", () =>
    Effect.gen(function* () {
      const sim = yield* MassiveSim.make()
      sim.faults.inject({ kind: "status", status: 502 }, { times: 3, path: dayPath("SPY", "2024-03-05") })
      const dir = yield* tempDir()
      const configDir = yield* makeConfigDir(dir, { sql: false })
      const dataDir = Path.join(dir, "data")
      const result = yield* runCli(backfillArgs(configDir, "SPY", "2024-03-04", "2024-03-06"), {
        env: env(sim, dataDir)
      })
      expect(result.code).toBe(1)
      expect(result.stderr).toContain("1 day(s) failed after retries")
      expect(result.stderr).toMatch(/SPY 2024-03-05: .*502/)
      expect(yield* filesUnder(Path.join(dataDir, "lake"))).toEqual([
        "stock_bars_1s/date=2024-03-04/part-0000.parquet",
        "stock_bars_1s/date=2024-03-06/part-0000.parquet"
      ])
      const status = yield* runCli(["--config-dir", configDir, "status"], { env: env(sim, dataDir) })
      expect(status.stdout).toMatch(/SPY\s+2024-03-05\s+failed.*502/)
    })
  )

  it.scopedLive(
    "kill -9 in the middle of a backfill, then a rerun, gives the same lake as a clean run",
    () =>
      Effect.gen(function* () {
        const sim = yield* MassiveSim.make({ pageSize: 6000 })
        const dir = yield* tempDir()
        const configDir = yield* makeConfigDir(dir, { sql: true })
        // Data dirs holding an empty embedded database (copied from a template: no initdb per run).
        const dataDir = yield* Effect.promise(() => dataDirWithEmptyDb("tapehouse-kill-"))
        const cleanDir = yield* Effect.promise(() => dataDirWithEmptyDb("tapehouse-clean-"))
        // Six symbol-days, two at a time: the kill lands after two are done, with others in flight.
        const args = backfillArgs(configDir, "SPY,QQQ", "2024-03-04", "2024-03-06")
        // Slow pages so that the kill lands while days are in flight.
        sim.faults.inject({ kind: "slow", delayMs: 400 }, { times: 1000 })
        const child = start(args, { env: env(sim, dataDir) })
        const done = collect(child)
        const journal = Path.join(dataDir, "state", "checkpoints", "stock_bars_1s.jsonl")
        const doneBeforeKill = yield* Effect.promise(async () => {
          for (;;) {
            const text = await NodeFs.readFile(journal, "utf8").catch(() => "")
            const finished = text.split("\n").filter((l) => l.includes('"status":"done"'))
            if (finished.length >= 2)
              return finished.map((l) => JSON.parse(l) as { symbol: string; date: string })
            await new Promise((r) => setTimeout(r, 50))
          }
        })
        child.kill("SIGKILL")
        const killed = yield* Effect.promise(() => done)
        expect(killed.signal).toBe("SIGKILL")
        // Nothing half-written is visible as Parquet.
        const visible = (yield* filesUnder(Path.join(dataDir, "lake"))).filter((f) => f.endsWith(".parquet"))
        expect(visible.every((f) => /date=\d{4}-\d{2}-\d{2}\/part-0000\.parquet$/.test(f))).toBe(true)

        sim.faults.clear()
        sim.clearRequests()
        const rerun = yield* runCli(args, { env: env(sim, dataDir) })
        expect(rerun.code, rerun.stderr).toBe(0)
        const refetched = sim.requests().filter((r) => r.path.startsWith("/v2/aggs/"))
        for (const d of doneBeforeKill)
          expect(
            refetched.some(
              (r) => r.path.startsWith(`/v2/aggs/ticker/${d.symbol}/`) && r.path.endsWith(d.date)
            )
          ).toBe(false)

        const clean = yield* runCli(args, { env: env(sim, cleanDir) })
        expect(clean.code, clean.stderr).toBe(0)
        expect(yield* lakeSnapshot(dataDir)).toEqual(yield* lakeSnapshot(cleanDir))
        expect(
          (yield* filesUnder(Path.join(dataDir, "lake"))).filter((f) => !f.endsWith(".parquet"))
        ).toEqual([])

        const count = (d: string) =>
          runCli(
            [
              "--config-dir",
              configDir,
              "sql",
              "SELECT symbol, count(*) AS n, count(DISTINCT ts) AS distinct_ts FROM stock_bars_1s GROUP BY symbol ORDER BY symbol"
            ],
            {
              env: { TAPEHOUSE_DATA_DIR: d }
            }
          )
        const [afterKill, afterClean] = yield* Effect.all([count(dataDir), count(cleanDir)])
        expect(afterKill.code, afterKill.stderr).toBe(0)
        expect(afterKill.stdout).toEqual(afterClean.stdout)
        const lakeRows = (yield* readLake(dataDir, StockBars1s)).length
        const counts = [...afterKill.stdout.matchAll(/^(QQQ|SPY)\s+(\d+)\s+(\d+)$/gm)].map((m) => [
          Number(m[2]),
          Number(m[3])
        ])
        expect(counts).toHaveLength(2)
        expect(counts.every(([n, distinct]) => n === distinct)).toBe(true)
        expect(counts.reduce((s, [n]) => s + (n ?? 0), 0)).toBe(lakeRows)
      }),
    240_000
  )

  it.live("sim serve answers real HTTP in the foreground and stops cleanly on SIGINT", () =>
    Effect.gen(function* () {
      const child = start(["sim", "serve", "--port", "0", "--api-key", "k-123"])
      const done = collect(child, 60_000)
      const url = yield* Effect.promise(
        () =>
          new Promise<string>((resolve) => {
            let out = ""
            child.stdout?.on("data", (d: Buffer) => {
              out += d.toString()
              const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
              if (m) resolve(m[1]!)
            })
          })
      )
      const response = yield* Effect.promise(() =>
        fetch(`${url}/v2/aggs/ticker/SPY/range/1/second/2024-03-04/2024-03-04?limit=3`, {
          headers: { Authorization: "Bearer k-123" }
        })
      )
      expect(response.status).toBe(200)
      const body = (yield* Effect.promise(() => response.json())) as {
        results: Array<unknown>
        next_url: string
      }
      expect(body.results).toHaveLength(3)
      expect(body.next_url.startsWith(url)).toBe(true)
      const news = yield* Effect.promise(() =>
        fetch(`${url}/v2/reference/news?ticker=SPY&published_utc.gte=2024-03-04&order=asc&limit=2`, {
          headers: { Authorization: "Bearer k-123" }
        }).then((r) => r.json() as Promise<{ results: Array<{ tickers: Array<string> }>; next_url: string }>)
      )
      expect(news.results).toHaveLength(2)
      expect(news.results.every((a) => a.tickers.includes("SPY"))).toBe(true)
      expect(news.next_url.startsWith(`${url}/v2/reference/news?cursor=`)).toBe(true)
      // The synthetic indices and option contracts are served beside the stocks.
      const [vix, option] = yield* Effect.promise(() =>
        Promise.all(
          [
            "/v2/aggs/ticker/I:VIX/range/1/second/2024-03-04/2024-03-04?limit=3",
            "/v2/aggs/ticker/O:SPY240304C00512000/range/1/second/2024-03-04/2024-03-04?limit=3"
          ].map((path) =>
            fetch(`${url}${path}`, { headers: { Authorization: "Bearer k-123" } }).then(
              (r) => r.json() as Promise<{ resultsCount: number }>
            )
          )
        )
      )
      expect(vix!.resultsCount).toBe(3)
      expect(option!.resultsCount).toBeGreaterThan(0)
      child.kill("SIGINT")
      const result = yield* Effect.promise(() => done)
      expect(result.code).toBe(0)
      // Its examples use the key it was given, the only one it accepts.
      expect(result.stdout).toContain(`curl -H 'Authorization: Bearer k-123' "${url}/v2/aggs/`)
      expect(result.stdout).toContain(
        `TAPEHOUSE_MASSIVE_URL=${url} MASSIVE_API_KEY=k-123 npx tapehouse backfill`
      )
      expect(result.stdout).not.toContain("any-key")
    })
  )
})
