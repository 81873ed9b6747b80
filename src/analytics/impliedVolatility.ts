/**
 * The Black–Scholes–Merton implied volatility of a European option price (conventions of bsm.ts),
 * or the reason there is none.
 *
 * Method. By put–call parity the price becomes that of the out-of-the-money option, and with the
 * forward F = S·e^{(r−q)t}, x = −|ln(F/K)| and s = σ√t its undiscounted price divided by √(FK) is
 *   β(s) = e^{x/2}·N(x/s + s/2) − e^{−x/2}·N(x/s − s/2),   β′(s) = φ(x/s + s/2)·e^{x/2},
 * increasing from 0 to e^{x/2}, convex below s_c = √(2|x|) and concave above. Below s_c (the price
 * is exponentially small there) the solver works on ln β, above it on β, with Halley's third-order
 * step (Newton's where Halley's correction is out of [0.5, 2]). It starts at or left of the root:
 * β(x, s) ≤ β(0, s) ≤ s/√(2π) puts the root above √(2π)·β, and below s_c the leading term
 * ln β ≈ −x²/(2s²) gives a second estimate. Every evaluation narrows a bracket [lo, hi]; a step
 * that leaves it, or that fails to shrink once the root is bracketed, becomes a geometric bisection
 * (doubling while hi is unknown). On the simulator's SPY chain it takes 4.5 evaluations of β on
 * average (β(s_c) included, at most 9); it stops after MAX_ITERATIONS, so it always ends, with a
 * number or a reason, never NaN.
 */
import { normCdf } from "./normal.js"

export const IV_REASONS = {
  invalidInput: "no implied volatility: spot and strike must be positive, and every input a number",
  negativePrice: "no implied volatility: negative price",
  expired: "no implied volatility: expired (time to expiry is zero)",
  belowIntrinsic: "no implied volatility: price below the discounted intrinsic value",
  callAboveSpot: "no implied volatility: call price above the discounted spot",
  putAboveStrike: "no implied volatility: put price above the discounted strike",
  zeroPrice: "no implied volatility: price is zero",
  noTimeValue: "no implied volatility: price equals the discounted intrinsic value (no time value)",
  insensitive: "no implied volatility: vega too small for the price to determine the volatility"
} as const

export type IvReason = (typeof IV_REASONS)[keyof typeof IV_REASONS]

export type ImpliedVolatility =
  | { readonly _tag: "Solved"; readonly iv: number }
  | { readonly _tag: "NoSolution"; readonly reason: IvReason }

const noSolution = (reason: IvReason): ImpliedVolatility => ({ _tag: "NoSolution", reason })

const MAX_ITERATIONS = 100
const ONE_OVER_SQRT_2PI = 0.3989422804014327
const SQRT_2PI = 2.5066282746310002
/** Relative step in s at which the iteration stops: σ then has 12 digits, well past 1e-8. */
const STEP_TOLERANCE = 1e-12
/** A derivative step this small (relative) is the last one needed. */
const HALLEY_FINAL_STEP = 1e-5
const NEWTON_FINAL_STEP = 1e-7

/**
 * Solves β(s) = target for s = σ√t, x ≤ 0, 0 < target < e^{x/2}; undefined when the price does not
 * pin s down in double precision.
 */
/** β(s) for x, with ex = e^{x/2} and emx = e^{−x/2}. Module-level (not a closure per solve): a day solves a million. */
const betaOf = (x: number, ex: number, emx: number, s: number): number => {
  const h = x / s
  return ex * normCdf(h + s / 2) - emx * normCdf(h - s / 2)
}

/** β′(s) for x. */
const slopeOf = (x: number, s: number): number => {
  const h = x / s
  return ONE_OVER_SQRT_2PI * Math.exp(-0.5 * (h * h + (s * s) / 4))
}

