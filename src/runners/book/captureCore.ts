/**
 * The synchronous heart of the order-book capture: every WebSocket frame goes through `onFrame`
 * in arrival order, in the socket's callback, without an Effect per message. Per symbol it holds
 * the DepthSync state machine (spec §1.4, §2.4); the events the machine applies, and the snapshot
 * blocks it loads, are appended to the write-ahead log (bookWal.ts) as rows of book_deltas. What
 * needs I/O is handed out: snapshot requests (`wantSnapshot`), gaps for the continuity ledger
 * (`gaps`), skew alerts and the `serverShutdown` notice (`onShutdown`).
 */
import { type BookCheckpointSymbol, checkpointOf, type RestoredBook } from "../../books/bookCheckpoints.js"
import { NULL_VALUE, utcDate } from "../../books/bookDatasets.js"
import { snapshotRows } from "../../books/bookSegments.js"
import type { BookWal } from "../../books/bookWal.js"
import { scanDepthFrame } from "../../sources/binance/depthFrameScan.js"
import { DepthSync, type SequenceGap } from "../../sources/binance/depthSync.js"
import {
  type DepthEvent,
  type DepthSnapshot,
  decodeDepthEvent,
  framePayload
} from "../../sources/binance/depthWire.js"
import type { BinanceVenue, SymbolScales } from "../../sources/binance/exchangeInfo.js"
import { Handover } from "./handover.js"

/** A gap found, with why it opened, for the ledger. */
export interface FoundGap {
  readonly gap: SequenceGap
  /** `reconnect`: the connection was replaced since the symbol's last event; else `sequence-gap`. */
  readonly cause: "reconnect" | "sequence-gap"
  readonly atMs: number
}

export interface SymbolCapture {
  readonly symbol: string
  readonly stream: string
  readonly scales: SymbolScales
  readonly sync: DepthSync
  /** A sync snapshot is asked for or in flight. */
  snapshotPending: boolean
  /** The connection epoch of the last event seen. */
  epoch: number
  /** UTC day number (E / 86,400,000) and date of the last row written. */
  day: number
  date: string
  /** Event time of the last row written (ms; 0 before any). */
  lastEventTime: number
  rejected: number
  /** The highest final update id seen (-1 before any), for a connection handover (handover.ts). */
  lastU: number
}

export interface CaptureCoreOptions {
  readonly venue: BinanceVenue
  readonly scales: ReadonlyMap<string, SymbolScales>
  readonly symbols: ReadonlyArray<string>
  readonly wal: BookWal
  readonly maxSkewMs: number
  /** A snapshot is needed for `symbol` (a sync or a re-sync). */
  readonly wantSnapshot: (symbol: string) => void
  readonly onShutdown: () => void
  readonly onSkew: (symbol: string, skewMs: number) => void
}

const DAY_MS = 86_400_000

export class CaptureCore {
  readonly symbols = new Map<string, SymbolCapture>()
  readonly gaps: Array<FoundGap> = []
  messages = 0
  /** Frames that were not depth events (subscription answers, unknown events). */
  otherFrames = 0
  rejected = 0
  epoch = 0
  lastSkewMs = 0
  maxAbsSkewMs = 0
  private skewAlertAt = 0
  /** A planned reconnect's overlap of two connections (handover.ts), while it lasts. */
  private handover: Handover | undefined = undefined
  /** Arrival of the frame being handled (ms and ns): the time of the rows it produces. */
  private arrivalMs = 0
  private arrivalNs = 0n
  /** Arrival of buffered events, to write them with their own arrival when they are applied. */
  private readonly arrivals = new WeakMap<DepthEvent, bigint>()

