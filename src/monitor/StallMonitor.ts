/**
 * StallMonitor: a fiber beside a stream that tells a stalled feed from a quiet symbol from a closed
 * market. Every `tickIntervalMs(stallAfterMs)` (Effect Clock) it reads the stream's live counters —
 * never per message — and judges them with `assessFeed`:
 *
 * - market closed (no session today, before 09:30, after the close — 16:00 or 13:00 on early
 *   closes, in New York): no alert; a stall still open is closed without a `recovered` alert;
 * - stalled: no bar from any symbol for `stallAfterMs` during the session → one `stall` alert
 *   (level error, details `{ scope: "feed" }`) until bars arrive again, then one `recovered`;
 * - quiet symbol: the feed delivers, but a subscribed symbol has had no bar for `stallAfterMs` →
 *   one `stall` alert (level warning, details `{ scope: "symbol", symbol }`) per symbol until it
 *   has bars again, then `recovered` for it.
 *
 * Silence is counted from the later of the last bar, the session open and the start of the
 * monitor, so a stream started mid-session or yesterday's last bar raise nothing at once.
 *
 * Gap repair: pass `onStall` and the monitor calls it when a stall ends (see `StallGap`), so the
 * runner can fetch `[start, end]` through the REST API. It runs inside the monitor's fiber: fork
 * anything long-running yourself (e.g. offer to a queue the runner drains).
 */
import { Clock, Duration, Effect, Layer, Schedule } from "effect"
import { MarketCalendar } from "../calendar/MarketCalendar.js"
import type { DayStatus } from "../calendar/nyseRules.js"
import { AppConfig } from "../config/AppConfig.js"
import { Alerts } from "./Alerts.js"
import { type MarketState, marketStateAt, sessionAt } from "./Heartbeat.js"
import type { StreamStats } from "./StreamStats.js"

/** One subscribed symbol with no bar for `stallAfterMs`. */
export interface QuietSymbol {
  readonly symbol: string
  /** Its last bar (Clock time, epoch ms), if any was ever received. */
  readonly lastMessageAt: number | undefined
  /** Silence so far, counted from the later of its last bar, the session open and `watchingSince`. */
  readonly silentForMs: number
}

/** What `assessFeed` concludes. */
export type FeedAssessment =
  | {
      readonly _tag: "market-closed"
      readonly marketState: Exclude<MarketState, "open">
      /** "market closed" plus why: weekend/holiday reason, before open, after close. */
      readonly reason: string
    }
  | { readonly _tag: "ok"; readonly silentForMs: number }
  | {
      readonly _tag: "quiet-symbols"
      readonly silentForMs: number
      readonly quiet: ReadonlyArray<QuietSymbol>
    }
  | {
      readonly _tag: "stalled"
      /** Last bar from any symbol (Clock time), if any. */
      readonly lastMessageAt: number | undefined
      /** When the silence began: the later of the last bar, the session open and `watchingSince`. */
      readonly silentSince: number
      readonly silentForMs: number
    }

/** The subset of `StreamStats` the assessment reads. */
export type FeedStats = Pick<StreamStats, "lastMessageAt" | "lastMessageAtBySymbol">

/**
 * Pure judgement of a feed at `now` (epoch ms). `session` is today's calendar status (New York
 * date of `now`); `watchingSince` (default: none) is when the stream started watching, so silence
 * before it does not count.
 */
export const assessFeed = (
  now: number,
  stats: FeedStats,
  session: DayStatus,
  subscribedSymbols: ReadonlyArray<string>,
  stallAfterMs: number,
  watchingSince = Number.NEGATIVE_INFINITY
): FeedAssessment => {
  const marketState = marketStateAt(now, session)
  if (marketState !== "open" || session._tag === "closed") {
    const reason =
      session._tag === "closed"
        ? `market closed (${session.reason})`
        : marketState === "pre-open"
          ? "market closed (before the open)"
          : `market closed (after the ${session.earlyClose ? "early " : ""}close)`
    return { _tag: "market-closed", marketState: marketState === "open" ? "closed" : marketState, reason }
  }
  const floor = Math.max(session.openMs, watchingSince)
  const silentSince = Math.max(stats.lastMessageAt ?? Number.NEGATIVE_INFINITY, floor)
  const silentForMs = Math.max(0, now - silentSince)
  if (silentForMs >= stallAfterMs) {
    return { _tag: "stalled", lastMessageAt: stats.lastMessageAt, silentSince, silentForMs }
  }
  const quiet: Array<QuietSymbol> = []
  for (const symbol of subscribedSymbols) {
    const last = stats.lastMessageAtBySymbol.get(symbol)
    const symbolSilence = Math.max(0, now - Math.max(last ?? Number.NEGATIVE_INFINITY, floor))
    if (symbolSilence >= stallAfterMs) quiet.push({ symbol, lastMessageAt: last, silentForMs: symbolSilence })
  }
  return quiet.length > 0 ? { _tag: "quiet-symbols", silentForMs, quiet } : { _tag: "ok", silentForMs }
}

