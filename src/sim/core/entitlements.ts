/**
 * Which keys may use which parts of a feed (a Massive cluster, a Binance stream …), as a vendor
 * plan decides: a key listed is entitled to its parts only; a key not listed, to every part.
 * Changed from code (`set`) or over HTTP (`/__sim/ws-entitlements`, `entitlementsControl`).
 */
import { Either, Schema } from "effect"
import { badControl, bodyOf, type ControlHandler } from "./controls.js"

export interface Entitlements {
  readonly allows: (key: string, part: string) => boolean
  /** Limits `key` to `parts`; undefined lifts its limit. */
  readonly set: (key: string, parts: ReadonlyArray<string> | undefined) => void
  /** The limited keys with their parts. */
  readonly list: () => Readonly<Record<string, ReadonlyArray<string>>>
}

export const makeEntitlements = (
  initial: Readonly<Record<string, ReadonlyArray<string>>> = {}
): Entitlements => {
  const limited = new Map<string, ReadonlySet<string>>(
    Object.entries(initial).map(([key, parts]) => [key, new Set(parts)])
  )
  return {
    allows: (key, part) => limited.get(key)?.has(part) ?? true,
    set: (key, parts) => {
      if (parts === undefined) limited.delete(key)
      else limited.set(key, new Set(parts))
    },
    list: () => Object.fromEntries([...limited].map(([key, parts]) => [key, [...parts].sort()]))
  }
}

const EntitlementRequest = Schema.Struct({
  key: Schema.NonEmptyString,
  /** The parts the key may use; null lifts its limit. */
  parts: Schema.NullOr(Schema.Array(Schema.String))
})

/** `GET` lists the limited keys; `POST {"key": "...", "parts": ["stocks"] | null}` sets one. */
export const entitlementsControl =
  (entitlements: Entitlements, parts: ReadonlyArray<string>): ControlHandler =>
  (request) => {
    if (request.method === "GET") return { status: 200, body: entitlements.list() }
    if (request.method !== "POST") return undefined
    const body = bodyOf(request)
    if (Either.isLeft(body)) return badControl(request.requestId, body.left)
    const decoded = Schema.decodeUnknownEither(EntitlementRequest)(body.right)
    const unknown = Either.isRight(decoded)
      ? (decoded.right.parts ?? []).filter((p) => !parts.includes(p))
      : []
    if (Either.isLeft(decoded) || unknown.length > 0)
      return badControl(
        request.requestId,
        `expected {"key": "<api key>", "parts": [${parts.map((p) => `"${p}"`).join(", ")}] or null}${unknown.length > 0 ? `; unknown part(s): ${unknown.join(", ")}` : ""}`
      )
    entitlements.set(decoded.right.key, decoded.right.parts ?? undefined)
    return { status: 200, body: { status: "OK", entitled: entitlements.list() } }
  }
