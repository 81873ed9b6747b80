/**
 * ErrorLog: every error tapehouse meets, kept so that `tapehouse errors` and `health` can show them
 * grouped by (source, kind, normalised message) with a count, first and last seen, and an example.
 *
 * What counts as an error (the hooks that record them):
 * - `backfill-day`: a backfill day that failed (source: the dataset), one per instrument-day;
 * - `rejected`: records sent to quarantine (source: the dataset), one entry per reason per write,
 *   with the number of records as `count` (never one line per record);
 * - `disconnect`, `error`, `auth`: a stream lost its connection, a stream stopped for good, the
 *   vendor refused the key (source: the stream source), from the alerts a stream raises.
 *
 * Storage: `<dataDir>/state/errors.jsonl`, one JSON line per entry. Each `record` appends its lines
 * with one `appendFile` (O_APPEND): several processes append to the file at once without tearing
 * their lines (a torn last line after a crash is skipped on read). Groups are computed on read.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Clock, Context, Effect, Either, Layer, Ref, Schema } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import type { StorageError } from "../domain/errors.js"
import { errorCode, mkdirs, toStorageError } from "../sinks/atomicFile.js"
import * as AlertsModule from "./Alerts.js"
import { Alerts, type AlertsShape } from "./Alerts.js"

/** What a caller records. */
export interface NewError {
  /** A dataset (`stock_bars_1s`) or a stream source (`massive-stocks`). */
  readonly source: string
  /** `backfill-day`, `rejected`, `disconnect`, `error`, `auth` (see the module comment). */
  readonly kind: string
  readonly message: string
  /**
   * What it happened to (`SPY 2026-12-01`): shown with the example, kept out of the grouping, so
   * one cause on many instruments or days is one group.
   */
  readonly subject?: string
  /** Occurrences this entry stands for (default 1). */
  readonly count?: number
}

/** One line of `errors.jsonl`. */
export const ErrorEntry = Schema.Struct({
  /** ISO time (Effect Clock). */
  at: Schema.String,
  source: Schema.String,
  kind: Schema.String,
  message: Schema.String,
  subject: Schema.optional(Schema.String),
  count: Schema.Number
})
export type ErrorEntry = typeof ErrorEntry.Type

const decodeLine = Schema.decodeUnknownEither(Schema.parseJson(ErrorEntry))

/** The file `Live` appends to. */
export const errorsFile = (dataDir: string): string => path.join(dataDir, "state", "errors.jsonl")

/** A hex run that holds a digit and a letter is an id (a request id, a hash); a word or a number is not. */
const hexId = (run: string): string => (/\d/.test(run) && /[a-f]/i.test(run) ? "<id>" : run)

