/**
 * Black–Scholes–Merton prices of European options with a continuous dividend yield: the
 * simulator's pricing truth for its synthetic options (which are listed as American, as the
 * vendor lists equity options, but priced as European: the early-exercise premium is left out).
 *
 * Conventions (those of /work/shared/fixtures/greeks and py_vollib's `black_scholes_merton`):
 * `t` in years of 365 days, `rate` and `dividendYield` continuously compounded, price per share.
 */

export type OptionType = "call" | "put"

// W. J. Cody's rational Chebyshev approximations of erfc (Math. Comp. 23, 1969), the ones behind
// most libm `erfc` and SPECFUN CALERF: relative error about 1e-16 over the whole double range.
const A = [
  3.1611237438705656, 113.86415415105016, 377.48523768530202, 3209.3775891384695, 0.18577770618460315
]
const B = [23.601290952344121, 244.02463793444417, 1282.6165260773723, 2844.2368334391706]
const C = [
  0.56418849698867009, 8.8831497943883759, 66.11919063714163, 298.63513819740013, 881.95222124176909,
  1712.0476126340706, 2051.0783778260715, 1230.3393547979973, 2.1531153547440385e-8
]
const D = [
  15.744926110709835, 117.6939508913125, 537.18110186200986, 1621.3895745666902, 3290.7992357334596,
  4362.6190901432472, 3439.3676741437216, 1230.3393548037494
]
const P = [
  0.30532663496123234, 0.36034489994980444, 0.12578172611122925, 0.016083785148742277, 6.587491615298378e-4,
  0.016315387137302098
]
const Q = [
  2.5685201922898224, 1.8729528499234605, 0.52790510295142841, 0.060518341312441319, 2.3352049762686918e-3
]
const ONE_OVER_SQRT_PI = 0.56418958354775628

/** exp(-y²) computed without losing digits for large y (Cody's split of y into a 1/16 grid). */
const expMinusSquare = (y: number): number => {
  const z = Math.trunc(y * 16) / 16
  return Math.exp(-z * z) * Math.exp(-(y - z) * (y + z))
}

/** The complementary error function, about 1e-16 relative error. */
export const erfc = (x: number): number => {
  const y = Math.abs(x)
  let r: number
  if (y <= 0.46875) {
    const z = y * y
    let num = A[4]! * z
    let den = z
    for (let i = 0; i < 3; i++) {
      num = (num + A[i]!) * z
      den = (den + B[i]!) * z
    }
    return 1 - (x * (num + A[3]!)) / (den + B[3]!)
  }
  if (y <= 4) {
    let num = C[8]! * y
    let den = y
    for (let i = 0; i < 7; i++) {
      num = (num + C[i]!) * y
      den = (den + D[i]!) * y
    }
    r = (expMinusSquare(y) * (num + C[7]!)) / (den + D[7]!)
  } else if (y >= 26.55) {
    r = 0
  } else {
    const z = 1 / (y * y)
    let num = P[5]! * z
    let den = z
    for (let i = 0; i < 4; i++) {
      num = (num + P[i]!) * z
      den = (den + Q[i]!) * z
    }
    r = (expMinusSquare(y) * (ONE_OVER_SQRT_PI - (z * (num + P[4]!)) / (den + Q[4]!))) / y
  }
  return x < 0 ? 2 - r : r
}

/** The standard normal cumulative distribution, accurate in both tails. */
export const normCdf = (x: number): number => 0.5 * erfc(-x / Math.SQRT2)

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
export const bsmPrice = (o: BsmInput): number => {
  const { spot: S, strike: K, t, rate: r, dividendYield: q, sigma } = o
  if (!(t > 0) || !(sigma > 0)) {
    const intrinsic = o.type === "call" ? S - K : K - S
    return Math.max(0, intrinsic)
  }
  const sd = sigma * Math.sqrt(t)
  const d1 = (Math.log(S / K) + (r - q + (sigma * sigma) / 2) * t) / sd
  const d2 = d1 - sd
  const discountedSpot = S * Math.exp(-q * t)
  const discountedStrike = K * Math.exp(-r * t)
  return o.type === "call"
    ? discountedSpot * normCdf(d1) - discountedStrike * normCdf(d2)
    : discountedStrike * normCdf(-d2) - discountedSpot * normCdf(-d1)
}
