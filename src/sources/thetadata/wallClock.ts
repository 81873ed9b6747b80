/**
 * ThetaData's times are New York wall clock without an offset: v3 `2024-11-04T09:30:00` (0–3
 * fractional digits, trailing zeros trimmed), v2 `ms_of_day` beside a `date` int (20241104). These
 * turn them into epoch ms UTC on the hot path: the offset is looked up once per date (at noon) and
 * cached (the last date's without even a map lookup); times before 04:00, where a DST switch can
 * fall, take the exact conversion. Digits are read by char code, from a range of a line.
 */
import { newYorkTimeToEpochMs } from "../../domain/time.js"

const HOUR_MS = 3_600_000

/** New York's offset from UTC on a date, in ms (naive UTC minus epoch), computed at noon. */
const offsets = new Map<number, number>()

const offsetOfDay = (y: number, m: number, d: number): number => {
  const key = y * 10_000 + m * 100 + d
  let off = offsets.get(key)
  if (off === undefined) {
    const date = `${y}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`
    off = Date.UTC(y, m - 1, d, 12) - newYorkTimeToEpochMs(date, 12, 0)
    if (offsets.size > 10_000) offsets.clear()
    offsets.set(key, off)
  }
  return off
}

// The last date's epoch ms of its naive midnight minus its offset: a response's rows share a day.
let lastKey = -1
let lastBase = 0

/** Epoch ms of a New York wall-clock time given as ms since midnight of (y, m, d). */
export const newYorkMsOfDay = (y: number, m: number, d: number, msOfDay: number): number => {
  if (msOfDay < 4 * HOUR_MS) {
    const date = `${y}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`
    const minutes = Math.floor(msOfDay / 60_000)
    return newYorkTimeToEpochMs(date, Math.floor(minutes / 60), minutes % 60) + (msOfDay % 60_000)
  }
  const key = y * 10_000 + m * 100 + d
  if (key !== lastKey) {
    lastBase = Date.UTC(y, m - 1, d) - offsetOfDay(y, m, d)
    lastKey = key
  }
  return lastBase + msOfDay
}

const digits = (s: string, from: number, to: number): number => {
  let v = 0
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 48
    if (c < 0 || c > 9) return Number.NaN
    v = v * 10 + c
  }
  return v
}

/** `YYYY-MM-DDTHH:MM:SS[.f{1,3}]` (New York) as epoch ms; NaN when it is not that shape. */
export const parseWallClock = (s: string): number => wallClockAt(s, 0, s.length)

// The last valid date part (`YYYY-MM-DD`) `wallClockAt` read, and its numbers: a response's
// times share a date, which is then compared rather than read again.
let lastDate = ""
let lastY = 0
let lastMo = 0
let lastD = 0

/** `parseWallClock` of `s.slice(from, to)`, without the slice (a CSV decoder's hot path). */
export const wallClockAt = (s: string, from: number, to: number): number => {
  const n = to - from
  const a = from
  if (
    n < 19 ||
    n > 23 ||
    n === 20 ||
    s.charCodeAt(a + 10) !== 84 ||
    s.charCodeAt(a + 13) !== 58 ||
    s.charCodeAt(a + 16) !== 58 ||
    (n > 19 && s.charCodeAt(a + 19) !== 46)
  )
    return Number.NaN
  let y = lastY
  let mo = lastMo
  let d = lastD
  if (lastDate === "" || !s.startsWith(lastDate, a)) {
    if (s.charCodeAt(a + 4) !== 45 || s.charCodeAt(a + 7) !== 45) return Number.NaN
    y = digits(s, a, a + 4)
    mo = digits(s, a + 5, a + 7)
    d = digits(s, a + 8, a + 10)
    if (!(y >= 0 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31)) return Number.NaN
    lastDate = s.slice(a, a + 10)
    lastY = y
    lastMo = mo
    lastD = d
  }
  const h = digits(s, a + 11, a + 13)
  const mi = digits(s, a + 14, a + 16)
  const sec = digits(s, a + 17, a + 19)
  let ms = 0
  if (n > 19) {
    ms = digits(s, a + 20, to)
    for (let k = n - 20; k < 3; k++) ms *= 10
  }
  if (!(mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && sec <= 59)) return Number.NaN
  return newYorkMsOfDay(y, mo, d, ((h * 60 + mi) * 60 + sec) * 1000 + ms)
}

/** A v2 `date` int (`20241104`) as [y, m, d]; undefined when it is not one. */
export const parseDateInt = (s: string): readonly [number, number, number] | undefined => {
  if (s.length !== 8) return undefined
  const y = digits(s, 0, 4)
  const m = digits(s, 4, 6)
  const d = digits(s, 6, 8)
  return m >= 1 && m <= 12 && d >= 1 && d <= 31 ? [y, m, d] : undefined
}

/** `YYYYMMDD` or `YYYY-MM-DD` as `YYYY-MM-DD`; undefined otherwise. */
export const isoDateOf = (s: string): string | undefined => {
  if (s.length === 10 && s.charCodeAt(4) === 45 && s.charCodeAt(7) === 45)
    return parseDateInt(s.slice(0, 4) + s.slice(5, 7) + s.slice(8, 10)) === undefined ? undefined : s
  const p = parseDateInt(s)
  return p === undefined ? undefined : `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}`
}
