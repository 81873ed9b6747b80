/**
 * A dataset with every column type, nullable and not, and rows of it with the edge values each
 * type has: empty lists and empty strings in lists, dates around 1970 and past 2038, nanosecond
 * timestamps beyond 2^53 and at the ends of int64, decimals of scale 0, 2 and 8, negative too.
 */
import { Schema } from "effect"
import type { Dataset } from "../../src/domain/Dataset.js"

export const AllTypesRow = Schema.Struct({
  id: Schema.String,
  at: Schema.Number,
  flag: Schema.Boolean,
  maybeFlag: Schema.NullOr(Schema.Boolean),
  day: Schema.String,
  maybeDay: Schema.NullOr(Schema.String),
  ns: Schema.BigIntFromSelf,
  maybeNs: Schema.NullOr(Schema.BigIntFromSelf),
  price: Schema.Number,
  maybePrice: Schema.NullOr(Schema.Number),
  qty: Schema.Number,
  whole: Schema.Number,
  tags: Schema.Array(Schema.String),
  maybeTags: Schema.NullOr(Schema.Array(Schema.String)),
  count: Schema.Number,
  x: Schema.Number,
  note: Schema.NullOr(Schema.String)
})
export type AllTypesRow = typeof AllTypesRow.Type

export const AllTypes: Dataset<AllTypesRow> = {
  name: "all_types",
  schema: AllTypesRow,
  columns: [
    { name: "id", type: "string", nullable: false, doc: "row id" },
    { name: "at", type: "timestamp_ms", nullable: false, doc: "event time" },
    { name: "flag", type: "boolean", nullable: false, doc: "" },
    { name: "maybeFlag", type: "boolean", nullable: true, doc: "" },
    { name: "day", type: "date", nullable: false, doc: "" },
    { name: "maybeDay", type: "date", nullable: true, doc: "" },
    { name: "ns", type: "timestamp_ns", nullable: false, doc: "" },
    { name: "maybeNs", type: "timestamp_ns", nullable: true, doc: "" },
    { name: "price", type: "decimal", scale: 2, nullable: false, doc: "" },
    { name: "maybePrice", type: "decimal", scale: 2, nullable: true, doc: "" },
    { name: "qty", type: "decimal", scale: 8, nullable: false, doc: "" },
    { name: "whole", type: "decimal", scale: 0, nullable: false, doc: "" },
    { name: "tags", type: "string_list", nullable: false, doc: "" },
    { name: "maybeTags", type: "string_list", nullable: true, doc: "" },
    { name: "count", type: "int64", nullable: false, doc: "" },
    { name: "x", type: "double", nullable: false, doc: "" },
    { name: "note", type: "string", nullable: true, doc: "" }
  ],
  key: ["id"],
  instrument: "id",
  timeColumn: "at",
  eventTime: (r) => r.at,
  partitionDate: () => "2024-01-02",
  partitionRange: () => ({ startMs: 0, endMs: 2 ** 52 }),
  rules: []
}

/** The dates each row cycles through: around 1970, leap days, 2038 and the ends of 4-digit years. */
export const edgeDays = [
  "1970-01-01",
  "1969-12-31",
  "1970-01-02",
  "2000-02-29",
  "2038-01-19",
  "2038-01-20",
  "2100-02-28",
  "0001-01-01",
  "9999-12-31",
  "2024-03-10"
]

export const edgeNanos = [
  1_704_205_800_123_456_789n, // past 2^53
  0n,
  -1n,
  9_007_199_254_740_993n, // 2^53 + 1
  2n ** 63n - 1n,
  -(2n ** 63n),
  1_704_205_800_123_456_790n
]

export const edgeTags: ReadonlyArray<ReadonlyArray<string>> = [
  [],
  [""],
  ["SPY"],
  ["SPY", "QQQ", "IWM"],
  ["", "", ""],
  ['quote " and \\ backslash', "comma, {brace}", "NULL", "null", " padded "],
  ["日本語", "🚀", "é"]
]

/** `n` rows cycling through the edge values; with `nulls`, the nullable columns are null in some rows. */
export const allTypesRows = (n: number, nulls: boolean): Array<AllTypesRow> => {
  const rows: Array<AllTypesRow> = []
  for (let i = 0; i < n; i++) {
    const isNull = nulls && i % 3 === 1
    rows.push({
      id: `r${String(i).padStart(6, "0")}`,
      at: 1_704_205_800_000 + i * 1000,
      flag: i % 2 === 0,
      maybeFlag: isNull ? null : i % 5 === 0,
      day: edgeDays[i % edgeDays.length]!,
      maybeDay: isNull ? null : edgeDays[(i + 3) % edgeDays.length]!,
      ns: edgeNanos[i % edgeNanos.length]!,
      maybeNs: isNull ? null : 1_704_205_800_000_000_000n + BigInt(i) * 1_000_001n,
      price: [12345, -5, 0, 99, -123456789, Number.MAX_SAFE_INTEGER][i % 6]!,
      maybePrice: isNull ? null : 21 - i * 7,
      qty: [1, -1, 100_000_000, 123_456_789, -900_719_925_474_099][i % 5]!,
      whole: [0, -9_007_199_254_740_991, 9_007_199_254_740_991, 42][i % 4]!,
      tags: edgeTags[i % edgeTags.length]!,
      maybeTags: isNull ? null : edgeTags[(i + 1) % edgeTags.length]!,
      count: i * 3 - 7,
      x: i / 7,
      note: isNull ? null : `note ${i}`
    })
  }
  return rows
}
