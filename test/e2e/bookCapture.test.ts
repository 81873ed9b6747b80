/**
 * `tapehouse stream --dataset book_deltas` against the Binance simulator on loopback, as a user
 * runs it. The simulator is seeded and runs on its own market clock, so the test rebuilds the
 * same market beside it (makeDepthMarket with the same options) and checks the capture against
 * it: every event written equals the simulator's message with the same ids, and the book
 * rebuilt from the lake (or restored after kill -9) equals the simulator's book at that update id.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect, Either, Exit, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { restoreBooks } from "../../src/books/bookCheckpoints.js"
import { applyDeltaRows, initialReplayState } from "../../src/books/bookReplay.js"
import { listSegments, readBookDeltas, readBookSnapshots } from "../../src/books/bookSegments.js"
import { isEncrypted, parseBookKey } from "../../src/books/encryption.js"
import { OrderBook } from "../../src/books/OrderBook.js"
import { Continuity } from "../../src/domain/Continuity.js"
import * as BinanceSim from "../../src/sim/binance/BinanceSim.js"
import { CATALOG, exchangeInfo, type Venue } from "../../src/sim/binance/catalog.js"
import { type DepthMarket, makeDepthMarket } from "../../src/sim/binance/depthMarket.js"
import { decodeParquet } from "../../src/sinks/parquetCodec.js"
import { decodeDepthEvent, decodeDepthSnapshot } from "../../src/sources/binance/depthWire.js"
import { type SymbolScales, symbolScales } from "../../src/sources/binance/exchangeInfo.js"
import { collect, makeConfigDir, runCli, start } from "../support/cli.js"
import { makeTempDir, removeTempDirs } from "../support/tempDirs.js"

const SYMBOLS = ["BTCUSDT", "ETHUSDT"]
const RATE = 2000
const SEED = 7
/** The simulator's market starts at this time (its E values), an hour behind the clock. */
const START_MS = Math.floor(Date.now() / 1000) * 1000 - 3_600_000
const simOptions = { seed: SEED, symbols: SYMBOLS, rate: RATE, startMs: START_MS }

const scalesOf = (venue: Venue) =>
  Either.getOrThrow(
    symbolScales(
      venue === "spot" ? "binance-spot" : "binance-usdm",
      exchangeInfo(
        venue,
        CATALOG[venue].filter((s) => SYMBOLS.includes(s.symbol)),
        6000,
        0
      )
    )
  )
const scalesBySymbol = scalesOf("spot")

/** The simulator's market rebuilt beside it: its messages by final id, and its book at given ids. */
class Replica {
  private readonly market: DepthMarket
  readonly messages = new Map<number, string>()
  private readonly books = new Map<string, string>()
  private readonly scales: ReturnType<typeof scalesOf>

  constructor(readonly venue: Venue = "spot") {
    const specs = CATALOG[venue]
      .filter((s) => SYMBOLS.includes(s.symbol))
      .map((spec) => ({ spec, rate: RATE }))
    this.market = makeDepthMarket({
      seed: SEED,
      startMs: START_MS,
      venues: { spot: venue === "spot" ? specs : [], usdm: venue === "usdm" ? specs : [] }
    })
    this.scales = scalesOf(venue)
    for (const s of SYMBOLS) this.market.activate(venue, `${s.toLowerCase()}@depth@100ms`)
  }

  private lastId(symbol: string): number {
    return this.market.stats().find((s) => s.symbol === symbol)!.lastUpdateId
  }

  /** The simulator's book of `symbol` at update id `id` (the end of a market step). */
  bookAt(symbol: string, id: number): OrderBook {
    const key = `${symbol}@${id}`
    while (!this.books.has(key) && this.lastId(symbol) < id) {
      this.market.step((_venue, m) => this.messages.set(m.u, m.payload))
      for (const s of SYMBOLS) {
        const snap = this.market.snapshot(this.venue, s, 5000)!
        this.books.set(`${s}@${snap.lastUpdateId}`, snap.body)
      }
    }
    const body = this.books.get(key)
    if (body === undefined) throw new Error(`${symbol}: no market step ends at update id ${id}`)
    const snapshot = Either.getOrThrow(decodeDepthSnapshot(JSON.parse(body), this.scales.get(symbol)!))
    const book = new OrderBook()
    book.loadSnapshot(snapshot.bidPrices, snapshot.bidSizes, snapshot.askPrices, snapshot.askSizes)
    return book
  }
}

