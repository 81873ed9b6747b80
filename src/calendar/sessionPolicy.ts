/**
 * Whose hours a dataset keeps, as its feed says (`Feed.sessionPolicy`): `nyse` (the default), the
 * exchange's sessions from `MarketCalendar`; or `always-open` (news), every New York calendar day,
 * weekends and holidays included, from midnight to midnight. The runners ask the calendar of the
 * policy for a backfill's units of work and a stream's session.
 */
import { Effect } from "effect"
import { UsageError } from "../domain/errors.js"
import { addDays, datesBetween, isIsoDate, newYorkTimeToEpochMs } from "../domain/time.js"
import type { MarketCalendarShape } from "./MarketCalendar.js"
import type { DayStatus } from "./nyseRules.js"

export type SessionPolicy = "nyse" | "always-open"

const calendarDay = (date: string): DayStatus => ({
  _tag: "open",
  date,
  openMs: newYorkTimeToEpochMs(date, 0, 0),
  closeMs: newYorkTimeToEpochMs(addDays(date, 1), 0, 0),
  earlyClose: false,
  note: "calendar day (always open)"
})

/** Every New York calendar day is a session, midnight to midnight. */
export const alwaysOpen: MarketCalendarShape = {
  day: calendarDay,
  range: (from, to) =>
    Effect.gen(function* () {
      for (const [name, d] of [
        ["--from", from],
        ["--to", to]
      ] as const)
        if (!isIsoDate(d))
          return yield* new UsageError({ detail: `${name} ${d} is not a date; expected YYYY-MM-DD.` })
      if (from > to) return yield* new UsageError({ detail: `--from ${from} is after --to ${to}.` })
      return datesBetween(from, to).map(calendarDay)
    }),
  source: "every calendar day (always open)"
}

/** The calendar a dataset's sessions come from: `nyse` (the exchange's, given) unless it is always open. */
export const calendarOf = (
  policy: SessionPolicy | undefined,
  nyse: MarketCalendarShape
): MarketCalendarShape => (policy === "always-open" ? alwaysOpen : nyse)
