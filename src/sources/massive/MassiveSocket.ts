/**
 * MassiveSocket: the Massive (formerly Polygon.io) WebSocket feed. `Live` speaks the protocol
 * (connected → auth → auth_success → subscribe), reconnects with backoff for as long as the
 * stream is consumed, and re-subscribes after every reconnect; `Test` replays scripted frames.
 */
import { Context, type Stream } from "effect"
import type { Rejected } from "../../domain/Dataset.js"
import type { VendorAuthError } from "../../domain/errors.js"
import type { StockBar } from "../../domain/StockBar.js"

export type Cluster = "stocks" | "options" | "indices"

export type SocketEvent =
  /** Authenticated and subscribed (first connection and every reconnect). */
  | { readonly _tag: "Connected"; readonly at: number; readonly attempt: number }
  /** The connection was lost (or closed by the server); a reconnect follows. */
  | { readonly _tag: "Disconnected"; readonly at: number; readonly reason: string }
  /** Per-second (`A`) or per-minute (`AM`) aggregates of one frame, decoded, in frame order. */
  | { readonly _tag: "Bars"; readonly bars: ReadonlyArray<StockBar>; readonly receivedAt: number }
  /** Frames or events that could not be decoded (non-JSON, not an array, bad fields): quarantine. */
  | { readonly _tag: "Rejected"; readonly rejected: ReadonlyArray<Rejected>; readonly receivedAt: number }
  /** Events of a type this client does not know (schema drift): counted, skipped, reported. */
  | { readonly _tag: "Unknown"; readonly ev: string; readonly count: number; readonly sample: string }
  /** Status messages worth reporting (success, slow_consumer, max_connections, error …). */
  | { readonly _tag: "Status"; readonly status: string; readonly message: string; readonly at: number }

export interface SubscribeRequest {
  readonly cluster: Cluster
  /** Channels as the protocol writes them, e.g. "A.SPY". */
  readonly subscriptions: ReadonlyArray<string>
}

export interface MassiveSocketShape {
  /**
   * Connects and streams events until the consumer stops. Never ends by itself: connection
   * losses become `Disconnected` events followed by a reconnect. Fails only on `auth_failed`
   * (a wrong key is not retried).
   */
  readonly events: (request: SubscribeRequest) => Stream.Stream<SocketEvent, VendorAuthError>
}

export class MassiveSocket extends Context.Tag("tapehouse/MassiveSocket")<MassiveSocket, MassiveSocketShape>() {}
