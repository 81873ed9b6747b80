/**
 * OCC-style option tickers as Massive writes them (spec §5.3): `O:` + underlying root + `YYMMDD`
 * expiry + `C`/`P` + strike × 1000 as 8 digits, e.g. `O:SPY240305C00512000` (SPY, 2024-03-05,
 * call, strike 512). Strikes are carried as integer thousandths so that 2.5 ↔ `00002500` is exact.
 */

export interface OptionTickerParts {
  readonly underlying: string
  /** YYYY-MM-DD. */
  readonly expirationDate: string
  readonly type: "call" | "put"
  /** Strike × 1000, an integer. */
  readonly strikeMilli: number
}

const OCC_RE = /^O:([A-Z0-9.]{1,6})(\d{2})(\d{2})(\d{2})([CP])(\d{8})$/

/** `O:SPY240305C00512000` from its parts (years 2000–2099). */
export const formatOptionTicker = (p: OptionTickerParts): string => {
  const yymmdd = p.expirationDate.slice(2, 4) + p.expirationDate.slice(5, 7) + p.expirationDate.slice(8, 10)
  return `O:${p.underlying}${yymmdd}${p.type === "call" ? "C" : "P"}${String(p.strikeMilli).padStart(8, "0")}`
}

/** The parts of an OCC ticker (the `O:` prefix may be left out, as the single-contract URL allows); undefined when it is not one. */
export const parseOptionTicker = (ticker: string): OptionTickerParts | undefined => {
  const m = OCC_RE.exec(ticker.startsWith("O:") ? ticker : `O:${ticker}`)
  if (m === null) return undefined
  const [, underlying, yy, mm, dd, cp, strike] = m
  const month = Number(mm)
  const day = Number(dd)
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined
  return {
    underlying: underlying!,
    expirationDate: `20${yy}-${mm}-${dd}`,
    type: cp === "C" ? "call" : "put",
    strikeMilli: Number(strike)
  }
}
