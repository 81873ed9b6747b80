/**
 * The Binance simulator over real HTTP and WebSocket on loopback: a raw `ws` client syncs books by
 * the documented procedure (a minimal reference implementation below), and each fault is seen
 * the way a client sees it.
 */
import { existsSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import WebSocket from "ws"
import * as BinanceSim from "../../../src/sim/binance/BinanceSim.js"
import { connect, type Json, type RawClient } from "../wsClient.js"

// ---------------------------------------------------------------------------------------------
// A reference client: the official procedures (spec §1.4 spot, §2.4 USD-M)

type Level = [string, string]
interface Update {
  readonly U: number
  readonly u: number
  readonly pu?: number
  readonly b: ReadonlyArray<Level>
  readonly a: ReadonlyArray<Level>
}
interface Snapshot {
  readonly lastUpdateId: number
  readonly bids: ReadonlyArray<Level>
  readonly asks: ReadonlyArray<Level>
}

class ReferenceBook {
  readonly buffer: Array<Update> = []
  bids = new Map<string, string>()
  asks = new Map<string, string>()
  synced = false
  local = 0
  applied = 0
  /** Continuity breaks seen after sync: [expected, got]. */
  readonly gaps: Array<readonly [number, number]> = []
  private first = true
  /** Called after each applied event. */
  onApply: (u: Update) => void = () => {}

  constructor(readonly futures: boolean) {}

  push(u: Update) {
    if (this.synced) this.apply(u)
    else this.buffer.push(u)
  }

  /** Steps 2-6 with a snapshot: false when it is older than the buffer (fetch again). */
  init(s: Snapshot): boolean {
    const firstU = this.buffer[0]?.U
    if (firstU === undefined) throw new Error("nothing buffered yet")
    if (s.lastUpdateId < firstU) return false
    this.bids = new Map(s.bids)
    this.asks = new Map(s.asks)
    this.local = s.lastUpdateId
    this.synced = true
    for (const u of this.buffer.splice(0)) this.apply(u)
    return true
  }

  private apply(u: Update) {
    const L = this.local
    if (this.futures) {
      if (this.first) {
        if (u.u < L) return
        if (!(u.U <= L && L <= u.u)) this.gaps.push([L, u.U])
      } else if (u.pu !== L) this.gaps.push([L, u.pu ?? -1])
    } else {
      if (u.u <= L) return
      if (u.U > L + 1) this.gaps.push([L + 1, u.U])
    }
    this.first = false
    for (const [p, q] of u.b) Number(q) === 0 ? this.bids.delete(p) : this.bids.set(p, q)
    for (const [p, q] of u.a) Number(q) === 0 ? this.asks.delete(p) : this.asks.set(p, q)
    this.local = u.u
    this.applied++
    this.onApply(u)
  }

  equals(s: Snapshot): boolean {
    const same = (mine: Map<string, string>, theirs: ReadonlyArray<Level>) =>
      mine.size === theirs.length && theirs.every(([p, q]) => mine.get(p) === q)
    return same(this.bids, s.bids) && same(this.asks, s.asks)
  }
}

/** Feeds a client's frames not yet read into `book` (raw payloads, or `stream` of combined ones). */
const pump = (client: RawClient, book: ReferenceBook, cursor: { i: number }, stream?: string) => {
  while (cursor.i < client.frames.length) {
    const v = JSON.parse(client.frames[cursor.i++]!) as Json
    const data = stream === undefined ? v : v.stream === stream ? v.data : undefined
    if (data?.e === "depthUpdate") book.push(data as Update)
  }
}

interface HttpAnswer {
  readonly status: number
  readonly headers: Headers
  readonly body: Json
}
const get = (url: string) =>
  Effect.promise(async (): Promise<HttpAnswer> => {
    const r = await fetch(url)
    const text = await r.text()
    return { status: r.status, headers: r.headers, body: text.length > 0 ? JSON.parse(text) : undefined }
  })
const post = (url: string, body: unknown) =>
  Effect.promise(() =>
    fetch(url, { method: "POST", body: JSON.stringify(body) }).then((r) => r.json() as Promise<Json>)
  )

const waitFrames = (c: RawClient, n: number, match: (v: Json) => boolean = () => true) =>
  c.waitFor(() => c.frames.filter((f) => match(JSON.parse(f))).length >= n)

/**
 * Syncs `books` (one per client) from REST snapshots at `depthUrl`, then checks, at a later
 * snapshot's `lastUpdateId`, that each book equals it; retries when a message spans that id.
 */
const syncAndCompare = (
  depthUrl: string,
  feeds: ReadonlyArray<{ client: RawClient; book: ReferenceBook; stream?: string }>
) =>
  Effect.gen(function* () {
    const cursors = feeds.map(() => ({ i: 0 }))
    const pumpAll = () => {
      for (const [k, f] of feeds.entries()) pump(f.client, f.book, cursors[k]!, f.stream)
    }
    yield* Effect.forEach(feeds, (f) => f.client.waitFor(() => f.client.frames.length >= 2))
    pumpAll()
    const first = yield* get(depthUrl)
    expect(first.status).toBe(200)
    pumpAll()
    for (const f of feeds) expect(f.book.init(first.body)).toBe(true)
    for (let attempt = 0; attempt < 10; attempt++) {
      // Long enough for a few messages first; a retry only needs the next message boundary.
      yield* Effect.sleep(attempt === 0 ? "500 millis" : "120 millis")
      pumpAll()
      const later = (yield* get(depthUrl)).body as Snapshot
      const L = later.lastUpdateId
      const results = feeds.map((f) => {
        let result: boolean | "spans" | undefined = f.book.local === L ? f.book.equals(later) : undefined
        f.book.onApply = (u) => {
          if (result !== undefined) return
          result = u.u === L ? f.book.equals(later) : u.u > L ? "spans" : undefined
        }
        return () => result
      })
      for (const [k, f] of feeds.entries())
        yield* f.client.waitFor(() => {
          pump(f.client, f.book, cursors[k]!, f.stream)
          return f.book.local >= L
        })
      const outcomes = results.map((r) => r())
      if (outcomes.includes("spans")) continue
      expect(outcomes).toEqual(feeds.map(() => true))
      for (const f of feeds) {
        expect(f.book.gaps).toEqual([])
        expect(f.book.applied).toBeGreaterThan(3)
      }
      return
    }
    throw new Error("no later snapshot fell on a message boundary in 10 tries")
  })

// ---------------------------------------------------------------------------------------------
// Message shapes, compared with recorded Binance traffic

const FIXTURES = fileURLToPath(new URL("../../../../shared/fixtures/binance/", import.meta.url))
const haveFixtures = existsSync(FIXTURES)

/** The structure of a JSON value: keys in order, element shapes, value types. */
const shape = (v: Json): Json =>
  Array.isArray(v)
    ? v.length === 0
      ? []
      : [shape(v[0])]
    : v !== null && typeof v === "object"
      ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]))
      : typeof v

