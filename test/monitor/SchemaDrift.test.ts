import { existsSync, readFileSync } from "node:fs"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Ref, TestClock } from "effect"
import type { SchemaDriftRow } from "../../src/domain/SchemaDrift.js"
import * as Alerts from "../../src/monitor/Alerts.js"
import * as SchemaDrift from "../../src/monitor/SchemaDrift.js"
import { scanAggregatesBody } from "../../src/sources/massive/aggregatesBody.js"
import { firstEventOf } from "../../src/sources/massive/MassiveSocket.js"
import { NewsArticle } from "../../src/sources/massive/news.js"
import * as Wire from "../../src/sources/massive/wire.js"
import { stockBarCodec } from "../../src/sources/massive/wire.js"
import * as WsWire from "../../src/sources/massive/wsWire.js"
import { sharedDir } from "../support/fixtures.js"

const FIXTURES = Path.join(sharedDir, "fixtures", "massive")
const fixtureResults = (name: string): ReadonlyArray<Record<string, unknown>> =>
  (
    JSON.parse(readFileSync(Path.join(FIXTURES, name), "utf8")) as {
      results: ReadonlyArray<Record<string, unknown>>
    }
  ).results

const wsShape = SchemaDrift.shapeOf(WsWire.AggregateEvent)
const restShape = SchemaDrift.shapeOf(Wire.AggregateBar)

/** A per-second aggregate as spec §11.4 writes it, every optional key present. */
const fullEvent = {
  ev: "A",
  sym: "SPY",
  v: 200,
  av: 8_000_000,
  op: 470.1,
  vw: 471.02,
  o: 471,
  c: 471.05,
  h: 471.1,
  l: 470.99,
  a: 470.8,
  z: 50,
  s: 1_709_650_800_000,
  e: 1_709_650_801_000
}
/** The vendor's 2026 additions: fractional volumes as strings. */
const with2026Keys = { ...fullEvent, dv: "200.5", dav: "8000000.25" }

const T0 = Date.parse("2026-03-05T15:00:00.000Z")

describe("shapeOf", () => {
  it("reads required and optional fields and their JSON types from the wire Schema", () => {
    expect(wsShape.get("v")).toEqual({ types: new Set(["number"]), optional: false })
    expect(wsShape.get("vw")).toEqual({ types: new Set(["number", "null"]), optional: true })
    expect(wsShape.get("ev")).toEqual({ types: new Set(["string"]), optional: false })
    expect(wsShape.get("otc")).toEqual({ types: new Set(["boolean"]), optional: true })
    expect(restShape.get("t")?.optional).toBe(false)
  })
})

describe("diffRecord", () => {
  it("reports unknown keys (dv, dav) as new fields with the type seen", () => {
    expect(SchemaDrift.diffRecord(wsShape, with2026Keys)).toEqual([
      { field: "dv", kind: "new", expected: null, seen: "string" },
      { field: "dav", kind: "new", expected: null, seen: "string" }
    ])
  })

  it("takes a record without its optional keys as the contract, not drift", () => {
    const { av: _av, op: _op, a: _a, z: _z, e: _e, vw: _vw, ...required } = fullEvent
    expect(SchemaDrift.diffRecord(wsShape, required)).toEqual([])
    expect(SchemaDrift.diffRecord(restShape, { o: 1, h: 1, l: 1, c: 1, t: 1 })).toEqual([])
  })

  it("reports a required key missing and a changed type", () => {
    const { v: _v, ...noVolume } = fullEvent
    expect(SchemaDrift.diffRecord(wsShape, { ...noVolume, o: "471" })).toEqual([
      { field: "o", kind: "type", expected: "number", seen: "string" },
      { field: "v", kind: "missing", expected: "number", seen: null }
    ])
  })

  it("ShapeChecker compares a signature once and answers the same after", () => {
    const checker = new SchemaDrift.ShapeChecker(wsShape)
    const first = checker.check(with2026Keys)
    expect(first).toHaveLength(2)
    expect(checker.check({ ...with2026Keys, o: 1 })).toBe(first)
    expect(checker.check(fullEvent)).toEqual([])
  })
})

/** The detector with in-memory alerts and ledger; `earlier` is what the ledger already holds. */
const detector = (earlier: ReadonlyArray<SchemaDriftRow> = []) =>
  Effect.gen(function* () {
    const written = yield* Ref.make<ReadonlyArray<SchemaDriftRow>>(earlier)
    const alerts = yield* Alerts.Alerts
    const drift = yield* SchemaDrift.make(alerts, {
      write: (_date, rows) => Ref.update(written, (all) => [...all, ...rows]),
      load: (date) =>
        Effect.map(Ref.get(written), (all) =>
          all.filter((r) => new Date(r.first_seen).toISOString().slice(0, 10) === date)
        )
    })
    return { drift, written }
  })