const levelsOf = (book: OrderBook) => {
  const side = (s: OrderBook["bids"]) => Array.from({ length: s.length }, (_, i) => [s.price(i), s.size(i)])
  return { bids: side(book.bids), asks: side(book.asks) }
}

let scope: Scope.CloseableScope
let sim: BinanceSim.BinanceSimServer
beforeAll(async () => {
  scope = await Effect.runPromise(Scope.make())
  sim = await Effect.runPromise(Scope.extend(BinanceSim.make(simOptions), scope))
})
afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
  removeTempDirs()
})

const env = () => ({
  TAPEHOUSE_BINANCE_SPOT_URL: sim.urls.spotRest,
  TAPEHOUSE_BINANCE_SPOT_WS_URL: sim.urls.spotWs,
  TAPEHOUSE_BINANCE_USDM_URL: sim.urls.usdmRest,
  TAPEHOUSE_BINANCE_USDM_WS_URL: sim.urls.usdmWs
})

const setup = async (over: ReadonlyArray<[RegExp, string]> = [], venue = "binance-spot") => {
  const dir = makeTempDir("book-capture-")
  const configDir = await Effect.runPromise(
    makeConfigDir(dir, {
      sql: false,
      replace: [
        ["settings.yaml", /segment_ms: 1000/, "segment_ms: 50"],
        ["settings.yaml", /validate_every_ms: 60000/, "validate_every_ms: 1000"],
        ...over.map(([from, to]) => ["settings.yaml", from, to] as [string, RegExp, string])
      ]
    })
  )
  const dataDir = path.join(dir, "data")
  const args = ["--config-dir", configDir, "--data-dir", dataDir]
  const capture = [
    ...args,
    "stream",
    "--dataset",
    "book_deltas",
    "--venue",
    venue,
    "--symbols",
    "btcusdt,ETHUSDT"
  ]
  return { dataDir, args, capture }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Status {
  readonly connections: number
  readonly symbols: ReadonlyArray<{
    readonly symbol: string
    readonly state: string
    readonly appliedEvents: number
    readonly gaps: number
  }>
}

/** Waits until the capture's status file satisfies `done`. */
const waitFor = async (
  dataDir: string,
  done: (s: Status) => boolean,
  timeoutMs = 20_000,
  venue = "binance-spot"
) => {
  const file = path.join(dataDir, "state", "books", venue, "status.json")
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const status = await fs
      .readFile(file, "utf8")
      .then((t) => JSON.parse(t) as Status)
      .catch(() => undefined)
    if (status !== undefined && done(status)) return
    if (Date.now() > deadline) throw new Error("the capture's status did not get there in time")
    await sleep(100)
  }
}

/** Waits until every symbol is synced. */
const waitSynced = (dataDir: string, venue = "binance-spot") =>
  waitFor(dataDir, (s) => s.symbols.every((x) => x.state === "synced" && x.appliedEvents > 2), 20_000, venue)

/** Every row of the continuity ledger. */
const readLedger = async (dataDir: string) => {
  const ledgerDir = path.join(dataDir, "lake", "continuity")
  const ledger = []
  for (const d of await fs.readdir(ledgerDir))
    ledger.push(
      ...(await decodeParquet(Continuity, await fs.readFile(path.join(ledgerDir, d, "part-0000.parquet"))))
    )
  return ledger
}

