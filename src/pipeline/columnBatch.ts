/**
 * Rows held as columns while a unit of work streams through the pipeline: one growable typed array
 * per column (`ColumnBuilder`), handed on as `ColumnarRows` (the Parquet writer's input), so that a
 * vendor's rows need no object each from decode to commit. Generic over `Dataset.columns`; a
 * decoder stages one row's values and pushes it, and the pipeline copies ranges of batches.
 *
 * Column types held: every type but `timestamp_ns` and `string_list` (a dataset with those stays
 * on rows; `holdsColumns` says which). In the staged row and the arrays: double, int64,
 * timestamp_ms and decimal (scaled) as numbers, date as days since 1970-01-01, boolean as 1/0,
 * string as a string; a null as presence 0 (nullable columns only).
 */
import type { Dataset } from "../domain/Dataset.js"
import {
  type ColumnarRows,
  columnsFromRows,
  type FlatColumn,
  type FlatColumnData,
  rowsFromColumns
} from "../sinks/parquetColumns.js"
import { makeDeduplicator } from "./dedupe.js"

/** Whether every column has a type a `ColumnBuilder` holds. */
export const holdsColumns = (columns: ReadonlyArray<FlatColumn>): boolean =>
  columns.every((c) => c.type !== "timestamp_ns" && c.type !== "string_list")

const INITIAL_CAPACITY = 512

/** A column's slots: numbers (Float64Array), booleans (Uint8Array) or strings. */
type Numeric = Float64Array | Uint8Array

export class ColumnBuilder {
  /** The staged row's number of each column (unused for string columns). */
  readonly stagedNumber: Float64Array
  /** The staged row's string of each string column. */
  readonly stagedText: Array<string>
  /** The staged row's presence of each nullable column: 1 a value, 0 a null. */
  readonly stagedPresent: Uint8Array
  private n = 0
  private capacity: number
  private numbers: Array<Numeric | undefined> = []
  private texts: Array<Array<string> | undefined> = []
  private present: Array<Uint8Array | undefined> = []

  constructor(
    readonly columns: ReadonlyArray<FlatColumn>,
    private readonly initialCapacity = INITIAL_CAPACITY
  ) {
    if (!holdsColumns(columns)) throw new Error("a ColumnBuilder holds no timestamp_ns or string_list column")
    this.stagedNumber = new Float64Array(columns.length)
    this.stagedText = columns.map(() => "")
    this.stagedPresent = new Uint8Array(columns.length).fill(1)
    this.capacity = initialCapacity
    this.allocate(initialCapacity)
  }

  /** Rows held. */
  get length(): number {
    return this.n
  }

  private allocate(capacity: number): void {
    this.numbers = this.columns.map((c) =>
      c.type === "string"
        ? undefined
        : c.type === "boolean"
          ? new Uint8Array(capacity)
          : new Float64Array(capacity)
    )
    this.texts = this.columns.map((c) => (c.type === "string" ? [] : undefined))
    this.present = this.columns.map((c) => (c.nullable ? new Uint8Array(capacity) : undefined))
  }

  /** Room for `more` rows beyond those held: the arrays double (at least) when full. */
  private ensure(more: number): void {
    const need = this.n + more
    if (need <= this.capacity) return
    let capacity = Math.max(16, this.capacity * 2)
    while (capacity < need) capacity *= 2
    const n = this.n
    const grow = <T extends Numeric>(a: T | undefined): T | undefined => {
      if (a === undefined) return undefined
      const b = (a instanceof Uint8Array ? new Uint8Array(capacity) : new Float64Array(capacity)) as T
      b.set(a.subarray(0, n))
      return b
    }
    this.numbers = this.numbers.map(grow)
    this.present = this.present.map(grow)
    this.capacity = capacity
  }

  /** Adds the staged row (the staged values stay as they are). */
  pushStaged(): void {
    if (this.n === this.capacity) this.ensure(1)
    const n = this.n
    const numbers = this.numbers
    const texts = this.texts
    const present = this.present
    for (let j = 0; j < numbers.length; j++) {
      const t = texts[j]
      if (t !== undefined) t.push(this.stagedText[j]!)
      else numbers[j]![n] = this.stagedNumber[j]!
      const p = present[j]
      if (p !== undefined) p[n] = this.stagedPresent[j]!
    }
    this.n = n + 1
  }

