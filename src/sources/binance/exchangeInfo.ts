/**
 * Per-symbol fixed-point scales from Binance's exchangeInfo (spec §1.5 spot, §2.5 USD-M), and how
 * many decimals the venue prints, so integers go back to Binance's own text.
 *
 * The scale is at least the decimals of PRICE_FILTER.tickSize (prices) or LOT_SIZE.stepSize
 * (sizes), and at most 8. Within that range it is the most decimals the venue prints that still
 * keep PRICE_FILTER.maxPrice (prices) or LEVEL_HEADROOM × LOT_SIZE.maxQty (sizes) below 2^53.
 * Why not the tick's and step's decimals alone: a book holds orders resting from before a tick or
 * step change. The real NKNUSDT capture (../shared/fixtures/binance) has 34 prices off its 0.0001
 * tick ("0.25974000") and 49 sizes off its step of 1 ("11979.30000000"); at the tick's scale those
 * levels could not be held, and the rebuilt book would not be the exchange's.
 */
import { Either, ParseResult, Schema } from "effect"
import { FixedPointError, MAX_SCALE, parseFixed, scaleOfIncrement } from "../../books/fixedPoint.js"
import { VendorDecodeError } from "../../domain/errors.js"

export type BinanceVenue = "binance-spot" | "binance-usdm"

export interface SymbolScales {
  readonly symbol: string
  /** Prices are held as integer × 10^-priceScale. */
  readonly priceScale: number
  /** Sizes are held as integer × 10^-sizeScale. */
  readonly sizeScale: number
  /** Decimals the venue prints prices with (spot 8: "0.35130000"; USD-M pricePrecision: "7.6110"). */
  readonly priceDecimals: number
  /** Decimals the venue prints sizes with (spot 8; USD-M quantityPrecision: "813"). */
  readonly sizeDecimals: number
}

const Filter = Schema.Struct({
  filterType: Schema.String,
  tickSize: Schema.optional(Schema.String),
  maxPrice: Schema.optional(Schema.String),
  stepSize: Schema.optional(Schema.String),
  maxQty: Schema.optional(Schema.String)
})

const SymbolInfo = Schema.Struct({
  symbol: Schema.String,
  filters: Schema.Array(Filter),
  // USD-M: the decimals of depth prices and quantities (not the tick: SUSHIUSDT has
  // pricePrecision 4, tickSize 0.0010; spec §2.5).
  pricePrecision: Schema.optional(Schema.Number),
  quantityPrecision: Schema.optional(Schema.Number),
  // Spot: depth strings carry the asset precisions (8 on every symbol seen; spec §1.2).
  baseAssetPrecision: Schema.optional(Schema.Number),
  quoteAssetPrecision: Schema.optional(Schema.Number),
  quotePrecision: Schema.optional(Schema.Number)
})

const ExchangeInfo = Schema.Struct({ symbols: Schema.Array(SymbolInfo) })

const SPOT_DECIMALS = 8
/** A level aggregates many orders: its size may reach this many times an order's maxQty. */
export const LEVEL_HEADROOM = 100

/**
 * The most decimals in [floor, printed] at which `limit` (× headroom) stays a safe integer; the
 * floor when the limit is absent, zero (the rule disabled) or too large even there.
 */
const scaleWithin = (floor: number, printed: number, limit: string | undefined, headroom: number): number => {
  let scale = Math.max(floor, Math.min(printed, MAX_SCALE))
  if (limit === undefined) return floor
  for (; scale > floor; scale--) {
    try {
      const scaled = parseFixed(limit, scale)
      if (scaled === 0) return floor
      if (scaled * headroom <= Number.MAX_SAFE_INTEGER) return scale
    } catch {
      // the limit itself does not fit at this scale: try fewer decimals
    }
  }
  return floor
}

const scalesOf = (venue: BinanceVenue, info: typeof SymbolInfo.Type): SymbolScales => {
  const priceFilter = info.filters.find((f) => f.filterType === "PRICE_FILTER")
  const lotSize = info.filters.find((f) => f.filterType === "LOT_SIZE")
  if (priceFilter?.tickSize === undefined) throw new Error(`${info.symbol} has no PRICE_FILTER tickSize`)
  if (lotSize?.stepSize === undefined) throw new Error(`${info.symbol} has no LOT_SIZE stepSize`)
  const tickScale = scaleOfIncrement(priceFilter.tickSize)
  const stepScale = scaleOfIncrement(lotSize.stepSize)
  const pricePrinted =
    venue === "binance-usdm"
      ? (info.pricePrecision ?? tickScale)
      : (info.quoteAssetPrecision ?? info.quotePrecision ?? SPOT_DECIMALS)
  const sizePrinted =
    venue === "binance-usdm"
      ? (info.quantityPrecision ?? stepScale)
      : (info.baseAssetPrecision ?? SPOT_DECIMALS)
  const priceScale = scaleWithin(tickScale, pricePrinted, priceFilter.maxPrice, 1)
  const sizeScale = scaleWithin(stepScale, sizePrinted, lotSize.maxQty, LEVEL_HEADROOM)
  return {
    symbol: info.symbol,
    priceScale,
    sizeScale,
    priceDecimals: Math.max(priceScale, pricePrinted),
    sizeDecimals: Math.max(sizeScale, sizePrinted)
  }
}

/**
 * The scales of every symbol in an exchangeInfo body (`GET /api/v3/exchangeInfo` or
 * `/fapi/v1/exchangeInfo`), keyed by symbol. A body without the filters, or with a tick or step
 * finer than 8 decimals, is a VendorDecodeError naming the symbol.
 */
export const symbolScales = (
  venue: BinanceVenue,
  body: unknown
): Either.Either<ReadonlyMap<string, SymbolScales>, VendorDecodeError> => {
  const request = venue === "binance-usdm" ? "GET /fapi/v1/exchangeInfo" : "GET /api/v3/exchangeInfo"
  const fail = (detail: string) => Either.left(new VendorDecodeError({ vendor: "Binance", request, detail }))
  const decoded = Schema.decodeUnknownEither(ExchangeInfo)(body)
  if (Either.isLeft(decoded)) return fail(ParseResult.TreeFormatter.formatErrorSync(decoded.left))
  const out = new Map<string, SymbolScales>()
  for (const info of decoded.right.symbols) {
    try {
      out.set(info.symbol, scalesOf(venue, info))
    } catch (e) {
      const detail =
        e instanceof FixedPointError ? `${info.symbol}: ${e.message}` : String((e as Error).message)
      return fail(detail)
    }
  }
  return Either.right(out)
}
