import { describe, expect, it } from "@effect/vitest"
import { parquetMetadata, parquetRead, snappyUncompress } from "hyparquet"
import { compressors } from "hyparquet-compressors"
import { snappyCompress as referenceSnappy } from "hyparquet-writer/src/snappy.js"
import { compareUtf8, snappyCompress, writeFlatParquet } from "../../src/sinks/flatParquetWriter.js"
import { decodeTable, encodeTable, loadCompression } from "../../src/sinks/parquetCodec.js"
import { columnsFromRows, type FlatColumn, FlatValueError } from "../../src/sinks/parquetColumns.js"

/** A small deterministic PRNG (mulberry32). */
const prng = (seed: number) => {
  let a = seed >>> 0
  return (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const columns: ReadonlyArray<FlatColumn> = [
  { name: "sym", type: "string", nullable: false },
  { name: "note", type: "string", nullable: true },
  { name: "uniq", type: "string", nullable: true },
  { name: "ts", type: "timestamp_ms", nullable: false },
  { name: "maybeTs", type: "timestamp_ms", nullable: true },
  { name: "n", type: "int64", nullable: false },
  { name: "maybeN", type: "int64", nullable: true },
  { name: "x", type: "double", nullable: false },
  { name: "maybeX", type: "double", nullable: true }
]

const specials = [
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  -0,
  0,
  5e-324,
  -1.7976931348623157e308
]
const words = ["", "SPY", "QQQ", "é", "日本語", "🚀 rocket", "a\u0000b", "zz"]

const randomRows = (count: number, seed: number): Array<Record<string, unknown>> => {
  const r = prng(seed)
  const rows: Array<Record<string, unknown>> = []
  let ts = 1_704_205_800_000
  for (let i = 0; i < count; i++) {
    ts += r() < 0.05 ? -Math.floor(r() * 100_000) : Math.floor(r() * 2000) // mostly increasing, sometimes back
    const big = r() < 0.1
    rows.push({
      sym: words[Math.floor(r() * 3)]!,
      note: r() < 0.3 ? null : words[Math.floor(r() * words.length)]!,
      uniq: r() < 0.1 ? null : `id-${i}-${Math.floor(r() * 1e9)}`,
      ts,
      maybeTs: r() < 0.5 ? null : ts + Math.floor(r() * 10),
      n: big
        ? (r() < 0.5 ? -1 : 1) * Math.floor(r() * Number.MAX_SAFE_INTEGER)
        : Math.floor(r() * 1000) - 500,
      maybeN: r() < 0.2 ? null : r() < 0.1 ? Number.MIN_SAFE_INTEGER : Math.floor(r() * 1e6),
      x: r() < 0.1 ? specials[Math.floor(r() * specials.length)]! : (r() - 0.5) * 1e6,
      maybeX: r() < 0.25 ? null : r() < 0.1 ? specials[Math.floor(r() * specials.length)]! : r() * 400
    })
  }
  return rows
}

/** Reads every column with hyparquet: timestamps and int64 as bigint, nulls as null. */
const readColumns = async (bytes: Uint8Array): Promise<Map<string, Array<unknown>>> => {
  const file = bytes.slice().buffer
  const metadata = parquetMetadata(file)
  const n = Number(metadata.num_rows)
  const out = new Map<string, Array<unknown>>()
  for (const c of columns) out.set(c.name, new Array<unknown>(n).fill("unset"))
  await parquetRead({
    file,
    metadata,
    compressors,
    utf8: true,
    parsers: {
      timestampFromMilliseconds: (millis: bigint): bigint => millis,
      timestampFromMicroseconds: (micros: bigint): bigint => micros,
      timestampFromNanoseconds: (nanos: bigint): bigint => nanos
    },
    onChunk: ({ columnName, columnData, rowStart }) => {
      const target = out.get(columnName)!
      for (let i = 0; i < columnData.length; i++) {
        const v: unknown = columnData[i]
        target[rowStart + i] = v === undefined ? null : v
      }
    }
  })
  return out
}

const expectSameValues = (
  rows: ReadonlyArray<Record<string, unknown>>,
  read: Map<string, Array<unknown>>
) => {
  for (const c of columns) {
    const got = read.get(c.name)!
    expect(got.length).toBe(rows.length)
    for (let i = 0; i < rows.length; i++) {
      const want = rows[i]![c.name]
      const v = got[i]
      if (want === null) {
        if (v !== null) expect.fail(`${c.name}[${i}]: expected null, got ${String(v)}`)
      } else if (c.type === "double") {
        if (!Object.is(v, want)) expect.fail(`${c.name}[${i}]: expected ${String(want)}, got ${String(v)}`)
      } else if (c.type === "string") {
        if (v !== want) expect.fail(`${c.name}[${i}]: expected ${String(want)}, got ${String(v)}`)
      } else if (v !== BigInt(want as number)) {
        expect.fail(`${c.name}[${i}]: expected ${String(want)}, got ${String(v)}`)
      }
    }
  }
}

const write = (
  rows: ReadonlyArray<Record<string, unknown>>,
  codec: "SNAPPY" | "UNCOMPRESSED" = "SNAPPY",
  rowGroupSize = 1000,
  pageSize?: number
): Uint8Array =>
  writeFlatParquet(columns, columnsFromRows(columns, rows), rows.length, {
    codec,
    rowGroupSize,
    ...(pageSize === undefined ? {} : { pageSize }),
    kvMetadata: [{ key: "k", value: "v" }],
    createdBy: "tapehouse"
  })

describe("flatParquetWriter", () => {
  for (const count of [0, 1, 2, 127, 128, 129, 999, 1000, 1001, 5000]) {
    it(`round-trips ${count} random rows value by value (snappy and uncompressed)`, async () => {
      const rows = randomRows(count, count + 7)
      for (const codec of ["SNAPPY", "UNCOMPRESSED"] as const) {
        const bytes = write(rows, codec)
        expectSameValues(rows, await readColumns(bytes))
        expect(Number(parquetMetadata(bytes.slice().buffer).num_rows)).toBe(count)
      }
    })
  }

  it("splits pages at the page size and still reads back", async () => {
    const rows = randomRows(3000, 3)
    const bytes = write(rows, "SNAPPY", 2500, 4096)
    const metadata = parquetMetadata(bytes.slice().buffer)
    const x = metadata.row_groups[0]!.columns[7]!.meta_data!
    expect(x.encoding_stats?.[0]?.count).toBeGreaterThan(1)
    expectSameValues(rows, await readColumns(bytes))
  })

  it("round-trips zstd through encodeTable", async () => {
    await loadCompression("zstd")
    const rows = randomRows(2000, 11)
    const bytes = encodeTable(
      { name: "t", columns, rows },
      {
        compression: "zstd",
        rowGroupSize: 700
      }
    )
    expect(parquetMetadata(bytes.slice().buffer).row_groups[0]!.columns[0]!.meta_data!.codec).toBe("ZSTD")
    expectSameValues(rows, await readColumns(bytes))
  })

  it("delta-encodes extreme int64 values (wide bigints, deltas past 2^53)", async () => {
    const values = [
      0n,
      2n ** 63n - 1n,
      -(2n ** 63n),
      123n,
      -(2n ** 62n),
      9007199254740993n,
      -9007199254740993n,
      5n,
      5n,
      6n
    ]
    const intColumns: ReadonlyArray<FlatColumn> = [{ name: "v", type: "int64", nullable: true }]
    const rows = [...values, null, 7n].map((v) => ({ v }))
    const bytes = writeFlatParquet(intColumns, columnsFromRows(intColumns, rows), rows.length, {
      codec: "SNAPPY",
      rowGroupSize: 100,
      createdBy: "tapehouse"
    })
    let got: Array<unknown> = []
    await parquetRead({
      file: bytes.slice().buffer,
      compressors,
      onChunk: ({ columnData }) => {
        got = Array.from(columnData as ArrayLike<unknown>)
      }
    })
    expect(got).toEqual([...values, null, 7n].map((v) => (v === null ? undefined : v)).map((v) => v ?? null))
    const stats = parquetMetadata(bytes.slice().buffer).row_groups[0]!.columns[0]!.meta_data!.statistics!
    expect(stats.min_value).toBe(-(2n ** 63n))
    expect(stats.max_value).toBe(2n ** 63n - 1n)
    expect(stats.null_count).toBe(1n)
  })

  it("delta-encodes int64 blocks whose deltas span 2^32 to 2^53 exactly (numbers and wide bigints)", async () => {
    // A seeded walk with steps up to about ±2^51, some blocks only up to ±2^36.
    let seed = 12345
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed / 2147483648
    }
    const n = 1000
    const nums = new Float64Array(n)
    const wide = new BigInt64Array(n)
    let x = 0
    for (let i = 0; i < n; i++) {
      const reach = i < 500 ? 2 ** 36 : 2 ** 51
      const step = Math.floor((next() - 0.5) * reach)
      x = Math.max(-(2 ** 52), Math.min(2 ** 52, x + step))
      nums[i] = i % 97 === 0 ? x : Math.round(x / 1000) * 1000
      wide[i] = 1_700_000_000_000_000_000n + BigInt(nums[i]!)
    }
    const cols: ReadonlyArray<FlatColumn> = [
      { name: "n", type: "int64", nullable: false },
      { name: "w", type: "timestamp_ns", nullable: false }
    ]
    const bytes = writeFlatParquet(
      cols,
      [
        { kind: "int", values: nums, wide: undefined, present: undefined },
        { kind: "wide", values: wide, present: undefined }
      ],
      n,
      { codec: "UNCOMPRESSED", rowGroupSize: n, createdBy: "tapehouse" }
    )
    const got = new Map<string, Array<unknown>>()
    await parquetRead({
      file: bytes.slice().buffer,
      compressors,
      // The nanoseconds as stored, not as a Date.
      parsers: { timestampFromNanoseconds: (ns: bigint) => ns },
      onChunk: ({ columnName, columnData, rowStart }) => {
        const into = got.get(columnName) ?? []
        Array.from(columnData as ArrayLike<unknown>).forEach((v, i) => {
          into[rowStart + i] = v
        })
        got.set(columnName, into)
      }
    })
    expect(got.get("n")).toEqual(Array.from(nums, (v) => BigInt(v)))
    expect(got.get("w")).toEqual(Array.from(wide))
  })

  it("writes the metadata: types, encodings, statistics, key-value metadata, offsets", () => {
    const rows = randomRows(2500, 5)
    const bytes = write(rows, "SNAPPY", 1000)
    const metadata = parquetMetadata(bytes.slice().buffer)
    expect(metadata.created_by).toBe("tapehouse")
    expect(metadata.key_value_metadata).toEqual([{ key: "k", value: "v" }])
    expect(metadata.row_groups.map((g) => Number(g.num_rows))).toEqual([1000, 1000, 500])
    const byName = new Map(metadata.schema.map((e) => [e.name, e]))
    expect(byName.get("ts")).toMatchObject({
      type: "INT64",
      repetition_type: "REQUIRED",
      converted_type: "TIMESTAMP_MILLIS",
      logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MILLIS" }
    })
    expect(byName.get("note")).toMatchObject({
      type: "BYTE_ARRAY",
      repetition_type: "OPTIONAL",
      converted_type: "UTF8"
    })
    expect(byName.get("maybeX")).toMatchObject({ type: "DOUBLE", repetition_type: "OPTIONAL" })
    expect(byName.get("n")?.logical_type).toBeUndefined()
    const group = metadata.row_groups[1]!
    const meta = (name: string) =>
      group.columns.find((c) => c.meta_data?.path_in_schema[0] === name)!.meta_data!
    expect(meta("sym").encodings).toEqual(["PLAIN", "RLE_DICTIONARY"])
    expect(meta("uniq").encodings).toEqual(["PLAIN"]) // many distinct values: plain fallback
    expect(meta("ts").encodings).toEqual(["DELTA_BINARY_PACKED"])
    expect(meta("x").encodings).toEqual(["PLAIN"])
    // statistics of row group 1
    const slice = rows.slice(1000, 2000)
    const ts = slice.map((r) => r.ts as number)
    expect(meta("ts").statistics?.min_value).toEqual(new Date(Math.min(...ts)))
    expect(meta("ts").statistics?.max_value).toEqual(new Date(Math.max(...ts)))
    const notes = slice.map((r) => r.note).filter((v): v is string => typeof v === "string")
    notes.sort(compareUtf8)
    expect(meta("note").statistics?.min_value).toBe(notes[0])
    expect(meta("note").statistics?.null_count).toBe(BigInt(slice.filter((r) => r.note === null).length))
    const xs = slice
      .map((r) => r.maybeX)
      .filter((v): v is number => typeof v === "number" && !Number.isNaN(v))
    expect(meta("maybeX").statistics?.max_value).toBe(Math.max(...xs))
    expect(meta("maybeX").statistics?.min_value).toBe(Math.min(...xs))
    // offsets: the chunks tile the file from byte 4
    let offset = 4n
    for (const g of metadata.row_groups) {
      for (const c of g.columns) {
        const m = c.meta_data!
        expect(m.dictionary_page_offset ?? m.data_page_offset).toBe(offset)
        offset += m.total_compressed_size
      }
    }
  })

  it("writes statistics only for the columns asked for", () => {
    const rows = randomRows(300, 9)
    const bytes = writeFlatParquet(columns, columnsFromRows(columns, rows), rows.length, {
      codec: "SNAPPY",
      rowGroupSize: 1000,
      statisticsFor: new Set(["ts"]),
      createdBy: "tapehouse"
    })
    const chunks = parquetMetadata(bytes.slice().buffer).row_groups[0]!.columns
    expect(
      chunks.filter((c) => c.meta_data?.statistics !== undefined).map((c) => c.meta_data!.path_in_schema)
    ).toEqual([["ts"]])
  })

  it("is deterministic", () => {
    const rows = randomRows(3000, 1)
    expect(Buffer.from(write(rows)).equals(Buffer.from(write(rows)))).toBe(true)
  })

  it("rejects a wrong value with its column and row (first in row order)", () => {
    const rows = randomRows(10, 2)
    rows[4] = { ...rows[4], x: "1" }
    rows[3] = { ...rows[3], n: 1.5 }
    try {
      columnsFromRows(columns, rows)
      expect.fail("no error")
    } catch (error) {
      expect(error).toBeInstanceOf(FlatValueError)
      expect((error as FlatValueError).row).toBe(3)
      expect((error as FlatValueError).column).toBe(5)
    }
  })

  it("compresses snappy to the bytes of hyparquet-writer's compressor, for views into larger buffers too", () => {
    const r = prng(7)
    for (const size of [15, 16, 17, 1000, 65_536, 200_000]) {
      for (const kind of ["random", "doubles", "runs"] as const) {
        // Bytes inside a larger buffer, at an odd offset: the compressor reads the view only.
        const backing = new Uint8Array(size + 11).fill(0xab)
        const input = backing.subarray(5, 5 + size)
        const doubles = new Float64Array(Math.ceil(size / 8))
        for (let i = 0; i < doubles.length; i++) doubles[i] = Math.round(r() * 10_000) / 10_000
        const asBytes = new Uint8Array(doubles.buffer)
        for (let i = 0; i < size; i++)
          input[i] =
            kind === "random" ? Math.floor(r() * 256) : kind === "doubles" ? asBytes[i]! : (i >> 6) & 3
        const ours = Buffer.from(snappyCompress(input))
        expect([size, kind, ours.equals(Buffer.from(referenceSnappy(input.slice())))]).toEqual([
          size,
          kind,
          true
        ])
      }
    }
  })

  it("compresses snappy so that hyparquet's decompressor gives the input back", () => {
    const r = prng(42)
    for (const size of [0, 1, 14, 15, 16, 100, 5000, 70_000, 200_000]) {
      const input = new Uint8Array(size)
      for (let i = 0; i < size; i++) input[i] = r() < 0.5 ? i & 7 : Math.floor(r() * 256)
      const compressed = snappyCompress(input).slice()
      const output = new Uint8Array(size)
      snappyUncompress(compressed, output)
      expect(Buffer.from(output).equals(Buffer.from(input))).toBe(true)
      if (size >= 5000) expect(compressed.length).toBeLessThan(size) // it compresses
    }
  })
})

/** Every column type, nullable and not. */
const typedColumns: ReadonlyArray<FlatColumn> = [
  { name: "b", type: "boolean", nullable: false },
  { name: "mb", type: "boolean", nullable: true },
  { name: "d", type: "date", nullable: false },
  { name: "md", type: "date", nullable: true },
  { name: "ns", type: "timestamp_ns", nullable: false },
  { name: "mns", type: "timestamp_ns", nullable: true },
  { name: "p", type: "decimal", scale: 4, nullable: false },
  { name: "mp", type: "decimal", scale: 0, nullable: true },
  { name: "tags", type: "string_list", nullable: false },
  { name: "mtags", type: "string_list", nullable: true },
  { name: "many", type: "string_list", nullable: true }
]

const randomTypedRows = (count: number, seed: number): Array<Record<string, unknown>> => {
  const r = prng(seed)
  const rows: Array<Record<string, unknown>> = []
  let ns = 1_704_205_800_000_000_000n
  const day = (days: number) => new Date(days * 86_400_000).toISOString().slice(0, 10)
  for (let i = 0; i < count; i++) {
    // Mostly small steps; sometimes a jump past 2^32 ns or anywhere in int64 (the BigInt path).
    const jump = r()
    ns =
      jump < 0.02
        ? BigInt.asIntN(64, BigInt(Math.floor(r() * 2 ** 53)) * 1024n)
        : jump < 0.05
          ? ns + BigInt(Math.floor(r() * 2 ** 40))
          : ns + BigInt(Math.floor(r() * 5000))
    if (ns > 2n ** 63n - 1n) ns = -(2n ** 63n)
    const list = (): Array<string> => {
      const n = r() < 0.2 ? 0 : Math.floor(r() * 4)
      return Array.from({ length: n }, () => words[Math.floor(r() * words.length)]!)
    }
    rows.push({
      b: r() < 0.5,
      mb: r() < 0.3 ? null : r() < 0.5,
      d: day(Math.floor(r() * 40_000) - 20_000),
      md: r() < 0.3 ? null : day(19_000 + (i % 7)),
      ns,
      mns: r() < 0.3 ? null : BigInt(i) * 1_000_000_007n - 5n,
      p: Math.floor((r() - 0.5) * 2 * Number.MAX_SAFE_INTEGER),
      mp: r() < 0.3 ? null : Math.floor(r() * 100) - 50,
      tags: list(),
      mtags: r() < 0.3 ? null : list(),
      // Mostly distinct strings, some rows with many: plain pages that hold whole rows.
      many:
        r() < 0.2
          ? null
          : Array.from({ length: Math.floor(r() * 30) }, (_, k) => `s${i}-${k}-${Math.floor(r() * 1e9)}`)
    })
  }
  return rows
}

const writeTyped = (rows: ReadonlyArray<Record<string, unknown>>, rowGroupSize: number, pageSize?: number) =>
  writeFlatParquet(typedColumns, columnsFromRows(typedColumns, rows), rows.length, {
    codec: "SNAPPY",
    rowGroupSize,
    ...(pageSize === undefined ? {} : { pageSize }),
    createdBy: "tapehouse"
  })

describe("flatParquetWriter: booleans, dates, ns timestamps, decimals, string lists", () => {
  for (const count of [0, 1, 2, 127, 128, 129, 1000, 1001, 5000]) {
    it(`round-trips ${count} random rows of every type through hyparquet`, async () => {
      const rows = randomTypedRows(count, count + 3)
      for (const [rowGroupSize, pageSize] of [
        [1000, undefined],
        [100_000, undefined],
        [700, 1024]
      ] as const) {
        const bytes = writeTyped(rows, rowGroupSize, pageSize)
        expect(await decodeTable(typedColumns, bytes)).toEqual(rows)
      }
    })
  }

  it("writes lists as dictionary or plain pages, split at row boundaries", () => {
    const rows = randomTypedRows(3000, 8)
    const bytes = writeTyped(rows, 100_000, 4096)
    const group = parquetMetadata(bytes.slice().buffer).row_groups[0]!
    const meta = (name: string) =>
      group.columns.find((c) => c.meta_data?.path_in_schema[0] === name)!.meta_data!
    expect(meta("tags").encodings).toEqual(["PLAIN", "RLE_DICTIONARY"])
    expect(meta("many").encodings).toEqual(["PLAIN"])
    expect(meta("many").encoding_stats?.[0]?.count).toBeGreaterThan(1)
    // One level entry per string and per empty or null list.
    const entries = (name: string) =>
      rows.reduce((n, r) => n + Math.max(1, (r[name] as Array<string> | null)?.length ?? 0), 0)
    expect(Number(meta("many").num_values)).toBe(entries("many"))
    expect(Number(meta("tags").num_values)).toBe(entries("tags"))
    expect(meta("d").encodings).toEqual(["DELTA_BINARY_PACKED"])
    expect(meta("ns").encodings).toEqual(["DELTA_BINARY_PACKED"])
    expect(meta("b").encodings).toEqual(["PLAIN"])
  })

  it("is deterministic", () => {
    const rows = randomTypedRows(3000, 4)
    expect(Buffer.from(writeTyped(rows, 1000)).equals(Buffer.from(writeTyped(rows, 1000)))).toBe(true)
  })

  it("rejects a list holding a non-string, or a bigint in a decimal column, with its column and row", () => {
    const rows = randomTypedRows(10, 2)
    rows[6] = { ...rows[6], mtags: ["a", null] }
    rows[5] = { ...rows[5], p: 10n }
    try {
      columnsFromRows(typedColumns, rows)
      expect.fail("no error")
    } catch (error) {
      expect(error).toMatchObject({ row: 5, column: 6, value: 10n })
      expect(error).toBeInstanceOf(FlatValueError)
    }
    rows[5] = { ...rows[5], p: 10 }
    expect(() => columnsFromRows(typedColumns, rows)).toThrow(expect.objectContaining({ row: 6, column: 9 }))
  })

  it("refuses a decimal scale outside 0 to 18, and data of another kind than the column's", () => {
    const bad: ReadonlyArray<FlatColumn> = [{ name: "p", type: "decimal", scale: 19, nullable: false }]
    expect(() =>
      writeFlatParquet(bad, columnsFromRows(bad, [{ p: 1 }]), 1, {
        codec: "SNAPPY",
        rowGroupSize: 10,
        createdBy: "t"
      })
    ).toThrow("decimal column p has scale 19; expected a whole number from 0 to 18")
    const list: ReadonlyArray<FlatColumn> = [{ name: "l", type: "string_list", nullable: false }]
    const strings: ReadonlyArray<FlatColumn> = [{ name: "l", type: "string", nullable: false }]
    expect(() =>
      writeFlatParquet(list, columnsFromRows(strings, [{ l: "a" }]), 1, {
        codec: "SNAPPY",
        rowGroupSize: 10,
        createdBy: "t"
      })
    ).toThrow("parquet: string_list column l got string data")
  })
})
