import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import type { StockBar } from "../../../src/domain/StockBar.js"
import type { LiveEvent } from "../../../src/runners/LiveFeed.js"
import { codec as stockBars } from "../../../src/sources/massive/stockBarsFeed.js"
import * as Wire from "../../../src/sources/massive/wsWire.js"

type Ev = LiveEvent<StockBar>

/** Per-minute bars, the other `ev` of the same shape. */
const minuteBars: Wire.AggregateCodec<StockBar> = { ...stockBars, ev: "AM" }

/** Index aggregates: no volume keys. */
const indexValues: Wire.AggregateCodec<{ sym: string; s: number; c: number; v: number | undefined }> = {
  ev: "A",
  volume: "none",
  toRecord: (sym, s, _o, _h, _l, c, v) => ({ sym, s, c, v })
}

const examples = join(process.cwd(), "..", "shared", "fixtures", "massive", "spec-examples")
const haveExamples = existsSync(examples)
if (!haveExamples) console.warn(`wsWire spec-example tests skipped: ${examples} is absent`)

/** The spec examples are single event objects; a frame is an array of them. */
const exampleFrame = (name: string): string => {
  const parsed: unknown = JSON.parse(readFileSync(join(examples, name), "utf8"))
  return JSON.stringify(Array.isArray(parsed) ? parsed : [parsed])
}

const AT = 1_700_000_000_000

const agg = (ev: "A" | "AM", sym: string, s: number, extra: Record<string, unknown> = {}) => ({
  ev,
  sym,
  v: 200,
  av: 8642007,
  op: 25.66,
  vw: 25.3981,
  o: 25.39,
  c: 25.4,
  h: 25.41,
  l: 25.38,
  a: 25.3714,
  z: 50,
  s,
  e: s + (ev === "A" ? 1000 : 60_000),
  ...extra
})

const decode = (frame: unknown, codec: Wire.AggregateCodec<StockBar> = stockBars): ReadonlyArray<Ev> =>
  Wire.decodeFrame(typeof frame === "string" ? frame : JSON.stringify(frame), AT, codec)

const only = <T extends Ev["_tag"], E extends { readonly _tag: string } = Ev>(
  events: ReadonlyArray<E>,
  tag: T
) => events.filter((e): e is Extract<E, { _tag: T }> => e._tag === tag)

