/**
 * The instruments of the Binance simulator, per venue (spot, USDⓈ-M futures): tick and step sizes
 * as exchangeInfo states them (spec §1.5, §2.5), how their decimal strings are written on the wire
 * (spot: 8 decimals; futures: the contract's pricePrecision / quantityPrecision), where the
 * synthetic book starts, and the exchangeInfo bodies built from them.
 */

export type Venue = "spot" | "usdm"

export const VENUES: ReadonlyArray<Venue> = ["spot", "usdm"]

export interface SymbolSpec {
  readonly symbol: string
  readonly baseAsset: string
  readonly quoteAsset: string
  /** Decimals of prices on the wire (spot 8; futures pricePrecision). */
  readonly priceDecimals: number
  /** Decimals of quantities on the wire (spot 8; futures quantityPrecision). */
  readonly qtyDecimals: number
  /** The tick in units of 10^-priceDecimals. */
  readonly tickUnits: number
  /** The step in units of 10^-qtyDecimals. */
  readonly stepUnits: number
  /** Where the synthetic mid starts, in ticks. */
  readonly midTicks: number
  /** The largest level size the synthetic book sets, in steps. */
  readonly maxSteps: number
  /** The update id the book starts after (its first event is this + 1 or more). */
  readonly firstUpdateId: number
}

/** `units` × 10^-decimals as a decimal string, exactly (integer arithmetic only). */
export const formatUnits = (units: number, decimals: number): string => {
  if (decimals === 0) return String(units)
  const s = String(units).padStart(decimals + 1, "0")
  return `${s.slice(0, -decimals)}.${s.slice(-decimals)}`
}

export const tickSize = (s: SymbolSpec): string => formatUnits(s.tickUnits, s.priceDecimals)
export const stepSize = (s: SymbolSpec): string => formatUnits(s.stepUnits, s.qtyDecimals)
/** A price in ticks as its wire string. */
export const priceText = (s: SymbolSpec, ticks: number): string =>
  formatUnits(ticks * s.tickUnits, s.priceDecimals)
/** A size in steps as its wire string. */
export const qtyText = (s: SymbolSpec, steps: number): string =>
  formatUnits(steps * s.stepUnits, s.qtyDecimals)

/** Spot: BTCUSDT and ETHUSDT as listed, NKNUSDT as in the recorded fixture (tick 0.0001, step 1). */
export const SPOT_SYMBOLS: ReadonlyArray<SymbolSpec> = [
  {
    symbol: "BTCUSDT",
    baseAsset: "BTC",
    quoteAsset: "USDT",
    priceDecimals: 8,
    qtyDecimals: 8,
    tickUnits: 1_000_000, // 0.01
    stepUnits: 1_000, // 0.00001
    midTicks: 6_000_000, // 60000.00
    maxSteps: 200_000, // 2 BTC
    firstUpdateId: 41_000_000_000
  },
  {
    symbol: "ETHUSDT",
    baseAsset: "ETH",
    quoteAsset: "USDT",
    priceDecimals: 8,
    qtyDecimals: 8,
    tickUnits: 1_000_000, // 0.01
    stepUnits: 10_000, // 0.0001
    midTicks: 300_000, // 3000.00
    maxSteps: 100_000, // 10 ETH
    firstUpdateId: 29_000_000_000
  },
  {
    symbol: "NKNUSDT",
    baseAsset: "NKN",
    quoteAsset: "USDT",
    priceDecimals: 8,
    qtyDecimals: 8,
    tickUnits: 10_000, // 0.0001
    stepUnits: 100_000_000, // 1
    midTicks: 3_520, // 0.3520
    maxSteps: 50_000,
    firstUpdateId: 499_869_000
  }
]

/** USDⓈ-M perpetuals: BTCUSDT and SUSHIUSDT with the fixture's filters, ETHUSDT alike. */
export const USDM_SYMBOLS: ReadonlyArray<SymbolSpec> = [
  {
    symbol: "BTCUSDT",
    baseAsset: "BTC",
    quoteAsset: "USDT",
    priceDecimals: 2,
    qtyDecimals: 3,
    tickUnits: 1, // 0.01
    stepUnits: 1, // 0.001
    midTicks: 6_000_000,
    maxSteps: 5_000,
    firstUpdateId: 7_200_000_000_000
  },
  {
    symbol: "ETHUSDT",
    baseAsset: "ETH",
    quoteAsset: "USDT",
    priceDecimals: 2,
    qtyDecimals: 3,
    tickUnits: 1, // 0.01
    stepUnits: 1, // 0.001
    midTicks: 300_000,
    maxSteps: 50_000,
    firstUpdateId: 7_100_000_000_000
  },
  {
    symbol: "SUSHIUSDT",
    baseAsset: "SUSHI",
    quoteAsset: "USDT",
    priceDecimals: 4,
    qtyDecimals: 0,
    tickUnits: 10, // 0.0010
    stepUnits: 1, // 1
    midTicks: 7_612, // 7.6120
    maxSteps: 5_000,
    firstUpdateId: 600_859_000_000
  }
]

