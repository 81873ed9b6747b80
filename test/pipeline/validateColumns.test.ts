/** The columnar validator and column batches against their record counterparts. */
import { describe, expect, it } from "vitest"
import type { OptionGreek } from "../../src/domain/OptionGreek.js"
import { OptionGreeks1m } from "../../src/domain/OptionGreek.js"
import { newYorkTimeToEpochMs } from "../../src/domain/time.js"
import {
  ColumnBuilder,
  concatRows,
  makeColumnDeduplicator,
  rowsOfColumns
} from "../../src/pipeline/columnBatch.js"
import { makeValidator } from "../../src/pipeline/validate.js"
import { makeColumnValidator } from "../../src/pipeline/validateColumns.js"
import { columnsFromRows } from "../../src/sinks/parquetColumns.js"

const open = newYorkTimeToEpochMs("2024-11-04", 9, 30)
const window = { date: "2024-11-04", startMs: open, endMs: newYorkTimeToEpochMs("2024-11-04", 16, 0) }

const greek = (minute: number, change: Partial<OptionGreek> = {}): OptionGreek => ({
  symbol: "SPXW",
  expiration: "2024-11-08",
  strike: 5_800_000,
  right: "call",
  ts: open + minute * 60_000,
  bid: 12.1,
  ask: 12.4,
  delta: 0.51,
  theta: -3.2,
  vega: 4.1,
  rho: 0.9,
  epsilon: -0.8,
  lambda: 20.5,
  implied_vol: 0.14,
  iv_error: 0.001,
  underlying_ts: open + minute * 60_000,
  underlying_price: 5712.5,
  ...change
})

const asColumns = (rows: ReadonlyArray<OptionGreek>) => ({
  length: rows.length,
  columns: columnsFromRows(OptionGreeks1m.columns, rows as unknown as ReadonlyArray<Record<string, unknown>>)
})

describe("makeColumnValidator", () => {
  it("keeps and rejects what the record validator does, with the same reasons, in row order", () => {
    const rows = [
      greek(0),
      greek(1, { delta: 1.5 }),
      greek(2, { bid: 13, ask: 12 }),
      greek(3, { bid: null, ask: null }),
      greek(4, { theta: Number.NaN }),
      greek(5, { ts: window.endMs }),
      greek(6, { right: "straddle" }),
      greek(7)
    ]
    const byRecords = makeValidator(OptionGreeks1m)(rows, window)
    const byColumns = makeColumnValidator(OptionGreeks1m)(asColumns(rows), window)
    expect(byColumns.rejected.map((r) => r.reason)).toEqual(byRecords.rejected.map((r) => r.reason))
    expect(byColumns.rejected.map((r) => r.reason)).toHaveLength(5)
    expect(byColumns.rejected[0]!.record).toEqual(rows[1])
    expect(rowsOfColumns(OptionGreeks1m, byColumns.valid)).toEqual(byRecords.valid)
  })

  it("gives the batch itself back when every row passes", () => {
    const table = asColumns([greek(0), greek(1)])
    const out = makeColumnValidator(OptionGreeks1m)(table, window)
    expect(out.valid).toBe(table)
    expect(out.rejected).toEqual([])
  })
})

describe("column batches", () => {
  it("a builder's staged rows and appended ranges come out as the rows, joined in order", () => {
    const builder = new ColumnBuilder(OptionGreeks1m.columns, 1)
    const at = (name: string) => OptionGreeks1m.columns.findIndex((c) => c.name === name)
    builder.append(asColumns([greek(0), greek(1)]))
    builder.stagedText[at("symbol")] = "SPXW"
    builder.stagedText[at("right")] = "put"
    for (const c of OptionGreeks1m.columns) if (c.type !== "string") builder.stagedNumber[at(c.name)] = 1
    builder.stagedNumber[at("expiration")] = Date.UTC(2024, 10, 8) / 86_400_000
    builder.stagedPresent[at("ask")] = 0
    builder.pushStaged()
    const first = builder.take()
    expect(builder.length).toBe(0)
    builder.appendRange(asColumns([greek(5), greek(6), greek(7)]), 1, 3)
    const joined = rowsOfColumns(
      OptionGreeks1m,
      concatRows(OptionGreeks1m.columns, [first, builder.finish()])
    )
    expect(joined.map((g) => [g.ts, g.right, g.ask])).toEqual([
      [greek(0).ts, "call", 12.4],
      [greek(1).ts, "call", 12.4],
      [1, "put", null],
      [greek(6).ts, "call", 12.4],
      [greek(7).ts, "call", 12.4]
    ])
    expect(joined[2]!.expiration).toBe("2024-11-08")
  })

  it("sorted rows pass the key check as they are; others are deduplicated as records are (last wins)", () => {
    const dedupe = makeColumnDeduplicator(OptionGreeks1m)
    const sorted = asColumns([
      greek(0),
      greek(0, { right: "put", delta: -0.4 }),
      greek(1, { strike: 5_805_000 })
    ])
    expect(dedupe(sorted)).toEqual({ table: sorted, duplicates: 0 })
    const repeated = dedupe(asColumns([greek(1), greek(0), greek(1, { delta: 0.6 })]))
    expect(repeated.duplicates).toBe(1)
    expect(rowsOfColumns(OptionGreeks1m, repeated.table)).toEqual([greek(0), greek(1, { delta: 0.6 })])
  })
})
