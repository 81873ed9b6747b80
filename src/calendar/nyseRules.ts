/**
 * NYSE trading calendar from rules: weekends, full holidays and 13:00 early closes, as the
 * exchange has applied them since 2015 (Juneteenth from 2022, one-off closures included).
 * Valid for 2015–2035; `MarketCalendar` refines it with the vendor's upcoming-holidays list.
 */
import { addDays, dayOfWeek, newYorkTimeToEpochMs, parseDate } from "../domain/time.js"

export const RULES_FIRST_YEAR = 2015
export const RULES_LAST_YEAR = 2035

export type DayStatus =
  | {
      readonly _tag: "open"
      readonly date: string
      readonly openMs: number
      readonly closeMs: number
      readonly earlyClose: boolean
      readonly note?: string
    }
  | { readonly _tag: "closed"; readonly date: string; readonly reason: string }

const pad = (n: number) => String(n).padStart(2, "0")
const ymd = (y: number, m: number, d: number) => `${y}-${pad(m)}-${pad(d)}`

/** The n-th (1-based) weekday `dow` of a month; n = -1 for the last one. */
const nthWeekday = (year: number, month: number, dow: number, n: number): string => {
  if (n > 0) {
    const first = dayOfWeek(ymd(year, month, 1))
    return ymd(year, month, 1 + ((dow - first + 7) % 7) + (n - 1) * 7)
  }
  const lastDay = new Date(Date.UTC(year, month, 0)).getUTCDate()
  const last = dayOfWeek(ymd(year, month, lastDay))
  return ymd(year, month, lastDay - ((last - dow + 7) % 7))
}

/** Easter Sunday (anonymous Gregorian algorithm). */
const easter = (year: number): string => {
  const a = year % 19
  const b = Math.floor(year / 100)
  const c = year % 100
  const d = Math.floor(b / 4)
  const e = b % 4
  const f = Math.floor((b + 8) / 25)
  const g = Math.floor((b - f + 1) / 3)
  const h = (19 * a + b - d - g + 15) % 30
  const i = Math.floor(c / 4)
  const k = c % 4
  const l = (32 + 2 * e + 2 * i - h - k) % 7
  const m = Math.floor((a + 11 * h + 22 * l) / 451)
  const month = Math.floor((h + l - 7 * m + 114) / 31)
  const day = ((h + l - 7 * m + 114) % 31) + 1
  return ymd(year, month, day)
}

/** A fixed-date holiday moved to Friday when on Saturday and to Monday when on Sunday. */
const observed = (date: string): string => {
  const dow = dayOfWeek(date)
  return dow === 6 ? addDays(date, -1) : dow === 0 ? addDays(date, 1) : date
}

const holidayCache = new Map<number, ReadonlyMap<string, string>>()

/** Full-day closures of a year, date → name. */
export const holidaysOf = (year: number): ReadonlyMap<string, string> => {
  const cached = holidayCache.get(year)
  if (cached) return cached
  const h = new Map<string, string>()
  // New Year's Day on a Saturday is not moved to the Friday before (NYSE Rule 7.2: year end).
  const newYear = ymd(year, 1, 1)
  if (dayOfWeek(newYear) !== 6) h.set(observed(newYear), "New Year's Day")
  h.set(nthWeekday(year, 1, 1, 3), "Martin Luther King, Jr. Day")
  h.set(nthWeekday(year, 2, 1, 3), "Washington's Birthday")
  h.set(addDays(easter(year), -2), "Good Friday")
  h.set(nthWeekday(year, 5, 1, -1), "Memorial Day")
  if (year >= 2022) h.set(observed(ymd(year, 6, 19)), "Juneteenth National Independence Day")
  h.set(observed(ymd(year, 7, 4)), "Independence Day")
  h.set(nthWeekday(year, 9, 1, 1), "Labor Day")
  h.set(nthWeekday(year, 11, 4, 4), "Thanksgiving Day")
  h.set(observed(ymd(year, 12, 25)), "Christmas Day")
  // One-off closures (national days of mourning).
  if (year === 2018) h.set("2018-12-05", "National Day of Mourning for George H.W. Bush")
  if (year === 2025) h.set("2025-01-09", "National Day of Mourning for Jimmy Carter")
  holidayCache.set(year, h)
  return h
}

/** 13:00 early closes: July 3 (Mon–Thu), the day after Thanksgiving, Christmas Eve (Mon–Thu). */
export const earlyClosesOf = (year: number): ReadonlyMap<string, string> => {
  const e = new Map<string, string>()
  const july3 = ymd(year, 7, 3)
  const july3Dow = dayOfWeek(july3)
  if (july3Dow >= 1 && july3Dow <= 4) e.set(july3, "Independence Day (early close)")
  e.set(addDays(nthWeekday(year, 11, 4, 4), 1), "Day after Thanksgiving (early close)")
  const christmasEve = ymd(year, 12, 24)
  const eveDow = dayOfWeek(christmasEve)
  if (eveDow >= 1 && eveDow <= 4) e.set(christmasEve, "Christmas Eve (early close)")
  return e
}

export const REGULAR_OPEN = { hour: 9, minute: 30 } as const
export const REGULAR_CLOSE = { hour: 16, minute: 0 } as const
export const EARLY_CLOSE = { hour: 13, minute: 0 } as const

/** The rule-based status of one date. */
export const nyseDay = (date: string): DayStatus => {
  const [year] = parseDate(date)
  const dow = dayOfWeek(date)
  if (dow === 0 || dow === 6)
    return { _tag: "closed", date, reason: dow === 0 ? "weekend (Sunday)" : "weekend (Saturday)" }
  const holiday = holidaysOf(year).get(date)
  if (holiday) return { _tag: "closed", date, reason: `holiday: ${holiday}` }
  const early = earlyClosesOf(year).get(date)
  const close = early ? EARLY_CLOSE : REGULAR_CLOSE
  return {
    _tag: "open",
    date,
    openMs: newYorkTimeToEpochMs(date, REGULAR_OPEN.hour, REGULAR_OPEN.minute),
    closeMs: newYorkTimeToEpochMs(date, close.hour, close.minute),
    earlyClose: early !== undefined,
    ...(early ? { note: early } : {})
  }
}
