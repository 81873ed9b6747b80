/**
 * Black–Scholes–Merton prices of European options with a continuous dividend yield: the
 * simulator's pricing truth for its synthetic options (which are listed as American, as the
 * vendor lists equity options, but priced as European: the early-exercise premium is left out).
 *
 * Conventions (those of /work/shared/fixtures/greeks and py_vollib's `black_scholes_merton`):
 * `t` in years of 365 days, `rate` and `dividendYield` continuously compounded, price per share.
 */

import { normCdf } from "../../analytics/normal.js"

// The normal distribution lives in the analytics, which price and invert with the same functions.
export { erfc, normCdf } from "../../analytics/normal.js"

export type OptionType = "call" | "put"

export interface BsmInput {
  readonly type: OptionType
  readonly spot: number
  readonly strike: number
  /** Years of 365 days to expiry; at or below 0 the option is worth its intrinsic value. */
  readonly t: number
  readonly rate: number
  readonly dividendYield: number
  readonly sigma: number
}

/** The Black–Scholes–Merton premium per share. */
export const bsmPrice = (o: BsmInput): number =>
  bsmPriceOf(o.type === "call", o.spot, o.strike, o.t, o.rate, o.dividendYield, o.sigma)

/**
 * `bsmPrice` with positional arguments, for the simulator's per-second loop (no object per price);
 * the same arithmetic, so the same doubles.
 */
export const bsmPriceOf = (
  call: boolean,
  S: number,
  K: number,
  t: number,
  r: number,
  q: number,
  sigma: number
): number => {
  if (!(t > 0) || !(sigma > 0)) {
    const intrinsic = call ? S - K : K - S
    return Math.max(0, intrinsic)
  }
  const sd = sigma * Math.sqrt(t)
  const d1 = (Math.log(S / K) + (r - q + (sigma * sigma) / 2) * t) / sd
  const d2 = d1 - sd
  const discountedSpot = S * Math.exp(-q * t)
  const discountedStrike = K * Math.exp(-r * t)
  return call
    ? discountedSpot * normCdf(d1) - discountedStrike * normCdf(d2)
    : discountedStrike * normCdf(-d2) - discountedSpot * normCdf(-d1)
}
