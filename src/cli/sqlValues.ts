/**
 * How `tapehouse sql` shows values. node-postgres would turn a `date` into a JavaScript Date at
 * local midnight (printed as a timestamp, of the day before east of UTC), a `timestamp` into
 * local time, and `bytea` into a Buffer. Instead every column keeps the text Postgres sends
 * (dates stay `YYYY-MM-DD`, `numeric` and `bigint` keep every digit, arrays print as `{a,b}`, like
 * psql), except `timestamptz`, shown as ISO 8601 in UTC with all its fractional digits
 * (`2024-03-04T14:30:00.000Z`) whatever the session's time zone, and `boolean`, as true/false.
 */
import type { TypeParsers } from "../sinks/SqlClientLive.js"

const BOOL = 16
const TIMESTAMPTZ = 1184

const timestamptzText =
  /^(\d{4,})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?([+-])(\d{2})(?::(\d{2}))?(?::(\d{2}))?$/

/**
 * `2024-03-04 09:30:00.5-05` → `2024-03-04T14:30:00.500Z`. Text it does not recognise (infinity,
 * BC dates, a non-ISO DateStyle) comes back unchanged.
 */
export const timestamptzToIsoUtc = (text: string): string => {
  const m = timestamptzText.exec(text)
  if (m === null) return text
  const [, y, mo, d, h, mi, s, fraction, sign, oh, om, os] = m
  const offsetSeconds = (Number(oh) * 3600 + Number(om ?? 0) * 60 + Number(os ?? 0)) * (sign === "-" ? -1 : 1)
  const date = new Date(0)
  date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d))
  date.setUTCHours(Number(h), Number(mi), Number(s) - offsetSeconds, 0)
  if (Number.isNaN(date.getTime())) return text
  const digits = (fraction ?? "").padEnd(3, "0")
  return `${date.toISOString().slice(0, -5)}.${digits}Z`
}

const asText = (text: string): string => text

export const displayTypes: TypeParsers = {
  getTypeParser: (oid) =>
    oid === TIMESTAMPTZ
      ? timestamptzToIsoUtc
      : oid === BOOL
        ? (text) => (text === "t" ? "true" : "false")
        : asText
}