const fixtureFrames = (path: string): Array<Json> =>
  readFileSync(`${FIXTURES}${path}`, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l).frame)
const bothSides = (v: Json) => v.data.b.length > 0 && v.data.a.length > 0

// ---------------------------------------------------------------------------------------------

const setup = (options: BinanceSim.BinanceSimOptions = {}) =>
  BinanceSim.make({
    symbols: ["BTCUSDT", "NKNUSDT", "SUSHIUSDT"],
    rate: 2000,
    seed: 42,
    depth: 200,
    ...options
  })

describe("BinanceSim market data", () => {
  it.scopedLive(
    "spot: a raw and a combined stream sync from REST with zero gaps and match a later snapshot",
    () =>
      Effect.gen(function* () {
        const sim = yield* setup()
        const raw = yield* connect(`${sim.urls.spotWs}/ws/btcusdt@depth@100ms`)
        const combined = yield* connect(`${sim.urls.spotWs}/stream?streams=btcusdt@depth@100ms/nknusdt@depth`)
        yield* syncAndCompare(`${sim.urls.spotRest}/api/v3/depth?symbol=BTCUSDT&limit=5000`, [
          { client: raw, book: new ReferenceBook(false) },
          { client: combined, book: new ReferenceBook(false), stream: "btcusdt@depth@100ms" }
        ])
        // The 1000 ms stream of the other symbol on the same connection: contiguous ids too.
        yield* waitFrames(combined, 2, (v) => v.stream === "nknusdt@depth")
        const nkn = combined.frames.map((f) => JSON.parse(f)).filter((v) => v.stream === "nknusdt@depth")
        for (let i = 1; i < nkn.length; i++) expect(nkn[i].data.U).toBe(nkn[i - 1].data.u + 1)
        expect(nkn[0].data.s).toBe("NKNUSDT")
      })
  )

  it.scopedLive("USD-M: a combined /public stream syncs by the pu chain and matches a later snapshot", () =>
    Effect.gen(function* () {
      const sim = yield* setup()
      const combined = yield* connect(`${sim.urls.usdmWs}/stream?streams=sushiusdt@depth@100ms`)
      const book = new ReferenceBook(true)
      yield* syncAndCompare(`${sim.urls.usdmRest}/fapi/v1/depth?symbol=SUSHIUSDT&limit=1000`, [
        { client: combined, book, stream: "sushiusdt@depth@100ms" }
      ])
      const data = combined.frames.map((f) => JSON.parse(f).data)
      for (let i = 1; i < data.length; i++) {
        expect(data[i].pu).toBe(data[i - 1].u)
        expect(data[i].U).not.toBe(data[i - 1].u + 1)
        expect(data[i].T).toBeLessThanOrEqual(data[i].E)
      }
    })
  )

  it.scopedLive.skipIf(!haveFixtures)("message and snapshot shapes equal the recorded Binance traffic", () =>
    Effect.gen(function* () {
      const sim = yield* setup()
      const spot = yield* connect(`${sim.urls.spotWs}/stream?streams=nknusdt@depth@100ms`)
      const usdm = yield* connect(`${sim.urls.usdmWs}/stream?streams=sushiusdt@depth@100ms`)
      yield* waitFrames(spot, 1, bothSides)
      yield* waitFrames(usdm, 1, bothSides)
      const ours = (c: RawClient) => c.frames.map((f) => JSON.parse(f)).find(bothSides)
      const spotFixture = fixtureFrames("spot/NKNUSDT.depth100ms.frames.jsonl").find(bothSides)
      const usdmFixture = fixtureFrames("usdm-futures/SUSHIUSDT.depth100ms.frames.jsonl").find(bothSides)
      expect(shape(ours(spot))).toEqual(shape(spotFixture))
      expect(shape(ours(usdm))).toEqual(shape(usdmFixture))
      // The same decimal formats: spot 8 decimals; SUSHIUSDT 4-decimal prices, whole sizes.
      const decimals = (v: Json) => v.data.b[0].map((x: string) => x.split(".")[1]?.length ?? 0)
      expect(decimals(ours(spot))).toEqual(decimals(spotFixture))
      expect(decimals(ours(usdm))).toEqual(decimals(usdmFixture))
      // Raw payloads are the combined frames' `data`.
      const raw = yield* connect(`${sim.urls.spotWs}/ws/nknusdt@depth@100ms`)
      yield* waitFrames(raw, 1)
      expect(shape({ stream: "x", data: JSON.parse(raw.frames[0]!) }).data).toEqual(shape(spotFixture).data)

      const snapshotFixture = (p: string) => JSON.parse(readFileSync(`${FIXTURES}${p}`, "utf8"))
      const spotSnap = yield* get(`${sim.urls.spotRest}/api/v3/depth?symbol=NKNUSDT&limit=1000`)
      const usdmSnap = yield* get(`${sim.urls.usdmRest}/fapi/v1/depth?symbol=SUSHIUSDT&limit=1000`)
      expect(shape(spotSnap.body)).toEqual(
        shape(snapshotFixture("spot/NKNUSDT.depth-snapshot.limit1000.json"))
      )
      expect(shape(usdmSnap.body)).toEqual(
        shape(snapshotFixture("usdm-futures/SUSHIUSDT.depth-snapshot.limit1000.json"))
      )

      const infoKeys = (v: Json, symbol: string) => {
        const s = v.symbols.find((x: Json) => x.symbol === symbol)
        const filter = (type: string) =>
          Object.keys(s.filters.find((f: Json) => f.filterType === type)).sort()
        return {
          top: Object.keys(v),
          symbol: Object.keys(s),
          price: filter("PRICE_FILTER"),
          lot: filter("LOT_SIZE")
        }
      }
      const spotInfo = yield* get(`${sim.urls.spotRest}/api/v3/exchangeInfo`)
      const usdmInfo = yield* get(`${sim.urls.usdmRest}/fapi/v1/exchangeInfo`)
      expect(infoKeys(spotInfo.body, "NKNUSDT")).toEqual(
        infoKeys(snapshotFixture("spot/exchangeInfo.NKNUSDT-BTCUSDT.trimmed.json"), "NKNUSDT")
      )
      expect(infoKeys(usdmInfo.body, "SUSHIUSDT")).toEqual(
        infoKeys(snapshotFixture("usdm-futures/exchangeInfo.SUSHIUSDT-BTCUSDT.trimmed.json"), "SUSHIUSDT")
      )
      const btc = spotInfo.body.symbols.find((s: Json) => s.symbol === "BTCUSDT")
      expect(btc.filters.find((f: Json) => f.filterType === "PRICE_FILTER").tickSize).toBe("0.01000000")
      expect(btc.filters.find((f: Json) => f.filterType === "LOT_SIZE").stepSize).toBe("0.00001000")
    })
  )
})

