/**
 * Consolidation run by itself after a backfill or a stream session committed inputs: each day it
 * committed whose inputs are now all complete is built, for the underlyings it concerns; a day still
 * waiting for an input is logged (with the command that builds it from what is there), not built.
 */
import { Effect } from "effect"
import { INPUT_DATASETS, underlyingsConcerned } from "./consolidateDay.js"
import { consolidateDays, outcomeLine } from "./consolidateDays.js"

/** Days a run committed for a dataset's instruments. */
export interface Committed {
  readonly dataset: string
  readonly instruments: ReadonlyArray<string>
  readonly dates: ReadonlyArray<string>
}

/** Builds what `committed` completed; returns the lines to print (one per day built). */
export const consolidateCompleted = (
  committed: ReadonlyArray<Committed>,
  configured: ReadonlyArray<string>
) =>
  Effect.gen(function* () {
    const inputs = committed.filter((c) => INPUT_DATASETS.has(c.dataset) && c.dates.length > 0)
    if (inputs.length === 0) return []
    const dates = [...new Set(inputs.flatMap((c) => c.dates))].sort()
    const underlyings = [
      ...new Set(inputs.flatMap((c) => underlyingsConcerned(c.dataset, c.instruments, configured)))
    ]
    const outcomes = yield* consolidateDays(underlyings, dates, "when-complete")
    const lines: Array<string> = []
    for (const o of outcomes)
      if (o._tag === "Built") lines.push(outcomeLine(o))
      else
        yield* Effect.logInfo(
          `${outcomeLine(o)} (tapehouse consolidate --date ${o.date} builds it from what is there)`
        )
    return lines
  })
