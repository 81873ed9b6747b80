/**
 * Heartbeat: a fiber beside a stream that, every `intervalMs` on the Effect Clock, reads the
 * stream's live counters and replaces `<dataDir>/state/heartbeat/<source>.json` atomically.
 * `readHeartbeats` is the other side, for `tapehouse status`: a heartbeat older than two of its
 * intervals means the stream is not running (or is wedged).
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Clock, Deferred, Duration, Effect, Either, Exit, Layer, Schema } from "effect"
import { MarketCalendar } from "../calendar/MarketCalendar.js"
import type { DayStatus } from "../calendar/nyseRules.js"
import { AppConfig } from "../config/AppConfig.js"
import type { StorageError } from "../domain/errors.js"
import { addDays, newYorkDate, newYorkTimeToEpochMs } from "../domain/time.js"
import { errorCode, makeDir, readdirOrEmpty, toStorageError, writeFileAtomic } from "../sinks/atomicFile.js"
import type { StreamStats } from "./StreamStats.js"

export const MARKET_STATES = ["open", "closed", "pre-open", "after-close"] as const
/** Regular session state: `closed` is a day without a session (weekend, holiday). */
export type MarketState = (typeof MARKET_STATES)[number]

/** The regular-session state at `nowMs` given that day's calendar status. */
export const marketStateAt = (nowMs: number, day: DayStatus): MarketState =>
  day._tag === "closed"
    ? "closed"
    : nowMs < day.openMs
      ? "pre-open"
      : nowMs >= day.closeMs
        ? "after-close"
        : "open"

/** Today's (New York date of `nowMs`) calendar status. */
export const sessionAt = (
  calendar: { readonly day: (date: string) => DayStatus },
  nowMs: number
): DayStatus => calendar.day(newYorkDate(nowMs))

const CONNECTION_STATES = ["waiting-for-open", "connecting", "connected", "disconnected", "closed"] as const

/** The content of a heartbeat file. */
export const HeartbeatRecord = Schema.Struct({
  source: Schema.String,
  /** ISO time of this beat (Effect Clock). */
  at: Schema.String,
  pid: Schema.Number,
  /** The interval the writer beats at, so a reader can judge staleness. */
  intervalMs: Schema.Number,
  connection: Schema.Literal(...CONNECTION_STATES),
  messagesLastInterval: Schema.Number,
  messagesTotal: Schema.Number,
  lastMessageAt: Schema.NullOr(Schema.String),
  /** Clock time minus the event time of the newest bar; null before the first bar. */
  lagMs: Schema.NullOr(Schema.Number),
  reconnects: Schema.Number,
  rejected: Schema.Number,
  unknownEvents: Schema.Number,
  spilled: Schema.Number,
  committed: Schema.Number,
  marketState: Schema.Literal(...MARKET_STATES)
})
export type HeartbeatRecord = typeof HeartbeatRecord.Type

const decodeHeartbeat = Schema.decodeUnknownEither(Schema.parseJson(HeartbeatRecord))

export interface HeartbeatOptions {
  readonly stats: StreamStats
  readonly intervalMs: number
  readonly dataDir: string
  /**
   * Market time (epoch ms) for `marketState` and `lagMs`, when it is not the Clock (a replay of a
   * past day). Default: the Clock. `at` and the staleness judgement always use the Clock.
   */
  readonly marketTime?: Effect.Effect<number>
}

export const heartbeatDir = (dataDir: string): string => path.join(dataDir, "state", "heartbeat")

/** `<dataDir>/state/heartbeat/<source>.json`, the source name reduced to `[A-Za-z0-9_.+-]`. */
export const heartbeatFile = (dataDir: string, source: string): string => {
  const name = source.replace(/[^A-Za-z0-9_.+-]/g, "_").replace(/^\.+/, "_") || "_"
  return path.join(heartbeatDir(dataDir), `${name}.json`)
}

/**
 * The heartbeat of `stats` at `nowMs` (Clock); `messagesBefore` is the message count at the
 * previous beat; `marketNowMs` (default `nowMs`) is the market time lag is measured against.
 */
