/**
 * Alerts: the port every monitor and runner reports trouble through (stalls, spills, disconnects,
 * schema drift, auth failures, …). Raising never fails the caller: a failure to record an alert is
 * logged and the caller carries on.
 *
 * - `Live` appends one JSON line per alert to `<dataDir>/state/alerts.jsonl` (folders created) and
 *   logs it at the alert's level; `read(dataDir)` returns the newest lines for `tapehouse status`.
 * - `Test` keeps alerts in memory; read them with `collected` (or the `Raised` ref).
 * - Any other layer of `Alerts` replaces both, e.g. to page someone as well as keep the file:
 *
 * ```ts
 * import * as Alerts from "./monitor/Alerts.js"
 *
 * const Paging = Layer.effect(
 *   Alerts.Alerts,
 *   Effect.gen(function* () {
 *     const config = yield* AppConfig
 *     const file = yield* Alerts.make({ dataDir: config.dataDir })
 *     const pager = yield* Pager // your own service, built once here
 *     return Alerts.Alerts.of({
 *       raise: (alert) =>
 *         file.raise(alert).pipe(
 *           Effect.zipRight(
 *             Alerts.levelOf(alert) === "error"
 *               ? pager.send(`${alert.source}: ${alert.message}`).pipe(Effect.catchAll(Effect.logError))
 *               : Effect.void
 *           )
 *         )
 *     })
 *   })
 * )
 * // then provide `Paging` where the commands provide `Alerts.Live`.
 * ```
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Clock, Context, Effect, Either, Layer, Ref, Schema } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import type { StorageError } from "../domain/errors.js"
import { errorCode, mkdirs, toStorageError } from "../sinks/atomicFile.js"

export const ALERT_KINDS = [
  "stall",
  "recovered",
  "spill",
  "disconnect",
  "schema-drift",
  "auth",
  "slow-consumer",
  "max-connections",
  "gap",
  "error",
  "slow-commit",
  "stale-operation",
  "clock-skew"
] as const

export type AlertKind = (typeof ALERT_KINDS)[number]

export const ALERT_LEVELS = ["info", "warning", "error"] as const
export type AlertLevel = (typeof ALERT_LEVELS)[number]

/** What a caller raises. */
export interface Alert {
  readonly kind: AlertKind
  /** Who raises it: a stream source name ("massive-stocks"), "backfill", … */
  readonly source: string
  /** One readable sentence. */
  readonly message: string
  readonly details?: Record<string, unknown>
  /** Defaults to `defaultLevel(kind)`. */
  readonly level?: AlertLevel
}

/** One line of `alerts.jsonl`. */
export interface AlertRecord {
  /** ISO time from the Effect Clock. */
  readonly at: string
  readonly level: AlertLevel
  readonly kind: AlertKind
  readonly source: string
  readonly message: string
  readonly details: Record<string, unknown>
}

export interface AlertsShape {
  /** Records the alert. Never fails: a failure to record it is logged. */
  readonly raise: (alert: Alert) => Effect.Effect<void>
}

export class Alerts extends Context.Tag("tapehouse/Alerts")<Alerts, AlertsShape>() {}

/** `recovered` is info; auth, error and max-connections are errors; the rest warnings. */
export const defaultLevel = (kind: AlertKind): AlertLevel => {
  switch (kind) {
    case "recovered":
      return "info"
    case "auth":
    case "error":
    case "max-connections":
      return "error"
    default:
      return "warning"
  }
}

export const levelOf = (alert: Alert): AlertLevel => alert.level ?? defaultLevel(alert.kind)

/** The file `Live` appends to. */
export const alertsFile = (dataDir: string): string => path.join(dataDir, "state", "alerts.jsonl")

/** The record of `alert` raised at `nowMs`. */
export const toRecord = (alert: Alert, nowMs: number): AlertRecord => ({
  at: new Date(nowMs).toISOString(),
  level: levelOf(alert),
  kind: alert.kind,
  source: alert.source,
  message: alert.message,
  details: alert.details ?? {}
})

/** JSON of a record; bigints as strings, and never throws (unserializable details are described). */
const recordJson = (record: AlertRecord): string => {
  const replacer = (_key: string, value: unknown): unknown =>
    typeof value === "bigint" ? String(value) : value
  try {
    return JSON.stringify(record, replacer)
  } catch (cause) {
    return JSON.stringify(
      { ...record, details: { unserializable: cause instanceof Error ? cause.message : String(cause) } },
      replacer
    )
  }
}

const logAlert = (record: AlertRecord): Effect.Effect<void> => {
  const text = `alert ${record.kind} from ${record.source}: ${record.message}`
  const log =
    record.level === "error"
      ? Effect.logError(text)
      : record.level === "warning"
        ? Effect.logWarning(text)
        : Effect.logInfo(text)
  return log.pipe(
    Effect.annotateLogs({
      alert: record.kind,
      source: record.source,
      ...(Object.keys(record.details).length > 0 ? { details: recordJson(record).slice(0, 4000) } : {})
    })
  )
}