describe("BinanceSim faults", () => {
  it.scopedLive("drop-events: a spot U/u gap and a USD-M pu break, once each", () =>
    Effect.gen(function* () {
      const sim = yield* setup()
      const spot = yield* connect(`${sim.urls.spotWs}/ws/btcusdt@depth@100ms`)
      const usdm = yield* connect(`${sim.urls.usdmWs}/ws/sushiusdt@depth@100ms`)
      yield* waitFrames(spot, 2)
      yield* waitFrames(usdm, 2)
      const answer = yield* post(`${sim.url}/__sim/binance-faults`, [
        { kind: "drop-events", path: "^spot:btcusdt@depth@100ms$" },
        { kind: "drop-events", path: "^usdm:sushiusdt@depth@100ms$" }
      ])
      expect(answer).toEqual({ status: "OK", pending: 2 })
      const seen = { spot: spot.frames.length, usdm: usdm.frames.length }
      yield* waitFrames(spot, seen.spot + 4)
      yield* waitFrames(usdm, seen.usdm + 4)
      const spotData = spot.frames.map((f) => JSON.parse(f))
      const spotGaps = spotData.slice(1).filter((d, i) => d.U !== spotData[i].u + 1)
      expect(spotGaps).toHaveLength(1)
      const usdmData = usdm.frames.map((f) => JSON.parse(f))
      const breaks = usdmData.slice(1).filter((d, i) => d.pu !== usdmData[i].u)
      expect(breaks).toHaveLength(1)
      expect(sim.stats().messagesDropped).toBe(2)
      expect(sim.faults.pending()).toEqual([])
    })
  )

  it.scopedLive("stale-snapshot: a snapshot older than the buffer, then a fresh one", () =>
    Effect.gen(function* () {
      const sim = yield* setup()
      yield* Effect.sleep("300 millis")
      const client = yield* connect(`${sim.urls.spotWs}/ws/btcusdt@depth@100ms`)
      yield* waitFrames(client, 2)
      const firstU = JSON.parse(client.frames[0]!).U as number
      sim.faults.inject({ kind: "stale-snapshot", ageMs: 5000 }, { path: /^spot:BTCUSDT$/ })
      const url = `${sim.urls.spotRest}/api/v3/depth?symbol=BTCUSDT&limit=5000`
      const stale = yield* get(url)
      expect(stale.body.lastUpdateId).toBeLessThan(firstU)
      const book = new ReferenceBook(false)
      pump(client, book, { i: 0 })
      expect(book.init(stale.body)).toBe(false)
      const fresh = yield* get(url)
      expect(fresh.body.lastUpdateId).toBeGreaterThanOrEqual(firstU)
      pump(client, book, { i: book.buffer.length })
      expect(book.init(fresh.body)).toBe(true)
      expect(book.gaps).toEqual([])
    })
  )

  it.scopedLive(
    "disconnect drops the TCP connection; server-shutdown announces, keeps sending, then closes",
    () =>
      Effect.gen(function* () {
        const sim = yield* setup()
        const dropped = yield* connect(`${sim.urls.spotWs}/ws/nknusdt@depth@100ms`)
        yield* waitFrames(dropped, 1)
        sim.faults.inject({ kind: "disconnect" }, { path: /^spot:nknusdt/ })
        expect(yield* dropped.closed).toBe(1006)

        const raw = yield* connect(`${sim.urls.spotWs}/ws/btcusdt@depth@100ms`)
        const combined = yield* connect(`${sim.urls.usdmWs}/stream?streams=sushiusdt@depth@100ms`)
        yield* waitFrames(raw, 1)
        yield* waitFrames(combined, 1)
        yield* post(`${sim.url}/__sim/binance-faults`, [
          { kind: "server-shutdown", closeAfterMs: 400, path: "^spot:" },
          { kind: "server-shutdown", closeAfterMs: 400, path: "^usdm:" }
        ])
        expect(yield* raw.closed).toBe(1001)
        expect(yield* combined.closed).toBe(1001)
        const rawFrames = raw.frames.map((f) => JSON.parse(f))
        const at = rawFrames.findIndex((v) => v.e === "serverShutdown")
        expect(Object.keys(rawFrames[at])).toEqual(["e", "E"])
        expect(rawFrames.slice(at + 1).some((v) => v.e === "depthUpdate")).toBe(true)
        const wrapped = combined.frames.map((f) => JSON.parse(f)).find((v) => v.stream === "!serverShutdown")
        expect(wrapped.data.e).toBe("serverShutdown")
        expect(typeof wrapped.data.E).toBe("number")
        const ended = sim.stats().connections.map((c) => c.endedBy)
        expect(ended).toEqual(["disconnect fault", "server shutdown", "server shutdown"])
      })
  )

  it.scoped("request weight: headers per endpoint and limit, 429 with Retry-After, then a 418 ban", () =>
    Effect.gen(function* () {
      const sim = yield* setup({ weightLimit: { spot: 400 }, banMs: 120_000 })
      const base = sim.urls.spotRest
      const used = (a: HttpAnswer) => Number(a.headers.get("x-mbx-used-weight-1m"))
      const steps: Array<[string, number]> = [
        ["/api/v3/ping", 1],
        ["/api/v3/time", 2],
        ["/api/v3/exchangeInfo", 22],
        ["/api/v3/depth?symbol=BTCUSDT", 27],
        ["/api/v3/depth?symbol=BTCUSDT&limit=500", 52],
        ["/api/v3/depth?symbol=BTCUSDT&limit=1000", 102],
        ["/api/v3/depth?symbol=BTCUSDT&limit=9999", 352]
      ]
      for (const [path, expected] of steps) {
        const a = yield* get(`${base}${path}`)
        expect(a.status, path).toBe(200)
        expect(used(a), path).toBe(expected)
      }
      const clamped = yield* get(`${base}/api/v3/depth?symbol=BTCUSDT&limit=2`)
      expect(clamped.body.bids).toHaveLength(2)
      const tooMany = yield* get(`${base}/api/v3/depth?symbol=BTCUSDT&limit=1000`)
      expect(tooMany.status).toBe(429)
      expect(tooMany.body.code).toBe(-1003)
      expect(Number(tooMany.headers.get("retry-after"))).toBeGreaterThan(0)
      const banned = yield* get(`${base}/api/v3/ping`)
      expect(banned.status).toBe(418)
      expect(Number(banned.headers.get("retry-after"))).toBe(120)
      expect(banned.headers.get("x-mbx-used-weight-1m")).not.toBeNull()
      // USD-M counts apart, with its own table.
      const usdm = yield* get(`${sim.urls.usdmRest}/fapi/v1/depth?symbol=SUSHIUSDT&limit=1000`)
      expect([usdm.status, used(usdm)]).toEqual([200, 20])
      const bad = yield* get(`${sim.urls.usdmRest}/fapi/v1/depth?symbol=SUSHIUSDT&limit=200`)
      expect([bad.status, bad.body.code]).toEqual([400, -1130])
      const unknown = yield* get(`${sim.urls.usdmRest}/fapi/v1/depth?symbol=NKNUSDT`)
      expect([unknown.status, unknown.body.code]).toEqual([400, -1121])
      expect(sim.stats().weight.spot.bans).toBe(1)
    })
  )

  it.scopedLive("the core HTTP faults apply: a slow read, a scripted status with Retry-After", () =>
    Effect.gen(function* () {
      const sim = yield* setup()
      yield* post(`${sim.url}/__sim/faults`, [
        { kind: "slow", delayMs: 300, path: "^/api/v3/depth$" },
        { kind: "status", status: 503, path: "^/fapi/v1/depth$" }
      ])
      const t0 = Date.now()
      const slow = yield* get(`${sim.urls.spotRest}/api/v3/depth?symbol=BTCUSDT&limit=5`)
      expect(slow.status).toBe(200)
      expect(Date.now() - t0).toBeGreaterThanOrEqual(290)
      expect(slow.headers.get("x-mbx-used-weight-1m")).toBe("5")
      const failed = yield* get(`${sim.urls.usdmRest}/fapi/v1/depth?symbol=SUSHIUSDT&limit=5`)
      expect([failed.status, failed.body.code]).toEqual([503, -1000])
    })
  )
})

