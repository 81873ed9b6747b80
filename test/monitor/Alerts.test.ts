import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Logger, LogLevel, Ref, TestClock } from "effect"
import { AppConfig, type AppConfigShape } from "../../src/config/AppConfig.js"
import * as Alerts from "../../src/monitor/Alerts.js"
import { tempDir } from "../support/fixtures.js"

const T0 = Date.parse("2024-03-05T15:00:00.000Z")

const liveLayer = (dataDir: string) =>
  Alerts.Live.pipe(Layer.provide(Layer.succeed(AppConfig, { dataDir } as unknown as AppConfigShape)))

const fileLines = (dataDir: string): Array<Record<string, unknown>> =>
  fs
    .readFileSync(Alerts.alertsFile(dataDir), "utf8")
    .trimEnd()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>)

/** A logger that keeps (level, message) of every call. */
const captureLogs = () => {
  const logs: Array<{ level: string; message: string }> = []
  const logger = Logger.make<unknown, void>(({ logLevel, message }) => {
    logs.push({
      level: logLevel.label,
      message: Array.isArray(message) ? message.join(" ") : String(message)
    })
  })
  return { logs, layer: Logger.replace(Logger.defaultLogger, logger) }
}

describe("Alerts", () => {
  it.scoped("Live appends one parseable JSON line per alert, stamped with Clock time, and logs it", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir("tapehouse-alerts-")
      const { logs, layer } = captureLogs()
      yield* TestClock.setTime(T0)
      yield* Effect.gen(function* () {
        const alerts = yield* Alerts.Alerts
        yield* alerts.raise({
          kind: "stall",
          source: "massive-stocks",
          message: "no data for 15 min",
          details: { scope: "feed", silentForMs: 900_000 }
        })
        yield* TestClock.adjust("90 seconds")
        yield* alerts.raise({ kind: "recovered", source: "massive-stocks", message: "data again" })
        yield* alerts.raise({ kind: "auth", source: "massive-stocks", message: "key rejected" })
      }).pipe(
        Effect.provide(Layer.merge(liveLayer(dataDir), layer)),
        Logger.withMinimumLogLevel(LogLevel.All)
      )

      const lines = fileLines(dataDir)
      expect(lines).toEqual([
        {
          at: "2024-03-05T15:00:00.000Z",
          level: "warning",
          kind: "stall",
          source: "massive-stocks",
          message: "no data for 15 min",
          details: { scope: "feed", silentForMs: 900_000 }
        },
        {
          at: "2024-03-05T15:01:30.000Z",
          level: "info",
          kind: "recovered",
          source: "massive-stocks",
          message: "data again",
          details: {}
        },
        {
          at: "2024-03-05T15:01:30.000Z",
          level: "error",
          kind: "auth",
          source: "massive-stocks",
          message: "key rejected",
          details: {}
        }
      ])
      expect(logs.map((l) => l.level)).toEqual(["WARN", "INFO", "ERROR"])
      expect(logs[0]?.message).toContain("no data for 15 min")

      // read() returns the newest alerts, oldest first.
      const last2 = yield* Alerts.read(dataDir, 2)
      expect(last2.map((a) => a.kind)).toEqual(["recovered", "auth"])
      expect((yield* Alerts.read(dataDir)).map((a) => a.at)).toEqual(lines.map((l) => l.at))
    })
  )

  it.scoped("an explicit level wins over the kind's default", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir("tapehouse-alerts-")
      yield* Effect.flatMap(Alerts.Alerts, (a) =>
        a.raise({ kind: "stall", level: "error", source: "s", message: "feed stalled" })
      ).pipe(Effect.provide(liveLayer(dataDir)))
      expect(fileLines(dataDir)[0]?.["level"]).toBe("error")
    })
  )

  it.scoped("a failure to write the file is logged, never failing the caller", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir("tapehouse-alerts-")
      // `state` is a file, so `state/alerts.jsonl` cannot be created.
      fs.writeFileSync(path.join(dataDir, "state"), "not a folder")
      const { logs, layer } = captureLogs()
      const exit = yield* Effect.flatMap(Alerts.Alerts, (a) =>
        a.raise({ kind: "spill", source: "s", message: "queue full; spilling" })
      ).pipe(Effect.provide(Layer.merge(liveLayer(dataDir), layer)), Effect.exit)
      expect(exit._tag).toBe("Success")
      expect(logs.some((l) => l.level === "ERROR" && l.message.includes("cannot record an alert"))).toBe(true)
      expect(logs.some((l) => l.level === "WARN" && l.message.includes("queue full; spilling"))).toBe(true)
    })
  )

  it.scoped("read skips a torn last line and returns [] without a file", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir("tapehouse-alerts-")
      expect(yield* Alerts.read(dataDir)).toEqual([])
      yield* TestClock.setTime(T0)
      yield* Effect.flatMap(Alerts.Alerts, (a) =>
        Effect.forEach([1, 2, 3], (i) => a.raise({ kind: "gap", source: "s", message: `gap ${i}` }))
      ).pipe(Effect.provide(liveLayer(dataDir)))
      fs.appendFileSync(Alerts.alertsFile(dataDir), '{"at":"2024-03-05T15:0')
      const all = yield* Alerts.read(dataDir, 10)
      expect(all.map((a) => a.message)).toEqual(["gap 1", "gap 2", "gap 3"])
      expect(yield* Alerts.read(dataDir, 0)).toEqual([])
    })
  )

  it.scoped("read finds the newest alerts at the end of a large file", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir("tapehouse-alerts-")
      fs.mkdirSync(path.join(dataDir, "state"), { recursive: true })
      const line = (i: number) =>
        `${JSON.stringify({ at: new Date(T0 + i).toISOString(), level: "warning", kind: "spill", source: "s", message: `m${i}`, details: { pad: "x".repeat(200) } })}\n`
      let text = ""
      for (let i = 0; i < 5000; i++) text += line(i)
      fs.writeFileSync(Alerts.alertsFile(dataDir), text)
      const last = yield* Alerts.read(dataDir, 3)
      expect(last.map((a) => a.message)).toEqual(["m4997", "m4998", "m4999"])
      expect((yield* Alerts.read(dataDir, 4000)).length).toBe(4000)
    })
  )

  it.effect("Test collects alerts in memory with their Clock time", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const alerts = yield* Alerts.Alerts
      yield* alerts.raise({ kind: "disconnect", source: "massive-stocks", message: "socket closed (1006)" })
      const raised = yield* Ref.get(yield* Alerts.Raised)
      expect(raised).toEqual([
        {
          at: "2024-03-05T15:00:00.000Z",
          level: "warning",
          kind: "disconnect",
          source: "massive-stocks",
          message: "socket closed (1006)",
          details: {}
        }
      ])
    }).pipe(Effect.provide(Alerts.Test))
  )

  it.effect("a custom layer can replace Alerts", () =>
    Effect.gen(function* () {
      const paged: Array<string> = []
      const Paging = Layer.succeed(
        Alerts.Alerts,
        Alerts.Alerts.of({
          raise: (alert) =>
            Effect.sync(() => {
              if (Alerts.levelOf(alert) === "error") paged.push(alert.message)
            })
        })
      )
      yield* Effect.flatMap(Alerts.Alerts, (a) =>
        Effect.zipRight(
          a.raise({ kind: "spill", source: "s", message: "spilling" }),
          a.raise({ kind: "auth", source: "s", message: "key rejected" })
        )
      ).pipe(Effect.provide(Paging))
      expect(paged).toEqual(["key rejected"])
    })
  )
})