/** A session moved by `shiftMs` (from market time onto the Clock). */
const onClock = (day: DayStatus, shiftMs: number): DayStatus =>
  day._tag === "closed" || shiftMs === 0
    ? day
    : { ...day, openMs: day.openMs + shiftMs, closeMs: day.closeMs + shiftMs }

/** A stall that ended, for gap repair. Times are epoch ms on the Clock. */
export interface StallGap {
  readonly scope: "feed" | "symbol"
  /** The quiet symbol (scope "symbol" only). */
  readonly symbol?: string
  /** Start of the silence: the last bar received before it (or the session open / monitor start). */
  readonly start: number
  /**
   * When the monitor saw it end: the tick on which bars were back (a little after they resumed:
   * repair `[start, end]`, the overlap is deduplicated), or the session close if it closed first.
   */
  readonly end: number
  readonly endedBy: "data" | "market-close"
}

export interface StallMonitorOptions {
  readonly stats: StreamStats
  readonly stallAfterMs: number
  /** The symbols the stream subscribed to; a function when the subscription changes while running. */
  readonly symbols: ReadonlyArray<string> | (() => ReadonlyArray<string>)
  /**
   * Market time (epoch ms), when it is not the Clock (a replay of a past day): it picks the
   * session and says whether it is open. Silence is still measured on the Clock, which the
   * runner stamps `lastMessageAt` with; the session is shifted onto the Clock for that.
   */
  readonly marketTime?: Effect.Effect<number>
  /** Called once per ended stall (see `StallGap`); failures and defects are logged, never fatal. */
  readonly onStall?: (gap: StallGap) => Effect.Effect<void>
}

/** The check period: a quarter of `stallAfterMs`, at most 60 s (at least 1 ms). */
export const tickIntervalMs = (stallAfterMs: number): number =>
  Math.max(1, Math.min(Math.floor(stallAfterMs / 4), 60_000))

