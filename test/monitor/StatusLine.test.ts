import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Logger } from "effect"
import * as Logging from "../../src/monitor/logging.js"
import * as StatusLine from "../../src/monitor/StatusLine.js"
import { tempDir } from "../support/fixtures.js"

const recorder = () => {
  const chunks: Array<string> = []
  return { out: { write: (s: string) => chunks.push(s) }, text: () => chunks.join("") }
}

describe("StatusLine", () => {
  it("a printed line clears the live line first and redraws it after, so the two are never glued", () => {
    const r = recorder()
    const line = StatusLine.make(r.out, true)
    line.show("backfill 1/5 days")
    line.print("2024-03-04 INFO committed")
    line.show("backfill 2/5 days")
    line.clear()
    expect(r.text()).toBe(
      "\r\x1b[2Kbackfill 1/5 days" +
        "\r\x1b[2K2024-03-04 INFO committed\nbackfill 1/5 days" +
        "\r\x1b[2Kbackfill 2/5 days" +
        "\r\x1b[2K"
    )
  })

  it("off a terminal no live line is drawn and printed lines are plain", () => {
    const r = recorder()
    const line = StatusLine.make(r.out, false)
    line.show("backfill 1/5 days")
    line.print("a log line")
    line.clear()
    expect(r.text()).toBe("a log line\n")
  })

  it.scoped("the console logger prints through the command's live line", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir()
      const r = recorder()
      const line = StatusLine.make(r.out, true)
      const logger = Logging.layer({ dataDir, level: "info", console: "json", redact: (s) => s }).pipe(
        Layer.provide(Layer.succeed(StatusLine.StatusLine, line))
      )
      line.show("progress 3/5")
      yield* Effect.logInfo("hello").pipe(Effect.provide(logger))
      const text = r.text()
      expect(text.startsWith("\r\x1b[2Kprogress 3/5\r\x1b[2K{")).toBe(true)
      expect(text).toMatch(/"message":"hello".*\}\nprogress 3\/5$/)
    }).pipe(Effect.provide(Logger.remove(Logger.defaultLogger)))
  )
})
