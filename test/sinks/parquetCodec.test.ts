import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { parquetMetadata, parquetReadObjects } from "hyparquet"
import { compressors } from "hyparquet-compressors"
import type { Dataset } from "../../src/domain/Dataset.js"
import { type StockBar, StockBars1s } from "../../src/domain/StockBar.js"
import {
  DATASET_METADATA_KEY,
  decodeColumns,
  decodeParquet,
  decodeTable,
  encodeColumns,
  encodeParquet,
  encodeTable,
  loadCompression,
  ParquetCodecError,
  stringColumnWithin
} from "../../src/sinks/parquetCodec.js"
import { columnsFromRows, rowsFromColumns } from "../../src/sinks/parquetColumns.js"
import { AllTypes, type AllTypesRow, allTypesRows } from "../support/allTypes.js"

/** A dataset with every column type, nullable and not. */
const Sample = Schema.Struct({
  id: Schema.String,
  at: Schema.Number,
  maybeAt: Schema.NullOr(Schema.Number),
  price: Schema.Number,
  maybePrice: Schema.NullOr(Schema.Number),
  count: Schema.Number,
  maybeCount: Schema.NullOr(Schema.Number),
  note: Schema.NullOr(Schema.String)
})
type Sample = typeof Sample.Type

const SampleDataset: Dataset<Sample> = {
  name: "sample_all_types",
  schema: Sample,
  columns: [
    { name: "id", type: "string", nullable: false, doc: "" },
    { name: "at", type: "timestamp_ms", nullable: false, doc: "" },
    { name: "maybeAt", type: "timestamp_ms", nullable: true, doc: "" },
    { name: "price", type: "double", nullable: false, doc: "" },
    { name: "maybePrice", type: "double", nullable: true, doc: "" },
    { name: "count", type: "int64", nullable: false, doc: "" },
    { name: "maybeCount", type: "int64", nullable: true, doc: "" },
    { name: "note", type: "string", nullable: true, doc: "" }
  ],
  key: ["id"],
  instrument: "id",
  timeColumn: "at",
  eventTime: (s) => s.at,
  partitionDate: () => "2024-01-02",
  partitionRange: () => ({ startMs: 0, endMs: 1 }),
  rules: []
}

const samples: ReadonlyArray<Sample> = [
  {
    id: "a",
    at: 1704205800000,
    maybeAt: null,
    price: 1.5,
    maybePrice: null,
    count: 0,
    maybeCount: null,
    note: null
  },
  {
    id: "b",
    at: 1704205801000,
    maybeAt: 1704205802000,
    price: -0.25,
    maybePrice: 470.12,
    count: Number.MAX_SAFE_INTEGER,
    maybeCount: -42,
    note: "héllo ✓"
  },
  {
    id: "c",
    at: 0,
    maybeAt: null,
    price: 1e-300,
    maybePrice: 3,
    count: -7,
    maybeCount: 9007199254740000,
    note: ""
  }
]

const bars = (n: number, symbol = "SPY"): Array<StockBar> => {
  const out: Array<StockBar> = []
  for (let i = 0; i < n; i++) {
    const p = 470 + (i % 50) / 100
    out.push({
      symbol,
      ts: 1704205800000 + i * 1000,
      open: p,
      high: p + 0.02,
      low: p - 0.01,
      close: p + 0.01,
      volume: 100 + i,
      vwap: i % 3 === 0 ? null : p,
      trades: i % 5 === 0 ? null : i
    })
  }
  return out
}

const options = { compression: "snappy", rowGroupSize: 1000 } as const