export const snapshot = (
  stats: StreamStats,
  nowMs: number,
  messagesBefore: number,
  intervalMs: number,
  marketState: MarketState,
  marketNowMs: number = nowMs
): HeartbeatRecord => ({
  source: stats.source,
  at: new Date(nowMs).toISOString(),
  pid: process.pid,
  intervalMs,
  connection: stats.connection,
  messagesLastInterval: Math.max(0, stats.messages - messagesBefore),
  messagesTotal: stats.messages,
  lastMessageAt: stats.lastMessageAt === undefined ? null : new Date(stats.lastMessageAt).toISOString(),
  lagMs: stats.lastEventTime === undefined ? null : marketNowMs - stats.lastEventTime,
  reconnects: stats.reconnects,
  rejected: stats.rejected,
  unknownEvents: stats.unknownEvents,
  spilled: stats.spilled,
  committed: stats.committed,
  marketState
})

/** The next moment (market time) after `nowMs` at which the market state can change: an open, a close, a new day. */
export const nextMarketChange = (
  calendar: { readonly day: (date: string) => DayStatus },
  nowMs: number
): number => {
  const date = newYorkDate(nowMs)
  const midnight = newYorkTimeToEpochMs(addDays(date, 1), 0, 0)
  const day = calendar.day(date)
  if (day._tag === "open") {
    if (nowMs < day.openMs) return day.openMs
    if (nowMs < day.closeMs) return day.closeMs
  }
  return midnight
}

/**
 * Beats forever: one heartbeat at once, one every `intervalMs` (Effect Clock), and one as soon as
 * the connection state (`setConnection`) or the market state changes, so the file always says what
 * the stream is doing. `messagesLastInterval` counts since the last regular beat. A failed write is
 * logged and the next beat tries again; the fiber never fails. Fork it with `Effect.forkScoped` or
 * use `layer`.
 */
export const run = (options: HeartbeatOptions): Effect.Effect<never, never, MarketCalendar> =>
  Effect.gen(function* () {
    const calendar = yield* MarketCalendar
    const { stats, intervalMs, dataDir } = options
    const file = heartbeatFile(dataDir, stats.source)
    let messagesBefore = stats.messages
    let failing = false
    let written: { readonly connection: string; readonly market: MarketState } | undefined
    const marketTime = options.marketTime ?? Clock.currentTimeMillis
    const stateNow = Effect.map(marketTime, (market) => ({
      market,
      state: marketStateAt(market, sessionAt(calendar, market))
    }))
    const beat = (regular: boolean) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const { market, state } = yield* stateNow
        const record = snapshot(stats, now, messagesBefore, intervalMs, state, market)
        if (regular) messagesBefore = record.messagesTotal
        written = { connection: record.connection, market: state }
        yield* makeDir(path.dirname(file))
        yield* writeFileAtomic(file, new TextEncoder().encode(`${JSON.stringify(record, null, 2)}\n`))
        if (failing) {
          failing = false
          yield* Effect.logInfo(`heartbeat of ${stats.source} written again`)
        }
      }).pipe(
        Effect.catchAll((error) => {
          // Logged once per run of failures, not on every beat.
          if (failing) return Effect.void
          failing = true
          return Effect.logWarning(`cannot write the heartbeat of ${stats.source}: ${error.message}`)
        }),
        Effect.catchAllDefect((defect) => Effect.logError("heartbeat failed", defect))
      )
    yield* beat(true)
    let nextBeat = (yield* Clock.currentTimeMillis) + intervalMs
    for (;;) {
      // Sleep until the next regular beat, the next possible market change, or a connection change.
      const woken = yield* Deferred.make<void>()
      stats.onStateChange = () => Deferred.unsafeDone(woken, Exit.void)
      const now = yield* Clock.currentTimeMillis
      const { market } = yield* stateNow
      const wait = Math.max(0, Math.min(nextBeat - now, nextMarketChange(calendar, market) - market))
      if (written?.connection === stats.connection)
        yield* Effect.raceFirst(Effect.sleep(Duration.millis(wait)), Deferred.await(woken))
      const after = yield* Clock.currentTimeMillis
      if (after >= nextBeat) {
        yield* beat(true)
        nextBeat = after + intervalMs
        continue
      }
      const { state } = yield* stateNow
      if (written === undefined || written.connection !== stats.connection || written.market !== state)
        yield* beat(false)
    }
  }).pipe(Effect.annotateLogs({ monitor: "heartbeat", source: options.stats.source }))

/** Forks `run` for the life of the layer's scope. */
export const layer = (options: HeartbeatOptions): Layer.Layer<never, never, MarketCalendar> =>
  Layer.scopedDiscard(Effect.forkScoped(run(options)))

