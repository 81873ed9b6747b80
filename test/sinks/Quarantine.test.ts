import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Ref } from "effect"
import { parquetMetadata } from "hyparquet"
import { AppConfig, type AppConfigShape } from "../../src/config/AppConfig.js"
import type { Rejected } from "../../src/domain/Dataset.js"
import { StockBars1s } from "../../src/domain/StockBar.js"
import { decodeTable } from "../../src/sinks/parquetCodec.js"
import * as Quarantine from "../../src/sinks/Quarantine.js"
import { AllTypes, allTypesRows } from "../support/allTypes.js"

const tempDir = Effect.acquireRelease(
  Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "tapehouse-quarantine-"))),
  (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
)

const DATE = "2024-01-02"
const TS = Date.UTC(2024, 0, 2, 14, 30)

const rejects: ReadonlyArray<Rejected> = [
  {
    record: { symbol: "SPY", ts: TS, open: 10, high: 9, low: 8, close: 9, volume: 5, vwap: null, trades: 3 },
    reason: "open 10 or close 9 is above high 9"
  },
  {
    // Wrong types and missing fields, as a vendor frame may arrive.
    record: { symbol: "SPY", ts: "2024-01-02T14:30:01Z", open: "1.5", high: 2, trades: 2.5, extra: [1, 2] },
    reason: "ts is not a number"
  }
]

const read = (file: string) =>
  Effect.promise(async () => {
    const bytes = await fs.readFile(file)
    return { bytes, rows: await decodeTable(Quarantine.quarantineColumns(StockBars1s), bytes) }
  })