  constructor(readonly options: CaptureCoreOptions) {
    for (const symbol of options.symbols) {
      const scales = options.scales.get(symbol)!
      const state: SymbolCapture = {
        symbol,
        stream: `${symbol.toLowerCase()}@depth@100ms`,
        scales,
        sync: new DepthSync(symbol, options.venue === "binance-spot" ? "spot" : "usdm", {
          onApply: (event) => this.write(state, event),
          onSnapshotLoaded: (snapshot) => this.writeSnapshotBlock(state, snapshot)
        }),
        snapshotPending: false,
        epoch: 0,
        day: -1,
        date: "",
        lastEventTime: 0,
        rejected: 0,
        lastU: -1
      }
      this.symbols.set(symbol, state)
    }
  }

  /** Continues restored books (bookCheckpoints.restoreBooks) instead of waiting for a snapshot. */
  restore(books: ReadonlyMap<string, RestoredBook>): void {
    for (const [symbol, r] of books) {
      const state = this.symbols.get(symbol)
      if (state === undefined) continue
      if (r.scales.priceScale !== state.scales.priceScale || r.scales.sizeScale !== state.scales.sizeScale)
        continue
      const c = checkpointOf(symbol, r.scales, r.book, r.lastUpdateId, r.lastEventTime)
      state.sync.restore(c.bidPrices, c.bidSizes, c.askPrices, c.askSizes, r.lastUpdateId, r.lastEventTime)
      state.lastEventTime = r.lastEventTime
      state.lastU = r.lastUpdateId
      state.day = Math.floor(r.lastEventTime / DAY_MS)
      state.date = utcDate(r.lastEventTime)
    }
  }

  /** A new connection opened: gaps found from here on are charged to the reconnect. */
  newConnection(): void {
    this.epoch++
  }

  /** A replacement connection opens beside the current one: its frames come with `fromNew`. */
  beginHandover(): void {
    this.handover = new Handover(this.options.venue === "binance-usdm", this.symbols.size)
  }

  /** The replacement connection has caught up with every symbol: the old one may close. */
  get handoverComplete(): boolean {
    return this.handover?.complete ?? false
  }

  /** The old connection is closed: the replacement's frames are the only ones from now on. */
  endHandover(): void {
    const h = this.handover
    if (h === undefined) return
    this.handover = undefined
    h.finish((symbol) => {
      const state = this.symbols.get(symbol)!
      return (event, arrivalMs, arrivalNs) => this.process(state, event, arrivalMs, arrivalNs)
    })
  }

  /**
   * One WebSocket text frame, as it arrived at `arrivalMs` / `arrivalNs`; `fromNew`: on the
   * replacement connection of a handover.
   */
  onFrame(text: string, arrivalMs: number, arrivalNs: bigint, fromNew = false): void {
    this.messages++
    this.arrivalMs = arrivalMs
    this.arrivalNs = arrivalNs
    // The hot path: a compact depth event read in place; anything else takes JSON.parse below.
    const scanned = scanDepthFrame(text, this.scalesOf)
    if (scanned !== undefined) {
      const state = this.symbols.get(scanned.symbol)!
      if (scanned._tag === "Invalid") {
        this.rejected++
        state.rejected++
        return
      }
      this.onEvent(state, scanned.event, arrivalMs, arrivalNs, fromNew)
      return
    }
    let frame: unknown
    try {
      frame = JSON.parse(text)
    } catch {
      this.rejected++
      return
    }
    const data = framePayload(frame) as Record<string, unknown> | undefined
    if (data === null || typeof data !== "object") {
      this.otherFrames++
      return
    }
    if (data["e"] === "serverShutdown") {
      this.options.onShutdown()
      return
    }
    if (data["e"] !== "depthUpdate") {
      this.otherFrames++
      return
    }
    const state = typeof data["s"] === "string" ? this.symbols.get(data["s"]) : undefined
    if (state === undefined) {
      this.otherFrames++
      return
    }
    const decoded = decodeDepthEvent(data, state.scales)
    if (decoded._tag === "Left") {
      this.rejected++
      state.rejected++
      return
    }
    this.onEvent(state, decoded.right, arrivalMs, arrivalNs, fromNew)
  }

