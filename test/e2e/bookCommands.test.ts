/**
 * `books`, `fidelity` and `assess` end to end: a synthetic spot day written with the capture's
 * segment writer (encrypted at rest, with a sequence gap and its re-sync), then the three commands
 * through the CLI; the book_top files are read back with the project's Parquet reader and, where
 * installed, DuckDB.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { bookTopColumns } from "../../src/books/bookTopParquet.js"
import { parseBookKey } from "../../src/books/encryption.js"
import { decodeTable } from "../../src/sinks/parquetCodec.js"
import { writeBookDay } from "../support/bookDay.js"
import { runCli } from "../support/cli.js"
import { duckdb, duckdbInstalled } from "../support/duckdb.js"
import { tempDir } from "../support/fixtures.js"

const KEY_HEX = "5a".repeat(32)
const DATE = "2026-01-05"

describe("books, fidelity and assess through the CLI", () => {
  it.scopedLive(
    "rebuild top-20 books, report fidelity against the validation snapshots, and assess the lake",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* tempDir("tapehouse-books-")
        const key = Either.getOrThrow(parseBookKey(KEY_HEX))
        const written = yield* Effect.promise(() =>
          writeBookDay({
            dataDir,
            venue: "binance-spot",
            symbol: "BTCUSDT",
            date: DATE,
            events: 3000,
            eventsPerSegment: 700,
            validateEvery: 250,
            gapAfter: 1500,
            gapIds: 40,
            key
          })
        )
        const env = { TAPEHOUSE_BOOK_KEY: KEY_HEX }
        const args = (command: string, ...rest: Array<string>) => [
          "--data-dir",
          dataDir,
          command,
          "--venue",
          "binance-spot",
          "--symbol",
          "BTCUSDT",
          ...rest
        ]

        // Without the key the encrypted files are refused, naming one.
        const noKey = yield* runCli(args("books", "--from", DATE, "--to", DATE, "--every", "1m"))
        expect(noKey.code).toBe(1)
        expect(noKey.stderr).toMatch(/seg-\d+\.parquet.*TAPEHOUSE_BOOK_KEY is not set/)

        const books = yield* runCli(
          args("books", "--from", DATE, "--to", DATE, "--levels", "20", "--every", "1m"),
          { env }
        )
        expect(books.stderr).toBe("")
        expect(books.code).toBe(0)
        const dir = path.join(
          dataDir,
          "lake",
          "book_top20_1m",
          "venue=binance-spot",
          `date=${DATE}`,
          "symbol=BTCUSDT"
        )
        const files = (yield* Effect.promise(() => fs.readdir(dir))).sort()
        expect(files).toEqual(["part-0000.parquet"])
        const rows = yield* Effect.promise(async () =>
          decodeTable(bookTopColumns(20, 2, 5), await fs.readFile(path.join(dir, files[0]!)))
        )
        // A row per minute from 00:00 (the day-start snapshot block) to the last event (23:59:28).
        expect(rows).toHaveLength(1440)
        expect(rows[0]!["ts"]).toBe(Date.parse(`${DATE}T00:00:00Z`))
        for (const r of rows) expect(r["bid_px_0"] as number).toBeLessThan(r["ask_px_0"] as number)
        if (duckdbInstalled) {
          const out = yield* Effect.promise(() =>
            duckdb(
              `SELECT count(*) AS n, typeof(any_value(bid_px_0)) AS t, min(ask_px_0 - bid_px_0) > 0 AS ok FROM read_parquet('${dir}/*.parquet')`
            )
          )
          expect(out).toEqual([{ n: "1440", t: "DECIMAL(18,2)", ok: true }])
        }

        const fidelity = yield* runCli(args("fidelity", "--date", DATE, "--json"), { env })
        expect(fidelity.code).toBe(0)
        const report = JSON.parse(fidelity.stdout) as Record<string, unknown>
        // 40 ids of the ~12,000 the day spans are missing; the rebuilt book equals every snapshot.
        expect(report["gaps"]).toBe(1)
        expect(report["missing_ids"]).toBe(40)
        expect(report["id_gap_ratio"]).toBeCloseTo(40 / (written.lastUpdateId - 1_000_000 + 1), 12)
        // No continuity ledger here: the break counts as unrecorded, its loss estimated.
        expect(report).toMatchObject({ ledger_gaps: 0, unrecorded_gaps: 1 })
        const lost = report["events_lost"] as number
        expect(lost).toBeGreaterThan(0)
        expect(report["gap_ratio"]).toBeCloseTo(lost / (written.levelChanges + lost), 12)
        expect(report["snapshots_compared"]).toBe(written.validations)
        expect(report["snapshots_top_equal"]).toBe(written.validations)
        expect(report["best_bid_rms"]).toBe(0)
        expect(report["best_ask_rms"]).toBe(0)
        expect(report["depth_correlation"]).toEqual(new Array(20).fill(1))
        expect(report["coverage"] as number).toBeGreaterThan(0.99)
        const reports = (yield* Effect.promise(() => fs.readdir(path.join(dataDir, "reports")))).sort()
        expect(reports).toEqual([
          `fidelity-binance-spot-BTCUSDT-${DATE}.html`,
          `fidelity-binance-spot-BTCUSDT-${DATE}.json`
        ])

        const assess = yield* runCli(args("assess", "--from", DATE, "--to", "2026-01-06", "--json"), {
          env
        })
        expect(assess.code).toBe(0)
        const a = JSON.parse(assess.stdout) as Record<string, unknown>
        expect(a).toMatchObject({
          days_with_deltas: 1,
          missing_days: ["2026-01-06"],
          events: 3000,
          level_changes: written.levelChanges,
          gaps: 1,
          missing_ids: 40
        })
        expect(a["disk_bytes"] as number).toBeGreaterThan(0)
      }),
    120_000
  )
})
