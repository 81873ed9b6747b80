/**
 * The windows a stream did not capture, as they open and close. A gap opens when the connection
 * is lost (`reconnect`), when the stream starts inside a session that an earlier capture of the same
 * symbols stopped in (`restart`), or when it starts after the open with nothing captured before
 * (`late-start`); it closes at the first data that comes off the connection after it, and the
 * window between is then repaired through REST. A silence longer than `stallAfterMs` between two
 * events is a `stall` gap. When a connection ends for good and another takes its symbols over, its
 * open gaps go with them (`handOver`, `adopt`) and close at the first record of one of those symbols
 * on the new connection. Pure bookkeeping on event times: the runner feeds it and repairs what it
 * returns.
 */
import type { GapCause } from "./repair.js"

/** A window to repair: [start, end) in event time (epoch ms), for `symbols`. */
export interface Gap {
  readonly start: number
  readonly end: number
  readonly symbols: ReadonlyArray<string>
  readonly cause: GapCause
}

/** A gap waiting for data: it closes at the first event that comes after it. */
export interface OpenGap {
  readonly start: number
  readonly symbols: ReadonlyArray<string>
  readonly cause: GapCause
  /**
   * Only data from this run's own connection closes it (a restart or a late start), not a spill
   * backlog that an earlier run received before it stopped.
   */
  readonly liveOnly: boolean
  /**
   * Handed over from a connection that ended: only a record of one of these symbols closes it (their
   * new connection has begun to deliver them), at that record's time.
   */
  readonly awaits?: ReadonlySet<string>
}

/** The event interval a record stands for (a per-second bar covers [ts, ts + 1 s)). */
const BAR_MS = 1000

/**
 * The gaps a stream starting inside a session has before its own data begins: for the symbols an
 * earlier capture of the day holds (`lastBySymbol`, their newest event), from where that capture
 * stopped (the newest event any of them holds); for the others, from the open.
 */
export const gapsAtStart = (options: {
  readonly symbols: ReadonlyArray<string>
  readonly lastBySymbol: ReadonlyMap<string, number>
  readonly openMs: number
}): ReadonlyArray<OpenGap> => {
  const captured = options.symbols.filter((s) => options.lastBySymbol.has(s))
  const fresh = options.symbols.filter((s) => !options.lastBySymbol.has(s))
  const gaps: Array<OpenGap> = []
  if (captured.length > 0) {
    let stoppedAt = Number.NEGATIVE_INFINITY
    for (const s of captured) stoppedAt = Math.max(stoppedAt, options.lastBySymbol.get(s)!)
    gaps.push({ start: stoppedAt + BAR_MS, symbols: captured, cause: "restart", liveOnly: true })
  }
  if (fresh.length > 0)
    gaps.push({ start: options.openMs, symbols: fresh, cause: "late-start", liveOnly: true })
  return gaps
}

export interface GapTracker {
  /** Gaps open now (waiting for data). */
  readonly open: () => ReadonlyArray<OpenGap>
  /** Opens gaps (at the start of a stream). */
  readonly openGaps: (gaps: ReadonlyArray<OpenGap>) => void
  /**
   * The connection was lost: a `reconnect` gap opens from the newest event for the symbols no open
   * gap holds already.
   */
  readonly disconnected: () => void
  /** This run's connection delivered data received at `receivedAt` (local clock). */
  readonly liveSince: (receivedAt: number) => void
  /**
   * Data with event times [first, last] came off a socket at `receivedAt`: returns the gaps it
   * closes (ending at `first`), or else the `stall` gap before it. `firstAwaited`: the time of its
   * first record of an `awaited` symbol, if any (handed-over gaps close there).
   */
  readonly data: (
    first: number,
    last: number,
    receivedAt: number,
    firstAwaited?: number
  ) => ReadonlyArray<Gap>
  /** Symbols whose first record closes a handed-over gap; undefined when none is open. */
  readonly awaited: () => ReadonlySet<string> | undefined
  /** The connection ends for good: its open gaps, for the connection that takes its symbols (none left here). */
  readonly handOver: () => ReadonlyArray<OpenGap>
  /**
   * This connection takes over `symbols` from one that ended, with `gaps` (its open gaps): they close
   * at the first record of one of their symbols here, and later losses of this connection cover them.
   */
  readonly adopt: (symbols: ReadonlyArray<string>, gaps: ReadonlyArray<OpenGap>) => void
  /** Closes every open gap at `end` (the session's close). */
  readonly closeAll: (end: number) => ReadonlyArray<Gap>
}

