/**
 * MarketCalendar: which dates are NYSE trading days and when their regular session runs.
 * Built-in rules cover 2015–2035; `Live` overlays the upcoming closures and early closes a
 * `Holidays` provider lists (Massive's `/v1/marketstatus/upcoming`) when it answers, and says when
 * it could not.
 */
import { Context, Effect, Layer } from "effect"
import { UsageError } from "../domain/errors.js"
import { datesBetween, isIsoDate, newYorkTimeToEpochMs, parseDate } from "../domain/time.js"
import { Holidays, type UpcomingMarketDay } from "./Holidays.js"
import { type DayStatus, nyseDay, REGULAR_OPEN, RULES_FIRST_YEAR, RULES_LAST_YEAR } from "./nyseRules.js"

export type { DayStatus } from "./nyseRules.js"
export type TradingSession = Extract<DayStatus, { _tag: "open" }>

export interface MarketCalendarShape {
  /** Status of one date (YYYY-MM-DD). */
  readonly day: (date: string) => DayStatus
  /** Every date from `from` to `to` inclusive, with its status; fails for dates outside the calendar. */
  readonly range: (from: string, to: string) => Effect.Effect<ReadonlyArray<DayStatus>, UsageError>
  /** Where the calendar came from, for logs and `status`. */
  readonly source: string
}

export class MarketCalendar extends Context.Tag("tapehouse/MarketCalendar")<
  MarketCalendar,
  MarketCalendarShape
>() {}

/** Builds a calendar from the rules plus vendor overrides (closures and early closes by date). */
export const fromRules = (
  overrides: ReadonlyArray<UpcomingMarketDay>,
  source: string
): MarketCalendarShape => {
  const byDate = new Map<string, UpcomingMarketDay>()
  for (const o of overrides) if (o.exchange === "NYSE") byDate.set(o.date, o)
  const day = (date: string): DayStatus => {
    const override = byDate.get(date)
    if (!override) return nyseDay(date)
    if (override.status === "closed") return { _tag: "closed", date, reason: `holiday: ${override.name}` }
    return {
      _tag: "open",
      date,
      openMs: override.openMs ?? newYorkTimeToEpochMs(date, REGULAR_OPEN.hour, REGULAR_OPEN.minute),
      closeMs: override.closeMs ?? newYorkTimeToEpochMs(date, 13, 0),
      earlyClose: true,
      note: `${override.name} (early close)`
    }
  }
  const range = (from: string, to: string) =>
    Effect.gen(function* () {
      for (const [name, d] of [
        ["--from", from],
        ["--to", to]
      ] as const) {
        if (!isIsoDate(d))
          return yield* new UsageError({ detail: `${name} ${d} is not a date; expected YYYY-MM-DD.` })
        const [year] = parseDate(d)
        if (year < RULES_FIRST_YEAR || year > RULES_LAST_YEAR)
          return yield* new UsageError({
            detail: `${name} ${d} is outside the built-in NYSE calendar (${RULES_FIRST_YEAR}–${RULES_LAST_YEAR}).`
          })
      }
      if (from > to) return yield* new UsageError({ detail: `--from ${from} is after --to ${to}.` })
      return datesBetween(from, to).map(day)
    })
  return { day, range, source }
}

/** Rules only: offline and deterministic. */
export const Test = Layer.succeed(MarketCalendar, MarketCalendar.of(fromRules([], "built-in rules")))

/** Rules plus the provider's upcoming list when reachable; falls back to rules alone (and logs why). */
export const Live = Layer.effect(
  MarketCalendar,
  Effect.gen(function* () {
    const holidays = yield* Holidays
    return yield* holidays.upcoming.pipe(
      Effect.map((days) =>
        MarketCalendar.of(
          fromRules(days, `built-in rules + ${days.length} upcoming entries from ${holidays.source}`)
        )
      ),
      Effect.timeout("10 seconds"),
      Effect.catchAll((error) =>
        Effect.logWarning(`${holidays.source} unavailable; using built-in NYSE rules`).pipe(
          Effect.annotateLogs({ cause: "message" in error ? error.message : String(error) }),
          Effect.as(MarketCalendar.of(fromRules([], "built-in rules (market status API unavailable)")))
        )
      )
    )
  })
)

/** Built-in rules only; for `calendar_from_api: false`. */
export const RulesOnly = Test
