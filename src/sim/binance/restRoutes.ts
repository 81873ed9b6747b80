/**
 * The REST routes of the Binance simulator (spec §1.3, §2.3): `/api/v3/…` (spot) and `/fapi/v1/…`
 * (USD-M) `ping`, `time`, `exchangeInfo` and `depth`, each with its request weight, and Binance's
 * JSON errors (`{"code":…,"msg":…}`), including the 429 and 418 of the weight limit.
 */
import { Either } from "effect"
import { json, type Reply } from "../core/reply.js"
import type { BinanceFaults } from "./binanceFaults.js"
import { exchangeInfo, type Venue } from "./catalog.js"
import type { DepthMarket } from "./depthMarket.js"
import {
  type Charge,
  type RequestWeight,
  spotDepthWeight,
  USDM_DEPTH_LIMITS,
  usdmDepthWeight
} from "./requestWeight.js"

export const binanceError = (status: number, code: number, msg: string): Reply => json(status, { code, msg })

/** What a scripted HTTP status fault answers with. */
export const statusBody = (status: number): Reply =>
  status === 429 || status === 418
    ? binanceError(
        status,
        -1003,
        "Too much request weight used; please use WebSocket Streams for live updates."
      )
    : status >= 500
      ? binanceError(status, -1000, "An unknown error occurred while processing the request.")
      : binanceError(status, -1000, `HTTP ${status}.`)

export interface Route {
  readonly venue: Venue
  /** Counted before answering, whatever the answer. */
  readonly weight: number
  readonly answer: () => Reply
}

const STALE_FAULTS: ReadonlySet<"stale-snapshot"> = new Set(["stale-snapshot"])

export const makeRestRoutes = (deps: {
  readonly market: DepthMarket
  readonly weight: Readonly<Record<Venue, RequestWeight>>
  readonly faults: BinanceFaults
  readonly now: () => number
}) => {
  const { market, weight, faults, now } = deps
  const symbolParam = (venue: Venue, url: URL): Either.Either<string, Reply> => {
    const symbol = url.searchParams.get("symbol")
    if (symbol === null || symbol.length === 0)
      return Either.left(
        binanceError(400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
      )
    if (!market.has(venue, symbol)) return Either.left(binanceError(400, -1121, "Invalid symbol."))
    return Either.right(symbol)
  }

  const depthRoute = (venue: Venue, url: URL): Route => {
    const raw = url.searchParams.get("limit")
    const parsed =
      raw === null ? (venue === "spot" ? 100 : 500) : /^\d{1,9}$/.test(raw) ? Number(raw) : Number.NaN
    const invalid =
      Number.isNaN(parsed) || parsed < 1
        ? binanceError(
            400,
            -1100,
            "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'."
          )
        : venue === "usdm" && !USDM_DEPTH_LIMITS.includes(parsed)
          ? binanceError(400, -1130, "Data sent for parameter 'limit' is not valid.")
          : undefined
    // Spot clamps a larger limit to 5000 (spec §1.3).
    const limit =
      invalid !== undefined
        ? venue === "spot"
          ? 100
          : 500
        : venue === "spot"
          ? Math.min(parsed, 5000)
          : parsed
    const weight = venue === "spot" ? spotDepthWeight(limit) : usdmDepthWeight(limit)
    return {
      venue,
      weight,
      answer: () => {
        if (invalid !== undefined) return invalid
        const symbol = symbolParam(venue, url)
        if (Either.isLeft(symbol)) return symbol.left
        const stale = faults.take(`${venue}:${symbol.right}`, STALE_FAULTS)
        const snap = market.snapshot(
          venue,
          symbol.right,
          limit,
          stale === undefined ? undefined : (stale.ageMs ?? 10_000)
        )
        return { status: 200, body: snap!.body }
      }
    }
  }

  const route = (url: URL): Route | undefined => {
    const m = /^\/(api\/v3|fapi\/v1)\/(ping|time|exchangeInfo|depth)$/.exec(url.pathname)
    if (m === null) return undefined
    const venue: Venue = m[1] === "api/v3" ? "spot" : "usdm"
    switch (m[2]) {
      case "ping":
        return { venue, weight: 1, answer: () => ({ status: 200, body: "{}" }) }
      case "time":
        return { venue, weight: 1, answer: () => json(200, { serverTime: now() }) }
      case "exchangeInfo":
        return {
          venue,
          weight: venue === "spot" ? 20 : 1,
          answer: () => json(200, exchangeInfo(venue, market.specs(venue), weight[venue].limit(), now()))
        }
      default:
        return depthRoute(venue, url)
    }
  }

  const refused = (charge: Exclude<Charge, { _tag: "Ok" }>, venue: Venue): Reply => {
    const limit = weight[venue].limit()
    const reply =
      charge._tag === "TooMany"
        ? binanceError(
            429,
            -1003,
            `Too much request weight used; current limit is ${limit} request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.`
          )
        : binanceError(
            418,
            -1003,
            `Way too much request weight used; IP banned until ${charge.untilMs}. Please use WebSocket Streams for live updates to avoid bans.`
          )
    return { ...reply, headers: { "Retry-After": String(charge.retryAfterSeconds) } }
  }

  return { route, refused }
}