  /** Adds rows [from, to) of `table` (same columns; no wide integers). */
  appendRange(table: ColumnarRows, from: number, to: number): void {
    const count = to - from
    if (count <= 0) return
    this.ensure(count)
    const n = this.n
    for (let j = 0; j < this.columns.length; j++) {
      const data = table.columns[j]!
      const t = this.texts[j]
      if (t !== undefined) {
        if (data.kind !== "string") throw new Error(`column ${this.columns[j]!.name}: expected strings`)
        for (let i = from; i < to; i++) t.push(data.values[i]!)
      } else {
        if (data.kind === "int" && data.wide !== undefined)
          throw new Error(`column ${this.columns[j]!.name}: a wide integer is not held as a column`)
        if (data.kind !== "double" && data.kind !== "int" && data.kind !== "boolean")
          throw new Error(`column ${this.columns[j]!.name}: unexpected ${data.kind} data`)
        this.numbers[j]!.set(data.values.subarray(from, to), n)
      }
      const p = this.present[j]
      if (p !== undefined) {
        if (data.present === undefined) p.fill(1, n, n + count)
        else p.set(data.present.subarray(from, to), n)
      }
    }
    this.n = n + count
  }

  /** Adds every row of `table`. */
  append(table: ColumnarRows): void {
    this.appendRange(table, 0, table.length)
  }

  /** The rows held, as columns (views of the arrays); the builder starts empty again. */
  take(): ColumnarRows {
    const out = this.view()
    this.n = 0
    this.capacity = this.initialCapacity
    this.allocate(this.initialCapacity)
    return out
  }

  /** The rows held, as columns, for a builder used once (nothing is allocated after). */
  finish(): ColumnarRows {
    const out = this.view()
    this.n = 0
    this.capacity = 0
    this.allocate(0)
    return out
  }

  private view(): ColumnarRows {
    const n = this.n
    const columns = this.columns.map((c, j): FlatColumnData => {
      const present = this.present[j]?.subarray(0, n)
      const texts = this.texts[j]
      if (texts !== undefined) return { kind: "string", values: texts, present }
      const values = this.numbers[j]!
      if (values instanceof Uint8Array) return { kind: "boolean", values: values.subarray(0, n), present }
      const numbers = values.subarray(0, n)
      return c.type === "double"
        ? { kind: "double", values: numbers, present }
        : { kind: "int", values: numbers, wide: undefined, present }
    })
    return { length: n, columns }
  }
}

/**
 * `tables` (same columns) as one table: the one itself, or their rows copied into arrays of the
 * exact size. Empties `tables` as it goes, so each batch can be collected once copied (a unit's
 * batches and the joined table are not all held at once).
 */
export const concatRows = (columns: ReadonlyArray<FlatColumn>, tables: Array<ColumnarRows>): ColumnarRows => {
  if (tables.length === 1) return tables.pop()!
  const joined = new ColumnBuilder(
    columns,
    tables.reduce((n, t) => n + t.length, 0)
  )
  for (let t = tables.shift(); t !== undefined; t = tables.shift()) joined.append(t)
  return joined.finish()
}

const sliceData = (data: FlatColumnData, from: number, to: number): FlatColumnData => {
  const present = data.present?.subarray(from, to)
  switch (data.kind) {
    case "double":
      return { kind: "double", values: data.values.subarray(from, to), present }
    case "int":
      return {
        kind: "int",
        values: data.values.subarray(from, to),
        wide: data.wide?.subarray(from, to),
        present
      }
    case "wide":
      return { kind: "wide", values: data.values.subarray(from, to), present }
    case "boolean":
      return { kind: "boolean", values: data.values.subarray(from, to), present }
    case "string":
      return { kind: "string", values: data.values.slice(from, to), present }
    case "list":
      // Offsets stay absolute: row i's strings are values[offsets[i], offsets[i + 1]).
      return { kind: "list", offsets: data.offsets.subarray(from, to + 1), values: data.values, present }
  }
}