  private readonly scalesOf = (symbol: string): SymbolScales | undefined => this.symbols.get(symbol)?.scales

  private onEvent(
    state: SymbolCapture,
    event: DepthEvent,
    arrivalMs: number,
    arrivalNs: bigint,
    fromNew: boolean
  ): void {
    const h = this.handover
    if (h === undefined) {
      this.process(state, event, arrivalMs, arrivalNs)
      return
    }
    if (!h.admit(state.symbol, state.lastU, event, arrivalMs, arrivalNs, fromNew)) return
    this.process(state, event, arrivalMs, arrivalNs)
    if (!fromNew) h.drain(state.symbol, state.lastU, (e, ms, ns) => this.process(state, e, ms, ns))
  }

  private process(state: SymbolCapture, event: DepthEvent, arrivalMs: number, arrivalNs: bigint): void {
    if (event.u > state.lastU) state.lastU = event.u
    this.skew(state.symbol, arrivalMs - event.E)
    this.arrivals.set(event, arrivalNs)
    const reconnected = state.epoch !== this.epoch
    state.epoch = this.epoch
    const outcome = state.sync.onEvent(event)
    switch (outcome._tag) {
      case "Buffered":
        if (outcome.requestSnapshot) this.requestSnapshot(state)
        return
      case "Gap":
        this.gaps.push({
          gap: outcome.gap,
          cause: reconnected ? "reconnect" : "sequence-gap",
          atMs: arrivalMs
        })
        this.requestSnapshot(state)
        return
      case "SnapshotTooOld":
        this.requestSnapshot(state)
        return
      default:
        return
    }
  }

  /** Appends a REST snapshot of a symbol to the WAL (`book_snapshots`): one used to sync, or to validate. */
  recordSnapshot(
    state: SymbolCapture,
    snapshot: DepthSnapshot,
    receivedNs: bigint,
    purpose: "sync" | "validate"
  ): void {
    const arrivalMs = Number(receivedNs / 1_000_000n)
    this.options.wal.addSnapshot(
      state.symbol,
      utcDate(arrivalMs),
      state.scales,
      snapshotRows({
        receivedTime: receivedNs,
        eventTime: snapshot.E ?? NULL_VALUE,
        transactionTime: snapshot.T ?? NULL_VALUE,
        lastUpdateId: snapshot.lastUpdateId,
        purpose,
        bidPrices: snapshot.bidPrices,
        bidSizes: snapshot.bidSizes,
        askPrices: snapshot.askPrices,
        askSizes: snapshot.askSizes
      }),
      arrivalMs
    )
  }

  /** A sync snapshot of `symbol` arrived (REST), at `receivedNs`. */
  onSnapshot(symbol: string, snapshot: DepthSnapshot, receivedNs: bigint): void {
    const state = this.symbols.get(symbol)
    if (state === undefined) return
    state.snapshotPending = false
    this.arrivalNs = receivedNs
    this.arrivalMs = Number(receivedNs / 1_000_000n)
    this.recordSnapshot(state, snapshot, receivedNs, "sync")
    const outcome = state.sync.onSnapshot(snapshot)
    if (outcome._tag === "Gap") {
      this.gaps.push({ gap: outcome.gap, cause: "sequence-gap", atMs: this.arrivalMs })
      this.requestSnapshot(state)
    } else if (outcome._tag === "SnapshotTooOld") this.requestSnapshot(state)
  }

  /** A snapshot request failed: the symbol may ask again. */
  snapshotFailed(symbol: string): void {
    const state = this.symbols.get(symbol)
    if (state !== undefined) state.snapshotPending = false
  }

  /** The symbols waiting for a snapshot whose request is not pending (to retry after a failure). */
  unsyncedWithoutRequest(): Array<string> {
    return [...this.symbols.values()]
      .filter((s) => !s.sync.synced && !s.snapshotPending && s.sync.buffered > 0)
      .map((s) => s.symbol)
  }