describe("wsWire.decodeFrame", () => {
  it("maps A events through the dataset's codec in frame order: sym, s, o/h/l/c, v, vw; trades null", () => {
    const events = decode([agg("A", "SPY", 1000), agg("A", "QQQ", 1000), agg("A", "SPY", 2000)])
    expect(events).toEqual([
      {
        _tag: "Records",
        receivedAt: AT,
        records: [
          {
            symbol: "SPY",
            ts: 1000,
            open: 25.39,
            high: 25.41,
            low: 25.38,
            close: 25.4,
            volume: 200,
            vwap: 25.3981,
            trades: null
          },
          expect.objectContaining({ symbol: "QQQ", ts: 1000 }),
          expect.objectContaining({ symbol: "SPY", ts: 2000 })
        ]
      }
    ])
  })

  it("absent or null vw becomes a null vwap; unknown extra keys (dv, dav, otc) are tolerated", () => {
    const { vw: _vw, ...noVw } = agg("A", "SPY", 1000)
    const events = decode([noVw, agg("A", "SPY", 2000, { vw: null, dv: "1.5", dav: "9", otc: true })])
    const bars = only(events, "Records")[0]!.records
    expect(bars.map((b) => b.vwap)).toEqual([null, null])
    expect(only(events, "Rejected")).toEqual([])
  })

  it("reads only the codec's ev (AM is not a per-second bar), and keeps statuses at their place in the frame", () => {
    const frame = [
      agg("A", "SPY", 1000),
      agg("AM", "SPY", 0),
      { ev: "status", status: "success", message: "subscribed to: A.SPY" },
      agg("AM", "QQQ", 0),
      agg("A", "QQQ", 1000)
    ]
    const events = decode(frame)
    expect(events.map((e) => (e._tag === "Records" ? `A:${e.records.length}` : e._tag))).toEqual([
      "A:1",
      "Status",
      "A:1",
      "Unknown"
    ])
    expect(only(events, "Unknown")[0]).toMatchObject({ ev: "AM", count: 2 })
    const minutes = decode(frame, minuteBars)
    expect(only(minutes, "Records").flatMap((e) => e.records.map((b) => b.symbol))).toEqual(["SPY", "QQQ"])
    expect(only(events, "Status")[0]).toEqual({
      _tag: "Status",
      status: "success",
      message: "subscribed to: A.SPY",
      at: AT
    })
  })

  it("rejects a frame that is not JSON, or not an array, with the frame text", () => {
    expect(decode("not json{")).toEqual([
      {
        _tag: "Rejected",
        receivedAt: AT,
        rejected: [{ record: { frame: "not json{" }, reason: "frame is not JSON" }]
      }
    ])
    const single = JSON.stringify(agg("A", "SPY", 1000))
    expect(decode(single)).toEqual([
      {
        _tag: "Rejected",
        receivedAt: AT,
        rejected: [{ record: { frame: single }, reason: "frame is not a JSON array" }]
      }
    ])
  })

  it("quarantines A events with wrong field types, with a specific reason, and keeps the good ones", () => {
    const events = decode([
      agg("A", "SPY", 1000, { o: "25.39" }),
      agg("A", "SPY", 2000),
      agg("A", "SPY", 3000, { s: 3000.5 }),
      { ...agg("A", "SPY", 4000), sym: 42 },
      agg("A", "SPY", 5000, { v: null }),
      agg("A", "SPY", 6000, { vw: "x" }),
      { ev: "A", sym: "SPY" }
    ])
    expect(only(events, "Records")[0]!.records.map((b) => b.ts)).toEqual([2000])
    const rejected = only(events, "Rejected")[0]!.rejected
    expect(rejected.map((r) => r.reason)).toEqual([
      "A event SPY (s=1000) field o is string, expected a number",
      "A event SPY (s=3000.5) s=3000.5 is not an integer epoch-ms timestamp",
      "A event (s=4000) field sym is number, expected a string",
      "A event SPY (s=5000) has no v (volume); indices aggregates carry no volume and do not fit this dataset",
      "A event SPY (s=6000) field vw is string, expected a number",
      "A event SPY has no o"
    ])
    expect(rejected[0]!.record).toMatchObject({ ev: "A", sym: "SPY", o: "25.39" })
  })

  it("counts unknown ev per type with a sample, and rejects events that are not objects or lack ev", () => {
    const trade = { ev: "T", sym: "MSFT", x: 4, i: "12345", z: 3, p: 114.125, s: 100, t: 1536036818784, q: 1 }
    const events = decode([trade, { ...trade, q: 2 }, { ev: "Q", sym: "MSFT" }, 7, { sym: "X" }, { ev: 1 }])
    expect(only(events, "Unknown")).toEqual([
      { _tag: "Unknown", ev: "T", count: 2, sample: JSON.stringify(trade) },
      { _tag: "Unknown", ev: "Q", count: 1, sample: JSON.stringify({ ev: "Q", sym: "MSFT" }) }
    ])
    expect(only(events, "Rejected")[0]!.rejected.map((r) => r.reason)).toEqual([
      "event 3 is number, expected an object",
      "event 4 has no ev",
      "event 5 field ev is number, expected a string"
    ])
    expect(only(events, "Records")).toEqual([])
  })

  it("agrees with the AggregateEvent schema on what is a good bar", () => {
    const samples: Array<unknown> = [
      agg("A", "SPY", 1000),
      agg("AM", "SPY", 0, { vw: null }),
      agg("A", "SPY", 1000, { o: "1" }),
      agg("A", "SPY", 1000.5),
      agg("A", "SPY", 1000, { v: undefined }),
      { ev: "A", sym: "I:SPX", op: 1, o: 1, c: 1, h: 1, l: 1, s: 1, e: 1 }
    ]
    const schema = Schema.decodeUnknownEither(Wire.AggregateEvent)
    for (const sample of samples) {
      const viaSchema = Either.isRight(schema(sample))
      const codec = (sample as { readonly ev?: unknown }).ev === "AM" ? minuteBars : stockBars
      const viaDecoder = only(decode([sample], codec), "Records").length === 1
      expect(viaDecoder, JSON.stringify(sample)).toBe(viaSchema)
    }
  })

  it("builds the control messages exactly", () => {
    expect(Wire.authMessage("k3y")).toBe('{"action":"auth","params":"k3y"}')
    expect(Wire.subscribeMessage(["A.SPY", "A.O:SPY251219C00650000", "AM.QQQ"])).toBe(
      '{"action":"subscribe","params":"A.SPY,A.O:SPY251219C00650000,AM.QQQ"}'
    )
  })
})