describe("stream --dataset book_deltas", () => {
  it("captures, records a dropped event as a gap and re-syncs, loses nothing at a serverShutdown; the lake equals the simulator's events", async () => {
    const { dataDir, args, capture } = await setup()
    const child = start(capture, { env: env() })
    const done = collect(child, 60_000)
    await waitSynced(dataDir)
    sim.faults.inject({ kind: "drop-events" }, { path: /btcusdt/ })
    await sleep(1000)
    // serverShutdown: the replacement connection opens and catches up before the old one closes
    // (a second later), so no event is missed and no symbol re-syncs.
    sim.faults.inject({ kind: "server-shutdown", closeAfterMs: 1000 }, { path: /btcusdt/ })
    await waitFor(dataDir, (s) => s.connections >= 2)
    await sleep(1500)
    const status = await Effect.runPromise(runCli([...args, "status"], { env: env() }))
    expect(status.stdout).toMatch(/binance-spot BTCUSDT: synced/)
    expect(status.stdout).toMatch(/1 gap\(s\)/)
    const stop = await Effect.runPromise(runCli([...args, "stop"], { env: env() }))
    expect(stop.code).toBe(0)
    const result = await done
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/BTCUSDT: [\d,]+ level changes, 1 gap\(s\)/)
    expect(result.stdout).toMatch(/ETHUSDT: [\d,]+ level changes, 0 gap\(s\)/)

    // The gap is in the continuity ledger with its ids.
    const ledger = await readLedger(dataDir)
    expect(ledger).toHaveLength(1)
    expect(ledger[0]).toMatchObject({
      source: "binance-spot:BTCUSDT",
      kind: "gap",
      cause: "sequence-gap",
      status: "resynced"
    })
    expect(ledger[0]!.detail).toMatch(/^update ids \d+-\d+ missed/)
    // The simulator's clock runs an hour behind: a clock-skew alert.
    expect(await fs.readFile(path.join(dataDir, "state", "alerts.jsonl"), "utf8")).toContain(
      '"kind":"clock-skew"'
    )

    const replica = new Replica()
    const lake = path.join(dataDir, "lake")
    for (const symbol of SYMBOLS) {
      const scales: SymbolScales = scalesBySymbol.get(symbol)!
      const book = new OrderBook()
      const state = initialReplayState()
      let events = 0
      let snapshotBlocks = 0
      let previousU: number | undefined
      for (const segment of await listSegments(lake, "book_deltas", { symbol })) {
        const { info, rows } = await readBookDeltas(segment.file)
        expect(info.scales).toEqual({ priceScale: scales.priceScale, sizeScale: scales.sizeScale })
        let start = 0
        applyDeltaRows(book, rows, state, 0, rows.length, (end) => {
          if (rows.isSnapshot[end] === 1) {
            snapshotBlocks++
            previousU = undefined
            start = end + 1
            return
          }
          // This event's rows equal the simulator's message with the same final id, and it
          // follows the one before it (nothing lost, none twice, across the reconnect too).
          const u = rows.finalUpdateId[end]!
          if (previousU !== undefined) expect(rows.firstUpdateId[end]).toBe(previousU + 1)
          previousU = u
          replica.bookAt(symbol, u)
          const message = Either.getOrThrow(decodeDepthEvent(JSON.parse(replica.messages.get(u)!), scales))
          const got = []
          for (let i = start; i <= end; i++) got.push([rows.sideIsBid[i], rows.price[i], rows.size[i]])
          const want = [
            ...message.bidPrices.map((p, i) => [1, p, message.bidSizes[i]]),
            ...message.askPrices.map((p, i) => [0, p, message.askSizes[i]])
          ]
          expect(rows.firstUpdateId[end]).toBe(message.U)
          expect(rows.eventTime[end]).toBe(message.E)
          expect(got).toEqual(want)
          events++
          start = end + 1
        })
      }
      expect(events).toBeGreaterThan(10)
      // One snapshot block at the first sync, one more at BTCUSDT's re-sync (none at the reconnect).
      expect(snapshotBlocks).toBe(symbol === "BTCUSDT" ? 2 : 1)
      expect(levelsOf(book)).toEqual(levelsOf(replica.bookAt(symbol, state.lastUpdateId)))
      // Validation snapshots (book.validate_every_ms) and sync ones are in book_snapshots.
      const snaps = await listSegments(lake, "book_snapshots", { symbol })
      const purposes = new Set<string>()
      for (const s of snaps) for (const p of (await readBookSnapshots(s.file)).rows.purpose) purposes.add(p)
      expect([...purposes].sort()).toEqual(["sync", "validate"])
    }
  })

  it("binance-usdm: follows the pu chain, records E and T, a dropped event re-syncs that symbol alone, planned reconnects lose nothing", async () => {
    const venue = "binance-usdm"
    // A planned reconnect every second: each overlaps the next connection, so none loses an event.
    const { dataDir, args, capture } = await setup(
      [[/reconnect_every_ms: \d+/, "reconnect_every_ms: 1000"]],
      venue
    )
    const child = start(capture, { env: env() })
    const done = collect(child, 60_000)
    await waitSynced(dataDir, venue)
    sim.faults.inject({ kind: "drop-events" }, { path: /^usdm:btcusdt/ })
    await waitFor(
      dataDir,
      (s) =>
        s.connections >= 3 &&
        s.symbols.every((x) => x.state === "synced" && (x.symbol !== "BTCUSDT" || x.gaps === 1)),
      20_000,
      venue
    )
    await sleep(300)
    // status --json holds the capture as the text view shows it: each symbol's state and gap ratio.
    const json = await Effect.runPromise(runCli([...args, "status", "--json"], { env: env() }))
    expect(json.code).toBe(0)
    const report = JSON.parse(json.stdout) as {
      bookCaptures: ReadonlyArray<{
        venue: string
        state: string
        connection: string
        symbols: ReadonlyArray<{ symbol: string; state: string; gaps: number; gapRatio: number }>
      }>
    }
    expect(report.bookCaptures).toHaveLength(1)
    const view = report.bookCaptures[0]!
    expect(view).toMatchObject({ venue, state: "running", connection: "connected" })
    const bySymbol = new Map(view.symbols.map((x) => [x.symbol, x]))
    expect(bySymbol.get("BTCUSDT")).toMatchObject({ state: "synced", gaps: 1 })
    expect(bySymbol.get("BTCUSDT")!.gapRatio).toBeGreaterThan(0)
    expect(bySymbol.get("ETHUSDT")).toMatchObject({ state: "synced", gaps: 0, gapRatio: 0 })
    const stop = await Effect.runPromise(runCli([...args, "stop"], { env: env() }))
    expect(stop.code).toBe(0)
    const result = await done
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/BTCUSDT: [\d,]+ level changes, 1 gap\(s\)/)
    expect(result.stdout).toMatch(/ETHUSDT: [\d,]+ level changes, 0 gap\(s\)/)

    // The gap, of BTCUSDT alone: first and last id missed, the time span, level changes lost.
    const replica = new Replica("usdm")
    const ledger = await readLedger(dataDir)
    expect(ledger).toHaveLength(1)
    const gap = ledger[0]!
    expect(gap).toMatchObject({
      source: "binance-usdm:BTCUSDT",
      kind: "gap",
      cause: "sequence-gap",
      status: "resynced"
    })
    const ids = /^update ids (\d+)-(\d+) missed/.exec(gap.detail ?? "")
    expect(ids).not.toBeNull()
    const [first, last] = [Number(ids![1]), Number(ids![2])]
    // The message dropped ends at the last id missed, and follows the last one applied (first - 1).
    replica.bookAt("BTCUSDT", last)
    const dropped = JSON.parse(replica.messages.get(last)!) as { pu: number; E: number }
    expect(dropped.pu).toBe(first - 1)
    // Level changes lost: an estimate (ids missed × level changes per id since the sync), near
    // the dropped message's own count.
    const lostMessage = Either.getOrThrow(
      decodeDepthEvent(JSON.parse(replica.messages.get(last)!), scalesOf("usdm").get("BTCUSDT")!)
    )
    const lostLevels = lostMessage.bidPrices.length + lostMessage.askPrices.length
    expect(gap.rows).toBeGreaterThan(lostLevels / 2)
    expect(gap.rows).toBeLessThan(lostLevels * 2)
    // From the last event applied to the one that revealed the gap: two 100 ms intervals.
    expect(gap.end - gap.start).toBe(200)

    // fidelity's gap ratio is the ledger's loss over the level changes expected that day.
    const date = new Date(gap.end).toISOString().slice(0, 10)
    const fidelity = await Effect.runPromise(
      runCli([...args, "fidelity", "--venue", venue, "--symbol", "BTCUSDT", "--date", date, "--json"])
    )
    expect(fidelity.code).toBe(0)
    const f = JSON.parse(fidelity.stdout) as Record<string, number>
    expect(f).toMatchObject({ ledger_gaps: 1, ledger_events_lost: gap.rows, unrecorded_gaps: 0, gaps: 1 })
    expect(f["gap_ratio"]).toBeCloseTo(gap.rows / (f["level_changes"]! + gap.rows), 12)

    const scales = scalesOf("usdm")
    const lake = path.join(dataDir, "lake")
    for (const symbol of SYMBOLS) {
      const book = new OrderBook()
      const state = initialReplayState()
      let events = 0
      let snapshotBlocks = 0
      let previousU: number | undefined
      for (const segment of await listSegments(lake, "book_deltas", { venue, symbol })) {
        const { rows } = await readBookDeltas(segment.file)
        let start = 0
        applyDeltaRows(book, rows, state, 0, rows.length, (end) => {
          if (rows.isSnapshot[end] === 1) {
            snapshotBlocks++
            previousU = undefined
            start = end + 1
            return
          }
          const u = rows.finalUpdateId[end]!
          // After the first event of a sync, every event's pu is the previous event's u.
          if (previousU !== undefined) expect(rows.prevFinalUpdateId[end]).toBe(previousU)
          previousU = u
          replica.bookAt(symbol, u)
          const message = Either.getOrThrow(
            decodeDepthEvent(JSON.parse(replica.messages.get(u)!), scales.get(symbol)!)
          )
          expect(rows.eventTime[end]).toBe(message.E)
          expect(rows.transactionTime[end]).toBe(message.T)
          if (rows.firstUpdateId[end] !== message.U) {
            // The stream's first message starts where the simulator began collecting it (after
            // the capture subscribed), mid-interval, unlike the replica's: only the first event.
            expect(events).toBe(0)
            start = end + 1
            events++
            return
          }
          const lag = rows.eventTime[end]! - rows.transactionTime[end]!
          expect(lag >= 3 && lag <= 40).toBe(true)
          const got = []
          for (let i = start; i <= end; i++) got.push([rows.sideIsBid[i], rows.price[i], rows.size[i]])
          expect(got).toEqual([
            ...message.bidPrices.map((p, i) => [1, p, message.bidSizes[i]]),
            ...message.askPrices.map((p, i) => [0, p, message.askSizes[i]])
          ])
          events++
          start = end + 1
        })
      }
      expect(events).toBeGreaterThan(5)
      expect(snapshotBlocks).toBe(symbol === "BTCUSDT" ? 2 : 1)
      expect(levelsOf(book)).toEqual(levelsOf(replica.bookAt(symbol, state.lastUpdateId)))
    }
  })

  it("after kill -9 at random points, the restored book equals the simulator's at the same update id (book.encrypt on)", async () => {
    const { dataDir, capture } = await setup([
      [/checkpoint_every_events: 1000000/, "checkpoint_every_events: 1000"],
      [/encrypt: false/, "encrypt: true"]
    ])
    const keyHex = "3c".repeat(32)
    const key = Either.getOrThrow(parseBookKey(keyHex))
    const replica = new Replica()
    for (let round = 0; round < 3; round++) {
      // Each restart restores from the encrypted checkpoint and segments.
      const child = start(capture, { env: { ...env(), TAPEHOUSE_BOOK_KEY: keyHex } })
      const done = collect(child, 60_000)
      await waitSynced(dataDir)
      if (round === 0) {
        // serverShutdown: the capture opens a new connection at once.
        sim.faults.inject({ kind: "server-shutdown", closeAfterMs: 0 }, { path: /btcusdt/ })
        await waitFor(dataDir, (s) => s.connections >= 2)
      }
      await sleep(200 + Math.floor(Math.random() * 1500))
      child.kill("SIGKILL")
      expect((await done).signal).toBe("SIGKILL")
      const restored = await restoreBooks(dataDir, "binance-spot", key)
      expect(restored.checkpointSeq).toBeDefined()
      for (const symbol of SYMBOLS) {
        const r = restored.books.get(symbol)!
        expect(levelsOf(r.book), `${symbol} round ${round}`).toEqual(
          levelsOf(replica.bookAt(symbol, r.lastUpdateId))
        )
      }
    }
    // The last 3 checkpoints are kept (retention itself: test/books/bookWal.test.ts); a kill
    // between a new checkpoint's rename and the removal of the oldest leaves one more, until the
    // next checkpoint.
    const kept = (await fs.readdir(path.join(dataDir, "state", "books", "binance-spot"))).filter((n) =>
      n.startsWith("checkpoint-")
    )
    expect(kept.length).toBeGreaterThan(0)
    expect(kept.length).toBeLessThanOrEqual(4)
    const statusDir = path.join(dataDir, "state", "books", "binance-spot")
    for (const name of kept) expect(isEncrypted(await fs.readFile(path.join(statusDir, name)))).toBe(true)
    // Another key: the capture stops at start, naming the checkpoint it cannot open.
    const wrong = await Effect.runPromise(
      runCli(capture, { env: { ...env(), TAPEHOUSE_BOOK_KEY: "3d".repeat(32) } })
    )
    expect(wrong.code).not.toBe(0)
    expect(wrong.stderr).toMatch(/checkpoint-\d{12}\.json: it was encrypted with a different key/)
  })
})
