/**
 * The scaffolding of a streaming handshake, vendor-neutral: a connection is greeted, may have to
 * authenticate, then subscribes and unsubscribes channels (one by one, or a whole event type with
 * a wildcard). The vendor's layer supplies how client frames read (`parse`), what the server
 * answers (`frames`), and the decisions (`authorize`, caps, what follows a subscribe).
 */
import type { WsPeer } from "./wsPeer.js"

/** A client frame, as the vendor's `parse` reads it. */
export type ClientCommand =
  | { readonly _tag: "Auth"; readonly key: string | undefined }
  | { readonly _tag: "Subscribe" | "Unsubscribe"; readonly channels: ReadonlyArray<string> | undefined }
  /** Unreadable or unknown: answered with `frames.error(message)`. */
  | { readonly _tag: "Invalid"; readonly message: string }

/** A channel as subscribed: an event type and a ticker, or the event type's wildcard. */
export interface Channel {
  readonly ev: string
  readonly wildcard: boolean
}

export interface Subscriber extends WsPeer {
  authenticated: boolean
  /** The key it authenticated with (limits and entitlements are per key). */
  key: string | undefined
  readonly channels: Set<string>
  /** Event types subscribed with a wildcard. */
  readonly wildcards: Set<string>
}

export interface HandshakeProtocol {
  readonly parse: (text: string) => ClientCommand
  /** A channel's event type and whether it is a wildcard; undefined: not a channel. */
  readonly channel: (text: string) => Channel | undefined
  readonly frames: {
    readonly authSuccess: string
    /** `reason`: why, when the layer says (an entitlement); undefined: a bad key. */
    readonly authFailed: (reason: string | undefined) => string
    readonly authRequired: string
    readonly subscribed: (channel: string) => string
    readonly unsubscribed: (channel: string) => string
    readonly error: (message: string) => string
    /** A subscribe or unsubscribe without a readable channel list. */
    readonly badChannels: string
  }
}

export interface HandshakeHooks<S extends Subscriber> {
  /** An auth attempt: accept the key, refuse it (`authFailed`, with a reason or not), or leave it unanswered. */
  readonly authorize: (
    peer: S,
    key: string | undefined
  ) => "accept" | "silent" | { readonly refused: string | undefined }
  /** After `authSuccess` went out (per-key limits). */
  readonly authenticated: (peer: S) => void
  /** Before a channel is added: an error message refuses it (a cap). */
  readonly refuseChannel: (peer: S, channel: string, parsed: Channel) => string | undefined
  /** After a subscribe frame was handled. */
  readonly subscribed: (peer: S) => void
}

/** Whether `peer` is open, authenticated and subscribed to something. */
export const isSubscribed = (peer: Subscriber): boolean =>
  peer.open && !peer.ending && peer.authenticated && (peer.channels.size > 0 || peer.wildcards.size > 0)

/** Handles one client frame of `peer`; `send` writes a server frame to it. */
export const handleClientFrame = <S extends Subscriber>(
  peer: S,
  text: string,
  protocol: HandshakeProtocol,
  hooks: HandshakeHooks<S>,
  send: (peer: S, frame: string) => void
) => {
  const command = protocol.parse(text)
  const { frames } = protocol
  switch (command._tag) {
    case "Invalid":
      return send(peer, frames.error(command.message))
    case "Auth": {
      const decision = hooks.authorize(peer, command.key)
      if (decision === "silent") return
      if (decision !== "accept" || command.key === undefined) {
        peer.authenticated = false
        return send(peer, frames.authFailed(decision === "accept" ? undefined : decision.refused))
      }
      peer.authenticated = true
      peer.key = command.key
      send(peer, frames.authSuccess)
      return hooks.authenticated(peer)
    }
    case "Subscribe":
    case "Unsubscribe": {
      if (!peer.authenticated) return send(peer, frames.authRequired)
      if (command.channels === undefined) return send(peer, frames.badChannels)
      const subscribe = command._tag === "Subscribe"
      for (const channel of command.channels) {
        const parsed = protocol.channel(channel)
        if (parsed === undefined) {
          send(peer, frames.error(`invalid channel: ${channel}`))
          continue
        }
        if (subscribe) {
          const refused = hooks.refuseChannel(peer, channel, parsed)
          if (refused !== undefined) {
            send(peer, frames.error(refused))
            continue
          }
          if (parsed.wildcard) peer.wildcards.add(parsed.ev)
          else peer.channels.add(channel)
          send(peer, frames.subscribed(channel))
        } else {
          if (parsed.wildcard) peer.wildcards.delete(parsed.ev)
          else peer.channels.delete(channel)
          send(peer, frames.unsubscribed(channel))
        }
      }
      if (subscribe && isSubscribed(peer)) hooks.subscribed(peer)
      return
    }
  }
}