export const makeGapTracker = (options: {
  readonly symbols: ReadonlyArray<string>
  readonly openMs: number
  readonly stallAfterMs: number
}): GapTracker => {
  let newest: number | undefined
  let open: Array<OpenGap> = []
  const symbols = [...options.symbols]
  let awaited: Set<string> | undefined
  /** When this run's connection first delivered data; what was received before is an earlier run's. */
  let live = Number.POSITIVE_INFINITY
  const closes = (g: OpenGap, receivedAt: number) => !g.liveOnly || receivedAt >= live
  return {
    open: () => open,
    openGaps: (gaps) => {
      for (const g of gaps) open.push(g)
    },
    disconnected: () => {
      const held = new Set(open.flatMap((g) => g.symbols))
      const missed = held.size === 0 ? symbols.slice() : symbols.filter((s) => !held.has(s))
      if (missed.length === 0) return
      open.push({
        start: newest === undefined ? options.openMs : newest + BAR_MS,
        symbols: missed,
        cause: "reconnect",
        liveOnly: false
      })
    },
    liveSince: (receivedAt) => {
      if (receivedAt < live) live = receivedAt
    },
    data: (first, last, receivedAt, firstAwaited) => {
      const closed: Array<Gap> = []
      const still: Array<OpenGap> = []
      for (const g of open) {
        const end = g.awaits === undefined ? first : firstAwaited
        if (end !== undefined && closes(g, receivedAt))
          closed.push({ start: g.start, end, symbols: g.symbols, cause: g.cause })
        else still.push(g)
      }
      if (still.length !== open.length) awaited = awaitedBy(still)
      open = still
      if (
        closed.length === 0 &&
        open.every((g) => g.awaits !== undefined) &&
        newest !== undefined &&
        first - newest > options.stallAfterMs
      ) {
        const stalled = awaited === undefined ? symbols.slice() : symbols.filter((s) => !awaited!.has(s))
        closed.push({ start: newest + BAR_MS, end: first, symbols: stalled, cause: "stall" })
      }
      if (newest === undefined || last > newest) newest = last
      return closed
    },
    awaited: () => awaited,
    handOver: () => {
      const gaps = open
      open = []
      awaited = undefined
      return gaps
    },
    adopt: (adopted, gaps) => {
      for (const s of adopted) symbols.push(s)
      for (const g of gaps) open.push({ ...g, awaits: new Set(g.symbols) })
      awaited = awaitedBy(open)
    },
    closeAll: (end) => {
      const closed = open.map((g) => ({ start: g.start, end, symbols: g.symbols, cause: g.cause }))
      open = []
      awaited = undefined
      return closed
    }
  }
}

/** The symbols of the handed-over gaps among `gaps`, or undefined when there are none. */
const awaitedBy = (gaps: ReadonlyArray<OpenGap>): Set<string> | undefined => {
  let out: Set<string> | undefined
  for (const g of gaps) if (g.awaits !== undefined) for (const s of g.awaits) (out ??= new Set()).add(s)
  return out
}

/**
 * The tracker of a connection that keeps its own position (a resumable poller): it asks for what it
 * has not seen, so nothing it delivers or misses is a gap to repair through REST.
 */
export const noGaps: GapTracker = {
  open: () => [],
  openGaps: () => {},
  disconnected: () => {},
  liveSince: () => {},
  data: () => [],
  awaited: () => undefined,
  handOver: () => [],
  adopt: () => {},
  closeAll: () => []
}
