/**
 * `tapehouse backfill --dataset option_greeks_1m` end to end through the CLI, against the ThetaData
 * simulator on loopback (20 strikes per expiration to stay quick): one file per (day, expiration),
 * "no data" recorded as such, malformed rows quarantined with their line numbers, a rerun that skips
 * what is done, and kill -9 in the middle followed by a rerun.
 */
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { OptionGreeks1m } from "../../src/domain/OptionGreek.js"
import * as ThetaSim from "../../src/sim/thetadata/ThetaSim.js"
import { decodeTable } from "../../src/sinks/parquetCodec.js"
import { quarantineColumns } from "../../src/sinks/Quarantine.js"
import { collect, makeConfigDir, runCli, start } from "../support/cli.js"
import { filesUnder, lakeSnapshot, readLake, tempDir } from "../support/fixtures.js"

const STRIKES_PER_SIDE = 10
/** Rows of one expiration on a full day: strikes × rights × minutes. */
const ROWS_PER_EXPIRATION = 2 * STRIKES_PER_SIDE * 2 * 390

const args = (configDir: string) => [
  "--config-dir",
  configDir,
  "backfill",
  "--dataset",
  "option_greeks_1m",
  "--symbols",
  "SPXW",
  "--from",
  "2024-03-08",
  "--to",
  "2024-03-08",
  // 2024-03-08 (a Friday) keeps its own expiration and Monday's.
  "--max-dte",
  "3"
]

const env = (url: string, dataDir: string) => ({ TAPEHOUSE_THETADATA_URL: url, TAPEHOUSE_DATA_DIR: dataDir })

interface JournalLine {
  readonly kind: string
  readonly unit?: string
  readonly status?: string
}

const journal = (dataDir: string) =>
  Effect.promise(async () =>
    (await NodeFs.readFile(Path.join(dataDir, "state", "checkpoints", "option_greeks_1m.jsonl"), "utf8"))
      .split("\n")
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as JournalLine)
  )

