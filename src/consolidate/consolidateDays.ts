/**
 * Consolidation over several days and underlyings, as the command, a backfill and a stream run it:
 * on demand (build from what the lake holds, naming the inputs that are not complete) or only when
 * every input of a day is complete (after a backfill or at the end of a stream session).
 */
import { Effect } from "effect"
import type { AppConfig } from "../config/AppConfig.js"
import type { SinkError, StorageError } from "../domain/errors.js"
import type { Checkpoints } from "../pipeline/Checkpoints.js"
import type { Sinks } from "../sinks/Sink.js"
import { type ConsolidatedDay, consolidateDay, missingInputs } from "./consolidateDay.js"

/** What happened to one (underlying, date). */
export type DayOutcome =
  | { readonly _tag: "Built"; readonly day: ConsolidatedDay; readonly missing: ReadonlyArray<string> }
  /** Not built: the underlying's bars of the day are not in the lake, or (when-complete) an input is missing. */
  | {
      readonly _tag: "Waiting"
      readonly underlying: string
      readonly date: string
      readonly missing: ReadonlyArray<string>
    }

const STOCK_INPUT = "stock_bars_1s "

/**
 * `on-demand`: builds every (underlying, date) whose underlying bars are complete, whatever else is
 * missing; `when-complete`: only those with every input complete.
 */
export const consolidateDays = (
  underlyings: ReadonlyArray<string>,
  dates: ReadonlyArray<string>,
  mode: "on-demand" | "when-complete"
): Effect.Effect<ReadonlyArray<DayOutcome>, SinkError | StorageError, AppConfig | Sinks | Checkpoints> =>
  Effect.gen(function* () {
    const outcomes: Array<DayOutcome> = []
    for (const date of dates)
      for (const underlying of underlyings) {
        const missing = yield* missingInputs(underlying, date)
        const blocked =
          mode === "when-complete" ? missing.length > 0 : missing.some((m) => m.startsWith(STOCK_INPUT))
        if (blocked) {
          outcomes.push({ _tag: "Waiting", underlying, date, missing })
          continue
        }
        outcomes.push({ _tag: "Built", day: yield* consolidateDay(underlying, date), missing })
      }
    return outcomes
  })

const int = (n: number) => n.toLocaleString("en-US")

/** The line that reports an outcome. */
export const outcomeLine = (o: DayOutcome): string =>
  o._tag === "Built"
    ? `consolidated ${o.day.underlying} ${o.day.date}: options_enriched_1s ${int(o.day.optionRows)} rows, underlying_features_1s ${int(o.day.featureRows)} rows${o.missing.length > 0 ? `; built without the inputs not complete: ${o.missing.join(", ")}` : ""}`
    : `not consolidated ${o.underlying} ${o.date}: waiting for ${o.missing.join(", ")}`