export const CATALOG: Readonly<Record<Venue, ReadonlyArray<SymbolSpec>>> = {
  spot: SPOT_SYMBOLS,
  usdm: USDM_SYMBOLS
}

/** Every symbol name either venue lists. */
export const KNOWN_SYMBOLS: ReadonlyArray<string> = [
  ...new Set([...SPOT_SYMBOLS, ...USDM_SYMBOLS].map((s) => s.symbol))
]

/** The default request-weight limits per minute (spec §1.3, §2.1). */
export const DEFAULT_WEIGHT_LIMIT: Readonly<Record<Venue, number>> = { spot: 6000, usdm: 2400 }

const spotSymbolInfo = (s: SymbolSpec) => ({
  symbol: s.symbol,
  status: "TRADING",
  baseAsset: s.baseAsset,
  baseAssetPrecision: 8,
  quoteAsset: s.quoteAsset,
  quotePrecision: 8,
  quoteAssetPrecision: 8,
  baseCommissionPrecision: 8,
  quoteCommissionPrecision: 8,
  orderTypes: ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
  icebergAllowed: true,
  ocoAllowed: true,
  quoteOrderQtyMarketAllowed: true,
  isSpotTradingAllowed: true,
  isMarginTradingAllowed: true,
  filters: [
    {
      filterType: "PRICE_FILTER",
      minPrice: tickSize(s),
      maxPrice: formatUnits(1_000_000 * 10 ** s.priceDecimals, s.priceDecimals),
      tickSize: tickSize(s)
    },
    {
      filterType: "LOT_SIZE",
      minQty: stepSize(s),
      maxQty: formatUnits(9_000_000 * 10 ** s.qtyDecimals, s.qtyDecimals),
      stepSize: stepSize(s)
    }
  ],
  permissions: ["SPOT", "MARGIN"]
})

const usdmSymbolInfo = (s: SymbolSpec) => ({
  symbol: s.symbol,
  pair: s.symbol,
  contractType: "PERPETUAL",
  deliveryDate: 4133404800000,
  onboardDate: 1569398400000,
  status: "TRADING",
  maintMarginPercent: "2.5000",
  requiredMarginPercent: "5.0000",
  baseAsset: s.baseAsset,
  quoteAsset: s.quoteAsset,
  marginAsset: s.quoteAsset,
  pricePrecision: s.priceDecimals,
  quantityPrecision: s.qtyDecimals,
  baseAssetPrecision: 8,
  quotePrecision: 8,
  underlyingType: "COIN",
  underlyingSubType: [],
  settlePlan: 0,
  triggerProtect: "0.0500",
  liquidationFee: "0.012000",
  marketTakeBound: "0.30",
  filters: [
    { minPrice: tickSize(s), maxPrice: "1000000", filterType: "PRICE_FILTER", tickSize: tickSize(s) },
    { stepSize: stepSize(s), filterType: "LOT_SIZE", maxQty: "10000000", minQty: stepSize(s) }
  ],
  orderTypes: ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET"],
  timeInForce: ["GTC", "IOC", "FOK", "GTX"]
})

/** `GET /api/v3/exchangeInfo` or `/fapi/v1/exchangeInfo` for `symbols`. */
export const exchangeInfo = (
  venue: Venue,
  symbols: ReadonlyArray<SymbolSpec>,
  weightLimit: number,
  serverTime: number
): unknown =>
  venue === "spot"
    ? {
        timezone: "UTC",
        serverTime,
        rateLimits: [
          { rateLimitType: "REQUEST_WEIGHT", interval: "MINUTE", intervalNum: 1, limit: weightLimit },
          { rateLimitType: "ORDERS", interval: "SECOND", intervalNum: 10, limit: 100 },
          { rateLimitType: "ORDERS", interval: "DAY", intervalNum: 1, limit: 200000 },
          { rateLimitType: "RAW_REQUESTS", interval: "MINUTE", intervalNum: 5, limit: 61000 }
        ],
        exchangeFilters: [],
        symbols: symbols.map(spotSymbolInfo)
      }
    : {
        timezone: "UTC",
        serverTime,
        futuresType: "U_MARGINED",
        rateLimits: [
          { rateLimitType: "REQUEST_WEIGHT", interval: "MINUTE", intervalNum: 1, limit: weightLimit },
          { rateLimitType: "ORDERS", interval: "MINUTE", intervalNum: 1, limit: 1200 },
          { rateLimitType: "ORDERS", interval: "SECOND", intervalNum: 10, limit: 300 }
        ],
        exchangeFilters: [],
        assets: [{ asset: "USDT", marginAvailable: true, autoAssetExchange: "-10000" }],
        symbols: symbols.map(usdmSymbolInfo)
      }
