/**
 * Binance's REST request weight (spec §1.3, §2.3): each endpoint costs a weight (the depth
 * endpoint by its `limit`), counted per venue in the current clock minute and reported on every
 * answer as `X-MBX-USED-WEIGHT-1M`. Past the limit the answer is 429 with `Retry-After` (seconds
 * to the next minute); a request sent before that wait is over earns a 418 ban, whose length
 * doubles with each ban (from `banMs`, at most 3 days).
 */
import { Either } from "effect"
import { badControl, bodyOf, type ControlHandler } from "../core/controls.js"

export const USED_WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"

/** Spot `/api/v3/depth`: limit 1–100 → 5; 101–500 → 25; 501–1000 → 50; 1001–5000 → 250. */
export const spotDepthWeight = (limit: number): number =>
  limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1000 ? 50 : 250

/** The limits `/fapi/v1/depth` accepts. */
export const USDM_DEPTH_LIMITS: ReadonlyArray<number> = [5, 10, 20, 50, 100, 500, 1000]

/** USD-M `/fapi/v1/depth`: 5/10/20/50 → 2; 100 → 5; 500 → 10; 1000 → 20. */
export const usdmDepthWeight = (limit: number): number =>
  limit <= 50 ? 2 : limit <= 100 ? 5 : limit <= 500 ? 10 : 20

export type Charge =
  | { readonly _tag: "Ok"; readonly used: number }
  | { readonly _tag: "TooMany"; readonly used: number; readonly retryAfterSeconds: number }
  | {
      readonly _tag: "Banned"
      readonly used: number
      readonly retryAfterSeconds: number
      readonly untilMs: number
    }

export interface RequestWeight {
  /** Counts a request of `weight` at `nowMs` and says whether it may be answered. */
  readonly charge: (weight: number, nowMs: number) => Charge
  readonly used: (nowMs: number) => number
  readonly limit: () => number
  readonly setLimit: (limit: number) => void
  /** Bans so far. */
  readonly bans: () => number
}

const MINUTE = 60_000
const MAX_BAN_MS = 3 * 24 * 3600_000

export const makeRequestWeight = (options: {
  readonly limit: number
  readonly banMs: number
}): RequestWeight => {
  let limit = options.limit
  let window = -1
  let used = 0
  /** After a 429: requests before this time are banned. */
  let backoffUntil = 0
  let bannedUntil = 0
  let bans = 0
  const roll = (nowMs: number) => {
    const w = Math.floor(nowMs / MINUTE)
    if (w !== window) {
      window = w
      used = 0
    }
  }
  const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000))
  return {
    charge: (weight, nowMs) => {
      roll(nowMs)
      if (nowMs < bannedUntil)
        return { _tag: "Banned", used, retryAfterSeconds: seconds(bannedUntil - nowMs), untilMs: bannedUntil }
      if (nowMs < backoffUntil) {
        bans++
        bannedUntil = nowMs + Math.min(MAX_BAN_MS, options.banMs * 2 ** (bans - 1))
        backoffUntil = 0
        return { _tag: "Banned", used, retryAfterSeconds: seconds(bannedUntil - nowMs), untilMs: bannedUntil }
      }
      used += weight
      if (used > limit) {
        backoffUntil = (window + 1) * MINUTE
        return { _tag: "TooMany", used, retryAfterSeconds: seconds(backoffUntil - nowMs) }
      }
      return { _tag: "Ok", used }
    },
    used: (nowMs) => {
      roll(nowMs)
      return used
    },
    limit: () => limit,
    setLimit: (l) => {
      limit = l
    },
    bans: () => bans
  }
}

/** `POST {"venue": "spot" | "usdm", "limit": N}` sets a venue's weight limit per minute. */
export const weightLimitControl =
  (weight: Readonly<Record<"spot" | "usdm", RequestWeight>>): ControlHandler =>
  (request) => {
    if (request.method !== "POST") return undefined
    const body = bodyOf(request)
    const value =
      Either.isRight(body) && typeof body.right === "object" && body.right !== null ? body.right : {}
    const { venue, limit } = value as Record<string, unknown>
    if (
      (venue !== "spot" && venue !== "usdm") ||
      !(typeof limit === "number" && Number.isInteger(limit) && limit > 0)
    )
      return badControl(request.requestId, 'expected {"venue": "spot" | "usdm", "limit": <positive integer>}')
    weight[venue].setLimit(limit)
    return { status: 200, body: { status: "OK", venue, limit } }
  }