describe("backfill option_greeks_1m from the ThetaData simulator", () => {
  it.scopedLive(
    "one file per (day, expiration); 472 is no data; malformed rows are quarantined by line; a rerun skips",
    () =>
      Effect.gen(function* () {
        const sim = yield* ThetaSim.make({ strikesPerSide: STRIKES_PER_SIDE })
        const dir = yield* tempDir()
        const configDir = yield* makeConfigDir(dir, { sql: false })
        const dataDir = Path.join(dir, "data")
        sim.faults.inject({ kind: "status", status: 472 }, { times: 100, path: /expiration=20240311/ })
        sim.faults.inject({ kind: "malformed-rows", count: 2 }, { times: 1, path: /expiration=20240308/ })

        const first = yield* runCli(args(configDir), { env: env(sim.url, dataDir) })
        expect(first.code, first.stderr).toBe(0)
        expect(first.stdout).toContain(
          "days: 1 downloaded, 0 failed, 0 skipped (done before); expirations: 1 committed, 1 no data, 0 failed, 0 skipped"
        )
        expect(yield* filesUnder(Path.join(dataDir, "lake"))).toEqual([
          "option_greeks_1m/date=2024-03-08/expiration=2024-03-08/part-0000.parquet"
        ])
        const rows = yield* readLake(dataDir, OptionGreeks1m)
        expect(rows.length).toBe(ROWS_PER_EXPIRATION - 2)
        expect(rows.every((r) => r.symbol === "SPXW" && r.expiration === "2024-03-08")).toBe(true)
        const rejects = yield* Effect.promise(async () =>
          decodeTable(
            quarantineColumns(OptionGreeks1m),
            await NodeFs.readFile(
              Path.join(
                dataDir,
                "quarantine/option_greeks_1m/date=2024-03-08/rejects-SPXW-2024-03-08.parquet"
              )
            )
          )
        )
        expect(rejects.length).toBe(2)
        for (const r of rejects) expect(String(r.reason)).toMatch(/^line \d+: /)
        // Every unit was planned (pending) before any was fetched, then finished: done, or empty (no data).
        const entries = (yield* journal(dataDir)).filter((e) => e.kind === "day")
        expect(entries.slice(0, 2).map((e) => [e.unit, e.status])).toEqual([
          ["2024-03-08", "pending"],
          ["2024-03-11", "pending"]
        ])
        expect(
          entries
            .slice(2)
            .map((e) => `${e.unit} ${e.status}`)
            .sort()
        ).toEqual(["2024-03-08 done", "2024-03-11 empty"])

        // The rerun fetches nothing: the day is complete (done and no data).
        const lake = yield* lakeSnapshot(dataDir)
        const rerun = yield* runCli(args(configDir), { env: env(sim.url, dataDir) })
        expect(rerun.code, rerun.stderr).toBe(0)
        expect(rerun.stdout).toContain("days: 0 downloaded, 0 failed, 1 skipped (done before)")
        expect(rerun.stdout).toContain("0 committed, 0 no data, 0 failed, 2 skipped")
        expect(yield* lakeSnapshot(dataDir)).toEqual(lake)

        // Nothing listening: one sentence naming the URL and how to start the terminal, exit 1.
        const down = yield* runCli(args(configDir), {
          env: env("http://127.0.0.1:1", Path.join(dir, "down"))
        })
        expect(down.code).toBe(1)
        expect(down.stderr).toContain("No ThetaData terminal answers at http://127.0.0.1:1")
        expect(down.stderr).toContain("tapehouse sim thetadata")

        // Not a live dataset: stream says so.
        const stream = yield* runCli(["--config-dir", configDir, "stream", "--dataset", "option_greeks_1m"], {
          env: env(sim.url, dataDir)
        })
        expect(stream.code).toBe(2)
        expect(stream.stderr).toContain("option_greeks_1m is backfilled only")
      })
  )

  it.scopedLive("kill -9 while an expiration is in flight, then a rerun: the same lake as a clean run", () =>
    Effect.gen(function* () {
      const sim = yield* ThetaSim.make({ strikesPerSide: STRIKES_PER_SIDE })
      const dir = yield* tempDir()
      const configDir = yield* makeConfigDir(dir, { sql: false })
      const dataDir = Path.join(dir, "data")
      // Monday's expiration answers late, so the kill lands after Friday's is committed.
      sim.faults.inject({ kind: "slow", delayMs: 8_000 }, { times: 1, path: /expiration=20240311/ })
      const child = start(args(configDir), { env: env(sim.url, dataDir) })
      const done = collect(child)
      yield* Effect.promise(async () => {
        for (;;) {
          const text = await NodeFs.readFile(
            Path.join(dataDir, "state", "checkpoints", "option_greeks_1m.jsonl"),
            "utf8"
          ).catch(() => "")
          if (text.includes('"unit":"2024-03-08","status":"done"')) return
          await new Promise((r) => setTimeout(r, 50))
        }
      })
      child.kill("SIGKILL")
      expect((yield* Effect.promise(() => done)).signal).toBe("SIGKILL")
      expect(
        (yield* filesUnder(Path.join(dataDir, "lake"))).filter((f) => f.includes("expiration=2024-03-11"))
      ).toEqual([])

      sim.faults.clear()
      const rerun = yield* runCli(args(configDir), { env: env(sim.url, dataDir) })
      expect(rerun.code, rerun.stderr).toBe(0)
      expect(rerun.stdout).toContain("expirations: 1 committed, 0 no data, 0 failed, 1 skipped")
      const clean = Path.join(dir, "clean")
      expect((yield* runCli(args(configDir), { env: env(sim.url, clean) })).code).toBe(0)
      expect(yield* lakeSnapshot(dataDir)).toEqual(yield* lakeSnapshot(clean))
      expect((yield* filesUnder(Path.join(dataDir, "lake"))).filter((f) => !f.endsWith(".parquet"))).toEqual(
        []
      )
    })
  )
})
