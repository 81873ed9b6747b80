/**
 * Binance depth messages decoded to fixed-point integers: the diff-depth event (spec §1.2 spot,
 * §2.2 USD-M) and the REST snapshot (§1.3, §2.3). Plain functions over parsed JSON, no Schema per
 * message: this runs for every event on the capture and replay paths. Price and size strings go
 * straight to integers (fixedPoint.ts); a malformed message is a Left with the reason, for
 * quarantine.
 */
import { Either } from "effect"
import { FixedPointError, parseFixed } from "../../books/fixedPoint.js"
import { VendorDecodeError } from "../../domain/errors.js"
import type { SymbolScales } from "./exchangeInfo.js"

/** One `depthUpdate` event; prices and sizes as integers at the symbol's scales. */
export interface DepthEvent {
  readonly symbol: string
  /** Event time, ms (µs when the stream was opened with timeUnit=MICROSECOND). */
  readonly E: number
  /** USD-M transaction (matching-engine) time; undefined on spot. */
  readonly T: number | undefined
  /** First update id in the event. */
  readonly U: number
  /** Final update id in the event. */
  readonly u: number
  /** USD-M: the final update id of the previous event on the stream; undefined on spot. */
  readonly pu: number | undefined
  readonly bidPrices: Array<number>
  /** Absolute sizes; 0 deletes the level. */
  readonly bidSizes: Array<number>
  readonly askPrices: Array<number>
  readonly askSizes: Array<number>
}

/** A REST depth snapshot, levels best first per side. */
export interface DepthSnapshot {
  readonly lastUpdateId: number
  /** USD-M output time and transaction time; spot snapshots carry no time (spec §1.3). */
  readonly E: number | undefined
  readonly T: number | undefined
  readonly bidPrices: Array<number>
  readonly bidSizes: Array<number>
  readonly askPrices: Array<number>
  readonly askSizes: Array<number>
}

type Json = Record<string, unknown>

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v)
const isId = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0

class WireError extends Error {}

/** Parses `[[price, size], …]` into the two arrays; throws WireError or FixedPointError. */
const levels = (raw: unknown, key: string, scales: SymbolScales, prices: number[], sizes: number[]): void => {
  if (!Array.isArray(raw)) throw new WireError(`"${key}" is not an array of levels`)
  for (let i = 0; i < raw.length; i++) {
    const level: unknown = raw[i]
    if (!Array.isArray(level) || typeof level[0] !== "string" || typeof level[1] !== "string") {
      throw new WireError(`"${key}"[${i}] is not a [price, quantity] pair of strings`)
    }
    prices.push(parseFixed(level[0], scales.priceScale))
    sizes.push(parseFixed(level[1], scales.sizeScale))
  }
}

const reason = (e: unknown): string =>
  e instanceof WireError || e instanceof FixedPointError ? e.message : `unexpected: ${String(e)}`

/** The payload of a frame: a combined-stream frame `{stream, data}` is unwrapped, a raw one returned. */
export const framePayload = (frame: unknown): unknown =>
  isObject(frame) && typeof frame["stream"] === "string" && "data" in frame ? frame["data"] : frame

/**
 * A `depthUpdate` payload at `scales`. Spot events have no `T`/`pu`; USD-M events have both. A
 * missing field, a non-integer id or a price the scale cannot hold exactly is a Left reason.
 */
export const decodeDepthEvent = (data: unknown, scales: SymbolScales): Either.Either<DepthEvent, string> => {
  if (!isObject(data)) return Either.left("the depth event is not a JSON object")
  if (data["e"] !== "depthUpdate")
    return Either.left(`event type ${JSON.stringify(data["e"])} is not depthUpdate`)
  const { s, E, T, U, u, pu } = data
  if (typeof s !== "string") return Either.left(`"s" (symbol) is missing`)
  if (!isId(E)) return Either.left(`"E" (event time) is not an integer`)
  if (!isId(U) || !isId(u)) return Either.left(`"U"/"u" (update ids) are not integers`)
  if (u < U) return Either.left(`final update id u=${u} is below the first U=${U}`)
  if (T !== undefined && !isId(T)) return Either.left(`"T" (transaction time) is not an integer`)
  if (pu !== undefined && !isId(pu)) return Either.left(`"pu" (previous final update id) is not an integer`)
  const event: DepthEvent = {
    symbol: s,
    E,
    T,
    U,
    u,
    pu,
    bidPrices: [],
    bidSizes: [],
    askPrices: [],
    askSizes: []
  }
  try {
    levels(data["b"], "b", scales, event.bidPrices, event.bidSizes)
    levels(data["a"], "a", scales, event.askPrices, event.askSizes)
  } catch (e) {
    return Either.left(`${s} U=${U}: ${reason(e)}`)
  }
  return Either.right(event)
}

/** A `GET /api/v3/depth` or `/fapi/v1/depth` body at `scales`. */
export const decodeDepthSnapshot = (
  body: unknown,
  scales: SymbolScales,
  request = `GET depth ${scales.symbol}`
): Either.Either<DepthSnapshot, VendorDecodeError> => {
  const fail = (detail: string) => Either.left(new VendorDecodeError({ vendor: "Binance", request, detail }))
  if (!isObject(body)) return fail("the snapshot is not a JSON object")
  const { lastUpdateId, E, T } = body
  if (!isId(lastUpdateId)) return fail(`"lastUpdateId" is not an integer`)
  if (E !== undefined && !isId(E)) return fail(`"E" is not an integer`)
  if (T !== undefined && !isId(T)) return fail(`"T" is not an integer`)
  const snapshot: DepthSnapshot = {
    lastUpdateId,
    E,
    T,
    bidPrices: [],
    bidSizes: [],
    askPrices: [],
    askSizes: []
  }
  try {
    levels(body["bids"], "bids", scales, snapshot.bidPrices, snapshot.bidSizes)
    levels(body["asks"], "asks", scales, snapshot.askPrices, snapshot.askSizes)
  } catch (e) {
    return fail(reason(e))
  }
  return Either.right(snapshot)
}