/** Rows [from, to) of `table`, as views where the data allows. */
export const sliceRows = (table: ColumnarRows, from: number, to: number): ColumnarRows => ({
  length: to - from,
  columns: table.columns.map((data) => sliceData(data, from, to))
})

/** Row `i` of `table` as a record (for quarantine, or a sink that takes rows). */
export const rowAt = <A>(dataset: Dataset<A>, table: ColumnarRows, i: number): A =>
  rowsFromColumns(dataset.columns, sliceRows(table, i, i + 1))[0] as unknown as A

/** Every row of `table` as records of `dataset`. */
export const rowsOfColumns = <A>(dataset: Dataset<A>, table: ColumnarRows): Array<A> =>
  rowsFromColumns(dataset.columns, table) as unknown as Array<A>

/**
 * Compares row i and row k of `table` by the dataset's key columns (strings lexically, numbers,
 * day counts and scaled decimals numerically: the order `compareByKey` gives their records).
 * Undefined when a key column is nullable or not held as plain values: compare records instead.
 */
export const columnKeyCompare = <A>(
  dataset: Dataset<A>
): ((table: ColumnarRows, i: number, k: number) => number) | undefined => {
  const at = dataset.key.map((name) => dataset.columns.findIndex((c) => c.name === name))
  const columns = at.map((j) => dataset.columns[j])
  if (
    columns.some(
      (c) => c === undefined || c.nullable || c.type === "timestamp_ns" || c.type === "string_list"
    )
  )
    return undefined
  return (table, i, k) => {
    for (let c = 0; c < at.length; c++) {
      const data = table.columns[at[c]!]!
      if (data.kind === "string") {
        const a = data.values[i]!
        const b = data.values[k]!
        if (a !== b) return a < b ? -1 : 1
      } else if (
        data.kind === "double" ||
        data.kind === "boolean" ||
        (data.kind === "int" && data.wide === undefined)
      ) {
        const d = data.values[i]! - data.values[k]!
        if (d !== 0) return d
      } else {
        throw new Error("columnKeyCompare: a wide or list key column")
      }
    }
    return 0
  }
}

export interface DeduplicatedColumns {
  readonly table: ColumnarRows
  /** How many rows were replaced by a later row with the same key. */
  readonly duplicates: number
}

/**
 * The columnar side of `makeDeduplicator`: rows in strictly increasing key order (a vendor's
 * sorted answer) are checked in one pass over the key columns and kept as they are; anything else
 * goes through the record deduplicator (sort, last received wins) and back to columns.
 */
export const makeColumnDeduplicator = <A>(dataset: Dataset<A>) => {
  const compare = columnKeyCompare(dataset)
  const dedupe = makeDeduplicator(dataset)
  return (table: ColumnarRows): DeduplicatedColumns => {
    if (compare !== undefined) {
      let increasing = true
      for (let i = 1; i < table.length; i++) {
        if (compare(table, i - 1, i) >= 0) {
          increasing = false
          break
        }
      }
      if (increasing) return { table, duplicates: 0 }
    }
    const { rows, duplicates } = dedupe(rowsOfColumns(dataset, table))
    return {
      table: {
        length: rows.length,
        columns: columnsFromRows(dataset.columns, rows as unknown as ReadonlyArray<Record<string, unknown>>)
      },
      duplicates
    }
  }
}

/**
 * Adds `table`'s rows to `counts` per instrument. A string instrument column is counted by runs of
 * equal values (no string per row); another goes through `countRows` on records.
 */
export const instrumentCounterOfColumns = <A>(
  dataset: Dataset<A>,
  countRows: (rows: ReadonlyArray<A>, counts: Map<string, number>) => Map<string, number>
) => {
  const j = dataset.columns.findIndex((c) => c.name === dataset.instrument)
  const column = dataset.columns[j]
  return (table: ColumnarRows, counts: Map<string, number>): Map<string, number> => {
    const data = table.columns[j]
    if (column === undefined || column.nullable || data?.kind !== "string")
      return countRows(rowsOfColumns(dataset, table), counts)
    const values = data.values
    let i = 0
    while (i < table.length) {
      const value = values[i]!
      let k = i + 1
      while (k < table.length && values[k] === value) k++
      counts.set(value, (counts.get(value) ?? 0) + (k - i))
      i = k
    }
    return counts
  }
}
