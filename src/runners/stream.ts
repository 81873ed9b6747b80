/**
 * The stream runner: capture a live feed during the regular session.
 *
 *   wait for the session → socket → bounded queue (spills to disk, never drops) →
 *   late data → validate → dedupe → sinks (append, flushed every flush_interval) →
 *   gap repair through REST after a reconnect or a stall → at the close: drain, final flush,
 *   reconcile the session through REST (or compact the day), record the continuity ledger.
 *
 * Interrupting it (Ctrl-C, SIGTERM, `tapehouse stop`) drains what was received and flushes
 * every sink before returning. Every schedule runs on Effect's Clock.
 */
import * as Path from "node:path"
import { Chunk, Clock, Effect, Exit, Fiber, Stream } from "effect"
import { MarketCalendar, type TradingSession } from "../calendar/MarketCalendar.js"
import { AppConfig } from "../config/AppConfig.js"
import { Continuity, type ContinuityRow } from "../domain/Continuity.js"
import type { Rejected } from "../domain/Dataset.js"
import { type StockBar, StockBars1s } from "../domain/StockBar.js"
import { newYorkDate } from "../domain/time.js"
import { Alerts } from "../monitor/Alerts.js"
import * as Heartbeat from "../monitor/Heartbeat.js"
import * as StallMonitor from "../monitor/StallMonitor.js"
import { makeStreamStats, type StreamStats, setConnection } from "../monitor/StreamStats.js"
import { Checkpoints, type DayEntry, dayKey } from "../pipeline/Checkpoints.js"
import { makeDeduplicator } from "../pipeline/dedupe.js"
import { makeLateDataFilter } from "../pipeline/lateData.js"
import * as SpillQueue from "../pipeline/SpillQueue.js"
import { commitStaged, fileEntryOf, recoverStaged } from "../pipeline/stagedCommit.js"
import { makeValidator } from "../pipeline/validate.js"
import { compact } from "../sinks/compact.js"
import { readPartition } from "../sinks/ParquetSink.js"
import { Quarantine } from "../sinks/Quarantine.js"
import { Sinks } from "../sinks/Sink.js"
import * as FrameDecoder from "../sources/massive/FrameDecoder.js"
import { MassiveRest } from "../sources/massive/MassiveRest.js"
import { MassiveSocket, type SocketEvent } from "../sources/massive/MassiveSocket.js"
import * as FlushPlanner from "./flushPlanner.js"
import { type Gap, gapsAtStart, makeGapTracker } from "./gaps.js"
import * as MarketTime from "./marketTime.js"
import { reconcileSession, repairGap } from "./repair.js"
import * as SpillCodec from "./spillCodec.js"

export interface StreamRequest {
  readonly symbols: ReadonlyArray<string>
  /** Names the heartbeat, spill folder and pid file. */
  readonly source: string
  /** Fetch the session through REST at the close and replace the day with it (default true). */
  readonly reconcile: boolean
  /** Opens the spill queue's segment files; default the real file system (tests inject a full disk). */
  readonly openSpillFile?: SpillQueue.OpenSpillFile
}

export interface StreamReport {
  readonly session: string
  readonly stats: StreamStats
  readonly continuity: ReadonlyArray<ContinuityRow>
  /** Why it stopped: the close (an interruption ends the effect instead, after flushing). */
  readonly stoppedBy: "close"
  /** Market time when capture stopped, epoch ms. */
  readonly stoppedAt: number
}

/** Bars of the last second are published ~2 s after the close; wait a little longer. */
export const CLOSE_GRACE_MS = 5000
const TAKE_MAX = 50_000
/** Bars per flush at most: bounds the time one flush blocks the loop (and so the latency). */
const FLUSH_MAX_BARS = 200_000
/** How long a shutdown drains the queue before leaving the rest in the spill (it must exit within 10 s). */
const DRAIN_TIME_MS = 8000
/** Spill alerts are raised at most this often (the spill count keeps growing in the heartbeat). */
const SPILL_ALERT_EVERY_MS = 60_000

