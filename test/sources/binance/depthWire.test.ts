import { Either } from "effect"
import { describe, expect, it } from "vitest"
import {
  decodeDepthEvent,
  decodeDepthSnapshot,
  framePayload
} from "../../../src/sources/binance/depthWire.js"
import { symbolScales } from "../../../src/sources/binance/exchangeInfo.js"

const scales = { symbol: "BTCUSDT", priceScale: 2, sizeScale: 3, priceDecimals: 2, sizeDecimals: 3 }

const spotEvent = {
  e: "depthUpdate",
  E: 1700000000123,
  s: "BTCUSDT",
  U: 10,
  u: 12,
  b: [["42000.10", "1.500"]],
  a: [
    ["42000.20", "0"],
    ["42001.00", "0.001"]
  ]
}

describe("decodeDepthEvent", () => {
  it("decodes spot and USD-M events to integers, unwrapping combined-stream frames", () => {
    const frame = { stream: "btcusdt@depth@100ms", data: spotEvent }
    expect(Either.getOrThrow(decodeDepthEvent(framePayload(frame), scales))).toEqual({
      symbol: "BTCUSDT",
      E: 1700000000123,
      T: undefined,
      U: 10,
      u: 12,
      pu: undefined,
      bidPrices: [4200010],
      bidSizes: [1500],
      askPrices: [4200020, 4200100],
      askSizes: [0, 1]
    })
    const usdm = Either.getOrThrow(decodeDepthEvent({ ...spotEvent, T: 1700000000100, pu: 9 }, scales))
    expect([usdm.T, usdm.pu]).toEqual([1700000000100, 9])
    expect(framePayload(spotEvent)).toBe(spotEvent)
  })

  it("gives a reason for every malformed event", () => {
    const reason = (data: unknown) => Either.getLeft(decodeDepthEvent(data, scales))
    expect(reason("x")._tag).toBe("Some")
    expect(reason({ ...spotEvent, e: "trade" })).toEqual(
      expect.objectContaining({ value: 'event type "trade" is not depthUpdate' })
    )
    expect(reason({ ...spotEvent, U: "10" })).toMatchObject({
      value: '"U"/"u" (update ids) are not integers'
    })
    expect(reason({ ...spotEvent, U: 13 })).toMatchObject({
      value: "final update id u=12 is below the first U=13"
    })
    expect(reason({ ...spotEvent, pu: 1.5 })).toMatchObject({
      value: '"pu" (previous final update id) is not an integer'
    })
    expect(reason({ ...spotEvent, b: [["1.0"]] })).toMatchObject({
      value: 'BTCUSDT U=10: "b"[0] is not a [price, quantity] pair of strings'
    })
    expect(reason({ ...spotEvent, a: [["1.005", "1"]] })).toMatchObject({
      value: 'BTCUSDT U=10: cannot hold "1.005" as an integer × 10^-2: more than 2 decimals'
    })
  })
})

describe("decodeDepthSnapshot", () => {
  it("decodes a USD-M snapshot with its times, and fails naming what is wrong", () => {
    const body = { lastUpdateId: 99, E: 5, T: 4, bids: [["1.00", "2"]], asks: [] }
    expect(Either.getOrThrow(decodeDepthSnapshot(body, scales))).toEqual({
      lastUpdateId: 99,
      E: 5,
      T: 4,
      bidPrices: [100],
      bidSizes: [2000],
      askPrices: [],
      askSizes: []
    })
    const error = Either.getLeft(
      decodeDepthSnapshot({ ...body, bids: [["1.001", "2"]] }, scales, "GET /api/v3/depth?symbol=BTCUSDT")
    )
    expect(error._tag === "Some" && error.value.message).toBe(
      'Binance response to GET /api/v3/depth?symbol=BTCUSDT is not what the protocol describes: cannot hold "1.001" as an integer × 10^-2: more than 2 decimals'
    )
    expect(Either.isLeft(decodeDepthSnapshot({ bids: [], asks: [] }, scales))).toBe(true)
  })
})

describe("symbolScales", () => {
  const info = (filters: unknown[]) => ({
    symbols: [{ symbol: "PEPEUSDT", baseAssetPrecision: 8, quoteAssetPrecision: 8, filters }]
  })
  const price = { filterType: "PRICE_FILTER", tickSize: "0.00000001", maxPrice: "1.00000000" }

  it("keeps a huge maxQty below 2^53 by fewer size decimals, never fewer than the step's", () => {
    const lot = { filterType: "LOT_SIZE", stepSize: "1.00000000", maxQty: "92141578.00000000" }
    const scales = Either.getOrThrow(symbolScales("binance-spot", info([price, lot])))
    // 100 × 92,141,578 × 10^s <= 2^53 - 1 holds up to s = 5.
    expect(scales.get("PEPEUSDT")).toEqual({
      symbol: "PEPEUSDT",
      priceScale: 8,
      sizeScale: 5,
      priceDecimals: 8,
      sizeDecimals: 8
    })
    const noLimit = { filterType: "LOT_SIZE", stepSize: "0.01000000", maxQty: "0" }
    expect(
      Either.getOrThrow(symbolScales("binance-spot", info([price, noLimit]))).get("PEPEUSDT")?.sizeScale
    ).toBe(2)
  })

  it("fails naming the symbol when a filter is missing or too fine", () => {
    const missing = Either.getLeft(symbolScales("binance-spot", info([price])))
    expect(missing._tag === "Some" && missing.value.message).toMatch(/PEPEUSDT has no LOT_SIZE stepSize/)
    const fine = Either.getLeft(
      symbolScales(
        "binance-usdm",
        info([
          { ...price, tickSize: "0.000000001" },
          { filterType: "LOT_SIZE", stepSize: "1" }
        ])
      )
    )
    expect(fine._tag === "Some" && fine.value.message).toMatch(
      /PEPEUSDT: cannot hold "0.000000001".*more than 8 decimals/
    )
    expect(Either.isLeft(symbolScales("binance-spot", { symbols: "x" }))).toBe(true)
  })
})
