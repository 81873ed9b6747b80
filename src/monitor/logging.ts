/**
 * The application logger. It replaces Effect's default logger with two outputs, both passed
 * through the redactor: JSON lines appended to `<dataDir>/logs/tapehouse-YYYY-MM-DD.jsonl`
 * (UTC date, a new file each day) and readable lines on stderr, so stdout stays for command
 * output. File writes are batched: lines logged in one turn of the event loop go out in one
 * write, and the file is flushed and closed when the layer's scope closes.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { Cause, Effect, HashMap, Inspectable, Layer, List, Logger, LogLevel, Option, Redacted } from "effect"
import type { LogLevelName } from "../config/AppConfig.js"
import { AppConfig } from "../config/AppConfig.js"
import { makeRedactor } from "../config/redact.js"
import { secretsOf } from "../config/vendors.js"
import type { StorageError } from "../domain/errors.js"
import { storageErrorOf } from "../domain/systemCause.js"
import { mkdirs } from "../sinks/atomicFile.js"
import { StatusLine } from "./StatusLine.js"

export interface LoggingOptions {
  readonly dataDir: string
  readonly level: LogLevelName
  readonly console: "pretty" | "json" | "off"
  readonly redact: (s: string) => string
}

/** One line of the JSON log. */
export interface LogRecord {
  readonly timestamp: string
  readonly level: string
  readonly message: string
  readonly fiber: string
  readonly annotations: Record<string, unknown>
  /** Each open span with its age in milliseconds. */
  readonly spans: Record<string, number>
  /** `Cause.pretty`, when the log call carried a cause. */
  readonly cause?: string
}

const levels: Readonly<Record<LogLevelName, LogLevel.LogLevel>> = {
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  error: LogLevel.Error
}

const levelName = (level: LogLevel.LogLevel): string => {
  switch (level._tag) {
    case "Warning":
      return "warning"
    default:
      return level.label.toLowerCase()
  }
}

/** The file a log line of `isoTimestamp` goes to. */
export const logFilePath = (dataDir: string, isoTimestamp: string): string =>
  path.join(dataDir, "logs", `tapehouse-${isoTimestamp.slice(0, 10)}.jsonl`)

const textOf = (u: unknown): string =>
  typeof u === "string"
    ? u
    : typeof u === "number" || typeof u === "boolean" || typeof u === "bigint"
      ? String(u)
      : Inspectable.toStringUnknown(u, 0)

const messageText = (message: unknown): string =>
  Array.isArray(message) ? message.map(textOf).join(" ") : textOf(message)

const annotationValue = (u: unknown, redact: (s: string) => string): unknown => {
  if (typeof u === "string") return redact(u)
  if (typeof u === "number" || typeof u === "boolean" || u === null) return u
  if (typeof u === "bigint") return u.toString()
  if (Redacted.isRedacted(u)) return "<redacted>"
  return redact(textOf(u))
}

/** Builds the redacted record of one log call. */
export const toLogRecord = (
  options: Logger.Logger.Options<unknown>,
  redact: (s: string) => string
): LogRecord => {
  const now = options.date.getTime()
  const annotations: Record<string, unknown> = {}
  if (HashMap.size(options.annotations) > 0) {
    for (const [k, v] of options.annotations) annotations[k] = annotationValue(v, redact)
  }
  const spans: Record<string, number> = {}
  if (List.isCons(options.spans)) {
    for (const span of options.spans) spans[redact(span.label)] = now - span.startTime
  }
  const base = {
    timestamp: options.date.toISOString(),
    level: levelName(options.logLevel),
    message: redact(messageText(options.message)),
    fiber: `#${options.fiberId._tag === "Runtime" ? options.fiberId.id : "none"}`,
    annotations,
    spans
  }
  return Cause.isEmpty(options.cause)
    ? base
    : { ...base, cause: redact(Cause.pretty(options.cause, { renderErrorCause: true })) }
}

const useColor = (): boolean => process.stderr.isTTY === true && process.env["NO_COLOR"] === undefined

const colors: Readonly<Record<string, string>> = {
  trace: "\x1b[90m",
  debug: "\x1b[34m",
  info: "\x1b[32m",
  warning: "\x1b[33m",
  error: "\x1b[31m",
  fatal: "\x1b[35m"
}

/** A readable console line: `2024-05-01T14:30:00.123Z INFO  message key=value span=12ms`. */
export const formatPretty = (record: LogRecord, color: boolean): string => {
  const level = record.level.toUpperCase().padEnd(7)
  const tags: Array<string> = []
  for (const [k, v] of Object.entries(record.annotations)) {
    tags.push(`${k}=${typeof v === "string" ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`)
  }
  for (const [k, ms] of Object.entries(record.spans)) tags.push(`${k}=${ms}ms`)
  const head = color
    ? `\x1b[2m${record.timestamp}\x1b[0m ${colors[record.level] ?? ""}${level}\x1b[0m`
    : `${record.timestamp} ${level}`
  const line = `${head} ${record.message}${tags.length > 0 ? ` ${tags.join(" ")}` : ""}`
  return record.cause === undefined ? line : `${line}\n${record.cause.replace(/^/gm, "  ")}`
}

