import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { StockBars1s } from "../../src/domain/StockBar.js"
import { lakeBarProvider, readLakeDay, serveStoredDay } from "../../src/sim/lakeBars.js"
import { secondBars } from "../../src/sim/syntheticMarket.js"
import { encodeParquet } from "../../src/sinks/parquetCodec.js"
import { tempDir } from "../support/fixtures.js"
import { authed, type Json, subscribe } from "./wsClient.js"

const DAY = "2024-03-04"
const spy = secondBars("SPY", DAY).slice(0, 1500)
const qqq = secondBars("QQQ", DAY).slice(0, 1500)
/** A later part file corrects SPY's 10th bar and adds a symbol. */
const fixed = { ...spy[9]!, close: spy[9]!.close + 1, high: spy[9]!.high + 1 }
const iwm = secondBars("IWM", DAY).slice(0, 200)
const spyStored = spy.map((b, i) => (i === 9 ? fixed : b))

const writeLake = (dataDir: string) =>
  Effect.promise(async () => {
    const dir = Path.join(dataDir, "lake", "stock_bars_1s", `date=${DAY}`)
    await NodeFs.mkdir(dir, { recursive: true })
    const options = { compression: "snappy", rowGroupSize: 1000 } as const
    await NodeFs.writeFile(
      Path.join(dir, "part-0000.parquet"),
      encodeParquet(StockBars1s, [...qqq, ...spy], options)
    )
    await NodeFs.writeFile(
      Path.join(dir, "part-000001.parquet"),
      encodeParquet(StockBars1s, [fixed, ...iwm], options)
    )
  })

describe("lakeBars", () => {
  it.scoped("reads every part file of a day, the last file winning on equal keys", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir()
      yield* writeLake(dataDir)
      const day = yield* readLakeDay(dataDir, DAY)
      expect(day.symbols).toEqual(["IWM", "QQQ", "SPY"])
      expect(day.files.map((f) => Path.basename(f))).toEqual(["part-0000.parquet", "part-000001.parquet"])
      expect(day.rows).toBe(spy.length + qqq.length + iwm.length)
      expect(day.bars("SPY")).toEqual(spyStored)
      const provider = yield* lakeBarProvider(dataDir)
      expect(provider("QQQ", DAY)).toEqual(qqq)
      expect(provider("QQQ", "2024-03-05")).toEqual([])
      expect(provider("TSLA", DAY)).toEqual([])
    })
  )

  it.scoped("a day the lake does not hold fails naming the path and the backfill to run", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir()
      const error = yield* Effect.flip(serveStoredDay({ dataDir, date: "2024-03-05", speed: "max" }))
      expect(error._tag).toBe("StoredDayMissing")
      expect(error.message).toContain(Path.join(dataDir, "lake", "stock_bars_1s", "date=2024-03-05"))
      expect(error.message).toContain("tapehouse backfill")
    })
  )

  it.scoped("serveStoredDay: REST and WebSocket serve the lake's bars", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir()
      yield* writeLake(dataDir)
      const served = yield* serveStoredDay({ dataDir, date: DAY, speed: "max", apiKeys: ["k"] })
      expect(served.restUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(served.wsUrl).toBe(served.restUrl.replace("http", "ws"))

      const rest = (path: string): Effect.Effect<Json> =>
        Effect.promise(() => fetch(`${served.restUrl}${path}apiKey=k`).then((r) => r.json()))
      const seconds = yield* rest(`/v2/aggs/ticker/SPY/range/1/second/${DAY}/${DAY}?limit=50000&`)
      expect(seconds.results.map((b: Json) => [b.t, b.c, b.h])).toEqual(
        spyStored.map((b) => [b.ts, b.close, b.high])
      )
      const minutes = yield* rest(`/v2/aggs/ticker/IWM/range/1/minute/${DAY}/${DAY}?`)
      expect(minutes.results[0].o).toBe(iwm[0]!.open)
      expect(minutes.results.reduce((s: number, b: Json) => s + b.v, 0)).toBe(
        iwm.reduce((s, b) => s + b.volume, 0)
      )
      const openClose = yield* rest(`/v1/open-close/QQQ/${DAY}?`)
      expect([openClose.open, openClose.close]).toEqual([qqq[0]!.open, qqq.at(-1)!.close])
      const otherDay = yield* rest(`/v2/aggs/ticker/SPY/range/1/second/2024-03-05/2024-03-05?`)
      expect(otherDay.resultsCount).toBe(0)

      const c = yield* authed(`${served.wsUrl}/stocks`, "k")
      yield* subscribe(c, "A.*")
      yield* served.socket.finished
      const total = spy.length + qqq.length + iwm.length
      yield* c.waitFor(() => c.aggregates().length >= total)
      const got = c.aggregates()
      expect(got.length).toBe(total)
      expect(got.filter((e) => e.sym === "SPY").map((e) => [e.s, e.c, e.h])).toEqual(
        spyStored.map((b) => [b.ts, b.close, b.high])
      )
      expect(new Set(got.map((e) => e.sym))).toEqual(new Set(["SPY", "QQQ", "IWM"]))
    })
  )
})
