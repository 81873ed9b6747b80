/**
 * Rows to columns for the flat Parquet writer: one typed array per column, filled in one pass over
 * the rows, with the first value that does not fit its column reported by column and row.
 */
import { dateOfDays, daysOfDate, INT64_MAX, INT64_MIN, isDate, isInt64 } from "../domain/columnValues.js"
import type { ColumnKind } from "../domain/Dataset.js"

/** A column the flat writer writes: a top-level field, REQUIRED or OPTIONAL (see `ColumnType`). */
export type FlatColumn = ColumnKind & {
  readonly name: string
  readonly nullable: boolean
}

/** The values of one column, one slot per row (a null row's slot holds 0, 0n or ""). */
export type FlatColumnData =
  | {
      readonly kind: "double"
      readonly values: Float64Array
      /** 1 where the row has a value; undefined for a column without nulls. */
      readonly present: Uint8Array | undefined
    }
  | {
      /** int64, timestamp_ms, decimal (scaled), date (days since 1970-01-01). */
      readonly kind: "int"
      /** Safe integers. Unused when `wide` is set. */
      readonly values: Float64Array
      /** Set when a value is outside the safe-integer range: then it holds every value. */
      readonly wide: BigInt64Array | undefined
      readonly present: Uint8Array | undefined
    }
  | {
      /** timestamp_ns. */
      readonly kind: "wide"
      readonly values: BigInt64Array
      readonly present: Uint8Array | undefined
    }
  | {
      readonly kind: "boolean"
      /** 1 for true. */
      readonly values: Uint8Array
      readonly present: Uint8Array | undefined
    }
  | {
      readonly kind: "string"
      readonly values: ReadonlyArray<string>
      readonly present: Uint8Array | undefined
    }
  | {
      /** string_list: row i's strings are `values[offsets[i], offsets[i + 1])`. */
      readonly kind: "list"
      readonly offsets: Uint32Array
      readonly values: ReadonlyArray<string>
      readonly present: Uint8Array | undefined
    }

/** Rows in a column's data. */
export const rowCount = (data: FlatColumnData): number =>
  data.kind === "list" ? data.offsets.length - 1 : data.values.length

/** A value that does not fit its column (the caller turns it into its own error). */
export class FlatValueError extends Error {
  constructor(
    readonly column: number,
    readonly row: number,
    readonly value: unknown
  ) {
    super(`column ${column} of row ${row}: unexpected value`)
  }
}

/** The slot arrays of one column while rows are read in. */
type Slots = Float64Array | BigInt64Array | Uint8Array | Array<string>

/**
 * Fills every column's slots from `rows` in ONE pass over the rows, for as long as the values are
 * plain (a number, a safe integer, a string, a real date, a boolean, an int64 bigint, a list of
 * strings, or a null in a nullable column), and returns the first row it could not take (n when
 * all were). Generated per column list, with the property names as literals. Why: a loop reading
 * `row[name]` for each column in turn shares one property-load site across all the names
 * (megamorphic) and walks the rows once per column (a cache miss per field). Measured on 200k
 * bars: ~120 ms column by column, ~8 ms generated row by row. Rows from the returned index on go
 * through the general loops, which handle bigints in int64 columns and report bad values.
 */
type FastFill = (
  rows: ReadonlyArray<Readonly<Record<string, unknown>>>,
  n: number,
  values: ReadonlyArray<Slots>,
  present: ReadonlyArray<Uint8Array | undefined>,
  offsets: ReadonlyArray<Uint32Array | undefined>,
  days: (text: string) => number | undefined,
  min: bigint,
  max: bigint
) => number

const fastFills = new Map<string, FastFill>()

/** The test a plain value passes, and the slot's value for a null. */
const plainTest = (
  column: FlatColumn
): { readonly test: string; readonly empty: string; readonly value: string } => {
  switch (column.type) {
    case "string":
      return { test: 'typeof x === "string"', empty: '""', value: "x" }
    case "double":
      return { test: 'typeof x === "number"', empty: "0", value: "x" }
    case "int64":
    case "timestamp_ms":
    case "decimal":
      return { test: 'typeof x === "number" && Number.isSafeInteger(x)', empty: "0", value: "x" }
    case "date":
      return { test: 'typeof x === "string" && (d = days(x)) !== undefined', empty: "0", value: "d" }
    case "boolean":
      return { test: 'typeof x === "boolean"', empty: "0", value: "x ? 1 : 0" }
    case "timestamp_ns":
      return { test: 'typeof x === "bigint" && x >= min && x <= max', empty: "0n", value: "x" }
    case "string_list":
      throw new Error("a list column is filled by its own code")
  }
}