/** The session that is open now, or the next one (searching up to two weeks ahead). */
export const currentOrNextSession = (calendar: MarketCalendar["Type"], nowMs: number) => {
  let date = newYorkDate(nowMs)
  for (let i = 0; i < 15; i++) {
    const day = calendar.day(date)
    if (day._tag === "open" && nowMs < day.closeMs) return day
    const next = new Date(Date.parse(`${date}T12:00:00Z`) + 86_400_000).toISOString().slice(0, 10)
    date = next
  }
  throw new Error(`no NYSE session in the two weeks after ${new Date(nowMs).toISOString()}`)
}

const describeWait = (ms: number) => {
  const m = Math.round(ms / 60_000)
  return m < 120 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`
}

export const run = (request: StreamRequest, onTick: (stats: StreamStats) => void = () => {}) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    const socket = yield* MassiveSocket
    const rest = yield* MassiveRest
    const calendar = yield* MarketCalendar
    const sinks = yield* Sinks
    const quarantine = yield* Quarantine
    const alerts = yield* Alerts
    const checkpoints = yield* Checkpoints
    // Data that comes off this run's socket arrives after this; a spill backlog of an earlier run, before.
    const startedAt = yield* Clock.currentTimeMillis
    const stats = makeStreamStats(request.source)
    const symbols = request.symbols
    // The frame decode worker starts now (it takes about a second), while the session is looked up.
    const decoderReady = FrameDecoder.warmUp()
    const deps = { rest, sinks, quarantine, source: request.source }

    // 1. The session.
    const clock = yield* MarketTime.make(rest)
    let now = yield* clock.now
    const session: TradingSession = currentOrNextSession(calendar, now)
    if (clock.isReplay())
      yield* Effect.logInfo(`the vendor's clock is a replay of ${session.date}; following it`)
    if (now < session.openMs) {
      yield* Effect.logInfo(
        `market closed; waiting until ${new Date(session.openMs).toISOString()} (${session.date} 09:30 New York, in ${describeWait(session.openMs - now)})`
      )
      setConnection(stats, "waiting-for-open")
      yield* Effect.sleep(session.openMs - now)
      now = yield* clock.now
    }
    const stopAt = session.closeMs + CLOSE_GRACE_MS
    // A day an earlier run left staged (it stopped between its checkpoint and the publish) is published.
    yield* recoverStaged(sinks, checkpoints, StockBars1s)
    const earlier = yield* checkpoints.days(StockBars1s.name)
    yield* checkpoints.record(
      symbols
        .filter((symbol) => earlier.get(dayKey(symbol, session.date))?.status !== "done")
        .map(
          (symbol): DayEntry => ({
            kind: "day",
            dataset: StockBars1s.name,
            symbol,
            date: session.date,
            status: "streaming",
            reason: `captured by the stream ${request.source}; part files until the close`,
            at: new Date(startedAt).toISOString()
          })
        )
    )
    yield* Effect.logInfo(
      `streaming ${symbols.join(",")} for the ${session.date} session until ${new Date(session.closeMs).toISOString()}${session.earlyClose ? " (early close)" : ""}`
    )

    const gaps = makeGapTracker({ symbols, openMs: session.openMs, stallAfterMs: config.stream.stallAfterMs })
    const pendingGaps: Array<Gap> = []
    // Started inside the session, after its first bars could have gone out: what came before is a gap
    // (from where an earlier capture of the day stopped, or from the open).
    if (now > session.openMs + MarketTime.PUBLISH_DELAY_MS) {
      const stored = yield* readPartition(config.dataDir, StockBars1s, session.date)
      const lastBySymbol = new Map<string, number>()
      for (const b of stored)
        if (b.ts > (lastBySymbol.get(b.symbol) ?? Number.NEGATIVE_INFINITY)) lastBySymbol.set(b.symbol, b.ts)
      const atStart = gapsAtStart({ symbols, lastBySymbol, openMs: session.openMs })
      gaps.openGaps(atStart)
      for (const g of atStart)
        yield* Effect.logInfo(
          `${g.cause === "restart" ? `an earlier capture of ${g.symbols.join(",")} stopped at` : `started after the open; ${g.symbols.join(",")} missed from`} ${new Date(g.start).toISOString()}: repaired through REST once the feed's first bar arrives`
        )
    }

    // 2. Monitors beside the pipeline.
    yield* Heartbeat.run({
      stats,
      intervalMs: config.stream.heartbeatIntervalMs,
      dataDir: config.dataDir,
      marketTime: clock.now
    }).pipe(Effect.forkScoped)
    yield* StallMonitor.run({
      stats,
      symbols,
      stallAfterMs: config.stream.stallAfterMs,
      marketTime: clock.now
    }).pipe(Effect.forkScoped)

    // 3. Socket → bounded queue that spills to disk. The producer never waits for the pipeline.
    /** What a queued event weighs against the queue's bound: its bars (a frame's events before decoding). */
    const barsIn = (e: SocketEvent): number =>
      e._tag === "Bars" ? Math.max(1, e.bars.length) : e._tag === "Frame" ? Math.max(1, e.count) : 1
    /** Decodes started for undecoded frames still in memory, by event. */
    const decoding = new WeakMap<
      SocketEvent,
      Promise<ReadonlyArray<SocketEvent>> | ReadonlyArray<SocketEvent>
    >()
    const predecode = (events: ReadonlyArray<SocketEvent>) => {
      const frames = events.filter((e): e is Extract<SocketEvent, { _tag: "Frame" }> => e._tag === "Frame")
      if (frames.length === 0) return
      const perFrame = FrameDecoder.decodeEach(
        frames.map((f) => f.raw),
        frames.map((f) => f.receivedAt)
      )
      for (let i = 0; i < frames.length; i++) {
        const f = frames[i]!
        decoding.set(f, perFrame instanceof Promise ? perFrame.then((all) => all[i]!) : perFrame[i]!)
      }
    }
    /**
     * When each symbol's bars arrived (their frame's `receivedAt`), for telling a quiet symbol from a
     * stalled feed. Noted as bars are decoded: on arrival, or for a frame that waited in the spill
     * undecoded, when it is read back (never moving a symbol back in time).
     */
    const noteSymbols = (events: ReadonlyArray<SocketEvent>) => {
      const bySymbol = stats.lastMessageAtBySymbol
      for (const e of events) {
        if (e._tag !== "Bars" || e.ev === "AM") continue
        const at = e.receivedAt
        for (const b of e.bars) {
          const before = bySymbol.get(b.symbol)
          if (before === undefined || before < at) bySymbol.set(b.symbol, at)
        }
      }
    }
    /** The events with every `Frame` replaced by what it decodes to, in order (the worker answers or, if it is gone, this thread). */
    const expandFrames = (events: ReadonlyArray<SocketEvent>): Effect.Effect<ReadonlyArray<SocketEvent>> => {
      if (!events.some((e) => e._tag === "Frame")) return Effect.succeed(events)
      const fresh = events.filter((e) => e._tag === "Frame" && !decoding.has(e))
      if (fresh.length > 0) predecode(fresh)
      return Effect.promise(async () => {
        const out: Array<SocketEvent> = []
        for (const e of events) {
          if (e._tag !== "Frame") {
            out.push(e)
            continue
          }
          const decoded = await decoding.get(e)!
          decoding.delete(e)
          noteSymbols(decoded)
          for (const d of decoded) out.push(d)
        }
        return out
      })
    }

    /**
     * What the monitors read about the feed itself, noted as events come off the socket, before the
     * queue: a pipeline that is behind (held up by a sink, or a backlog in the spill) is not a
     * silent or lost feed.
     */
    const noteArrivals = (events: ReadonlyArray<SocketEvent>) => {
      stats.frames += events.length
      for (const e of events)
        switch (e._tag) {
          case "Bars":
            if (e.bars.length > 0 && e.ev !== "AM") {
              stats.lastMessageAt = e.receivedAt
              gaps.liveSince(e.receivedAt)
            }
            break
          case "Frame":
            stats.lastMessageAt = e.receivedAt
            gaps.liveSince(e.receivedAt)
            break
          case "Connected":
            setConnection(stats, "connected")
            break
          case "Disconnected":
            setConnection(stats, "disconnected")
            stats.reconnects++
            break
        }
    }

    const queue = yield* SpillQueue.make<SocketEvent>({
      dir: Path.join(config.dataDir, "state", "spill", request.source),
      capacity: config.stream.queueCapacity,
      // The bound is in bars: a frame of a thousand symbols weighs a thousand.
      weight: barsIn,
      ...(request.openSpillFile === undefined ? {} : { openFile: request.openSpillFile }),
      encode: SpillCodec.encode,
      // Frames read back from the spill start decoding on the worker at once, while the queue
      // reads on and the pipeline processes what came before; reads are large for that reason.
      decode: (line) => {
        const e = SpillCodec.decode(line)
        if (e._tag === "Frame") predecode([e])
        return e
      },
      readBytes: 16 * 1024 * 1024
    })
    // Subscribe once the decode worker is up, not with the feed's first frames waiting behind its
    // start (bounded: without it, frames are decoded on this thread).
    yield* Effect.promise(() => decoderReady).pipe(Effect.timeoutOption("10 seconds"))
    setConnection(stats, "connecting")
    const producer = yield* socket
      .events({ cluster: "stocks", subscriptions: symbols.map((s) => `A.${s}`) })
      .pipe(
        Stream.runForEachChunk((chunk) => {
          const events = Chunk.toReadonlyArray(chunk)
          noteArrivals(events)
          noteSymbols(events)
          // Large frames are decoded now, on the worker, and queued as bars; waiting for that holds
          // the socket back (TCP does the queueing) rather than filling the queue. While the queue
          // spills they go to the spill undecoded, and are decoded once, when they come back.
          if (queue.stats().spilling || !events.some((e) => e._tag === "Frame")) return queue.offer(events)
          // Uninterruptible: frames taken off the socket are queued, not lost, when the stream stops.
          return Effect.uninterruptible(Effect.flatMap(expandFrames(events), queue.offer))
        }),
        Effect.forkScoped
      )

    // 4. The pipeline, one batch per flush.
    const lateData = makeLateDataFilter(StockBars1s, session.date, config.stream.lateDataDays)
    const validate = makeValidator(StockBars1s)
    const dedupe = makeDeduplicator(StockBars1s)
    const window = { date: session.date, startMs: session.openMs, endMs: session.closeMs }
    const continuity: Array<ContinuityRow> = []
    const driftReported = new Set<string>()
    let flushSeq = 0
    /** A gap's row goes into the ledger as soon as it is repaired, so a stopped stream keeps it. */
    const recordLedger = (row: ContinuityRow) =>
      Effect.zipRight(
        Effect.sync(() => continuity.push(row)),
        sinks.commit({
          dataset: Continuity,
          date: session.date,
          instruments: [request.source],
          rows: [row],
          mode: "upsert"
        })
      )

    const repair = (gap: Gap) =>
      Effect.gen(function* () {
        // Nothing was missed (a restart after data the lake already holds, such as a backfilled day).
        if (Math.min(gap.end, session.closeMs) <= Math.max(gap.start, session.openMs)) return
        const repaired = yield* repairGap(
          deps,
          session,
          gap.symbols,
          gap.start,
          gap.end,
          gap.cause,
          `repair-${request.source}-${gap.start}`
        )
        yield* recordLedger(repaired)
        yield* alerts.raise({
          kind: "gap",
          source: request.source,
          message: `${gap.cause} gap ${new Date(gap.start).toISOString()}–${new Date(gap.end).toISOString()} ${repaired.status} through REST: ${repaired.rows} rows`
        })
      })

    const commitRejects = (rejected: ReadonlyArray<Rejected>) =>
      rejected.length === 0
        ? Effect.void
        : quarantine.write(StockBars1s, session.date, `stream-${request.source}-${flushSeq}`, rejected)

    /** Decoded events (no `Frame`) of one flush; `dueAt`: when the flush was due, for the planner. */
    const processBatch = (events: ReadonlyArray<SocketEvent>, dueAt: number) =>
      Effect.gen(function* () {
        const bars: Array<StockBar> = []
        const rejected: Array<Rejected> = []
        for (const e of events) {
          switch (e._tag) {
            case "Bars": {
              // Only per-second aggregates belong in stock_bars_1s (only A.* is subscribed anyway).
              if (e.bars.length === 0 || e.ev === "AM") break
              let first = e.bars[0]!.ts
              for (const b of e.bars) {
                bars.push(b)
                clock.observe(b.ts)
                if (b.ts < first) first = b.ts
                if (stats.lastEventTime === undefined || b.ts > stats.lastEventTime)
                  stats.lastEventTime = b.ts
              }
              stats.messages += e.bars.length
              // Open gaps close at the first new bar; a long silence is a stall gap.
              let last = first
              for (const b of e.bars) if (b.ts > last) last = b.ts
              for (const g of gaps.data(first, last, e.receivedAt)) pendingGaps.push(g)
              break
            }
            case "Rejected":
              for (const r of e.rejected) rejected.push(r)
              break
            case "Unknown":
              stats.unknownEvents += e.count
              if (!driftReported.has(e.ev)) {
                driftReported.add(e.ev)
                yield* alerts.raise({
                  kind: "schema-drift",
                  source: request.source,
                  message: `unknown event type ${JSON.stringify(e.ev)} on the feed: counted and skipped`,
                  details: { sample: e.sample }
                })
              }
              break
            case "Status":
              if (e.status === "slow_consumer" || e.status === "max_connections")
                yield* alerts.raise({
                  kind: e.status === "slow_consumer" ? "slow-consumer" : "max-connections",
                  source: request.source,
                  message: `server status ${e.status}: ${e.message}`
                })
              break
            case "Disconnected":
              gaps.disconnected()
              yield* alerts.raise({
                kind: "disconnect",
                source: request.source,
                message: `connection lost: ${e.reason}; reconnecting`
              })
              break
          }
        }
        const late = lateData(bars)
        for (const r of late.rejected) rejected.push(r)
        const checked = validate(late.accepted, window)
        for (const r of checked.rejected) rejected.push(r)
        stats.rejected += rejected.length
        const { rows } = dedupe(checked.valid)
        flushSeq++
        if (rows.length > 0) {
          yield* sinks.commit({
            dataset: StockBars1s,
            date: session.date,
            instruments: symbols,
            rows,
            mode: "append"
          })
          stats.committed += rows.length
        }
        yield* commitRejects(rejected)
        // Gap repairs below go to REST and are not part of what a flush costs.
        if (bars.length > 0) planner.record(dueAt, yield* Clock.currentTimeMillis)
        while (pendingGaps.length > 0) yield* repair(pendingGaps.shift()!)
      })

    /**
     * Events taken from the queue but not yet committed live here, so an interruption between the
     * take and the commit loses nothing: the commit itself is uninterruptible and `finish` flushes
     * whatever is pending before draining the queue.
     */
    let pending: Array<SocketEvent> = []
    /** Commits what is pending; `dueAt`: when the collect planned the flush (default now). */
    const flushPending = (dueAt?: number) =>
      Effect.uninterruptible(
        Effect.suspend(() => {
          if (pending.length === 0) return Effect.void
          const events = pending
          pending = []
          return Effect.flatMap(Clock.currentTimeMillis, (now) =>
            Effect.flatMap(expandFrames(events), (decoded) => processBatch(decoded, dueAt ?? now))
          )
        })
      )

    let barsPerEvent = 1
    /**
     * When each flush must start, learnt from how long the recent ones took (the whole duration, not
     * a cost per bar: a longer flush makes the next one start earlier and carry fewer bars, so the
     * size settles; a per-bar cost would count each commit's fixed overhead against every bar and
     * shrink flushes without end). Under TestClock commits take no time.
     */
    const planner = FlushPlanner.make(config.stream.flushIntervalMs)
    const countBars = (events: ReadonlyArray<SocketEvent>) => {
      let n = 0
      for (const e of events) if (e._tag === "Bars" || e._tag === "Frame") n += barsIn(e)
      return n
    }

    /**
     * One flush's worth of events. `flush_interval_ms` bounds how long a message waits to be durable:
     * the collect ends early enough that the commit, taking as long as flushes have lately taken,
     * completes within the interval of the oldest message's arrival. When that moment has already passed (a
     * backlog in the queue or its spill) it takes what is ready without waiting, so a backlog drains
     * in full-size flushes. At most TAKE_MAX events and about FLUSH_MAX_BARS bars. Returns when the
     * flush was due: the planned moment, or when the collect ended if that was earlier (full) or it
     * began after it (a backlog).
     */
    const collect = Effect.gen(function* () {
      const started = yield* Clock.currentTimeMillis
      let oldest: number | undefined
      const noteOldest = (events: ReadonlyArray<SocketEvent>) => {
        for (const e of events)
          if (
            (e._tag === "Bars" || e._tag === "Frame" || e._tag === "Rejected") &&
            (oldest === undefined || e.receivedAt < oldest)
          )
            oldest = e.receivedAt
      }
      noteOldest(pending)
      let bars = countBars(pending)
      // With nothing to flush yet, the loop wakes up once an interval (its monitoring and the close).
      const deadlineOf = () =>
        oldest === undefined ? started + config.stream.flushIntervalMs : planner.dueAt(oldest)
      let deadline = deadlineOf()
      while (pending.length < TAKE_MAX && bars < FLUSH_MAX_BARS) {
        const now = yield* Clock.currentTimeMillis
        deadline = deadlineOf()
        const remaining = deadline - now
        // The queue bounds its own wait (a timeout around a take would discard what it removed) and
        // appends to `pending` in the same atomic step as the take: a shutdown lands before or after.
        // Events may carry one bar or thousands (a frame per second of many symbols): size each take
        // from the bars per event seen so far, so a flush stays near FLUSH_MAX_BARS.
        const room = Math.ceil((FLUSH_MAX_BARS - bars) / barsPerEvent)
        const taken = yield* queue.takeBatch(
          Math.max(1, Math.min(TAKE_MAX - pending.length, room)),
          Math.max(0, remaining),
          pending
        )
        // Nothing within the wait, or nothing ready once the moment has passed: flush now.
        if (taken.length === 0) break
        const takenBars = countBars(taken)
        bars += takenBars
        barsPerEvent = Math.max(1, takenBars / taken.length)
        noteOldest(taken)
      }
      return Math.min(yield* Clock.currentTimeMillis, Math.max(deadline, started))
    })

    /**
     * Everything still queued (memory and spill), processed in order, in atomic rounds (take +
     * commit). With `untilMs` it stops between rounds once that time has passed: what is still
     * queued stays in the spill queue, which writes it to a segment file when its scope closes and
     * delivers it first at the next start. (A deadline checked here, not a timeout around the
     * drain: a shutdown runs it as a finalizer, where a timeout cannot interrupt it.)
     */
    const drain = (untilMs?: number) =>
      Effect.gen(function* () {
        yield* flushPending()
        for (;;) {
          if (queue.size() === 0) return
          if (untilMs !== undefined && (yield* Clock.currentTimeMillis) >= untilMs) return
          yield* Effect.uninterruptible(
            Effect.zipRight(
              queue.takeBatch(Math.max(1, Math.ceil(FLUSH_MAX_BARS / barsPerEvent)), "100 millis", pending),
              flushPending()
            )
          )
        }
      })

    const flushLoop = Effect.gen(function* () {
      let lastResync = yield* Clock.currentTimeMillis
      let framesAtLastTick = -1
      let spillAlerted = false
      let spilledAtLastTick = 0
      let lastSpillAlertAt = Number.NEGATIVE_INFINITY
      for (;;) {
        const dueAt = yield* collect
        yield* flushPending(dueAt)
        // The socket side failed for good (auth_failed, or the spill file could not be written):
        // everything taken is committed; stop with its error instead of idling until the close.
        const producerExit = yield* Fiber.poll(producer)
        if (producerExit._tag === "Some" && Exit.isFailure(producerExit.value)) {
          yield* drain()
          return yield* Effect.failCause(producerExit.value.cause)
        }
        const queued = queue.stats()
        stats.spilled = queued.spilledTotal
        // One alert per episode (the pipeline fell behind the feed and the overflow went to disk; an
        // episode may begin and end between two ticks: the spill count tells), and at most one a
        // minute: a pipeline at the edge of its speed spills in short bursts.
        const spilledNow = queued.spilledTotal > spilledAtLastTick
        spilledAtLastTick = queued.spilledTotal
        const nowMs = yield* Clock.currentTimeMillis
        if (
          (queued.spilling || spilledNow) &&
          !spillAlerted &&
          nowMs - lastSpillAlertAt >= SPILL_ALERT_EVERY_MS
        ) {
          spillAlerted = true
          lastSpillAlertAt = nowMs
          yield* alerts.raise({
            kind: "spill",
            source: request.source,
            message: `the pipeline is behind the feed: ${queued.spilledTotal} messages spilled so far to ${Path.join("state", "spill", request.source)} (drained in order, nothing dropped)`,
            details: { ...queued }
          })
        } else if (!queued.spilling && !spilledNow) spillAlerted = false
        onTick(stats)
        const local = yield* Clock.currentTimeMillis
        if (clock.isReplay() && local - lastResync >= 1000) {
          yield* clock.resync
          lastResync = local
        }
        // Past the close, stop once the feed has gone quiet: a replay faster than real time (or a
        // backlog in the queue) is still delivering the session's last bars.
        const quiet = stats.frames === framesAtLastTick && queue.size() === 0 && pending.length === 0
        framesAtLastTick = stats.frames
        if ((yield* clock.now) >= stopAt && quiet) return "close" as const
      }
    })

    /**
     * Stops the socket and drains what was received. At the close, gaps still open (no bar came
     * after them) are repaired up to the close; a stop (`untilMs`, its drain deadline) leaves them to
     * the next start, which repairs from where this capture stopped (a REST repair could outlast the
     * time a stop has).
     */
    const finish = (untilMs?: number) =>
      Effect.gen(function* () {
        yield* Fiber.interrupt(producer)
        setConnection(stats, "closed")
        yield* drain(untilMs)
        if (untilMs === undefined) for (const g of gaps.closeAll(session.closeMs)) yield* repair(g)
      })

    const stoppedBy = yield* flushLoop.pipe(
      Effect.onInterrupt(() =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => finish(now + DRAIN_TIME_MS)).pipe(
          Effect.catchAll((e) => Effect.logError(`could not drain the queue before stopping: ${String(e)}`)),
          Effect.zipRight(
            Effect.suspend(() => {
              const left = queue.size()
              return Effect.logInfo(
                `stopped: ${stats.messages} bars received, ${stats.committed} committed; ` +
                  (left === 0
                    ? "everything received was flushed"
                    : `the ${left} events still queued are kept in ${Path.join("state", "spill", request.source)} and come first at the next start`)
              )
            })
          )
        )
      )
    )
    const stoppedAt = yield* clock.now
    yield* finish()

    // 5. The close: reconcile (the day becomes done) or compact it (streamed), with its checkpoints.
    const atNow = Effect.map(Clock.currentTimeMillis, (t) => new Date(t).toISOString())
    const dayEntries = (
      rows: ReadonlyArray<StockBar>,
      status: DayEntry["status"],
      at: string
    ): ReadonlyArray<DayEntry> =>
      symbols.map((symbol) => ({
        kind: "day",
        dataset: StockBars1s.name,
        symbol,
        date: session.date,
        status,
        rows: rows.filter((b) => b.symbol === symbol).length,
        ...(status === "streamed"
          ? { reason: "streamed to the close; not reconciled through REST (trade counts missing)" }
          : {}),
        at
      }))
    let reconciled = false
    if (request.reconcile) {
      const streamed = (yield* readPartition(config.dataDir, StockBars1s, session.date)).filter((b) =>
        symbols.includes(b.symbol)
      )
      const row = yield* reconcileSession(
        deps,
        session,
        symbols,
        streamed,
        `reconcile-${request.source}`,
        (write) =>
          commitStaged(sinks, checkpoints, write, (results) =>
            Effect.map(atNow, (at) => [
              ...fileEntryOf(StockBars1s.name, session.date, results, at),
              ...dayEntries(write.rows, "done", at)
            ])
          )
      )
      yield* recordLedger(row)
      reconciled = row.status !== "failed"
    }
    if (!reconciled) {
      const compacted = config.parquet.enabled
        ? yield* compact(
            {
              dataDir: config.dataDir,
              compression: config.parquet.compression,
              rowGroupSize: config.parquet.rowGroupSize
            },
            StockBars1s,
            session.date
          )
        : undefined
      const dayRows = yield* readPartition(config.dataDir, StockBars1s, session.date)
      const at = yield* atNow
      yield* checkpoints.record([
        // The day's file changed: record its checksum for `status --verify`.
        ...(compacted?.file === undefined || compacted.sha256 === undefined
          ? []
          : [
              {
                kind: "file" as const,
                dataset: StockBars1s.name,
                date: session.date,
                file: compacted.file,
                rows: compacted.rows,
                bytes: compacted.bytes ?? 0,
                sha256: compacted.sha256,
                at
              }
            ]),
        ...dayEntries(dayRows, "streamed", at)
      ])
    }
    const report: StreamReport = { session: session.date, stats, continuity, stoppedBy, stoppedAt }
    return report
  })
