/**
 * How a backfill of a dataset whose days split into units (option_greeks_1m: expirations) plans its
 * work: which expirations a day keeps, which units are fetched, which days are complete, and where
 * each unit's partition and checkpoint live.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { type DayEntry, dayKey, fileKey, parseJournal } from "../../src/pipeline/Checkpoints.js"
import { planUnits } from "../../src/runners/backfill.js"
import { partitionDir, partitionFile } from "../../src/sinks/partitionLayout.js"
import { expirationsOfDay } from "../../src/sources/thetadata/optionGreeksFeed.js"

const EXPIRATIONS = ["2024-03-06", "2024-03-07", "2024-03-08", "2024-03-11", "2024-03-12", "2024-05-07"]

const entry = (symbol: string, date: string, unit: string, status: DayEntry["status"]): DayEntry => ({
  kind: "day",
  dataset: "option_greeks_1m",
  symbol,
  date,
  unit,
  status,
  at: "2026-01-01T00:00:00.000Z"
})

const journal = (entries: ReadonlyArray<DayEntry>) =>
  new Map(entries.map((e) => [dayKey(e.symbol, e.date, e.unit), e]))

describe("unit planning", () => {
  it("a day keeps the expirations from itself to max-dte calendar days later, both ends included", () => {
    expect(expirationsOfDay(EXPIRATIONS, "2024-03-07", 4)).toEqual(["2024-03-07", "2024-03-08", "2024-03-11"])
    expect(expirationsOfDay(EXPIRATIONS, "2024-03-07", 0)).toEqual(["2024-03-07"])
    expect(expirationsOfDay(EXPIRATIONS, "2024-03-09", 1)).toEqual([])
    expect(expirationsOfDay(EXPIRATIONS, "2024-03-08", 60)).toEqual([
      "2024-03-08",
      "2024-03-11",
      "2024-03-12",
      "2024-05-07"
    ])
  })

  it.effect("units done or without data are skipped; failed and pending ones are fetched again", () =>
    Effect.gen(function* () {
      const units = ["2024-03-08", "2024-03-11", "2024-03-12", "2024-03-13"]
      const done = journal([
        entry("SPXW", "2024-03-08", "2024-03-08", "done"),
        entry("SPXW", "2024-03-08", "2024-03-11", "empty"),
        entry("SPXW", "2024-03-08", "2024-03-12", "failed"),
        entry("SPXW", "2024-03-08", "2024-03-13", "pending"),
        // Another day's entry for the same expiration changes nothing here.
        entry("SPXW", "2024-03-07", "2024-03-12", "done")
      ])
      const plan = yield* planUnits(
        { symbols: ["SPXW"], overwrite: false },
        { date: "2024-03-08" },
        done,
        () => Effect.succeed(units)
      )
      expect(plan.todo).toEqual([
        { symbol: "SPXW", unit: "2024-03-12" },
        { symbol: "SPXW", unit: "2024-03-13" }
      ])
      expect(plan.skipped).toBe(2)
      expect(plan.complete).toEqual([])

      const overwrite = yield* planUnits(
        { symbols: ["SPXW"], overwrite: true },
        { date: "2024-03-08" },
        done,
        () => Effect.succeed(units)
      )
      expect(overwrite.todo.map((u) => u.unit)).toEqual(units)
      expect(overwrite.skipped).toBe(0)
    })
  )

  it.effect("a day whose every unit is done or without data is complete, per instrument", () =>
    Effect.gen(function* () {
      const done = journal([
        entry("SPXW", "2024-03-08", "2024-03-08", "done"),
        entry("SPXW", "2024-03-08", "2024-03-11", "empty")
      ])
      const plan = yield* planUnits(
        { symbols: ["SPXW", "VIXW"], overwrite: false },
        { date: "2024-03-08" },
        done,
        (symbol) => Effect.succeed(symbol === "SPXW" ? ["2024-03-08", "2024-03-11"] : ["2024-03-13"])
      )
      expect(plan.complete).toEqual(["SPXW"])
      expect(plan.todo).toEqual([{ symbol: "VIXW", unit: "2024-03-13" }])
      expect(plan.skipped).toBe(2)
    })
  )

  it.effect("listing the units fails the plan with the vendor's error", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        planUnits({ symbols: ["SPXW"], overwrite: false }, { date: "2024-03-08" }, new Map(), () =>
          Effect.fail("terminal down" as const)
        )
      )
      expect(error).toBe("terminal down")
    })
  )

  it("each unit has its own checkpoint key, file key and partition folder; days without units keep theirs", () => {
    expect(dayKey("SPY", "2024-03-08")).toBe("SPY|2024-03-08")
    expect(dayKey("SPXW", "2024-03-08", "2024-03-11")).toBe("SPXW|2024-03-08|2024-03-11")
    expect(fileKey("2024-03-08")).toBe("2024-03-08")
    expect(fileKey("2024-03-08", "2024-03-11")).toBe("2024-03-08|2024-03-11")
    expect(partitionDir("stock_bars_1s", "2024-03-08")).toBe("lake/stock_bars_1s/date=2024-03-08")
    expect(
      partitionFile("option_greeks_1m", "2024-03-08", { column: "expiration", value: "2024-03-11" })
    ).toBe("lake/option_greeks_1m/date=2024-03-08/expiration=2024-03-11/part-0000.parquet")
    const loaded = parseJournal(
      [
        JSON.stringify(entry("SPXW", "2024-03-08", "2024-03-08", "done")),
        JSON.stringify(entry("SPXW", "2024-03-08", "2024-03-11", "empty")),
        JSON.stringify({
          kind: "file",
          dataset: "option_greeks_1m",
          date: "2024-03-08",
          unit: "2024-03-08",
          file: "x",
          rows: 1,
          bytes: 1,
          sha256: "ab",
          at: "t"
        })
      ].join("\n")
    )
    expect([...loaded.days.keys()]).toEqual(["SPXW|2024-03-08|2024-03-08", "SPXW|2024-03-08|2024-03-11"])
    expect([...loaded.files.keys()]).toEqual(["2024-03-08|2024-03-08"])
  })
})
