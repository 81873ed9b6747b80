/**
 * Exact decimals as scaled integers: a price or size is held as `value × 10^scale`, a safe JS
 * integer (below 2^53), never as a float. The decimal string goes straight to the integer digit by
 * digit; the integer goes back to a string with exactly the decimals the venue prints, so a round
 * trip gives back the venue's own text.
 *
 * Why numbers and not BigInt: Binance prices and sizes at 8 decimals stay below 2^53 for real
 * instruments (issue 13), and BigInt on the book's hot path would cost most of its speed. A value
 * that would not fit is rejected, never rounded.
 */

/** The largest scale a Binance tick or step can need (spot prints 8 decimals). */
export const MAX_SCALE = 8

/** A decimal that cannot be held exactly at the scale asked for. */
export class FixedPointError extends Error {
  readonly _tag = "FixedPointError"
  constructor(
    readonly text: string,
    readonly scale: number,
    readonly reason: string
  ) {
    super(`cannot hold "${text}" as an integer × 10^-${scale}: ${reason}`)
    this.name = "FixedPointError"
  }
}

const POW10: ReadonlyArray<number> = Array.from({ length: 16 }, (_, i) => 10 ** i)
const MAX_SAFE = Number.MAX_SAFE_INTEGER
// Accumulating v = v*10 + d is surely exact while v <= this bound (then v*10+9 <= 2^53-1); above
// it, `fits` decides exactly.
const ACC_LIMIT = Math.floor((MAX_SAFE - 9) / 10)
const fits = (value: number, digit: number): boolean => value <= (MAX_SAFE - digit) / 10

/**
 * `text` (digits, optionally one `.` and more digits; no sign, no exponent) as an integer
 * × 10^-scale. Decimals past `scale` must be zeros ("0.35130000" at scale 4 is 3513); a non-zero
 * digit there, a malformed string or a result above 2^53 - 1 throws FixedPointError.
 */
export const parseFixed = (text: string, scale: number): number => parseFixedIn(text, 0, text.length, scale)

/**
 * `parseFixed` of `text.slice(start, end)`, without making the slice: decoders scanning a whole
 * frame read each price and size in place.
 */
export const parseFixedIn = (text: string, start: number, end: number, scale: number): number => {
  const n = end
  let value = 0
  let i = start
  let digits = 0
  for (; i < n; i++) {
    const c = text.charCodeAt(i) - 48
    if (c < 0 || c > 9) break
    if (value > ACC_LIMIT && !fits(value, c)) return overflow(text.slice(start, end), scale)
    value = value * 10 + c
    digits++
  }
  let frac = 0
  if (i < n) {
    if (text.charCodeAt(i) !== 46 /* . */)
      throw new FixedPointError(text.slice(start, end), scale, "not a plain decimal")
    i++
    for (; i < n; i++) {
      const c = text.charCodeAt(i) - 48
      if (c < 0 || c > 9) throw new FixedPointError(text.slice(start, end), scale, "not a plain decimal")
      digits++
      if (frac < scale) {
        if (value > ACC_LIMIT && !fits(value, c)) return overflow(text.slice(start, end), scale)
        value = value * 10 + c
        frac++
      } else if (c !== 0) {
        throw new FixedPointError(text.slice(start, end), scale, `more than ${scale} decimals`)
      }
    }
  }
  if (digits === 0) throw new FixedPointError(text.slice(start, end), scale, "not a plain decimal")
  if (frac < scale) {
    value *= POW10[scale - frac]!
    if (value > MAX_SAFE) return overflow(text.slice(start, end), scale)
  }
  return value
}

const overflow = (text: string, scale: number): never => {
  throw new FixedPointError(text, scale, "the scaled value exceeds 2^53 - 1")
}

/**
 * The decimal text of `value × 10^-scale` with exactly `decimals` digits after the point (no
 * point when 0). `decimals` defaults to `scale` and must be at least `scale`; extra places are
 * zeros. Binance prints spot prices and sizes with 8 decimals ("0.35130000") and USD-M futures
 * with the contract's pricePrecision / quantityPrecision ("7.6110", "813").
 */
export const formatFixed = (value: number, scale: number, decimals: number = scale): string => {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new FixedPointError(String(value), scale, "not a non-negative safe integer")
  }
  if (decimals < scale)
    throw new FixedPointError(String(value), scale, `cannot print with ${decimals} decimals`)
  const pow = POW10[scale]!
  const whole = Math.floor(value / pow)
  if (decimals === 0) return String(whole)
  const frac = value - whole * pow
  const fracText = scale === 0 ? "" : String(frac).padStart(scale, "0")
  return `${whole}.${fracText}${"0".repeat(decimals - scale)}`
}

/**
 * The scale a tick or step size needs: its number of decimals after trailing zeros are dropped
 * ("0.00010000" → 4, "1.00000000" → 0, "0.0010" → 3). A zero size ("0", the filter disabled)
 * gives MAX_SCALE. More than MAX_SCALE decimals throws FixedPointError.
 */
export const scaleOfIncrement = (text: string): number => {
  parseFixed(text, MAX_SCALE) // validates the text and its decimals
  const dot = text.indexOf(".")
  if (/^0*\.?0*$/.test(text)) return MAX_SCALE
  if (dot < 0) return 0
  let end = text.length
  while (end > dot + 1 && text.charCodeAt(end - 1) === 48) end--
  return end - dot - 1
}
