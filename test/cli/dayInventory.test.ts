/**
 * The per-day inventory of `status --dataset`: a day's state from its units, the attempts and last
 * error a journal's history gives, the range and calendar a dataset keeps, journals written before
 * the fields existed, and `--verify` on changed and missing files.
 */
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { collectInventory, dayState, inventoryDay } from "../../src/cli/dayInventory.js"
import * as Checkpoints from "../../src/pipeline/Checkpoints.js"
import { tempDir } from "../support/fixtures.js"

const AT = "2024-03-05T21:00:00.000Z"

const unit = (
  symbol: string,
  date: string,
  status: Checkpoints.DayStatusName,
  extra: Record<string, string | number> = {}
): Checkpoints.DayEntry => ({ kind: "day", dataset: "d", symbol, date, status, at: AT, ...extra })

const journal = (lines: ReadonlyArray<object>) => lines.map((l) => JSON.stringify(l)).join("\n")

describe("a day's state from its units", () => {
  it("follows the rule: failed > in progress > done (with one done) > no data; none is queued", () => {
    expect(dayState([])).toBe("queued")
    expect(dayState(["done", "failed", "pending"])).toBe("failed")
    expect(dayState(["done", "pending"])).toBe("in progress")
    expect(dayState(["empty", "streaming"])).toBe("in progress")
    expect(dayState(["done", "empty", "streamed"])).toBe("done")
    expect(dayState(["streamed"])).toBe("done")
    expect(dayState(["empty", "empty"])).toBe("no data")
  })

  it("aggregates several units of one date (per expiration) with their history from the journal", () => {
    const e = (
      expiration: string,
      status: Checkpoints.DayStatusName,
      more: Record<string, string | number> = {}
    ) => unit("SPXW", "2024-01-02", status, { expiration, ...more })
    // Units told apart by an extra field share one symbol and date; the journal keys them apart.
    const parsed = (lines: ReadonlyArray<Checkpoints.DayEntry>) => {
      let last: Checkpoints.DayEntry | undefined
      for (const l of lines) last = Checkpoints.withHistory(last, l)
      return last!
    }
    const a = parsed([
      e("2024-01-02", "pending"),
      e("2024-01-02", "failed", { reason: "474 terminal disconnected" }),
      e("2024-01-02", "pending"),
      e("2024-01-02", "done", { rows: 100 })
    ])
    const b = parsed([e("2024-01-03", "pending"), e("2024-01-03", "empty", { rows: 0 })])
    const c = parsed([e("2024-01-04", "pending")])
    const day = inventoryDay("2024-01-02", [a, b, c], [])
    expect(day.state).toBe("in progress")
    expect([day.unitsDone, day.units, day.attempts, day.rows]).toEqual([2, 3, 2, 100])
    expect(day.lastError).toBe("474 terminal disconnected")
    expect(day.unitStatuses.map((u) => [u.unit, u.status, u.attempts])).toEqual([
      ["SPXW expiration=2024-01-02", "done", 2],
      ["SPXW expiration=2024-01-03", "empty", 1],
      ["SPXW expiration=2024-01-04", "pending", 1]
    ])
    expect(inventoryDay("2024-01-02", [a, b], []).state).toBe("done")
  })
})

