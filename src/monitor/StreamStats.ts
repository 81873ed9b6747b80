/**
 * Live counters of a stream, updated synchronously on the hot path (once per frame or chunk,
 * never with an Effect per message) and read by the monitors on their ticks.
 */
export type ConnectionState = "waiting-for-open" | "connecting" | "connected" | "disconnected" | "closed"

export interface StreamStats {
  /** Source name, e.g. "massive-stocks"; names the heartbeat file. */
  readonly source: string
  connection: ConnectionState
  /** Frames received since start. */
  frames: number
  /** Data events (bars) received since start. */
  messages: number
  /** Wall-clock time (Clock) of the last data event, epoch ms. */
  lastMessageAt: number | undefined
  /** Event time of the newest bar received, epoch ms (for lag). */
  lastEventTime: number | undefined
  /** Last data event time per symbol, for telling a quiet symbol from a stalled feed. */
  readonly lastMessageAtBySymbol: Map<string, number>
  reconnects: number
  /** Records rejected (malformed, invalid, late) since start. */
  rejected: number
  /** Events of unknown type since start (schema drift). */
  unknownEvents: number
  /** Frames that went to the spill file since start. */
  spilled: number
  /** Rows committed to every sink since start. */
  committed: number
  /** Called when `connection` changes through `setConnection` (the heartbeat writes at once). */
  onStateChange: () => void
  /** The state of each of the feed's connections, by id (a feed may shard over several). */
  readonly connections: Map<string, ConnectionState>
  /** Wall-clock time (Clock) of each connection's last data event, by id (its heartbeat age). */
  readonly lastMessageAtByConnection: Map<string, number>
}

/** Sets the connection state and tells whoever watches it (the heartbeat) when it changed. */
export const setConnection = (stats: StreamStats, state: ConnectionState): void => {
  if (stats.connection === state) return
  stats.connection = state
  stats.onStateChange()
}

/** The worst state first: the feed is as connected as its least connected connection. */
const SEVERITY: ReadonlyArray<ConnectionState> = [
  "disconnected",
  "connecting",
  "waiting-for-open",
  "connected",
  "closed"
]

const setWorst = (stats: StreamStats): void => {
  let worst: ConnectionState = "closed"
  for (const s of stats.connections.values()) if (SEVERITY.indexOf(s) < SEVERITY.indexOf(worst)) worst = s
  setConnection(stats, worst)
}

/** Sets one connection's state; the feed's `connection` becomes the worst of them. */
export const setConnectionOf = (stats: StreamStats, id: string, state: ConnectionState): void => {
  stats.connections.set(id, state)
  setWorst(stats)
}

/** A connection of the feed is gone for good (its instruments went to another): no longer counted. */
export const dropConnection = (stats: StreamStats, id: string): void => {
  stats.connections.delete(id)
  setWorst(stats)
}

export const makeStreamStats = (source: string): StreamStats => ({
  source,
  connection: "waiting-for-open",
  frames: 0,
  messages: 0,
  lastMessageAt: undefined,
  lastEventTime: undefined,
  lastMessageAtBySymbol: new Map(),
  reconnects: 0,
  rejected: 0,
  unknownEvents: 0,
  spilled: 0,
  committed: 0,
  onStateChange: () => {},
  connections: new Map(),
  lastMessageAtByConnection: new Map()
})
