/**
 * The in-memory values of the column types that need a conversion somewhere (see `ColumnType`):
 * dates as "YYYY-MM-DD" to and from days since 1970-01-01, exact decimals (safe integers of
 * value × 10^scale) to and from decimal text, and the checks the writer, the validator and the
 * quarantine share. Plain arithmetic: no `Date` and no float in between.
 */

export const INT64_MIN = -(2n ** 63n)
export const INT64_MAX = 2n ** 63n - 1n

/** A bigint that fits a signed 64-bit integer (a `timestamp_ns` value). */
export const isInt64 = (value: unknown): value is bigint =>
  typeof value === "bigint" && value >= INT64_MIN && value <= INT64_MAX

/** An array whose every element is a string (a `string_list` value; empty is fine). */
export const isStringList = (value: unknown): value is ReadonlyArray<string> => {
  if (!Array.isArray(value)) return false
  for (let i = 0; i < value.length; i++) if (typeof value[i] !== "string") return false
  return true
}

const isLeap = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0
const monthDays = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/** Days from 1970-01-01 to the civil date y-m-d (proleptic Gregorian; H. Hinnant's algorithm). */
const daysFromCivil = (year: number, month: number, day: number): number => {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
}

const digit = (text: string, i: number): number => {
  const c = text.charCodeAt(i) - 48
  return c >= 0 && c <= 9 ? c : Number.NaN
}

/**
 * Days since 1970-01-01 of a real date written `YYYY-MM-DD` (years 0001 to 9999: Postgres has no
 * year 0), else undefined (another shape, month 13, February 30th, …).
 */
export const daysOfDate = (text: string): number | undefined => {
  if (text.length !== 10 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45) return undefined
  const year = digit(text, 0) * 1000 + digit(text, 1) * 100 + digit(text, 2) * 10 + digit(text, 3)
  const month = digit(text, 5) * 10 + digit(text, 6)
  const day = digit(text, 8) * 10 + digit(text, 9)
  if (!(month >= 1 && month <= 12 && day >= 1)) return undefined // NaN fails too
  const last = month === 2 && isLeap(year) ? 29 : monthDays[month - 1]!
  if (day > last || !(year >= 1)) return undefined
  return daysFromCivil(year, month, day)
}

/** A real `YYYY-MM-DD` date (a `date` value). */
export const isDate = (value: unknown): value is string =>
  typeof value === "string" && daysOfDate(value) !== undefined

const pad = (n: number, width: number): string => String(n).padStart(width, "0")

/** The `YYYY-MM-DD` of a day count since 1970-01-01 (a year outside 0–9999 as ±YYYYYY, as ISO 8601 does). */
export const dateOfDays = (days: number): string => {
  const z = days + 719468
  const era = Math.floor(z / 146097)
  const doe = z - era * 146097
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365
  )
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1
  const month = mp < 10 ? mp + 3 : mp - 9
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0)
  const y = year >= 0 && year <= 9999 ? pad(year, 4) : `${year < 0 ? "-" : "+"}${pad(Math.abs(year), 6)}`
  return `${y}-${pad(month, 2)}-${pad(day, 2)}`
}

/** The decimal text of a scaled integer: `decimalText(-12345, 2)` is `"-123.45"`, scale 0 gives digits. */
export const decimalText = (scaled: number | bigint, scale: number): string => {
  const negative = scaled < 0
  const digits = (negative ? -BigInt(scaled) : BigInt(scaled)).toString()
  if (scale === 0) return negative ? `-${digits}` : digits
  const padded = digits.padStart(scale + 1, "0")
  const cut = padded.length - scale
  return `${negative ? "-" : ""}${padded.slice(0, cut)}.${padded.slice(cut)}`
}

const decimalPattern = /^([-+]?)(\d+)(?:\.(\d*))?$/

/**
 * The scaled integer of a decimal text (`"123.45"` at scale 2 is 12345), exactly; undefined when
 * the text is not a plain decimal, has non-zero digits beyond `scale`, or the result is not a safe
 * integer.
 */
export const scaledOfDecimalText = (text: string, scale: number): number | undefined => {
  const match = decimalPattern.exec(text)
  if (match === null) return undefined
  const fraction = match[3] ?? ""
  if (fraction.length > scale && !/^0*$/.test(fraction.slice(scale))) return undefined
  const unscaled = BigInt(`${match[2]}${fraction.slice(0, scale).padEnd(scale, "0")}`)
  const value = match[1] === "-" ? -unscaled : unscaled
  return value >= -9007199254740991n && value <= 9007199254740991n ? Number(value) : undefined
}
