/**
 * Validator: generic checks derived from the Dataset (types, nulls, finite numbers, the event
 * window) followed by the dataset's own rules. Plain functions, built once per dataset and run
 * over a whole chunk: no Effect and no allocation per valid record.
 */
import type { Column, Dataset, EventWindow, Rejected } from "../domain/Dataset.js"

export interface Validated<A> {
  readonly valid: Array<A>
  readonly rejected: Array<Rejected>
}

type Check<A> = (a: A) => string | undefined

const columnCheck = <A>(column: Column<A>): Check<A> => {
  const name = column.name
  const nullable = column.nullable
  const describe = (v: unknown) => (typeof v === "string" ? JSON.stringify(v) : String(v))
  switch (column.type) {
    case "string":
      return (a) => {
        const v = a[name] as unknown
        if (v === null || v === undefined) return nullable ? undefined : `${name} is missing`
        return typeof v === "string" ? undefined : `${name} ${describe(v)} is not a string`
      }
    case "double":
      return (a) => {
        const v = a[name] as unknown
        if (v === null || v === undefined) return nullable ? undefined : `${name} is missing`
        return typeof v === "number" && Number.isFinite(v)
          ? undefined
          : `${name} ${describe(v)} is not a finite number`
      }
    case "int64":
    case "timestamp_ms":
      return (a) => {
        const v = a[name] as unknown
        if (v === null || v === undefined) return nullable ? undefined : `${name} is missing`
        return typeof v === "number" && Number.isSafeInteger(v)
          ? undefined
          : `${name} ${describe(v)} is not a whole number`
      }
  }
}

const isoOf = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms))

/** Builds the validator of a dataset. The window is the requested day's session (backfill). */
export const makeValidator = <A>(dataset: Dataset<A>) => {
  const checks: ReadonlyArray<Check<A>> = [...dataset.columns.map(columnCheck), ...dataset.rules]
  return (records: ReadonlyArray<A>, window: EventWindow): Validated<A> => {
    const valid: Array<A> = []
    const rejected: Array<Rejected> = []
    const { startMs, endMs } = window
    outer: for (let i = 0; i < records.length; i++) {
      const a = records[i]!
      for (let c = 0; c < checks.length; c++) {
        const reason = checks[c]!(a)
        if (reason !== undefined) {
          rejected.push({ record: a as Readonly<Record<string, unknown>>, reason })
          continue outer
        }
      }
      const t = dataset.eventTime(a)
      if (!(t >= startMs && t < endMs)) {
        rejected.push({
          record: a as Readonly<Record<string, unknown>>,
          reason: `${dataset.timeColumn} ${isoOf(t)} is outside ${window.date}'s window [${isoOf(startMs)}, ${isoOf(endMs)})`
        })
        continue
      }
      valid.push(a)
    }
    return { valid, rejected }
  }
}
