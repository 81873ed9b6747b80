/**
 * Black–Scholes–Merton price and greeks of a European option with a continuous rate and dividend
 * yield, in the conventions of /work/shared/fixtures/greeks/README.md:
 * - `t` in years of 365 days, `r` and `q` continuously compounded, prices per share;
 * - `theta`: ∂price/∂t with calendar time moving forward, per year (per day: ÷ 365);
 * - `vega`: ∂price/∂σ per 1.00 of volatility (per vol point: ÷ 100);
 * - `rho`: ∂price/∂r per 1.00 of rate (per 1 %: ÷ 100).
 *
 * Degenerate inputs take their limits: at t ≤ 0 the option is worth its intrinsic value and every
 * greek but delta is 0 (delta 1/−1 in the money, 0 otherwise); at σ ≤ 0 (t > 0) it is worth its
 * discounted intrinsic value on the forward, with the greeks of that deterministic payoff.
 */
import { normCdf, normPdf } from "./normal.js"

export interface Greeks {
  readonly price: number
  readonly delta: number
  readonly gamma: number
  readonly theta: number
  readonly vega: number
  readonly rho: number
}

const expired = (call: boolean, S: number, K: number): Greeks => {
  const intrinsic = call ? S - K : K - S
  const itm = intrinsic > 0
  return {
    price: itm ? intrinsic : 0,
    delta: itm ? (call ? 1 : -1) : 0,
    gamma: 0,
    theta: 0,
    vega: 0,
    rho: 0
  }
}

/** σ = 0: the payoff is known today, max(0, ±(S·e^{−qt} − K·e^{−rt})). */
const deterministic = (call: boolean, S: number, K: number, t: number, r: number, q: number): Greeks => {
  const dq = Math.exp(-q * t)
  const dr = Math.exp(-r * t)
  const sign = call ? 1 : -1
  const value = sign * (S * dq - K * dr)
  if (!(value > 0)) return { price: 0, delta: 0, gamma: 0, theta: 0, vega: 0, rho: 0 }
  return {
    price: value,
    delta: sign * dq,
    gamma: 0,
    theta: sign * (q * S * dq - r * K * dr),
    vega: 0,
    rho: sign * K * t * dr
  }
}

/** Price and greeks, positional arguments (the per-bar hot path allocates only the result). */
export const bsmGreeks = (
  call: boolean,
  S: number,
  K: number,
  t: number,
  r: number,
  q: number,
  sigma: number
): Greeks => {
  if (!(t > 0)) return expired(call, S, K)
  if (!(sigma > 0)) return deterministic(call, S, K, t, r, q)
  const sqrtT = Math.sqrt(t)
  const sd = sigma * sqrtT
  const d1 = (Math.log(S / K) + (r - q + (sigma * sigma) / 2) * t) / sd
  const d2 = d1 - sd
  const dq = Math.exp(-q * t)
  const dr = Math.exp(-r * t)
  const spotQ = S * dq
  const strikeR = K * dr
  const density = spotQ * normPdf(d1)
  const decay = -(density * sigma) / (2 * sqrtT)
  const gamma = density / (S * S * sd)
  const vega = density * sqrtT
  if (call) {
    const n1 = normCdf(d1)
    const n2 = normCdf(d2)
    return {
      price: spotQ * n1 - strikeR * n2,
      delta: dq * n1,
      gamma,
      theta: decay - r * strikeR * n2 + q * spotQ * n1,
      vega,
      rho: t * strikeR * n2
    }
  }
  const m1 = normCdf(-d1)
  const m2 = normCdf(-d2)
  return {
    price: strikeR * m2 - spotQ * m1,
    delta: -dq * m1,
    gamma,
    theta: decay + r * strikeR * m2 - q * spotQ * m1,
    vega,
    rho: -t * strikeR * m2
  }
}

/** The price alone (same arithmetic as `bsmGreeks(...).price`). */
export const bsmPrice = (
  call: boolean,
  S: number,
  K: number,
  t: number,
  r: number,
  q: number,
  sigma: number
): number => bsmGreeks(call, S, K, t, r, q, sigma).price