  /** Every synced book as checkpoint entries, now. */
  checkpoint(): Array<BookCheckpointSymbol> {
    const out: Array<BookCheckpointSymbol> = []
    for (const s of this.symbols.values()) {
      if (!s.sync.synced) continue
      out.push(checkpointOf(s.symbol, s.scales, s.sync.book, s.sync.lastUpdateId, s.lastEventTime))
    }
    return out
  }

  private requestSnapshot(state: SymbolCapture): void {
    if (state.snapshotPending) return
    state.snapshotPending = true
    this.options.wantSnapshot(state.symbol)
  }

  private skew(symbol: string, skewMs: number): void {
    this.lastSkewMs = skewMs
    const abs = Math.abs(skewMs)
    if (abs > this.maxAbsSkewMs) this.maxAbsSkewMs = abs
    // At most one alert a minute.
    if (abs > this.options.maxSkewMs && this.arrivalMs - this.skewAlertAt >= 60_000) {
      this.skewAlertAt = this.arrivalMs
      this.options.onSkew(symbol, skewMs)
    }
  }

  /** Rows of one applied event; at a new UTC day, the book so far first, as a snapshot block. */
  private write(state: SymbolCapture, event: DepthEvent): void {
    const wal = this.options.wal
    const day = Math.floor(event.E / DAY_MS)
    if (day !== state.day) {
      const previous = state.day
      state.day = day
      state.date = utcDate(event.E)
      // Each day's partition starts from a whole book (not on the first day of a fresh sync,
      // whose snapshot block is already there).
      if (previous >= 0 && state.sync.book.bids.length + state.sync.book.asks.length > 0) {
        const c = checkpointOf(state.symbol, state.scales, state.sync.book, state.sync.lastUpdateId, event.E)
        const id = state.sync.lastUpdateId
        const buffer = wal.partition(state.symbol, state.date, state.scales)
        buffer.appendEvent(
          event.E,
          event.T ?? NULL_VALUE,
          this.arrivalNs,
          id,
          id,
          NULL_VALUE,
          c.bidPrices,
          c.bidSizes,
          c.askPrices,
          c.askSizes,
          true
        )
        wal.appended(c.bidPrices.length + c.askPrices.length, this.arrivalMs)
      }
    }
    state.lastEventTime = event.E
    const received = this.arrivals.get(event) ?? this.arrivalNs
    const buffer = wal.partition(state.symbol, state.date, state.scales)
    buffer.appendEvent(
      event.E,
      event.T ?? NULL_VALUE,
      received,
      event.U,
      event.u,
      event.pu ?? NULL_VALUE,
      event.bidPrices,
      event.bidSizes,
      event.askPrices,
      event.askSizes,
      false
    )
    wal.appended(event.bidPrices.length + event.askPrices.length, Number(received / 1_000_000n))
  }

  /** The snapshot a sync loaded, as a snapshot block of book_deltas (it replaces the book). */
  private writeSnapshotBlock(state: SymbolCapture, snapshot: DepthSnapshot): void {
    const wal = this.options.wal
    const time = snapshot.T ?? snapshot.E ?? this.arrivalMs
    state.day = Math.floor(time / DAY_MS)
    state.date = utcDate(time)
    state.lastEventTime = time
    const id = snapshot.lastUpdateId
    const buffer = wal.partition(state.symbol, state.date, state.scales)
    buffer.appendEvent(
      time,
      snapshot.T ?? NULL_VALUE,
      this.arrivalNs,
      id,
      id,
      NULL_VALUE,
      snapshot.bidPrices,
      snapshot.bidSizes,
      snapshot.askPrices,
      snapshot.askSizes,
      true
    )
    wal.appended(snapshot.bidPrices.length + snapshot.askPrices.length, this.arrivalMs)
  }
}