/** The file-backed service: appends to `<dataDir>/state/alerts.jsonl` and logs, lines in raise order. */
export const make = (options: { readonly dataDir: string }): Effect.Effect<AlertsShape> =>
  Effect.gen(function* () {
    const file = alertsFile(options.dataDir)
    const lock = yield* Effect.makeSemaphore(1)
    const append = (line: string) =>
      Effect.tryPromise({
        try: async () => {
          await mkdirs(path.dirname(file))
          await fs.appendFile(file, line, "utf8")
        },
        catch: toStorageError(file)
      })
    return Alerts.of({
      raise: (alert) =>
        Effect.gen(function* () {
          const record = toRecord(alert, yield* Clock.currentTimeMillis)
          yield* logAlert(record)
          yield* lock
            .withPermits(1)(append(`${recordJson(record)}\n`))
            .pipe(
              Effect.catchAll((error) =>
                Effect.logError(`cannot record an alert in ${file}: ${error.message}`).pipe(
                  Effect.annotateLogs({ alert: record.kind, source: record.source })
                )
              )
            )
        }).pipe(Effect.uninterruptible)
    })
  })

/** Alerts to `<dataDir>/state/alerts.jsonl` and the log. */
export const Live: Layer.Layer<Alerts, never, AppConfig> = Layer.effect(
  Alerts,
  Effect.flatMap(AppConfig, (config) => make({ dataDir: config.dataDir }))
)

/** The alerts `Test` collected, oldest first. */
export class Raised extends Context.Tag("tapehouse/Alerts/Raised")<
  Raised,
  Ref.Ref<ReadonlyArray<AlertRecord>>
>() {}

/** The alerts `Test` collected so far, oldest first. */
export const collected: Effect.Effect<ReadonlyArray<AlertRecord>, never, Raised> = Effect.flatMap(
  Raised,
  Ref.get
)

/** In memory: every raised alert (with its Clock time) goes to the `Raised` ref; nothing is logged. */
export const Test: Layer.Layer<Alerts | Raised> = Layer.effectContext(
  Effect.gen(function* () {
    const raised = yield* Ref.make<ReadonlyArray<AlertRecord>>([])
    const service = Alerts.of({
      raise: (alert) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Ref.update(raised, (all) => [...all, toRecord(alert, now)])
        )
    })
    return Context.make(Alerts, service).pipe(Context.add(Raised, raised))
  })
)

const AlertRecordSchema = Schema.parseJson(
  Schema.Struct({
    at: Schema.String,
    level: Schema.Literal(...ALERT_LEVELS),
    kind: Schema.Literal(...ALERT_KINDS),
    source: Schema.String,
    message: Schema.String,
    details: Schema.Record({ key: Schema.String, value: Schema.Unknown })
  })
)
const decodeLine = Schema.decodeUnknownEither(AlertRecordSchema)

const TAIL_CHUNK = 256 * 1024

/** The last `limit` complete lines of a file, reading from its end; [] when it does not exist. */
const tailLines = async (file: string, limit: number): Promise<ReadonlyArray<string>> => {
  let handle: fs.FileHandle
  try {
    handle = await fs.open(file, "r")
  } catch (cause) {
    if (errorCode(cause) === "ENOENT") return []
    throw cause
  }
  try {
    const size = (await handle.stat()).size
    let length = Math.min(size, TAIL_CHUNK)
    for (;;) {
      const start = size - length
      const buffer = Buffer.alloc(length)
      await handle.read(buffer, 0, length, start)
      const lines = buffer.toString("utf8").split("\n")
      // The first piece is partial unless the read began at the start of the file.
      if (start > 0) lines.shift()
      const complete = lines.filter((l) => l.trim().length > 0)
      if (complete.length >= limit || start === 0) return complete.slice(-limit)
      length = Math.min(size, length * 2)
    }
  } finally {
    await handle.close()
  }
}

/**
 * The newest `limit` alerts of `<dataDir>/state/alerts.jsonl`, oldest first ([] without the file).
 * Lines that do not parse (a torn last line after a crash) are skipped.
 */
export const read = (
  dataDir: string,
  limit = 20
): Effect.Effect<ReadonlyArray<AlertRecord>, StorageError> => {
  const file = alertsFile(dataDir)
  if (limit <= 0) return Effect.succeed([])
  return Effect.tryPromise({
    try: () => tailLines(file, limit),
    catch: toStorageError(file)
  }).pipe(
    Effect.map((lines) =>
      lines.flatMap((line) => {
        const decoded = decodeLine(line)
        return Either.isRight(decoded) ? [decoded.right] : []
      })
    )
  )
}