describe("SchemaDrift service", () => {
  it.effect(
    "raises one alert and writes one row per (day, source, field, kind), and again the next day",
    () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(T0)
        const { drift, written } = yield* detector()
        for (let i = 0; i < 5; i++)
          yield* drift.observe("massive-ws-aggregates", wsShape, { ...with2026Keys, v: i })
        // Another source seeing the same field is its own drift.
        yield* drift.observe("massive-aggregates", restShape, { o: 1, h: 1, l: 1, c: 1, t: 1, dv: "1.5" })
        yield* drift.observe("massive-ws-aggregates", wsShape, fullEvent)
        const day1 = yield* Alerts.collected
        expect(day1.map((a) => [a.kind, a.source, a.details["field"]])).toEqual([
          ["schema-drift", "massive-ws-aggregates", "dv"],
          ["schema-drift", "massive-ws-aggregates", "dav"],
          ["schema-drift", "massive-aggregates", "dv"]
        ])
        expect((yield* Ref.get(written)).map((r) => [r.source, r.field, r.kind, r.seen])).toEqual([
          ["massive-ws-aggregates", "dv", "new", "string"],
          ["massive-ws-aggregates", "dav", "new", "string"],
          ["massive-aggregates", "dv", "new", "string"]
        ])
        expect(JSON.parse((yield* Ref.get(written))[0]!.example)).toMatchObject({ dv: "200.5", v: 0 })

        yield* TestClock.adjust("1 day")
        yield* drift.observe("massive-ws-aggregates", wsShape, with2026Keys)
        expect(yield* Alerts.collected).toHaveLength(5)
        expect(yield* Ref.get(written)).toHaveLength(5)
      }).pipe(Effect.provide(Alerts.Test))
  )

  it.effect("does not report again what the ledger already holds for the day (a restarted process)", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const before: SchemaDriftRow = {
        source: "massive-ws-aggregates",
        field: "dv",
        kind: "new",
        expected: null,
        seen: "string",
        first_seen: T0 - 60_000,
        example: "{}"
      }
      const { drift, written } = yield* detector([before])
      yield* drift.observe("massive-ws-aggregates", wsShape, with2026Keys)
      expect((yield* Alerts.collected).map((a) => a.details["field"])).toEqual(["dav"])
      expect((yield* Ref.get(written)).map((r) => r.field)).toEqual(["dv", "dav"])
    }).pipe(Effect.provide(Alerts.Test))
  )

  it.effect("ignores samples that are not objects", () =>
    Effect.gen(function* () {
      const { drift } = yield* detector()
      yield* drift.observe("massive-aggregates", restShape, "text")
      yield* drift.observe("massive-aggregates", restShape, [1, 2])
      yield* drift.observe("massive-aggregates", restShape, null)
      expect(yield* Alerts.collected).toEqual([])
    }).pipe(Effect.provide(Alerts.Test))
  )
})

describe("samples at the vendor boundary", () => {
  it("the fast aggregates reader hands over the first bar's text, unknown keys included", () => {
    const body = `{"ticker":"SPY","status":"OK","results":[{"v":100,"vw":1.5,"o":1,"c":2,"h":2,"l":1,"t":1000,"n":3,"dv":100.5},{"o":1,"c":2,"h":2,"l":1,"t":2000,"v":1}]}`
    const page = scanAggregatesBody(body, "SPY", stockBarCodec)
    expect(page?.bars).toHaveLength(2)
    expect(JSON.parse(page!.firstBar!)).toMatchObject({ dv: 100.5, t: 1000 })
  })

  it("firstEventOf parses the first event of a WebSocket frame alone", () => {
    const frame = JSON.stringify([with2026Keys, fullEvent])
    expect(firstEventOf(frame)).toEqual(with2026Keys)
    expect(firstEventOf("[]")).toBeUndefined()
    expect(firstEventOf('[{"ev":"status","message":"a } inside"}]')).toBeUndefined()
  })
})

describe.skipIf(!existsSync(FIXTURES))(
  "the vendor's recorded responses drift from nothing (needs ../shared)",
  () => {
    it("aggregate bars and news articles match the decoders' shapes", () => {
      for (const bar of fixtureResults(
        "test_rest__mocks__v2__aggs__ticker__AAPL__range__1__day__2005-04-01__2005-04-04.json"
      ))
        expect(SchemaDrift.diffRecord(restShape, bar)).toEqual([])
      const articleShape = SchemaDrift.shapeOf(NewsArticle)
      // `published_utc` is read from its wire form, a string.
      expect(articleShape.get("published_utc")?.types).toEqual(new Set(["string"]))
      for (const article of fixtureResults("test_rest__mocks__v2__reference__news&ticker=NFLX.json"))
        expect(SchemaDrift.diffRecord(articleShape, article)).toEqual([])
    })
  }
)