// Order matters: URLs before dates and numbers (they hold both), ids before numbers. Each rule runs
// only on a message that has its cue (`when`), so most messages meet two or three of them.
const RULES: ReadonlyArray<{
  readonly when: string | undefined
  readonly pattern: RegExp
  readonly replace: string | ((match: string) => string)
}> = [
  // The ticker in a REST path, then the rest of a path after it (ranges, dates, ids), and queries.
  { when: "/ticker/", pattern: /\/ticker\/[^/?\s]+/g, replace: "/ticker/<ticker>" },
  { when: "/tickers/", pattern: /\/tickers\/[^/?\s]+/g, replace: "/tickers/<ticker>" },
  { when: "/", pattern: /(\/(?:range|open-close)\/)[^\s?"')]+/g, replace: "$1<…>" },
  { when: "?", pattern: /\?[^\s"')]*/g, replace: "?<query>" },
  {
    when: "-",
    pattern: /\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?/g,
    replace: "<date>"
  },
  {
    when: "-",
    pattern: /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi,
    replace: "<id>"
  },
  { when: undefined, pattern: /\b[0-9a-f]{8,}\b/gi, replace: hexId },
  // Option, index and crypto tickers: O:SPY240119C00470000, I:VIX, X:BTCUSD.
  { when: ":", pattern: /\b[OIXC]:[A-Z0-9.]+/g, replace: "<ticker>" },
  { when: undefined, pattern: /-?\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b/gi, replace: "<n>" },
  { when: undefined, pattern: /\s+/g, replace: " " }
]

/** The message with numbers, ids, dates, tickers in URLs and queries taken out: what groups errors. */
export const normalise = (message: string): string => {
  let out = message
  for (const rule of RULES)
    if (rule.when === undefined || out.includes(rule.when))
      out = out.replace(rule.pattern, rule.replace as (match: string) => string)
  return out.trim()
}

/** Errors of one (source, kind, normalised message). */
export interface ErrorGroup {
  readonly source: string
  readonly kind: string
  /** The normalised message. */
  readonly pattern: string
  readonly count: number
  readonly firstSeen: string
  readonly lastSeen: string
  /** The latest message of the group, as it was, after its subject (`SPY 2026-12-01: …`). */
  readonly example: string
}

const exampleOf = (e: ErrorEntry) => (e.subject === undefined ? e.message : `${e.subject}: ${e.message}`)

/** `entries` grouped, most recent last seen first; entries before `sinceMs` (epoch ms) are left out. */
export const groupErrors = (
  entries: ReadonlyArray<ErrorEntry>,
  sinceMs?: number
): ReadonlyArray<ErrorGroup> => {
  const groups = new Map<string, { -readonly [K in keyof ErrorGroup]: ErrorGroup[K] }>()
  for (const e of entries) {
    if (sinceMs !== undefined && !(Date.parse(e.at) >= sinceMs)) continue
    const pattern = normalise(e.message)
    const key = `${e.source}\u0000${e.kind}\u0000${pattern}`
    const g = groups.get(key)
    if (g === undefined) {
      groups.set(key, {
        source: e.source,
        kind: e.kind,
        pattern,
        count: e.count,
        firstSeen: e.at,
        lastSeen: e.at,
        example: exampleOf(e)
      })
      continue
    }
    g.count += e.count
    if (e.at < g.firstSeen) g.firstSeen = e.at
    if (e.at >= g.lastSeen) {
      g.lastSeen = e.at
      g.example = exampleOf(e)
    }
  }
  return [...groups.values()].sort((a, b) =>
    a.lastSeen === b.lastSeen ? b.count - a.count : a.lastSeen < b.lastSeen ? 1 : -1
  )
}

/** The entries of `records` at `nowMs`. */
export const toEntries = (records: ReadonlyArray<NewError>, nowMs: number): ReadonlyArray<ErrorEntry> => {
  const at = new Date(nowMs).toISOString()
  return records
    .filter((r) => (r.count ?? 1) > 0)
    .map(
      (r): ErrorEntry => ({
        at,
        source: r.source,
        kind: r.kind,
        message: r.message.slice(0, 2000),
        ...(r.subject === undefined ? {} : { subject: r.subject }),
        count: r.count ?? 1
      })
    )
}

/** Appends `entries` to `<dataDir>/state/errors.jsonl` in one write. */
export const append = (
  dataDir: string,
  entries: ReadonlyArray<ErrorEntry>
): Effect.Effect<void, StorageError> => {
  const file = errorsFile(dataDir)
  if (entries.length === 0) return Effect.void
  const text = entries.map((e) => `${JSON.stringify(e)}\n`).join("")
  return Effect.tryPromise({
    try: async () => {
      await mkdirs(path.dirname(file))
      await fs.appendFile(file, text, "utf8")
    },
    catch: toStorageError(file)
  })
}

/** Every entry of `<dataDir>/state/errors.jsonl` ([] without the file); lines that do not parse are skipped. */
export const read = (dataDir: string): Effect.Effect<ReadonlyArray<ErrorEntry>, StorageError> => {
  const file = errorsFile(dataDir)
  return Effect.tryPromise({
    try: () =>
      fs.readFile(file, "utf8").catch((cause: unknown) => {
        if (errorCode(cause) === "ENOENT") return ""
        throw cause
      }),
    catch: toStorageError(file)
  }).pipe(
    Effect.map((text) =>
      text.split("\n").flatMap((line) => {
        if (line.length === 0) return []
        const decoded = decodeLine(line)
        return Either.isRight(decoded) ? [decoded.right] : []
      })
    )
  )
}

/** Entries `recorded` keeps (the newest): a process that runs for days stays bounded. */
export const RECORDED_KEPT = 10_000

export interface ErrorLogShape {
  /** Records errors. Never fails: a failure to record them is logged. */
  readonly record: (errors: ReadonlyArray<NewError>) => Effect.Effect<void>
  /** The entries this service recorded (this run's errors, the newest `RECORDED_KEPT`), oldest first. */
  readonly recorded: Effect.Effect<ReadonlyArray<ErrorEntry>>
}

export class ErrorLog extends Context.Tag("tapehouse/ErrorLog")<ErrorLog, ErrorLogShape>() {}

/** Appends to `<dataDir>/state/errors.jsonl` and keeps this run's entries. */
export const make = (options: { readonly dataDir: string }): Effect.Effect<ErrorLogShape> =>
  Effect.gen(function* () {
    const mine = yield* Ref.make<ReadonlyArray<ErrorEntry>>([])
    return ErrorLog.of({
      record: (errors) =>
        Effect.gen(function* () {
          const entries = toEntries(errors, yield* Clock.currentTimeMillis)
          if (entries.length === 0) return
          yield* Ref.update(mine, (all) => [...all, ...entries].slice(-RECORDED_KEPT))
          yield* append(options.dataDir, entries).pipe(
            Effect.catchAll((error) => Effect.logError(`cannot record errors: ${error.message}`))
          )
        }).pipe(Effect.uninterruptible),
      recorded: Ref.get(mine)
    })
  })

export const Live: Layer.Layer<ErrorLog, never, AppConfig> = Layer.effect(
  ErrorLog,
  Effect.flatMap(AppConfig, (config) => make({ dataDir: config.dataDir }))
)

/** In memory only: `recorded` holds everything. */
export const Test: Layer.Layer<ErrorLog> = Layer.effect(
  ErrorLog,
  Effect.gen(function* () {
    const mine = yield* Ref.make<ReadonlyArray<ErrorEntry>>([])
    return ErrorLog.of({
      record: (errors) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Ref.update(mine, (all) => [...all, ...toEntries(errors, now)])
        ),
      recorded: Ref.get(mine)
    })
  })
)

/** The kinds of alert a stream raises that are errors (see the module comment). */
export const ERROR_ALERT_KINDS: ReadonlySet<string> = new Set(["disconnect", "error", "auth"])

/**
 * Alerts to `alerts.jsonl` (`Alerts.make`) whose error kinds (`ERROR_ALERT_KINDS`) also go to the
 * error log: how a stream's disconnects and failures become errors.
 */
export const recordingAlerts = (alerts: AlertsShape, errors: ErrorLogShape): AlertsShape =>
  Alerts.of({
    raise: (alert) =>
      ERROR_ALERT_KINDS.has(alert.kind)
        ? Effect.zipRight(
            alerts.raise(alert),
            errors.record([{ source: alert.source, kind: alert.kind, message: alert.message }])
          )
        : alerts.raise(alert)
  })

/** `Alerts` to the data dir's file, recording error kinds in `ErrorLog` (provide `ErrorLog` too). */
export const AlertsLive: Layer.Layer<Alerts, never, AppConfig | ErrorLog> = Layer.effect(
  Alerts,
  Effect.gen(function* () {
    const config = yield* AppConfig
    return recordingAlerts(yield* AlertsModule.make({ dataDir: config.dataDir }), yield* ErrorLog)
  })
)