describe.skipIf(!haveExamples)(
  "wsWire on the spec examples (../shared/fixtures/massive/spec-examples)",
  () => {
    it("decodes ws__stocks__A and ws__stocks__AM to bars", () => {
      const a = only(decode(exampleFrame("ws__stocks__A.example.json")), "Records")
      expect(a).toEqual([
        {
          _tag: "Records",
          receivedAt: AT,
          records: [
            {
              symbol: "SPCE",
              ts: 1610144868000,
              open: 25.39,
              high: 25.39,
              low: 25.39,
              close: 25.39,
              volume: 200,
              vwap: 25.3981,
              trades: null
            }
          ]
        }
      ])
      const am = decode(exampleFrame("ws__stocks__AM.example.json"), minuteBars)
      expect(am).toEqual([
        {
          _tag: "Records",
          receivedAt: AT,
          records: [
            {
              symbol: "GTE",
              ts: 1610144640000,
              open: 0.4488,
              high: 0.4489,
              low: 0.4486,
              close: 0.4486,
              volume: 4110,
              vwap: 0.4488,
              trades: null
            }
          ]
        }
      ])
    })

    it("decodes every ws__status__ example to a Status event", () => {
      const files = readdirSync(examples).filter((f) => f.startsWith("ws__status__"))
      expect(files.length).toBeGreaterThanOrEqual(5)
      const statuses = files.map((f) => {
        const events = decode(exampleFrame(f))
        expect(events, f).toHaveLength(1)
        const e = events[0]!
        if (e._tag !== "Status") throw new Error(`${f} decoded to ${e._tag}`)
        return e.status
      })
      expect(statuses).toEqual(expect.arrayContaining(["auth_success", "max_connections", "success"]))
      const max = decode(exampleFrame("ws__status__DisconnectEvent.example.json"))[0]
      expect(max).toEqual({
        _tag: "Status",
        status: "max_connections",
        message: "Maximum number of connections exceeded.",
        at: AT
      })
      expect(Wire.disconnectStatuses.has("max_connections")).toBe(true)
    })

    it("indices aggregates fit only a codec without volume; trades/quotes/values are unknown; options aggregates decode", () => {
      const indices = decode(exampleFrame("ws__indices__A.example.json"))
      expect(only(indices, "Rejected")[0]!.rejected[0]!.reason).toMatch(/I:SPX .*has no v \(volume\)/)
      const values = Wire.decodeFrame(exampleFrame("ws__indices__A.example.json"), AT, indexValues)
      expect(only(values, "Records")[0]!.records).toEqual([
        expect.objectContaining({ sym: "I:SPX", v: undefined })
      ])
      for (const [file, ev] of [
        ["ws__stocks__T.example.json", "T"],
        ["ws__stocks__Q.example.json", "Q"],
        ["ws__indices__V.example.json", "V"]
      ] as const) {
        expect(decode(exampleFrame(file)), file).toEqual([
          expect.objectContaining({ _tag: "Unknown", ev, count: 1 })
        ])
      }
      // The spec labels its per-second options example "AM" (a documentation error, §11.4).
      const options = only(decode(exampleFrame("ws__options__A.example.json"), minuteBars), "Records")
      expect(options[0]!.records[0]).toMatchObject({
        symbol: "O:ONEM220121C00025000",
        volume: 2,
        trades: null
      })
    })
  }
)