/** Appends lines to the day's file, batching the lines of one event-loop turn into one write. */
interface FileSink {
  readonly append: (date: string, line: string) => void
  readonly close: Effect.Effect<void>
}

const FLUSH_BYTES = 64 * 1024

const openFileSink = (logsDir: string) =>
  Effect.gen(function* () {
    yield* Effect.tryPromise({
      try: async () => {
        await mkdirs(logsDir)
        await fs.promises.access(logsDir, fs.constants.W_OK)
      },
      catch: storageErrorOf(logsDir)
    })

    let stream: fs.WriteStream | undefined
    let day = ""
    let pending: Array<string> = []
    let pendingBytes = 0
    let scheduled: NodeJS.Immediate | undefined
    let closed = false
    let reported = false

    const report = (file: string, error: unknown) => {
      if (reported) return
      reported = true
      process.stderr.write(`tapehouse: ${storageErrorOf(file, "cannot write the log file")(error).message}\n`)
    }

    const open = (date: string): fs.WriteStream => {
      const file = path.join(logsDir, `tapehouse-${date}.jsonl`)
      const fd = fs.openSync(file, "a")
      const s = fs.createWriteStream(file, { fd, flags: "a", autoClose: true })
      s.on("error", (error) => report(file, error))
      return s
    }

    const flush = () => {
      if (scheduled !== undefined) {
        clearImmediate(scheduled)
        scheduled = undefined
      }
      if (pending.length === 0 || stream === undefined) return
      const chunk = pending.join("")
      pending = []
      pendingBytes = 0
      stream.write(chunk)
    }

    const switchDay = (date: string) => {
      flush()
      stream?.end()
      stream = undefined
      day = date
      try {
        stream = open(date)
      } catch (error) {
        report(path.join(logsDir, `tapehouse-${date}.jsonl`), error)
      }
    }

    // The first file is opened now, so a data dir that cannot be written fails the layer.
    const today = new Date().toISOString().slice(0, 10)
    stream = yield* Effect.try({
      try: () => open(today),
      catch: storageErrorOf(path.join(logsDir, `tapehouse-${today}.jsonl`), "cannot open the log file")
    })
    day = today

    const sink: FileSink = {
      append: (date, line) => {
        if (closed) return
        if (date !== day) switchDay(date)
        if (stream === undefined) return
        pending.push(line)
        pendingBytes += line.length
        if (pendingBytes >= FLUSH_BYTES) flush()
        else if (scheduled === undefined) scheduled = setImmediate(flush)
      },
      close: Effect.async<void>((resume) => {
        if (closed) return resume(Effect.void)
        flush()
        closed = true
        const s = stream
        stream = undefined
        if (s === undefined || s.destroyed) return resume(Effect.void)
        s.end(() => resume(Effect.void))
      })
    }
    return sink
  })

/**
 * Replaces Effect's default logger with the JSON file log and the console log (stderr), both
 * redacted, and sets the minimum log level. The file is flushed and closed with the scope.
 */
export const layer = (options: LoggingOptions): Layer.Layer<never, StorageError> => {
  const { redact } = options
  const logger = Effect.gen(function* () {
    const sink = yield* Effect.acquireRelease(
      openFileSink(path.join(options.dataDir, "logs")),
      (s) => s.close
    )
    const color = options.console === "pretty" && useColor()
    // A command's live line (progress, counters) is cleared and redrawn around each console line.
    const statusLine = yield* Effect.serviceOption(StatusLine)
    const print = Option.match(statusLine, {
      onNone: () => (line: string) => void process.stderr.write(`${line}\n`),
      onSome: (live) => live.print
    })
    return Logger.make<unknown, void>((entry) => {
      const record = toLogRecord(entry, redact)
      const json = JSON.stringify(record)
      sink.append(record.timestamp.slice(0, 10), `${json}\n`)
      if (options.console === "json") print(json)
      else if (options.console === "pretty") print(formatPretty(record, color))
    })
  })
  return Layer.merge(
    Logger.replaceScoped(Logger.defaultLogger, logger),
    Logger.minimumLogLevel(levels[options.level])
  )
}

/** `layer` configured from `AppConfig`, redacting every vendor's key and the SQL URL. */
export const layerFromConfig: Layer.Layer<never, StorageError, AppConfig> = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) =>
    layer({
      dataDir: config.dataDir,
      level: config.log.level,
      console: config.log.console,
      redact: makeRedactor(secretsOf(config))
    })
  )
)