describe("the inventory of a journal", () => {
  it.scopedLive(
    "lists every trading day of the range, counts attempts across runs, reads an old journal, and verifies files",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* tempDir("tapehouse-inventory-")
        const dir = Path.join(dataDir, "state", "checkpoints")
        const file = (date: string) => `lake/stock_bars_1s/date=${date}/part-0000.parquet`
        const bytes = new TextEncoder().encode("parquet bytes")
        const { createHash } = yield* Effect.promise(() => import("node:crypto"))
        const sha = createHash("sha256").update(bytes).digest("hex")
        for (const date of ["2024-03-04", "2024-03-05", "2024-03-08"]) {
          yield* Effect.promise(() =>
            NodeFs.mkdir(Path.dirname(Path.join(dataDir, file(date))), { recursive: true })
          )
          yield* Effect.promise(() => NodeFs.writeFile(Path.join(dataDir, file(date)), bytes))
        }
        const fileEntry = (date: string, more: object = {}) => ({
          kind: "file",
          dataset: "stock_bars_1s",
          date,
          file: file(date),
          rows: 3,
          bytes: bytes.length,
          sha256: sha,
          at: AT,
          ...more
        })
        const s = (symbol: string, date: string, status: string, more: object = {}) => ({
          kind: "day",
          dataset: "stock_bars_1s",
          symbol,
          date,
          status,
          at: AT,
          ...more
        })
        yield* Effect.promise(() => NodeFs.mkdir(dir, { recursive: true }))
        yield* Effect.promise(() =>
          NodeFs.writeFile(
            Path.join(dir, "stock_bars_1s.jsonl"),
            journal([
              // Run 1: 03-04 done, 03-05 failed, 03-07 planned and killed.
              s("SPY", "2024-03-04", "pending"),
              s("SPY", "2024-03-05", "pending"),
              s("SPY", "2024-03-07", "pending"),
              fileEntry("2024-03-04"),
              s("SPY", "2024-03-04", "done", { rows: 3 }),
              s("SPY", "2024-03-05", "failed", { reason: "Massive answered 502" }),
              // Run 2: 03-05 done; 03-08's file entry predates sha256 and written times (an old journal).
              s("SPY", "2024-03-05", "pending"),
              fileEntry("2024-03-05"),
              s("SPY", "2024-03-05", "done", { rows: 3 }),
              {
                kind: "file",
                dataset: "stock_bars_1s",
                date: "2024-03-08",
                file: file("2024-03-08"),
                rows: 3
              },
              s("SPY", "2024-03-08", "done", { rows: 3 })
            ])
          )
        )
        const store = yield* Checkpoints.make(dataDir)
        const request = {
          dataset: "stock_bars_1s",
          from: undefined,
          to: undefined,
          symbol: undefined,
          verify: false,
          sessionPolicy: undefined
        }
        const inv = yield* collectInventory(dataDir, store, request)
        // From the journal's first to its last date; 03-06 (queued) is a trading day nobody recorded.
        expect([inv.from, inv.to]).toEqual(["2024-03-04", "2024-03-08"])
        expect(inv.days.map((d) => [d.date, d.state, d.attempts, d.lastError])).toEqual([
          ["2024-03-04", "done", 1, null],
          ["2024-03-05", "done", 2, "Massive answered 502"],
          ["2024-03-06", "queued", null, null],
          ["2024-03-07", "in progress", 1, null],
          ["2024-03-08", "done", 1, null]
        ])
        expect(inv.counts).toEqual({ done: 3, "no data": 0, "in progress": 1, queued: 1, failed: 0 })
        expect(inv.days[0]!.files).toEqual([
          { file: file("2024-03-04"), rows: 3, bytes: bytes.length, sha256: sha, writtenAt: AT }
        ])
        expect(inv.days[4]!.files).toEqual([
          { file: file("2024-03-08"), rows: 3, bytes: null, sha256: null, writtenAt: null }
        ])

        // A weekend range of an always-open dataset has its days; the NYSE has none.
        const weekend = { ...request, from: "2024-03-09", to: "2024-03-10" }
        expect((yield* collectInventory(dataDir, store, weekend)).days.map((d) => d.date)).toEqual([])
        const open = yield* collectInventory(dataDir, store, { ...weekend, sessionPolicy: "always-open" })
        expect(open.days.map((d) => [d.date, d.state])).toEqual([
          ["2024-03-09", "queued"],
          ["2024-03-10", "queued"]
        ])

        // --verify: one file rewritten, one gone, one without a recorded hash.
        yield* Effect.promise(() => NodeFs.writeFile(Path.join(dataDir, file("2024-03-05")), "other bytes"))
        yield* Effect.promise(() => NodeFs.writeFile(Path.join(dataDir, file("2024-03-08")), bytes))
        yield* Effect.promise(() => NodeFs.rm(Path.join(dataDir, file("2024-03-04"))))
        const verified = yield* collectInventory(dataDir, store, { ...request, verify: true })
        expect(verified.days.flatMap((d) => d.files.map((f) => [d.date, f.verified]))).toEqual([
          ["2024-03-04", "missing"],
          ["2024-03-05", "changed"],
          ["2024-03-08", "not recorded"]
        ])
        expect(verified.problems.map((p) => [p.date, p.verified])).toEqual([
          ["2024-03-04", "missing"],
          ["2024-03-05", "changed"]
        ])
        // --from after the journal's last date, with no --to: a usage error.
        const error = yield* Effect.flip(collectInventory(dataDir, store, { ...request, from: "2024-04-01" }))
        expect(error._tag).toBe("UsageError")
        const notADate = yield* Effect.flip(
          collectInventory(dataDir, store, { ...request, to: "2024-02-30" })
        )
        expect(notADate.message).toBe("status: --to 2024-02-30 is not a date; expected YYYY-MM-DD.")
      })
  )
})