const formatSilence = (ms: number): string =>
  ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`

const isoOrNull = (ms: number | undefined): string | null =>
  ms === undefined ? null : new Date(ms).toISOString()

/**
 * Watches forever (see the module comment). Never fails; fork it with `Effect.forkScoped` or use
 * `layer`.
 */
export const run = (options: StallMonitorOptions): Effect.Effect<never, never, Alerts | MarketCalendar> =>
  Effect.gen(function* () {
    const alerts = yield* Alerts
    const calendar = yield* MarketCalendar
    const { stats, stallAfterMs } = options
    const source = stats.source
    const subscribed = options.symbols
    const marketTime = options.marketTime ?? Clock.currentTimeMillis
    const symbols: () => ReadonlyArray<string> =
      typeof subscribed === "function" ? subscribed : () => subscribed
    const watchingSince = yield* Clock.currentTimeMillis

    /** Open feed stall: when its silence began. */
    let feedStall: { readonly start: number } | undefined
    /** Open quiet-symbol stalls: symbol → start of its silence. */
    const quietSymbols = new Map<string, number>()

    const repair = (gap: StallGap): Effect.Effect<void> =>
      options.onStall === undefined
        ? Effect.void
        : options
            .onStall(gap)
            .pipe(Effect.catchAllDefect((defect) => Effect.logError("stall repair hook failed", defect)))

    const endFeedStall = (now: number, endedBy: StallGap["endedBy"], end: number) =>
      Effect.gen(function* () {
        const stall = feedStall
        if (stall === undefined) return
        feedStall = undefined
        const details = {
          scope: "feed",
          start: new Date(stall.start).toISOString(),
          end: new Date(end).toISOString(),
          stalledForMs: Math.max(0, now - stall.start)
        }
        if (endedBy === "data") {
          yield* alerts.raise({
            kind: "recovered",
            source,
            message: `${source}: data flows again after ${formatSilence(now - stall.start)} of silence`,
            details
          })
        } else {
          yield* Effect.logInfo(`${source}: the session closed while the feed was stalled`).pipe(
            Effect.annotateLogs(details)
          )
        }
        yield* repair({ scope: "feed", start: stall.start, end, endedBy })
      })

    const endSymbolStall = (
      symbol: string,
      start: number,
      now: number,
      endedBy: StallGap["endedBy"],
      end: number
    ) =>
      Effect.gen(function* () {
        quietSymbols.delete(symbol)
        if (endedBy === "data")
          yield* alerts.raise({
            kind: "recovered",
            source,
            message: `${source}: ${symbol} has bars again after ${formatSilence(now - start)}`,
            details: {
              scope: "symbol",
              symbol,
              start: new Date(start).toISOString(),
              end: new Date(end).toISOString(),
              stalledForMs: Math.max(0, now - start)
            }
          })
        yield* repair({ scope: "symbol", symbol, start, end, endedBy })
      })

    const tick = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const market = yield* marketTime
      const session = onClock(sessionAt(calendar, market), now - market)
      const subscribedNow = symbols()
      const state = assessFeed(now, stats, session, subscribedNow, stallAfterMs, watchingSince)

      if (state._tag === "market-closed") {
        // A stall still open when the session ends: close it (no `recovered`), repair up to the close.
        const end = session._tag === "open" ? Math.min(now, session.closeMs) : now
        yield* endFeedStall(now, "market-close", end)
        for (const [symbol, start] of [...quietSymbols])
          yield* endSymbolStall(symbol, start, now, "market-close", end)
        return
      }

      if (state._tag === "stalled") {
        if (feedStall !== undefined) return
        feedStall = { start: state.silentSince }
        // Quiet symbols are part of the feed stall now; they end with it.
        quietSymbols.clear()
        yield* alerts.raise({
          kind: "stall",
          level: "error",
          source,
          message: `${source}: no data from any symbol for ${formatSilence(state.silentForMs)} during the session`,
          details: {
            scope: "feed",
            connection: stats.connection,
            lastMessageAt: isoOrNull(state.lastMessageAt),
            silentSince: new Date(state.silentSince).toISOString(),
            silentForMs: state.silentForMs,
            stallAfterMs,
            frames: stats.frames,
            reconnects: stats.reconnects
          }
        })
        return
      }

      yield* endFeedStall(now, "data", now)

      const quietNow = new Map<string, QuietSymbol>()
      if (state._tag === "quiet-symbols") for (const q of state.quiet) quietNow.set(q.symbol, q)

      // Symbols that have bars again (an unsubscribed one is dropped silently).
      for (const [symbol, start] of [...quietSymbols]) {
        if (quietNow.has(symbol)) continue
        if (subscribedNow.includes(symbol)) yield* endSymbolStall(symbol, start, now, "data", now)
        else quietSymbols.delete(symbol)
      }
      for (const q of quietNow.values()) {
        if (quietSymbols.has(q.symbol)) continue
        const start = now - q.silentForMs
        quietSymbols.set(q.symbol, start)
        yield* alerts.raise({
          kind: "stall",
          level: "warning",
          source,
          message: `${source}: no bars for ${q.symbol} for ${formatSilence(q.silentForMs)} while other symbols deliver`,
          details: {
            scope: "symbol",
            symbol: q.symbol,
            lastMessageAt: isoOrNull(q.lastMessageAt),
            silentForMs: q.silentForMs,
            stallAfterMs
          }
        })
      }
    }).pipe(Effect.catchAllDefect((defect) => Effect.logError("stall monitor tick failed", defect)))

    return yield* tick.pipe(
      Effect.repeat(Schedule.spaced(Duration.millis(tickIntervalMs(stallAfterMs)))),
      Effect.zipRight(Effect.never)
    )
  }).pipe(Effect.annotateLogs({ monitor: "stall", source: options.stats.source }))

/** Forks `run` for the life of the layer's scope. */
export const layer = (options: StallMonitorOptions): Layer.Layer<never, never, Alerts | MarketCalendar> =>
  Layer.scopedDiscard(Effect.forkScoped(run(options)))

/** `layer` with `stream.stallAfterMs` from `AppConfig`. */
export const layerFromConfig = (
  options: Omit<StallMonitorOptions, "stallAfterMs">
): Layer.Layer<never, never, Alerts | MarketCalendar | AppConfig> =>
  Layer.unwrapEffect(
    Effect.map(AppConfig, (config) => layer({ ...options, stallAfterMs: config.stream.stallAfterMs }))
  )
