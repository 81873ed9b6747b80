/**
 * Massive's WebSocket messages (spec §11) for the core handshake: the cluster paths, the client
 * actions (`auth`, `subscribe`, `unsubscribe` with comma lists of `EV.TICKER` or `EV.*`), and the
 * status frames the server answers, each a JSON array.
 */
import type { Cluster } from "./aggregateTimeline.js"
import type { HandshakeProtocol } from "./core/wsHandshake.js"

export const CLUSTERS: Readonly<Record<string, Cluster>> = {
  "/stocks": "stocks",
  "/options": "options",
  "/indices": "indices"
}

export const statusFrame = (status: string, message: string): string =>
  JSON.stringify([{ ev: "status", status, message }])

/** The vendor's client messages and status frames (spec §11), for the core handshake. */
export const PROTOCOL: HandshakeProtocol = {
  parse: (text) => {
    let msg: unknown
    try {
      msg = JSON.parse(text)
    } catch {
      return { _tag: "Invalid", message: "invalid message: not JSON" }
    }
    const fields: Readonly<Record<string, unknown>> =
      typeof msg === "object" && msg !== null ? (msg as Record<string, unknown>) : {}
    const { action, params } = fields
    if (action === "auth") return { _tag: "Auth", key: typeof params === "string" ? params : undefined }
    if (action === "subscribe" || action === "unsubscribe")
      return {
        _tag: action === "subscribe" ? "Subscribe" : "Unsubscribe",
        channels:
          typeof params === "string"
            ? params
                .split(",")
                .map((p) => p.trim())
                .filter((p) => p.length > 0)
            : undefined
      }
    return { _tag: "Invalid", message: `unknown action: ${String(action)}` }
  },
  channel: (channel) => {
    const dot = channel.indexOf(".")
    if (dot <= 0 || dot === channel.length - 1) return undefined
    return { ev: channel.slice(0, dot), wildcard: channel.slice(dot + 1) === "*" }
  },
  frames: {
    authSuccess: statusFrame("auth_success", "authenticated"),
    // The vendor's text for a bad key; a refused entitlement says which (our wording).
    authFailed: (reason) =>
      statusFrame(
        "auth_failed",
        reason === undefined ? "authentication failed" : `authentication failed: ${reason}`
      ),
    authRequired: statusFrame("auth_required", "authentication required"),
    subscribed: (channel) => statusFrame("success", `subscribed to: ${channel}`),
    unsubscribed: (channel) => statusFrame("success", `unsubscribed to: ${channel}`),
    error: (message) => statusFrame("error", message),
    badChannels: statusFrame("error", "params must be a comma-separated string of channels")
  }
}