const fastFill = (columns: ReadonlyArray<FlatColumn>): FastFill => {
  const cacheKey = columns.map((c) => `${c.type}:${c.nullable}:${c.name}`).join("\u0000")
  const cached = fastFills.get(cacheKey)
  if (cached !== undefined) return cached
  const head: Array<string> = []
  const perRow: Array<string> = []
  columns.forEach((column, j) => {
    head.push(`const v${j} = values[${j}], p${j} = present[${j}], o${j} = offsets[${j}]`)
    // The name is embedded as a JSON string literal, so any column name is safe here.
    const read = `x = r[${JSON.stringify(column.name)}]`
    const setPresent = column.nullable ? `; p${j}[i] = 1` : ""
    if (column.type === "string_list") {
      const onNull = column.nullable
        ? `else if (x === null || x === undefined) o${j}[i + 1] = v${j}.length`
        : ""
      perRow.push(`${read}
      if (Array.isArray(x)) {
        for (let k = 0; k < x.length; k++) {
          const y = x[k]
          if (typeof y !== "string") return i
          v${j}.push(y)
        }
        o${j}[i + 1] = v${j}.length${setPresent}
      } ${onNull}
      else return i`)
      return
    }
    const { test, empty, value } = plainTest(column)
    const onNull = column.nullable ? `else if (x === null || x === undefined) v${j}[i] = ${empty}` : ""
    perRow.push(`${read}
      if (${test}) { v${j}[i] = ${value}${setPresent} } ${onNull}
      else return i`)
  })
  const body = `${head.join("\n")}
    let x, d
    for (let i = 0; i < n; i++) {
      const r = rows[i]
      ${perRow.join("\n      ")}
    }
    return n`
  const fill = new Function(
    "rows",
    "n",
    "values",
    "present",
    "offsets",
    "days",
    "min",
    "max",
    body
  ) as FastFill
  fastFills.set(cacheKey, fill)
  return fill
}

const slotsFor = (column: FlatColumn, n: number): Slots => {
  switch (column.type) {
    case "string":
      return new Array<string>(n)
    case "string_list":
      return []
    case "boolean":
      return new Uint8Array(n)
    case "timestamp_ns":
      return new BigInt64Array(n)
    case "double":
    case "int64":
    case "timestamp_ms":
    case "decimal":
    case "date":
      return new Float64Array(n)
  }
}

const isNull = (x: unknown): boolean => x === null || x === undefined

/**
 * Builds the columns of `rows`: one generated pass over the rows (`fastFill`) while the values are
 * plain, then, from the first row it could not take, a loop per column that handles bigints and
 * finds what is wrong. Throws `FlatValueError` for the first wrong value in row order: a null in a
 * required column, or a value not of the column's type (a non-string, a non-number, a number that
 * is not a safe integer in an int64, timestamp_ms or decimal column, a bigint outside int64 in an
 * int64 or timestamp_ns column, a date that is not a real `YYYY-MM-DD`, a list holding a
 * non-string).
 */
