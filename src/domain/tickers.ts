/**
 * Tickers as vendors spell them: upper case, with the asset-class prefix kept (`I:VIX` for an
 * index, `O:SPY240621C00500000` for an option contract). A user typing `spy` or `i:vix` means
 * `SPY` and `I:VIX`; asking the vendor for `spy` returns nothing, which used to pass for an
 * empty day.
 */

const TICKER_RE = /^[A-Z0-9.:_-]{1,32}$/

/** `spy` → `SPY`, ` i:vix ` → `I:VIX`. */
export const normalizeTicker = (text: string): string => text.trim().toUpperCase()

/** True for a normalised ticker: letters, digits, `.`, `:`, `_` or `-`, at most 32. */
export const isTicker = (ticker: string): boolean => TICKER_RE.test(ticker)