describe("BinanceSim connection rules", () => {
  it.scopedLive(
    "control messages answer with their id; a sixth message in a second closes the connection",
    () =>
      Effect.gen(function* () {
        const sim = yield* setup()
        const c = yield* connect(`${sim.urls.spotWs}/ws`)
        const replies = () => c.frames.map((f) => JSON.parse(f)).filter((v) => "id" in v)
        c.send({ method: "SUBSCRIBE", params: ["btcusdt@depth@100ms"], id: 1 })
        c.send({ method: "LIST_SUBSCRIPTIONS", id: "a2" })
        c.send({ method: "SET_PROPERTY", params: ["combined", true], id: 3 })
        c.send({ method: "GET_PROPERTY", params: ["combined"], id: 4 })
        yield* c.waitFor(() => replies().length >= 4)
        expect(replies()).toEqual([
          { result: null, id: 1 },
          { result: ["btcusdt@depth@100ms"], id: "a2" },
          { result: null, id: 3 },
          { result: true, id: 4 }
        ])
        yield* waitFrames(c, 1, (v) => v.stream === "btcusdt@depth@100ms" && v.data.e === "depthUpdate")
        c.send({ method: "UNSUBSCRIBE", params: ["btcusdt@depth@100ms"], id: 5 })
        yield* c.waitFor(() => replies().length >= 5)
        expect(replies()[4]).toEqual({ result: null, id: 5 })
        expect(c.closeCode()).toBeUndefined()

        const burst = yield* connect(`${sim.urls.spotWs}/ws`)
        for (let id = 1; id <= 6; id++) burst.send({ method: "LIST_SUBSCRIPTIONS", id })
        expect(yield* burst.closed).toBe(1008)
        expect(burst.frames).toHaveLength(5)

        const other = yield* connect(`${sim.urls.spotWs}/ws`)
        other.send({ method: "SUBSCRIBE", params: ["btcusdt@trade"], id: 7 })
        other.send({ method: "NOPE", id: 8 })
        other.send({ method: "GET_PROPERTY", params: ["combined"], id: -1 })
        yield* other.waitFor(() => other.frames.length >= 3)
        const errors = other.frames.map((f) => JSON.parse(f))
        expect(errors.map((e) => [e.error.code, e.id])).toEqual([
          [2, 7],
          [2, 8],
          [2, null]
        ])
      })
  )

  it.scopedLive("server pings: a client that answers stays; one that never pongs is dropped", () =>
    Effect.gen(function* () {
      const sim = yield* setup({ pingIntervalMs: { spot: 300 }, pongTimeoutMs: { spot: 500 } })
      const answering = yield* connect(`${sim.urls.spotWs}/ws/btcusdt@depth`)
      let pings = 0
      answering.ws.on("ping", () => pings++)
      const silent = yield* Effect.acquireRelease(
        Effect.promise(
          () =>
            new Promise<{ ws: WebSocket; closed: Promise<number> }>((resolve) => {
              const ws = new WebSocket(`${sim.urls.spotWs}/ws/btcusdt@depth`, { autoPong: false })
              const closed = new Promise<number>((done) => ws.on("close", (code) => done(code)))
              ws.on("open", () => resolve({ ws, closed }))
            })
        ),
        (s) => Effect.sync(() => s.ws.terminate())
      )
      expect(yield* Effect.promise(() => silent.closed)).toBe(1006)
      // The answering client outlives the silent one's deadline, pinged again and again.
      yield* Effect.sleep("700 millis")
      expect(pings).toBeGreaterThanOrEqual(2)
      expect(answering.closeCode()).toBeUndefined()
      expect(sim.stats().connections.map((c) => c.endedBy)).toEqual([undefined, "pong timeout"])
    })
  )

  it.scopedLive("a connection is closed at its lifetime cap", () =>
    Effect.gen(function* () {
      const sim = yield* setup({ maxConnectionMs: 300 })
      const c = yield* connect(`${sim.urls.spotWs}/ws/btcusdt@depth@100ms`)
      expect(yield* c.closed).toBe(1001)
      expect(sim.stats().connections[0]!.endedBy).toBe("connection lifetime")
    })
  )

  it.scopedLive("unknown paths and stream names are refused at the upgrade", () =>
    Effect.gen(function* () {
      const sim = yield* setup()
      const refused = (url: string) =>
        Effect.promise(
          () =>
            new Promise<boolean>((resolve) => {
              const ws = new WebSocket(url)
              ws.on("open", () => {
                ws.terminate()
                resolve(false)
              })
              ws.on("error", () => resolve(true))
            })
        )
      expect(yield* refused(`${sim.urls.spotWs}/ws/btcusdt@trade`)).toBe(true)
      expect(yield* refused(`${sim.urls.spotWs}/public/ws/btcusdt@depth`)).toBe(false)
      expect(yield* refused(`${sim.urls.spotWs}/ws/btcusdt@depth@500ms`)).toBe(true)
      expect(yield* refused(`${sim.urls.usdmWs}/ws/btcusdt@depth@500ms`)).toBe(false)
      expect(yield* refused(`${sim.urls.spotWs}/market/ws/btcusdt@depth`)).toBe(true)
    })
  )
})