describe("Quarantine", () => {
  it.scopedLive("writes rejects with every column optional, wrong types as null, reason and raw JSON", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir
      const quarantine = yield* Quarantine.make(dataDir)
      const result = yield* quarantine.write(StockBars1s, DATE, "SPY", rejects)
      const relative = path.join("quarantine", "stock_bars_1s", `date=${DATE}`, "rejects-SPY.parquet")
      expect(result).toEqual({ file: relative, rows: 2 })
      const { bytes, rows } = yield* read(path.join(dataDir, relative))
      expect(rows[0]).toEqual({
        ...rejects[0]!.record,
        reason: rejects[0]!.reason,
        raw: JSON.stringify(rejects[0]!.record)
      })
      expect(rows[1]).toEqual({
        symbol: "SPY",
        ts: null,
        open: null,
        high: 2,
        low: null,
        close: null,
        volume: null,
        vwap: null,
        trades: null,
        reason: "ts is not a number",
        raw: JSON.stringify(rejects[1]!.record)
      })
      const schema = parquetMetadata(
        bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)
      ).schema
      const repetition = Object.fromEntries(schema.slice(1).map((e) => [e.name, e.repetition_type]))
      expect(repetition).toMatchObject({
        symbol: "OPTIONAL",
        ts: "OPTIONAL",
        reason: "REQUIRED",
        raw: "REQUIRED"
      })
      expect(schema.find((e) => e.name === "ts")?.logical_type).toEqual({
        type: "TIMESTAMP",
        isAdjustedToUTC: true,
        unit: "MILLIS"
      })
    })
  )

  it.scopedLive(
    "keeps every column type; a value of the wrong type becomes null, its reason and raw JSON kept",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* tempDir
        const quarantine = yield* Quarantine.make(dataDir)
        const [good, other] = allTypesRows(2, false)
        const wrong = {
          ...other!,
          flag: "yes",
          maybeFlag: 1,
          day: "2023-02-29",
          maybeDay: 19000,
          ns: 5,
          maybeNs: 2n ** 64n,
          price: 1.5,
          maybePrice: "10.25",
          qty: 2n,
          whole: Number.NaN,
          tags: ["a", 2],
          maybeTags: "a,b"
        }
        const rejected: ReadonlyArray<Rejected> = [
          { record: good!, reason: "a rule failed" },
          { record: wrong, reason: 'flag "yes" is not a boolean' }
        ]
        const result = yield* quarantine.write(AllTypes, DATE, "ALL", rejected)
        const bytes = yield* Effect.promise(() => fs.readFile(path.join(dataDir, result.file!)))
        const rows = yield* Effect.promise(() => decodeTable(Quarantine.quarantineColumns(AllTypes), bytes))
        const raw = (record: unknown) =>
          JSON.stringify(record, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))
        expect(rows[0]).toEqual({ ...good, reason: "a rule failed", raw: raw(good) })
        const nulled = Object.fromEntries(
          [
            "flag",
            "maybeFlag",
            "day",
            "maybeDay",
            "ns",
            "maybeNs",
            "price",
            "maybePrice",
            "qty",
            "whole",
            "tags",
            "maybeTags"
          ].map((k) => [k, null])
        )
        expect(rows[1]).toEqual({
          ...other,
          ...nulled,
          reason: 'flag "yes" is not a boolean',
          raw: raw(wrong)
        })
        // The columns keep their types (decimal scale too), all optional.
        const schema = parquetMetadata(
          bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)
        ).schema
        expect(schema.find((e) => e.name === "qty")).toMatchObject({ repetition_type: "OPTIONAL", scale: 8 })
        expect(schema.find((e) => e.name === "tags")).toMatchObject({
          repetition_type: "OPTIONAL",
          converted_type: "LIST"
        })
      })
  )

  it.scopedLive("is idempotent: the same rejects give the same bytes, and a rewrite replaces the scope", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir
      const quarantine = yield* Quarantine.make(dataDir)
      const first = yield* quarantine.write(StockBars1s, DATE, "SPY", rejects)
      const file = path.join(dataDir, first.file!)
      const bytes1 = yield* Effect.promise(() => fs.readFile(file))
      yield* quarantine.write(StockBars1s, DATE, "SPY", rejects)
      const bytes2 = yield* Effect.promise(() => fs.readFile(file))
      expect(bytes2.equals(bytes1)).toBe(true)
      yield* quarantine.write(StockBars1s, DATE, "SPY", rejects.slice(1))
      expect((yield* read(file)).rows.map((r) => r["reason"])).toEqual(["ts is not a number"])
      expect(yield* Effect.promise(() => fs.readdir(path.dirname(file)))).toEqual(["rejects-SPY.parquet"])
    })
  )

  it.scopedLive("zero rejects removes that scope's file only", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir
      const quarantine = yield* Quarantine.make(dataDir)
      const spy = yield* quarantine.write(StockBars1s, DATE, "SPY", rejects)
      yield* quarantine.write(StockBars1s, DATE, "SPY+QQQ", rejects)
      expect(yield* quarantine.write(StockBars1s, DATE, "SPY", [])).toEqual({ rows: 0 })
      const dir = path.dirname(path.join(dataDir, spy.file!))
      expect(yield* Effect.promise(() => fs.readdir(dir))).toEqual(["rejects-SPY+QQQ.parquet"])
      yield* quarantine.write(StockBars1s, DATE, "SPY+QQQ", [])
      expect(yield* Effect.promise(() => fs.readdir(path.dirname(dir)))).toEqual([])
    })
  )

  it.scopedLive("sanitizes the scope into a safe file name", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir
      const quarantine = yield* Quarantine.make(dataDir)
      const result = yield* quarantine.write(StockBars1s, DATE, "../BRK/B x", rejects)
      expect(path.basename(result.file!)).toBe("rejects-.._BRK_B_x.parquet")
      expect(path.dirname(result.file!)).toBe(path.join("quarantine", "stock_bars_1s", `date=${DATE}`))
      expect(Quarantine.sanitizeScope("..")).toBe("_")
      expect(Quarantine.sanitizeScope("")).toBe("_")
    })
  )

  it.scopedLive("a blocked quarantine folder gives a SinkError naming the path", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir
      yield* Effect.promise(() => fs.writeFile(path.join(dataDir, "quarantine"), "in the way"))
      const quarantine = yield* Quarantine.make(dataDir)
      const error = yield* Effect.flip(quarantine.write(StockBars1s, DATE, "SPY", rejects))
      expect(error).toMatchObject({ _tag: "SinkError", sink: "quarantine", partition: `date=${DATE}` })
      expect(error.detail).toContain(path.join(dataDir, "quarantine"))
    })
  )

  it.scopedLive("Live reads the data dir from AppConfig", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir
      const config = { dataDir } as unknown as AppConfigShape
      const result = yield* Effect.flatMap(Quarantine.Quarantine, (q) =>
        q.write(StockBars1s, DATE, "SPY", rejects)
      ).pipe(Effect.provide(Quarantine.Live.pipe(Layer.provide(Layer.succeed(AppConfig, config)))))
      const stat = yield* Effect.promise(() => fs.stat(path.join(dataDir, result.file!)))
      expect(stat.isFile()).toBe(true)
    })
  )

  it.effect("Test keeps writes in memory with the same replace and remove semantics", () =>
    Effect.gen(function* () {
      const quarantine = yield* Quarantine.Quarantine
      const written = yield* Quarantine.Written
      yield* quarantine.write(StockBars1s, DATE, "SPY", rejects)
      yield* quarantine.write(StockBars1s, DATE, "QQQ", rejects.slice(0, 1))
      const result = yield* quarantine.write(StockBars1s, DATE, "SPY", rejects.slice(1))
      expect(result.rows).toBe(1)
      expect((yield* Ref.get(written)).map((e) => [e.scope, e.rejected.length])).toEqual([
        ["SPY", 1],
        ["QQQ", 1]
      ])
      yield* quarantine.write(StockBars1s, DATE, "SPY", [])
      expect((yield* Ref.get(written)).map((e) => e.scope)).toEqual(["QQQ"])
    }).pipe(Effect.provide(Quarantine.Test))
  )
})