/** `layer` with `dataDir` and `stream.heartbeatIntervalMs` from `AppConfig`. */
export const layerFromConfig = (stats: StreamStats): Layer.Layer<never, never, MarketCalendar | AppConfig> =>
  Layer.unwrapEffect(
    Effect.map(AppConfig, (config) =>
      layer({ stats, intervalMs: config.stream.heartbeatIntervalMs, dataDir: config.dataDir })
    )
  )

/** What `status` shows for one heartbeat file. */
export interface HeartbeatStatus {
  readonly file: string
  /** The file's source (its name when unreadable). */
  readonly source: string
  /** Undefined when the file does not parse. */
  readonly heartbeat: HeartbeatRecord | undefined
  /** Clock time minus the heartbeat's `at`. */
  readonly ageMs: number | undefined
  /**
   * `running`: written within two intervals; `stale`: older, so the stream is not running (or is
   * wedged); `unreadable`: not a heartbeat file.
   */
  readonly state: "running" | "stale" | "unreadable"
  /** Running and not disconnected. */
  readonly healthy: boolean
  /** One sentence for `status`. */
  readonly reason: string
}

const formatAge = (ms: number): string =>
  ms < 120_000
    ? `${Math.round(ms / 1000)} s`
    : ms < 7_200_000
      ? `${Math.round(ms / 60_000)} min`
      : `${Math.round(ms / 3_600_000)} h`

/** The judgement on one heartbeat at `nowMs`. */
export const judgeHeartbeat = (
  file: string,
  heartbeat: HeartbeatRecord | undefined,
  nowMs: number
): HeartbeatStatus => {
  if (heartbeat === undefined) {
    return {
      file,
      source: path.basename(file, ".json"),
      heartbeat,
      ageMs: undefined,
      state: "unreadable",
      healthy: false,
      reason: "the heartbeat file cannot be read as a heartbeat"
    }
  }
  const atMs = Date.parse(heartbeat.at)
  const ageMs = Number.isNaN(atMs) ? undefined : Math.max(0, nowMs - atMs)
  const base = { file, source: heartbeat.source, heartbeat, ageMs }
  if (ageMs === undefined)
    return { ...base, state: "unreadable", healthy: false, reason: `bad heartbeat time ${heartbeat.at}` }
  if (ageMs > 2 * heartbeat.intervalMs)
    return {
      ...base,
      state: "stale",
      healthy: false,
      reason: `no heartbeat for ${formatAge(ageMs)} (expected every ${formatAge(heartbeat.intervalMs)}): the stream is not running or is stuck`
    }
  if (heartbeat.connection === "disconnected")
    return { ...base, state: "running", healthy: false, reason: "running but disconnected from the vendor" }
  return { ...base, state: "running", healthy: true, reason: `running, ${heartbeat.connection}` }
}

const listHeartbeatFiles = async (dir: string): Promise<ReadonlyArray<string>> =>
  (await readdirOrEmpty(dir))
    .filter((n) => n.endsWith(".json") && !n.startsWith("."))
    .sort()
    .map((n) => path.join(dir, n))

const readText = async (file: string): Promise<string | undefined> => {
  try {
    return await fs.readFile(file, "utf8")
  } catch (cause) {
    // Removed between the listing and the read.
    if (errorCode(cause) === "ENOENT") return undefined
    throw cause
  }
}

/**
 * Every heartbeat under `<dataDir>/state/heartbeat`, judged against the Clock, by file name
 * ([] without the folder).
 */
export const readHeartbeats = (
  dataDir: string
): Effect.Effect<ReadonlyArray<HeartbeatStatus>, StorageError> => {
  const dir = heartbeatDir(dataDir)
  return Effect.gen(function* () {
    const files = yield* Effect.tryPromise({ try: () => listHeartbeatFiles(dir), catch: toStorageError(dir) })
    const now = yield* Clock.currentTimeMillis
    const out: Array<HeartbeatStatus> = []
    for (const file of files) {
      const text = yield* Effect.tryPromise({ try: () => readText(file), catch: toStorageError(file) })
      if (text === undefined) continue
      const decoded = decodeHeartbeat(text)
      out.push(judgeHeartbeat(file, Either.isRight(decoded) ? decoded.right : undefined, now))
    }
    return out
  })
}
