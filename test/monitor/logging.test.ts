import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, afterEach, describe, expect, it, vi } from "@effect/vitest"
import { Data, Effect, Layer, Option, Redacted } from "effect"
import { AppConfig, type AppConfigShape } from "../../src/config/AppConfig.js"
import { makeRedactor } from "../../src/config/redact.js"
import * as Logging from "../../src/monitor/logging.js"
import { makeTempDir, removeTempDirs } from "../support/tempDirs.js"

const KEY = "sk_live_9f8e7d6c5b4a3210ZYXW"

const tempDir = (): string => makeTempDir("tapehouse-logging-")

afterAll(removeTempDirs)

const logFile = (dataDir: string): string => {
  const dir = path.join(dataDir, "logs")
  const files = fs.readdirSync(dir)
  expect(files).toHaveLength(1)
  expect(files[0]).toMatch(/^tapehouse-\d{4}-\d{2}-\d{2}\.jsonl$/)
  return path.join(dir, files[0]!)
}

const logLines = (dataDir: string): Array<Record<string, unknown>> => {
  const text = fs.readFileSync(logFile(dataDir), "utf8")
  expect(text.endsWith("\n")).toBe(true)
  return text
    .trimEnd()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

class Boom extends Data.TaggedError("Boom")<{ readonly url: string }> {
  override get message() {
    return `request to ${this.url} failed`
  }
}

const captureStderr = () => {
  const chunks: Array<string> = []
  const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"))
    return true
  })
  return { text: () => chunks.join(""), spy }
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe("logging", () => {
  it.live("writes one parseable JSON line per log call, secrets masked, and flushes on close", () =>
    Effect.gen(function* () {
      const dataDir = tempDir()
      const stderr = captureStderr()
      const program = Effect.gen(function* () {
        yield* Effect.logInfo(`fetching https://api.massive.com/v2?apiKey=${KEY}`)
        yield* Effect.logDebug("debug is below the level and dropped")
        yield* Effect.logWarning("slow page").pipe(Effect.annotateLogs({ symbol: "AAPL", token: KEY }))
        yield* Effect.logError("failed").pipe(Effect.withLogSpan("backfill"))
        yield* Effect.fail(new Boom({ url: `https://api.massive.com/?apiKey=${KEY}` })).pipe(
          Effect.tapErrorCause((cause) => Effect.logError("request failed", cause)),
          Effect.ignore
        )
        for (let i = 0; i < 1000; i++) yield* Effect.logInfo("row", i)
      })
      yield* program.pipe(
        Effect.provide(
          Logging.layer({ dataDir, level: "info", console: "json", redact: makeRedactor([KEY]) })
        )
      )
      stderr.spy.mockRestore()

      const lines = logLines(dataDir)
      expect(lines).toHaveLength(4 + 1000)
      const [first, second, third, fourth] = lines
      expect(first).toMatchObject({
        level: "info",
        message: "fetching https://api.massive.com/v2?apiKey=****ZYXW"
      })
      expect(Number.isNaN(Date.parse(String(first?.["timestamp"])))).toBe(false)
      expect(second).toMatchObject({ level: "warning", annotations: { symbol: "AAPL", token: "****ZYXW" } })
      expect(third).toMatchObject({ level: "error", message: "failed" })
      expect(Object.keys(third?.["spans"] as object)).toEqual(["backfill"])
      expect(fourth?.["message"]).toBe("request failed")
      expect(fourth?.["cause"]).toContain("request to https://api.massive.com/?apiKey=****ZYXW failed")
      expect(lines[1003]).toMatchObject({ message: "row 999" })

      expect(fs.readFileSync(logFile(dataDir), "utf8")).not.toContain(KEY)
      // json console mode: the same lines on stderr
      expect(stderr.text()).toContain('"message":"fetching https://api.massive.com/v2?apiKey=****ZYXW"')
      expect(stderr.text()).not.toContain(KEY)
    })
  )

  it.live("pretty console lines go to stderr, masked, with the cause", () =>
    Effect.gen(function* () {
      const dataDir = tempDir()
      const stderr = captureStderr()
      const stdout = vi.spyOn(process.stdout, "write")
      yield* Effect.fail(new Boom({ url: `https://x/?apiKey=${KEY}` })).pipe(
        Effect.tapErrorCause((cause) => Effect.logError("upstream failed", cause)),
        Effect.ignore,
        Effect.annotateLogs("secret", Redacted.make(KEY)),
        Effect.provide(
          Logging.layer({ dataDir, level: "debug", console: "pretty", redact: makeRedactor([KEY]) })
        )
      )
      stderr.spy.mockRestore()
      const text = stderr.text()
      expect(text).toMatch(/^\S+Z ERROR {3}upstream failed/)
      expect(text).toContain("secret=<redacted>")
      expect(text).toContain("request to https://x/?apiKey=****ZYXW failed")
      expect(text).not.toContain(KEY)
      expect(stdout).not.toHaveBeenCalled()
      expect(fs.readFileSync(logFile(dataDir), "utf8")).not.toContain(KEY)
    })
  )

  it.live("console off writes only the file; the level is a minimum", () =>
    Effect.gen(function* () {
      const dataDir = tempDir()
      const stderr = captureStderr()
      yield* Effect.gen(function* () {
        yield* Effect.logInfo("dropped")
        yield* Effect.logError("kept")
      }).pipe(Effect.provide(Logging.layer({ dataDir, level: "error", console: "off", redact: (s) => s })))
      stderr.spy.mockRestore()
      expect(stderr.text()).toBe("")
      expect(logLines(dataDir).map((l) => l["message"])).toEqual(["kept"])
    })
  )

  it.live("a data dir that cannot be written fails with StorageError", () =>
    Effect.gen(function* () {
      const file = path.join(tempDir(), "not-a-dir")
      fs.writeFileSync(file, "")
      const error = yield* Layer.build(
        Logging.layer({ dataDir: file, level: "info", console: "off", redact: (s) => s })
      ).pipe(Effect.scoped, Effect.flip)
      expect(error._tag).toBe("StorageError")
    })
  )

  it.live("layerFromConfig masks the configured API key and SQL password", () =>
    Effect.gen(function* () {
      const dataDir = tempDir()
      const config = {
        dataDir,
        log: { level: "info", console: "off" },
        massive: { apiKey: Option.some(Redacted.make(KEY)) },
        sql: { url: Option.some(Redacted.make("postgres://app:Sup3rS3cretPw@db/lake")) }
      } as unknown as AppConfigShape
      yield* Effect.logInfo(`key ${KEY}; password Sup3rS3cretPw`).pipe(
        Effect.provide(Logging.layerFromConfig.pipe(Layer.provide(Layer.succeed(AppConfig, config))))
      )
      const [line] = logLines(dataDir)
      expect(line?.["message"]).toBe("key ****ZYXW; password ****etPw")
    })
  )
})