export const columnsFromRows = (
  columns: ReadonlyArray<FlatColumn>,
  rows: ReadonlyArray<Readonly<Record<string, unknown>>>
): Array<FlatColumnData> => {
  const n = rows.length
  const out: Array<FlatColumnData> = new Array(columns.length)
  let firstBad: FlatValueError | undefined
  const bad = (error: FlatValueError): void => {
    if (
      firstBad === undefined ||
      error.row < firstBad.row ||
      (error.row === firstBad.row && error.column < firstBad.column)
    ) {
      firstBad = error
    }
  }
  const allValues = columns.map((c) => slotsFor(c, n))
  const allPresent = columns.map((c) => (c.nullable ? new Uint8Array(n) : undefined))
  const allOffsets = columns.map((c) => (c.type === "string_list" ? new Uint32Array(n + 1) : undefined))
  const from = fastFill(columns)(rows, n, allValues, allPresent, allOffsets, daysOfDate, INT64_MIN, INT64_MAX)
  for (let j = 0; j < columns.length; j++) {
    const column = columns[j]!
    const name = column.name
    const present = allPresent[j]
    /** Records row i's value as present, or reports it unless it is a null in a nullable column. */
    const take = (i: number, ok: boolean, x: unknown): boolean => {
      if (ok) {
        if (present !== undefined) present[i] = 1
        return true
      }
      if (present === undefined || !isNull(x)) {
        bad(new FlatValueError(j, i, x))
        return false
      }
      return true
    }
    switch (column.type) {
      case "double": {
        const values = allValues[j] as Float64Array
        for (let i = from; i < n; i++) {
          const x = rows[i]![name]
          const ok = typeof x === "number"
          if (ok) values[i] = x
          if (!take(i, ok, x)) break
        }
        out[j] = { kind: "double", values, present }
        break
      }
      case "string": {
        const values = allValues[j] as Array<string>
        for (let i = from; i < n; i++) {
          const x = rows[i]![name]
          const ok = typeof x === "string"
          values[i] = ok ? x : ""
          if (!take(i, ok, x)) break
        }
        out[j] = { kind: "string", values, present }
        break
      }
      case "boolean": {
        const values = allValues[j] as Uint8Array
        for (let i = from; i < n; i++) {
          const x = rows[i]![name]
          const ok = typeof x === "boolean"
          values[i] = x === true ? 1 : 0
          if (!take(i, ok, x)) break
        }
        out[j] = { kind: "boolean", values, present }
        break
      }
      case "timestamp_ns": {
        const values = allValues[j] as BigInt64Array
        for (let i = from; i < n; i++) {
          const x = rows[i]![name]
          const ok = isInt64(x)
          values[i] = ok ? x : 0n
          if (!take(i, ok, x)) break
        }
        out[j] = { kind: "wide", values, present }
        break
      }
      case "date": {
        const values = allValues[j] as Float64Array
        for (let i = from; i < n; i++) {
          const x = rows[i]![name]
          const ok = isDate(x)
          values[i] = ok ? daysOfDate(x)! : 0
          if (!take(i, ok, x)) break
        }
        out[j] = { kind: "int", values, wide: undefined, present }
        break
      }
      case "string_list": {
        const values = allValues[j] as Array<string>
        const offsets = allOffsets[j]!
        values.length = offsets[from]! // drop a row the fast pass took in part
        for (let i = from; i < n; i++) {
          const x = rows[i]![name]
          const ok = Array.isArray(x) && x.every((s) => typeof s === "string")
          if (ok) for (const s of x as ReadonlyArray<string>) values.push(s)
          offsets[i + 1] = values.length
          if (!take(i, ok, x)) break
        }
        out[j] = { kind: "list", offsets, values, present }
        break
      }
      case "decimal":
      case "int64":
      case "timestamp_ms": {
        const values = allValues[j] as Float64Array
        const bigints = column.type !== "decimal"
        let wide: BigInt64Array | undefined
        for (let i = from; i < n; i++) {
          const x = rows[i]![name]
          if (typeof x === "number" && Number.isSafeInteger(x)) {
            values[i] = x
            if (wide !== undefined) wide[i] = BigInt(x)
            if (present !== undefined) present[i] = 1
          } else if (bigints && isInt64(x)) {
            if (wide === undefined && x >= -9007199254740991n && x <= 9007199254740991n) {
              values[i] = Number(x)
            } else {
              if (wide === undefined) {
                wide = new BigInt64Array(n)
                for (let k = 0; k < i; k++) wide[k] = BigInt(values[k]!)
              }
              wide[i] = x
            }
            if (present !== undefined) present[i] = 1
          } else if (!take(i, false, x)) {
            break
          }
        }
        out[j] = { kind: "int", values, wide, present }
        break
      }
    }
  }
  if (firstBad !== undefined) throw firstBad
  return out
}

/**
 * Rows already held as columns (one entry per column of the table, in its order, each as
 * `columnsFromRows` would build it): a writer that computes its values column by column hands
 * these to the Parquet writer without a million row objects in between.
 */
export interface ColumnarRows {
  readonly length: number
  readonly columns: ReadonlyArray<FlatColumnData>
}

/**
 * The rows of `table` as records of `columns` (the inverse of `columnsFromRows`): nulls as null,
 * dates as "YYYY-MM-DD", wide integers as bigints, lists as arrays. For sinks that take rows.
 */
export const rowsFromColumns = (
  columns: ReadonlyArray<FlatColumn>,
  table: ColumnarRows
): Array<Record<string, unknown>> => {
  const n = table.length
  const rows: Array<Record<string, unknown>> = new Array(n)
  for (let i = 0; i < n; i++) rows[i] = {}
  columns.forEach((column, j) => {
    const data = table.columns[j]!
    const name = column.name
    const present = data.present
    for (let i = 0; i < n; i++) {
      let value: unknown
      if (present !== undefined && present[i] === 0) value = null
      else
        switch (data.kind) {
          case "double":
            value = data.values[i]
            break
          case "int":
            value =
              data.wide !== undefined
                ? data.wide[i]
                : column.type === "date"
                  ? dateOfDays(data.values[i]!)
                  : data.values[i]
            break
          case "wide":
            value = data.values[i]
            break
          case "boolean":
            value = data.values[i] === 1
            break
          case "string":
            value = data.values[i]
            break
          case "list":
            value = data.values.slice(data.offsets[i]!, data.offsets[i + 1]!)
            break
        }
      rows[i]![name] = value
    }
  })
  return rows
}