const solveNormalised = (x: number, target: number): number | undefined => {
  const ex = Math.exp(x / 2)
  const emx = Math.exp(-x / 2)
  const sc = Math.sqrt(-2 * x)
  const betaC = sc > 0 ? betaOf(x, ex, emx, sc) : 0
  const lower = target < betaC
  // Lower branch: ln β ≈ ln β(s_c) − x²/2·(1/s² − 1/s_c²). Upper branch: β(x, s) ≤ β(0, s) ≤ s/√(2π),
  // so max(s_c, √(2π)·target) is at or left of the root, where Newton on a concave β climbs monotonically.
  const floor = SQRT_2PI * target
  let s = lower ? Math.max(floor, -x / Math.sqrt(-x / 2 + 2 * Math.log(betaC / target))) : Math.max(sc, floor)
  // β(s_c) already tells which side of s_c the root is on.
  let lo = lower ? 0 : sc
  let hi = lower ? sc : Number.POSITIVE_INFINITY
  let lastStep = Number.POSITIVE_INFINITY
  let stepBefore = Number.POSITIVE_INFINITY
  for (let i = 0; i < MAX_ITERATIONS; i++) {
    const b = betaOf(x, ex, emx, s)
    let next = Number.NaN
    let halley = false
    if (!(b > 0))
      lo = s // below the smallest price doubles resolve here: the root is to the right
    else {
      if (b === target) return s
      if (b > target) hi = s
      else lo = s
      const v = slopeOf(x, s)
      // Halley's step on f = ln(β/target) (lower branch) or β − target (upper), with
      // β″ = β′·(x²/s³ − s/4); Newton's when the Halley correction would more than double it.
      const curvature = (x * x) / (s * s * s) - s / 4
      const f = lower ? Math.log(b / target) : b - target
      const f1 = lower ? v / b : v
      const f2 = lower ? f1 * curvature - f1 * f1 : v * curvature
      const newton = f / f1
      const correction = 1 - (newton * f2) / (2 * f1)
      halley = correction >= 0.5 && correction <= 2
      next = s - (halley ? newton / correction : newton)
    }
    const step = Math.abs(next - s)
    if (step <= STEP_TOLERANCE * s) return next
    // Bisect (geometrically: s spans decades) when the step leaves the bracket, or, once the root
    // is bracketed, is longer than the step before last (Newton is not converging).
    if (!(next > lo && next < hi) || (hi < Number.POSITIVE_INFINITY && step > stepBefore)) {
      next = hi === Number.POSITIVE_INFINITY ? 2 * Math.max(s, lo) : lo > 0 ? Math.sqrt(lo * hi) : hi / 2
    } else if (step <= (halley ? HALLEY_FINAL_STEP : NEWTON_FINAL_STEP) * s) {
      // Converging: the error after a step of relative size δ is of order δ³ (Halley) or δ²
      // (Newton), below 1e-14 here, so the evaluation that would confirm it is skipped.
      return next
    }
    stepBefore = lastStep
    lastStep = Math.abs(next - s)
    if (lastStep <= STEP_TOLERANCE * s) return next
    if (hi < Number.POSITIVE_INFINITY && hi - lo <= STEP_TOLERANCE * hi) return (lo + hi) / 2
    s = next
  }
  return undefined
}

/**
 * The implied volatility of a European option's price per share: spot `S`, strike `K`, `t` years
 * of 365 days, continuous `r` and `q`. A number when the price lies strictly between the
 * discounted intrinsic value and the upper bound (the discounted spot for a call, the discounted
 * strike for a put); otherwise the reason.
 */
export const impliedVolatility = (
  call: boolean,
  S: number,
  K: number,
  t: number,
  r: number,
  q: number,
  price: number
): ImpliedVolatility => {
  if (
    !Number.isFinite(S) ||
    !Number.isFinite(K) ||
    !(S > 0 && K > 0) ||
    Number.isNaN(t) ||
    !Number.isFinite(r) ||
    !Number.isFinite(q) ||
    !Number.isFinite(price)
  )
    return noSolution(IV_REASONS.invalidInput)
  if (price < 0) return noSolution(IV_REASONS.negativePrice)
  if (!(t > 0)) return noSolution(IV_REASONS.expired)
  const dr = Math.exp(-r * t)
  const spotQ = S * Math.exp(-q * t)
  const strikeR = K * dr
  const intrinsic = call ? spotQ - strikeR : strikeR - spotQ
  if (price < intrinsic) return noSolution(IV_REASONS.belowIntrinsic)
  if (call ? price >= spotQ : price >= strikeR)
    return noSolution(call ? IV_REASONS.callAboveSpot : IV_REASONS.putAboveStrike)
  if (price === 0) return noSolution(IV_REASONS.zeroPrice)
  // The out-of-the-money option's price, by parity when this one is in the money.
  const otm = intrinsic > 0 ? price - intrinsic : price
  if (!(otm > 0)) return noSolution(IV_REASONS.noTimeValue)
  const logMoneyness = Math.log(S / K) + (r - q) * t
  const forward = S * Math.exp((r - q) * t)
  const x = -Math.abs(logMoneyness)
  const target = otm / (dr * Math.sqrt(forward * K))
  if (!(target < Math.exp(x / 2))) return noSolution(IV_REASONS.insensitive)
  const s = solveNormalised(x, target)
  if (s === undefined || !Number.isFinite(s)) return noSolution(IV_REASONS.insensitive)
  return { _tag: "Solved", iv: s / Math.sqrt(t) }
}
