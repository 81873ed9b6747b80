import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { parquetMetadata, parquetReadObjects } from "hyparquet"
import { compressors } from "hyparquet-compressors"
import type { Dataset } from "../../src/domain/Dataset.js"
import { type StockBar, StockBars1s } from "../../src/domain/StockBar.js"
import {
  DATASET_METADATA_KEY,
  decodeParquet,
  encodeParquet,
  loadCompression,
  ParquetCodecError
} from "../../src/sinks/parquetCodec.js"

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
})
