/**
 * The validator (validate.ts) for rows held as columns: the same checks in the same order, with the
 * same reasons (generic column checks, then the dataset's rules, then the event window), run over a
 * `ColumnarRows` batch without an object per row. The dataset's rules are written against records;
 * they read one reusable row view whose getters read the columns at the current row, so a rule
 * costs what its own reads cost. Valid rows come out as columns (the batch itself when every row
 * passed); a rejected row becomes a record for quarantine.
 */
import { dateOfDays } from "../domain/columnValues.js"
import type { Dataset, EventWindow, Rejected } from "../domain/Dataset.js"
import type { ColumnarRows, FlatColumnData } from "../sinks/parquetColumns.js"
import { ColumnBuilder, rowAt, sliceRows } from "./columnBatch.js"

export interface ValidatedColumns {
  readonly valid: ColumnarRows
  readonly rejected: Array<Rejected>
}

const isoOf = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms))

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

/**
 * The generic check of one column over rows [0, n): the first reason per row, recorded in
 * `reasons` unless an earlier column already rejected the row (columns run in order).
 */
const checkColumn = <A>(
  dataset: Dataset<A>,
  j: number,
  data: FlatColumnData,
  n: number,
  reasons: Map<number, string>
): void => {
  const column = dataset.columns[j]!
  const name = column.name
  const present = data.present
  const reject = (i: number, reason: string) => {
    if (!reasons.has(i)) reasons.set(i, reason)
  }
  if (present !== undefined && !column.nullable)
    for (let i = 0; i < n; i++) if (present[i] === 0) reject(i, `${name} is missing`)
  const has = (i: number) => present === undefined || present[i] === 1
  if (data.kind === "double") {
    const v = data.values
    for (let i = 0; i < n; i++)
      if (!Number.isFinite(v[i]!) && has(i)) reject(i, `${name} ${v[i]} is not a finite number`)
  } else if (data.kind === "int") {
    const what =
      column.type === "decimal"
        ? `is not a decimal scaled by 10^${column.scale} (a safe integer)`
        : column.type === "date"
          ? "is not a real date (YYYY-MM-DD)"
          : "is not a whole number"
    if (data.wide !== undefined) {
      const w = data.wide
      for (let i = 0; i < n; i++)
        if ((w[i]! > MAX_SAFE || w[i]! < -MAX_SAFE) && has(i)) reject(i, `${name} ${w[i]}n ${what}`)
    } else {
      const v = data.values
      for (let i = 0; i < n; i++)
        if (!Number.isSafeInteger(v[i]!) && has(i)) reject(i, `${name} ${v[i]} ${what}`)
    }
  }
  // Strings, booleans, nanosecond times and lists are of their type by construction.
}

/**
 * One object whose properties read row `row` of `table` (set by `at`): what the dataset's rules
 * and `eventTime` see. A null (presence 0) reads as null, a date as "YYYY-MM-DD".
 */
const makeRowView = <A>(dataset: Dataset<A>) => {
  let data: ReadonlyArray<FlatColumnData> = []
  let row = 0
  const view: Record<string, unknown> = {}
  dataset.columns.forEach((column, j) => {
    let lastDays = Number.NaN
    let lastDate = ""
    const get = (): unknown => {
      const d = data[j]!
      if (d.present !== undefined && d.present[row] === 0) return null
      switch (d.kind) {
        case "double":
        case "wide":
        case "string":
          return d.values[row]
        case "boolean":
          return d.values[row] === 1
        case "int": {
          if (d.wide !== undefined) return d.wide[row]
          const v = d.values[row]!
          if (column.type !== "date") return v
          if (v !== lastDays) {
            lastDays = v
            lastDate = dateOfDays(v)
          }
          return lastDate
        }
        case "list":
          return d.values.slice(d.offsets[row]!, d.offsets[row + 1]!)
      }
    }
    Object.defineProperty(view, column.name, { get, enumerable: true })
  })
  return {
    view: view as A,
    table: (table: ColumnarRows) => {
      data = table.columns
    },
    at: (i: number) => {
      row = i
    }
  }
}

/** Builds the columnar validator of a dataset. */
export const makeColumnValidator = <A>(dataset: Dataset<A>) => {
  const rules = dataset.rules
  const rowView = makeRowView(dataset)
  const view = rowView.view
  return (table: ColumnarRows, window: EventWindow): ValidatedColumns => {
    const n = table.length
    const reasons = new Map<number, string>()
    for (let j = 0; j < dataset.columns.length; j++) checkColumn(dataset, j, table.columns[j]!, n, reasons)
    const { startMs, endMs } = window
    rowView.table(table)
    for (let i = 0; i < n; i++) {
      if (reasons.size > 0 && reasons.has(i)) continue
      rowView.at(i)
      let reason: string | undefined
      for (let r = 0; r < rules.length && reason === undefined; r++) reason = rules[r]!(view)
      if (reason === undefined) {
        const t = dataset.eventTime(view)
        if (!(t >= startMs && t < endMs))
          reason = `${dataset.timeColumn} ${isoOf(t)} is outside ${window.date}'s window [${isoOf(startMs)}, ${isoOf(endMs)})`
      }
      if (reason !== undefined) reasons.set(i, reason)
    }
    if (reasons.size === 0) return { valid: table, rejected: [] }
    const rejected: Array<Rejected> = []
    const bad = [...reasons.keys()].sort((a, b) => a - b)
    for (const i of bad)
      rejected.push({
        record: rowAt(dataset, table, i) as Readonly<Record<string, unknown>>,
        reason: reasons.get(i)!
      })
    if (bad.length === n) return { valid: sliceRows(table, 0, 0), rejected }
    // The runs between rejected rows, copied into one batch.
    const valid = new ColumnBuilder(dataset.columns, n - bad.length)
    let from = 0
    for (const i of bad) {
      valid.appendRange(table, from, i)
      from = i + 1
    }
    valid.appendRange(table, from, n)
    return { valid: valid.finish(), rejected }
  }
}