describe("parquetCodec", () => {
  it.live("round-trips every column type with nulls", () =>
    Effect.gen(function* () {
      const bytes = encodeParquet(SampleDataset, samples, options)
      const back = yield* Effect.promise(() => decodeParquet(SampleDataset, bytes))
      expect(back).toEqual(samples)
      // Keys come back in column order, so records have one shape.
      expect(Object.keys(back[0]!)).toEqual(SampleDataset.columns.map((c) => c.name))
    })
  )

  it.live("reads a small file from a Node Buffer that shares a pooled buffer with other bytes", () =>
    Effect.gen(function* () {
      const bytes = encodeParquet(SampleDataset, samples, options)
      expect(bytes.byteLength).toBeLessThan(4096)
      // Buffer.from copies a small array into Node's shared pool: a view at an offset.
      const pooled = Buffer.from(bytes)
      expect(pooled.byteOffset > 0 || pooled.buffer.byteLength > pooled.byteLength).toBe(true)
      expect(yield* Effect.promise(() => decodeParquet(SampleDataset, pooled))).toEqual(samples)
    })
  )

  it.live("writes explicit logical types, repetition and dataset metadata in the footer", () =>
    Effect.sync(() => {
      const bytes = encodeParquet(SampleDataset, samples, options)
      const metadata = parquetMetadata(bytes.slice().buffer)
      const byName = new Map(metadata.schema.map((e) => [e.name, e]))
      expect(byName.get("at")).toMatchObject({
        type: "INT64",
        repetition_type: "REQUIRED",
        converted_type: "TIMESTAMP_MILLIS",
        logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MILLIS" }
      })
      expect(byName.get("maybeAt")).toMatchObject({ type: "INT64", repetition_type: "OPTIONAL" })
      expect(byName.get("id")).toMatchObject({
        type: "BYTE_ARRAY",
        repetition_type: "REQUIRED",
        converted_type: "UTF8",
        logical_type: { type: "STRING" }
      })
      expect(byName.get("note")).toMatchObject({ type: "BYTE_ARRAY", repetition_type: "OPTIONAL" })
      expect(byName.get("price")).toMatchObject({ type: "DOUBLE", repetition_type: "REQUIRED" })
      expect(byName.get("maybePrice")).toMatchObject({ type: "DOUBLE", repetition_type: "OPTIONAL" })
      expect(byName.get("count")).toMatchObject({ type: "INT64", repetition_type: "REQUIRED" })
      expect(byName.get("count")?.logical_type).toBeUndefined()
      expect(metadata.key_value_metadata).toContainEqual({
        key: DATASET_METADATA_KEY,
        value: "sample_all_types"
      })
      expect(metadata.created_by).toBe("tapehouse")
    })
  )

  it.live("splits row groups and records statistics on the key and time columns, for pruning", () =>
    Effect.sync(() => {
      const rows = bars(2500)
      const metadata = parquetMetadata(encodeParquet(StockBars1s, rows, options).slice().buffer)
      expect(metadata.row_groups.map((g) => Number(g.num_rows))).toEqual([1000, 1000, 500])
      const ts = metadata.row_groups[1]!.columns[1]!.meta_data!
      expect(ts.path_in_schema).toEqual(["ts"])
      expect(ts.statistics?.min_value).toEqual(new Date(rows[1000]!.ts))
      expect(ts.statistics?.max_value).toEqual(new Date(rows[1999]!.ts))
      const symbol = metadata.row_groups[0]!.columns[0]!.meta_data!
      expect(symbol.statistics?.min_value).toBe(rows[0]!.symbol)
      // Other columns carry no statistics: they cost a third of the encoding time (measured).
      const close = metadata.row_groups[0]!.columns[5]!.meta_data!
      expect(close.path_in_schema).toEqual(["close"])
      expect(close.statistics?.min_value).toBeUndefined()
      // Timestamps and integers are delta-encoded, doubles plain.
      expect(ts.encodings).toContain("DELTA_BINARY_PACKED")
      expect(close.encodings).toContain("PLAIN")
    })
  )

  it.live("is readable by hyparquet's own object reader, timestamps as UTC dates", () =>
    Effect.gen(function* () {
      const rows = bars(10)
      const bytes = encodeParquet(StockBars1s, rows, options)
      const read = yield* Effect.promise(() =>
        parquetReadObjects({ file: bytes.slice().buffer, compressors })
      )
      expect(read[1]).toEqual({ ...rows[1], ts: new Date(rows[1]!.ts), trades: 1n })
      expect(read[0]).toMatchObject({ vwap: null, trades: null })
    })
  )

  it.live("encodes deterministically and decodes zstd and uncompressed files", () =>
    Effect.gen(function* () {
      const rows = bars(3000)
      expect(encodeParquet(StockBars1s, rows, options)).toEqual(encodeParquet(StockBars1s, rows, options))
      yield* Effect.promise(() => loadCompression("zstd"))
      for (const compression of ["zstd", "uncompressed"] as const) {
        const bytes = encodeParquet(StockBars1s, rows, { compression, rowGroupSize: 100_000 })
        const codecs = parquetMetadata(bytes.slice().buffer).row_groups[0]!.columns.map(
          (c) => c.meta_data?.codec
        )
        expect(new Set(codecs)).toEqual(new Set([compression === "zstd" ? "ZSTD" : "UNCOMPRESSED"]))
        expect(yield* Effect.promise(() => decodeParquet(StockBars1s, bytes))).toEqual(rows)
      }
    })
  )

  it.live("tells whether every value of a string column is among a set, reading that column", () =>
    Effect.gen(function* () {
      const bytes = encodeParquet(StockBars1s, [...bars(1500, "QQQ"), ...bars(1500, "SPY")], options)
      const within = (column: string, allowed: ReadonlyArray<string>) =>
        Effect.promise(() => stringColumnWithin(bytes, column, new Set(allowed)))
      expect(yield* within("symbol", ["SPY", "QQQ"])).toBe(true)
      expect(yield* within("symbol", ["SPY"])).toBe(false)
      expect(yield* within("symbol", ["QQQ", "IWM"])).toBe(false)
      expect(yield* within("no_such_column", ["SPY", "QQQ"])).toBe(false)
    })
  )

  it.live("decodes into columns and encodes from them: the same columns and bytes as through rows", () =>
    Effect.gen(function* () {
      const cases = [
        { dataset: StockBars1s as Dataset<unknown>, rows: bars(2500) as ReadonlyArray<unknown> },
        { dataset: StockBars1s as Dataset<unknown>, rows: [] },
        { dataset: AllTypes as Dataset<unknown>, rows: allTypesRows(300, true) as ReadonlyArray<unknown> }
      ]
      for (const { dataset, rows } of cases) {
        const bytes = encodeParquet(dataset, rows, options)
        const columns = columnsFromRows(dataset.columns, rows as ReadonlyArray<Record<string, unknown>>)
        const decoded = yield* Effect.promise(() => decodeColumns(dataset.columns, bytes))
        expect(decoded).toEqual({ length: rows.length, columns })
        expect(encodeColumns(dataset, decoded, options)).toEqual(bytes)
        // And back to rows, for sinks that take rows (SQL).
        expect(rowsFromColumns(dataset.columns, decoded)).toEqual(rows)
      }
    })
  )

  it.live("decodes an empty table", () =>
    Effect.gen(function* () {
      const bytes = encodeParquet(StockBars1s, [], options)
      expect(yield* Effect.promise(() => decodeParquet(StockBars1s, bytes))).toEqual([])
    })
  )

  it.live("rejects a value of the wrong type, naming column and row", () =>
    Effect.sync(() => {
      const rows: Array<StockBar> = bars(3)
      rows[2] = { ...rows[2]!, trades: 1.5 }
      expect(() => encodeParquet(StockBars1s, rows, options)).toThrow(
        new ParquetCodecError({ detail: "column trades of row 2: expected a safe integer or null, got 1.5" })
      )
      const missing = [{ ...rows[0]!, open: null }] as unknown as ReadonlyArray<StockBar>
      expect(() => encodeParquet(StockBars1s, missing, options)).toThrow(
        /column open of row 0: expected a number/
      )
    })
  )

  it.live("rejects bytes that are not Parquet", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Effect.tryPromise({
          try: () => decodeParquet(StockBars1s, new TextEncoder().encode("not parquet at all")),
          catch: (e) => e
        })
      )
      expect(error).toBeInstanceOf(ParquetCodecError)
      expect((error as ParquetCodecError).detail).toMatch(/^not a readable Parquet file/)
    })
  )

  it.live("round-trips every column type, with nulls and without, edge values included", () =>
    Effect.gen(function* () {
      for (const nulls of [true, false]) {
        for (const n of [1, 7, 100, 2500]) {
          const rows = allTypesRows(n, nulls)
          for (const rowGroupSize of [1000, 100_000]) {
            const bytes = encodeParquet(AllTypes, rows, { compression: "snappy", rowGroupSize })
            expect(yield* Effect.promise(() => decodeParquet(AllTypes, bytes))).toEqual(rows)
          }
        }
      }
      yield* Effect.promise(() => loadCompression("zstd"))
      const rows = allTypesRows(3000, true)
      for (const compression of ["zstd", "uncompressed"] as const) {
        const bytes = encodeParquet(AllTypes, rows, { compression, rowGroupSize: 1000 })
        expect(yield* Effect.promise(() => decodeParquet(AllTypes, bytes))).toEqual(rows)
      }
    })
  )

  it.live("encodes every column type deterministically", () =>
    Effect.sync(() => {
      const rows = allTypesRows(5000, true)
      const once = encodeParquet(AllTypes, rows, options)
      expect(encodeParquet(AllTypes, allTypesRows(5000, true), options)).toEqual(once)
    })
  )

  it.live(
    "writes each new type's Parquet type: BOOLEAN, INT32 DATE, INT64 TIMESTAMP(NANOS), DECIMAL(18, s), LIST<STRING>",
    () =>
      Effect.sync(() => {
        const metadata = parquetMetadata(
          encodeParquet(AllTypes, allTypesRows(10, true), options).slice().buffer
        )
        const schema = metadata.schema
        const byName = new Map(schema.map((e) => [e.name, e]))
        expect(byName.get("flag")).toMatchObject({ type: "BOOLEAN", repetition_type: "REQUIRED" })
        expect(byName.get("maybeDay")).toMatchObject({
          type: "INT32",
          repetition_type: "OPTIONAL",
          converted_type: "DATE",
          logical_type: { type: "DATE" }
        })
        expect(byName.get("ns")).toMatchObject({
          type: "INT64",
          logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "NANOS" }
        })
        expect(byName.get("qty")).toMatchObject({
          type: "INT64",
          converted_type: "DECIMAL",
          scale: 8,
          precision: 18,
          logical_type: { type: "DECIMAL", scale: 8, precision: 18 }
        })
        expect(byName.get("whole")).toMatchObject({ scale: 0, precision: 18 })
        // The 3-level list of parquet-format's LogicalTypes: group (LIST) > repeated group list > element.
        const at = schema.findIndex((e) => e.name === "maybeTags")
        expect(schema.slice(at, at + 3)).toEqual([
          {
            name: "maybeTags",
            repetition_type: "OPTIONAL",
            num_children: 1,
            converted_type: "LIST",
            logical_type: { type: "LIST" }
          },
          { name: "list", repetition_type: "REPEATED", num_children: 1 },
          {
            name: "element",
            type: "BYTE_ARRAY",
            repetition_type: "REQUIRED",
            converted_type: "UTF8",
            logical_type: { type: "STRING" }
          }
        ])
        expect(schema[0]).toMatchObject({ name: "root", num_children: AllTypes.columns.length })
        const tags = metadata.row_groups[0]!.columns.find((c) => c.meta_data?.path_in_schema[0] === "tags")!
        expect(tags.meta_data!.path_in_schema).toEqual(["tags", "list", "element"])
      })
  )

  it.live(
    "hyparquet's own object reader reads every type: dates as UTC midnight, decimals as numbers, lists as arrays",
    () =>
      Effect.gen(function* () {
        const rows = allTypesRows(14, true)
        const bytes = encodeParquet(AllTypes, rows, options)
        const read = yield* Effect.promise(() =>
          parquetReadObjects({
            file: bytes.slice().buffer,
            compressors,
            parsers: { timestampFromNanoseconds: (nanos: bigint) => nanos }
          })
        )
        rows.forEach((row, i) => {
          const got = read[i] as Record<string, unknown>
          expect(got["flag"]).toBe(row.flag)
          expect(got["maybeFlag"]).toBe(row.maybeFlag)
          expect(got["day"]).toEqual(new Date(`${row.day}T00:00:00Z`))
          expect(got["ns"]).toBe(row.ns)
          expect(got["price"]).toBeCloseTo(row.price / 100, 2)
          expect(got["tags"]).toEqual(row.tags)
          expect(got["maybeTags"] ?? null).toEqual(row.maybeTags)
        })
      })
  )

  it.live(
    "records statistics for the new types where they prune: booleans, dates, ns timestamps, decimals",
    () =>
      Effect.sync(() => {
        const rows: Array<AllTypesRow> = allTypesRows(20, true)
        const bytes = encodeTable({ name: "t", columns: AllTypes.columns, rows }, options)
        const metadata = parquetMetadata(bytes.slice().buffer)
        const stats = (name: string) =>
          metadata.row_groups[0]!.columns.find((c) => c.meta_data?.path_in_schema[0] === name)!.meta_data!
            .statistics
        expect(stats("flag")).toMatchObject({ min_value: false, max_value: true, null_count: 0n })
        expect(stats("maybeDay")).toMatchObject({
          min_value: new Date("0001-01-01T00:00:00Z"),
          max_value: new Date("9999-12-31T00:00:00Z"),
          null_count: BigInt(rows.filter((r) => r.maybeDay === null).length)
        })
        // hyparquet shows DECIMAL statistics as numbers and TIMESTAMP(NANOS) ones as dates.
        expect(stats("whole")).toMatchObject({
          min_value: -9_007_199_254_740_991,
          max_value: 9_007_199_254_740_991
        })
        expect(stats("qty")?.min_value).toBeCloseTo(-9_007_199.25474099, 8)
        expect(stats("qty")?.max_value).toBeCloseTo(1.23456789, 8)
        expect(stats("ns")?.max_value).toEqual(new Date(Number((2n ** 63n - 1n) / 1_000_000n)))
        // A list has none: min and max of every list's strings prune nothing.
        expect(stats("tags")).toBeUndefined()
      })
  )

  it.live("rejects a value of a new type that does not fit its column, naming column and row", () =>
    Effect.sync(() => {
      const cases: ReadonlyArray<[Partial<Record<keyof AllTypesRow, unknown>>, string]> = [
        [{ flag: 1 }, "column flag of row 2: expected a boolean, got 1"],
        [{ day: "2023-02-29" }, 'column day of row 2: expected a real date "YYYY-MM-DD", got "2023-02-29"'],
        [
          { maybeDay: "2024-1-5" },
          'column maybeDay of row 2: expected a real date "YYYY-MM-DD" or null, got "2024-1-5"'
        ],
        [{ ns: 5 }, "column ns of row 2: expected a bigint of epoch nanoseconds, got 5"],
        [
          { ns: 2n ** 63n },
          "column ns of row 2: expected a bigint of epoch nanoseconds, got 9223372036854775808n"
        ],
        [{ price: 1.5 }, "column price of row 2: expected a safe integer (the value × 10^2), got 1.5"],
        [{ whole: 2n }, "column whole of row 2: expected a safe integer (the value × 10^0), got 2n"],
        [{ tags: ["a", 1] }, 'column tags of row 2: expected an array of strings, got ["a", 1]'],
        [{ tags: null }, "column tags of row 2: expected an array of strings, got null"],
        [{ maybeTags: "a" }, 'column maybeTags of row 2: expected an array of strings or null, got "a"']
      ]
      for (const [change, message] of cases) {
        const rows = allTypesRows(4, true).map((r, i) => (i === 2 ? { ...r, ...change } : r))
        expect(() => encodeParquet(AllTypes, rows as ReadonlyArray<AllTypesRow>, options)).toThrow(
          new ParquetCodecError({ detail: message })
        )
      }
    })
  )

  it.live("reads a decimal of smaller scale exactly at the column's scale, and refuses a larger one", () =>
    Effect.gen(function* () {
      const narrow = [{ name: "p", type: "decimal", scale: 2, nullable: false }] as const
      const bytes = encodeTable({ name: "t", columns: narrow, rows: [{ p: -12345 }, { p: 7 }] }, options)
      const wide = [{ name: "p", type: "decimal", scale: 4, nullable: false }] as const
      expect(yield* Effect.promise(() => decodeTable(wide, bytes))).toEqual([{ p: -1234500 }, { p: 700 }])
      const coarse = [{ name: "p", type: "decimal", scale: 1, nullable: false }] as const
      const error = yield* Effect.flip(
        Effect.tryPromise({ try: () => decodeTable(coarse, bytes), catch: (e) => e })
      )
      expect(error).toEqual(
        new ParquetCodecError({ detail: "column p has scale 2 in the file, more than its 1" })
      )
    })
  )

  it.live("reads a millisecond timestamp column as exact nanoseconds", () =>
    Effect.gen(function* () {
      const ms = [{ name: "t", type: "timestamp_ms", nullable: true }] as const
      const bytes = encodeTable(
        { name: "t", columns: ms, rows: [{ t: 1_704_205_800_123 }, { t: null }] },
        options
      )
      const ns = [{ name: "t", type: "timestamp_ns", nullable: true }] as const
      expect(yield* Effect.promise(() => decodeTable(ns, bytes))).toEqual([
        { t: 1_704_205_800_123_000_000n },
        { t: null }
      ])
    })
  )
})
