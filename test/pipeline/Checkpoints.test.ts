import * as NodeFs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Checkpoints from "../../src/pipeline/Checkpoints.js"

const tempDir = Effect.acquireRelease(
  Effect.promise(() => NodeFs.mkdtemp(Path.join(Os.tmpdir(), "tapehouse-ckpt-"))),
  (dir) => Effect.promise(() => NodeFs.rm(dir, { recursive: true, force: true }))
)

const day = (symbol: string, date: string, status: Checkpoints.DayStatusName): Checkpoints.DayEntry => ({
  kind: "day",
  dataset: "stock_bars_1s",
  symbol,
  date,
  status,
  at: "2024-03-04T00:00:00.000Z"
})

describe("Checkpoints journal", () => {
  it.scopedLive("the last entry per key wins and survives a reload", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const first = yield* Checkpoints.make(dir)
      yield* first.record([day("SPY", "2024-03-04", "pending"), day("QQQ", "2024-03-04", "pending")])
      yield* first.record([day("SPY", "2024-03-04", "done")])
      const reloaded = yield* Checkpoints.make(dir)
      const days = yield* reloaded.days("stock_bars_1s")
      expect(days.get(Checkpoints.dayKey("SPY", "2024-03-04"))?.status).toBe("done")
      expect(days.get(Checkpoints.dayKey("QQQ", "2024-03-04"))?.status).toBe("pending")
      expect(yield* reloaded.datasets).toEqual(["stock_bars_1s"])
    })
  )

  it("counts each unit's attempts across runs and keeps its last error, from a journal that never wrote them", () => {
    const failed = { ...day("SPY", "2024-03-04", "failed"), reason: "Massive answered 502" }
    const text = [
      day("SPY", "2024-03-04", "pending"),
      failed,
      day("SPY", "2024-03-04", "pending"),
      day("SPY", "2024-03-04", "pending"), // killed, then run again
      day("SPY", "2024-03-04", "done"),
      day("QQQ", "2024-03-04", "streaming"),
      day("QQQ", "2024-03-04", "streaming"), // a restarted capture of the same session
      day("QQQ", "2024-03-04", "streamed"),
      day("IWM", "2024-03-04", "done"), // a result recorded on its own
      { ...day("DIA", "2024-03-04", "done"), attempts: 9, lastError: "copied from a loaded entry" }
    ]
      .map((e) => JSON.stringify(e))
      .join("\n")
    const { days } = Checkpoints.parseJournal(text)
    const of = (symbol: string) => days.get(Checkpoints.dayKey(symbol, "2024-03-04"))
    expect(of("SPY")).toMatchObject({ status: "done", attempts: 3, lastError: "Massive answered 502" })
    expect(of("QQQ")).toMatchObject({ status: "streamed", attempts: 1 })
    expect(of("QQQ")?.lastError).toBeUndefined()
    expect(of("IWM")).toMatchObject({ status: "done", attempts: 1 })
    // Derived, never read from a line.
    expect(of("DIA")).toMatchObject({ status: "done", attempts: 1 })
    expect(of("DIA")?.lastError).toBeUndefined()
  })

  it.scopedLive("a torn last line (kill -9 mid-append) is ignored", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const journal = Path.join(dir, "state", "checkpoints", "stock_bars_1s.jsonl")
      yield* Effect.promise(() => NodeFs.mkdir(Path.dirname(journal), { recursive: true }))
      const done = JSON.stringify(day("SPY", "2024-03-04", "done"))
      yield* Effect.promise(() => NodeFs.writeFile(journal, `${done}\n{"kind":"day","dataset":"stock_b`))
      const store = yield* Checkpoints.make(dir)
      const days = yield* store.days("stock_bars_1s")
      expect([...days.values()].map((d) => [d.symbol, d.status])).toEqual([["SPY", "done"]])
    })
  )

  it.scopedLive("an unwritable state folder is a StorageError naming the path", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      // A regular file where the state folder should be: fails even for root.
      yield* Effect.promise(() => NodeFs.writeFile(Path.join(dir, "state"), "not a folder"))
      const error = yield* Effect.flip(Checkpoints.make(dir))
      expect(error._tag).toBe("StorageError")
      expect(error.message).toContain(Path.join(dir, "state", "checkpoints"))
    })
  )
})
