/** Time helpers for US markets: New York wall-clock time to epoch ms and back, trading-date strings. */

const NEW_YORK = "America/New_York"

const offsetFormatter = new Intl.DateTimeFormat("en-US", {
  timeZone: NEW_YORK,
  hourCycle: "h23",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit"
})

const HOUR_MS = 3_600_000

/** The offset through Intl (slow: a formatToParts per call). */
const intlOffsetMinutes = (epochMs: number): number => {
  const parts = offsetFormatter.formatToParts(new Date(epochMs))
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value)
  const asUtc = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"))
  return Math.round((asUtc - Math.floor(epochMs / 1000) * 1000) / 60_000)
}

/**
 * Offsets by UTC hour. New York changes its offset only on a whole UTC hour (at 02:00 local), so
 * every instant of a UTC hour has its start's offset. Every record's partition date comes through
 * here: the cache spares a formatToParts per row. Bounded (cleared when full).
 */
const offsetByHour = new Map<number, number>()
const OFFSET_CACHE_MAX = 100_000

/** Offset of New York from UTC at the given instant, in minutes (-300 in winter, -240 in summer). */
export const newYorkOffsetMinutes = (epochMs: number): number => {
  const hour = Math.floor(epochMs / HOUR_MS)
  const cached = offsetByHour.get(hour)
  if (cached !== undefined) return cached
  const offset = intlOffsetMinutes(hour * HOUR_MS)
  if (offsetByHour.size >= OFFSET_CACHE_MAX) offsetByHour.clear()
  offsetByHour.set(hour, offset)
  return offset
}

/** Epoch ms of a New York wall-clock time on a date (YYYY-MM-DD), e.g. ("2024-03-04", 9, 30). */
export const newYorkTimeToEpochMs = (date: string, hour: number, minute: number): number => {
  const [y, m, d] = parseDate(date)
  const naive = Date.UTC(y, m - 1, d, hour, minute)
  // Two passes settle the offset even on DST change days (sessions never straddle the 2 a.m. switch).
  const first = naive - newYorkOffsetMinutes(naive) * 60_000
  return naive - newYorkOffsetMinutes(first) * 60_000
}

/** The New York calendar date (YYYY-MM-DD) of an instant. */
export const newYorkDate = (epochMs: number): string => {
  const shifted = new Date(epochMs + newYorkOffsetMinutes(epochMs) * 60_000)
  return shifted.toISOString().slice(0, 10)
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/

/** True for a real calendar date written YYYY-MM-DD. */
export const isIsoDate = (s: string): boolean => {
  const m = DATE_RE.exec(s)
  if (!m) return false
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))
  return new Date(t).toISOString().slice(0, 10) === s
}

export const parseDate = (date: string): [number, number, number] => {
  const m = DATE_RE.exec(date)
  if (!m) throw new Error(`not a YYYY-MM-DD date: ${date}`)
  return [Number(m[1]), Number(m[2]), Number(m[3])]
}

/** Day of week of a date, 0 = Sunday. */
export const dayOfWeek = (date: string): number => {
  const [y, m, d] = parseDate(date)
  return new Date(Date.UTC(y, m - 1, d)).getUTCDay()
}

export const addDays = (date: string, days: number): string => {
  const [y, m, d] = parseDate(date)
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10)
}

/** Every calendar date from `from` to `to`, inclusive. */
export const datesBetween = (from: string, to: string): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (let d = from; d <= to; d = addDays(d, 1)) out.push(d)
  return out
}

/** The New York calendar day `date` as epoch ms [startMs, endMs): a day partition's time range. */
export const newYorkDayRange = (date: string): { readonly startMs: number; readonly endMs: number } => ({
  startMs: newYorkTimeToEpochMs(date, 0, 0),
  endMs: newYorkTimeToEpochMs(addDays(date, 1), 0, 0)
})
