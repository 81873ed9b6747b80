/**
 * `stream --dataset book_deltas`: captures Binance diff-depth streams around the clock (no
 * session calendar) into the book write-ahead log. The pieces, each a fiber of the run's scope:
 *
 * - the connection: one combined stream `/stream?streams=<sym>@depth@100ms/…` for all symbols,
 *   replaced before book.reconnect_every_ms (Binance's 24 h cap) and at `serverShutdown` by a
 *   connection opened beside it, which takes over once it has caught up (no event lost; see
 *   `connectOnce` and runners/book/handover.ts), and re-opened with a capped backoff when it
 *   drops. `ws` answers the server's pings with pongs echoing them. Streams are named in the URL, so no control message is ever sent (the limit
 *   is 5 incoming messages a second, pongs included; we send one pong per ping);
 * - frames go synchronously through CaptureCore (runners/book/captureCore.ts): decode, DepthSync,
 *   rows appended to the log;
 * - snapshots: one REST depth request at a time, within the request weight (binanceRest.ts), for
 *   symbols that (re)sync; and every book.validate_every_ms one per synced symbol, for
 *   book_snapshots (validation);
 * - the flush loop: segments when book.segment_bytes or book.segment_ms is reached, checkpoints
 *   when due (bookWal.ts); gaps go to the continuity ledger and the alerts;
 * - the status file `<data-dir>/state/books/<venue>/status.json`, every second, for `status`.
 *
 * On interruption (Ctrl-C, SIGTERM, `tapehouse stop`) the socket closes, the rows held are
 * flushed and a last checkpoint written. After kill -9 the next run restores the newest
 * checkpoint and replays the segments after it (bookCheckpoints.restoreBooks).
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Data, Deferred, Effect, Either, Fiber, Queue } from "effect"
import WebSocket from "ws"
import { restoreBooks } from "../books/bookCheckpoints.js"
import { BookWal } from "../books/bookWal.js"
import type { AppConfigShape } from "../config/AppConfig.js"
import { Continuity, type ContinuityRow } from "../domain/Continuity.js"
import type { AlertsShape } from "../monitor/Alerts.js"
import { mkdirs, tempPathFor } from "../sinks/atomicFile.js"
import * as ParquetSink from "../sinks/ParquetSink.js"
import { BinanceRest, nowNs } from "../sources/binance/binanceRest.js"
import { decodeDepthSnapshot } from "../sources/binance/depthWire.js"
import { type BinanceVenue, symbolScales } from "../sources/binance/exchangeInfo.js"
import { CaptureCore, type FoundGap } from "./book/captureCore.js"
import { type BookCaptureStatus, bookStatusFile, type SymbolStatus } from "./book/statusFile.js"

/** The longest a planned reconnect keeps the old connection beside its replacement. */
const HANDOVER_MS = 5000

/** The capture could not start or continue (bad symbols, an unreachable venue, storage). */
export class BookCaptureError extends Data.TaggedError("BookCaptureError")<{
  readonly detail: string
  /** True for a usage problem (an unknown symbol): exit code 2. */
  readonly usage: boolean
}> {
  override get message(): string {
    return this.detail
  }
}

export interface BookCaptureOptions {
  readonly config: AppConfigShape
  readonly venue: BinanceVenue
  readonly symbols: ReadonlyArray<string>
  readonly alerts: AlertsShape
}

const writeJsonAtomic = async (file: string, value: unknown): Promise<void> => {
  await mkdirs(path.dirname(file))
  const temp = tempPathFor(file)
  await fs.writeFile(temp, JSON.stringify(value, null, 1))
  await fs.rename(temp, file)
}

const symbolStatus = (core: CaptureCore): Array<SymbolStatus> =>
  [...core.symbols.values()].map((s) => {
    const st = s.sync.stats
    const lost = st.eventsLostEstimate
    return {
      symbol: s.symbol,
      state: s.sync.synced ? "synced" : "syncing",
      lastUpdateId: s.sync.lastUpdateId,
      appliedEvents: st.appliedEvents,
      appliedLevels: st.appliedLevels,
      gaps: st.gaps,
      missingIds: st.missingIds,
      eventsLostEstimate: lost,
      gapRatio: lost + st.appliedLevels === 0 ? 0 : lost / (lost + st.appliedLevels),
      snapshots: st.snapshotsApplied,
      rejected: s.rejected
    }
  })

/** The ledger row of a gap: first and last id missed, the time span, level changes lost. */
const ledgerRow = (venue: string, found: FoundGap): ContinuityRow => {
  const g = found.gap
  const end = g.toTime
  const start = Math.min(g.fromTime ?? end, end)
  return {
    source: `${venue}:${g.symbol}`,
    kind: "gap",
    cause: found.cause,
    start,
    end,
    symbols: g.symbol,
    rows: g.eventsLostEstimate,
    status: "resynced",
    detail: `update ids ${g.firstMissingId}-${g.lastMissingId} missed (${g.missingIds} ids); the book was re-synced from a REST snapshot`
  }
}

/**
 * Runs the capture until interrupted. Fails with BookCaptureError when exchangeInfo cannot be
 * read or lacks a symbol, or a segment cannot be written.
 */
export const runBookCapture = (options: BookCaptureOptions) =>
  Effect.gen(function* () {
    const { config, venue, alerts } = options
    const book = config.book
    const dataDir = config.dataDir
    const spot = venue === "binance-spot"
    const restUrl = spot ? config.binance.spotUrl : config.binance.usdmUrl
    const wsBase = spot ? config.binance.spotWsUrl : config.binance.usdmWsUrl
    const abort = new AbortController()
    yield* Effect.addFinalizer(() => Effect.sync(() => abort.abort()))
    const rest = new BinanceRest({
      venue,
      baseUrl: restUrl,
      timeoutMs: 30_000,
      attempts: config.retry.attempts,
      maxRetryAfterMs: config.retry.maxRetryAfterMs,
      signal: abort.signal
    })
    const fail = (detail: string, usage = false) => new BookCaptureError({ detail, usage })

    // Scales per symbol from exchangeInfo; every symbol asked for must be listed.
    const info = yield* Effect.tryPromise({
      try: () => rest.exchangeInfo(),
      catch: (e) => fail(`cannot read ${venue} exchangeInfo from ${restUrl}: ${(e as Error).message}`)
    })
    const scales = symbolScales(venue, info)
    if (Either.isLeft(scales)) return yield* fail(scales.left.message)
    const unknown = options.symbols.filter((s) => !scales.right.has(s))
    if (unknown.length > 0)
      return yield* fail(`--symbols: ${unknown.join(", ")} not listed by ${venue} exchangeInfo`, true)

    const restored = yield* Effect.tryPromise({
      try: () => restoreBooks(dataDir, venue, book.encryptKey),
      catch: (e) => fail(`cannot restore the books from ${dataDir}: ${(e as Error).message}`)
    })
    const wal = new BookWal({
      dataDir,
      venue,
      segmentBytes: book.segmentBytes,
      segmentMs: book.segmentMs,
      checkpointEveryMs: book.checkpointEveryMs,
      checkpointEveryEvents: book.checkpointEveryEvents,
      checkpointsKept: book.checkpointsKept,
      compression: config.parquet.compression,
      firstSeq: restored.nextSeq,
      ...(book.encryptKey === undefined ? {} : { encryptKey: book.encryptKey })
    })
    const snapshotQueue = yield* Queue.unbounded<string>()
    let noticeShutdown: () => void = () => {}
    const skewAlerts: Array<{ symbol: string; skewMs: number }> = []
    const core = new CaptureCore({
      venue,
      scales: scales.right,
      symbols: options.symbols,
      wal,
      maxSkewMs: book.maxSkewMs,
      wantSnapshot: (symbol) => Queue.unsafeOffer(snapshotQueue, symbol),
      onShutdown: () => noticeShutdown(),
      onSkew: (symbol, skewMs) => skewAlerts.push({ symbol, skewMs })
    })
    core.restore(restored.books)

    const ledger = yield* ParquetSink.make({
      dataDir,
      compression: config.parquet.compression,
      rowGroupSize: config.parquet.rowGroupSize
    }).pipe(Effect.mapError((e) => fail(e.message)))

    const startedAt = new Date().toISOString()
    let connection: BookCaptureStatus["connection"] = "connecting"
    let connections = 0
    const status = (running: boolean): BookCaptureStatus => ({
      venue,
      pid: process.pid,
      at: new Date().toISOString(),
      startedAt,
      running,
      connection,
      connections,
      messages: core.messages,
      skewMs: core.lastSkewMs,
      maxAbsSkewMs: core.maxAbsSkewMs,
      restWeightUsed: rest.used,
      wal: {
        segments: wal.segmentsWritten,
        rows: wal.rowsWritten,
        checkpoints: wal.checkpointsWritten,
        p95DurableMs: wal.latency.quantile(0.95)
      },
      symbols: symbolStatus(core)
    })
    const statusFile = bookStatusFile(dataDir, venue)
    const writeStatus = (running: boolean) =>
      Effect.promise(() => writeJsonAtomic(statusFile, status(running)).catch(() => undefined))

    // -- flush: segments, checkpoints, ledger, alerts -------------------------------------------
    const flushLock = yield* Effect.makeSemaphore(1)
    const flushNow = (force: boolean) =>
      flushLock.withPermits(1)(
        Effect.gen(function* () {
          const now = Date.now()
          if (force || wal.due(now) || wal.checkpointDue(now)) {
            const pending = wal.take(now, () => core.checkpoint(), force)
            if (pending !== undefined)
              yield* Effect.tryPromise({
                try: () => wal.write(pending),
                catch: (e) => fail(`cannot write the book log under ${dataDir}: ${(e as Error).message}`)
              })
          }
          const gaps = core.gaps.splice(0)
          for (const found of gaps) {
            const row = ledgerRow(venue, found)
            yield* ledger
              .commit({
                dataset: Continuity,
                date: Continuity.partitionDate(row),
                instruments: [row.source],
                rows: [row],
                mode: "upsert"
              })
              .pipe(Effect.mapError((e) => fail(e.message)))
            yield* alerts.raise({
              kind: "gap",
              source: venue,
              message: `${found.gap.symbol}: update ids ${found.gap.firstMissingId}-${found.gap.lastMissingId} missed (${found.cause}); re-syncing from a snapshot.`,
              details: { ...found.gap }
            })
          }
          for (const s of skewAlerts.splice(0))
            yield* alerts.raise({
              kind: "clock-skew",
              source: venue,
              message: `${s.symbol}: local arrival minus exchange time E is ${s.skewMs} ms, past book.max_skew_ms (${book.maxSkewMs} ms); check the clock (NTP) and the network.`,
              details: { symbol: s.symbol, skewMs: s.skewMs }
            })
        })
      )
    const tickMs = Math.max(1, Math.min(200, Math.floor(book.segmentMs / 5)))
    // Wakes when the held rows' flush is due (planned by the log), else after a tick (checkpoints,
    // gaps, alerts): a tick is at most a fifth of book.segment_ms, the least the planner leaves
    // between a row's arrival and its flush.
    const untilDue = Effect.suspend(() => {
      const at = wal.dueAt()
      return Effect.sleep(Math.max(1, Math.min(tickMs, at === undefined ? tickMs : at - Date.now())))
    })
    // A write that fails (disk full, read-only) ends the run with its error.
    const failed = yield* Deferred.make<void, BookCaptureError>()
    yield* Effect.forkScoped(
      Effect.forever(Effect.zipRight(untilDue, flushNow(false))).pipe(
        Effect.catchAll((e) => Deferred.fail(failed, e))
      )
    )

    // -- snapshots for (re)sync ----------------------------------------------------------------
    const fetchSnapshot = (symbol: string) =>
      Effect.tryPromise(() => rest.depth(symbol, book.snapshotLimit)).pipe(
        Effect.flatMap(({ body, receivedNs }) => {
          const decoded = decodeDepthSnapshot(body, scales.right.get(symbol)!)
          return Either.isLeft(decoded)
            ? Effect.fail(decoded.left)
            : Effect.succeed({ snapshot: decoded.right, receivedNs })
        })
      )
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.gen(function* () {
          const symbol = yield* Queue.take(snapshotQueue)
          const got = yield* Effect.either(fetchSnapshot(symbol))
          if (Either.isRight(got)) core.onSnapshot(symbol, got.right.snapshot, got.right.receivedNs)
          else {
            core.snapshotFailed(symbol)
            yield* Effect.logWarning(`${venue} ${symbol}: snapshot failed: ${String(got.left)}`)
            yield* Effect.sleep(1000)
            if (!core.symbols.get(symbol)!.sync.synced) {
              core.symbols.get(symbol)!.snapshotPending = true
              yield* Queue.offer(snapshotQueue, symbol)
            }
          }
        })
      )
    )

    // -- validation snapshots -------------------------------------------------------------------
    if (book.validateEveryMs > 0)
      yield* Effect.forkScoped(
        Effect.forever(
          Effect.gen(function* () {
            yield* Effect.sleep(book.validateEveryMs)
            for (const s of core.symbols.values()) {
              if (!s.sync.synced) continue
              const got = yield* Effect.either(fetchSnapshot(s.symbol))
              if (Either.isLeft(got)) continue
              const { snapshot, receivedNs } = got.right
              core.recordSnapshot(s, snapshot, receivedNs, "validate")
            }
          })
        )
      )

    // -- status file ------------------------------------------------------------------------------
    yield* Effect.forkScoped(Effect.forever(Effect.zipRight(writeStatus(true), Effect.sleep(1000))))

    // -- the connection ---------------------------------------------------------------------------
    const streams = [...core.symbols.values()].map((s) => s.stream).join("/")
    const url = `${wsBase}/stream?streams=${streams}`
    /**
     * One connection, until it closes (or fails). Before book.reconnect_every_ms, and at a
     * `serverShutdown`, it is replaced without a gap: the replacement opens beside it, both feed
     * the capture until the replacement has caught up with every symbol (handover.ts), then the
     * old one closes (at most HANDOVER_MS later; sooner if the server closes it). Binance allows
     * several connections per IP (300 attempts per 5 minutes), so the overlap costs nothing. If
     * the replacement fails to open, this ends ("planned reconnect") and the loop reconnects.
     */
    const connectOnce = Effect.async<{ readonly openMs: number; readonly why: string }>((resume) => {
      interface Conn {
        readonly ws: WebSocket
        fromNew: boolean
        openedAt: number
      }
      let current: Conn
      let next: Conn | undefined
      let done = false
      let lifetime: ReturnType<typeof setTimeout> | undefined
      let handoverTimer: ReturnType<typeof setTimeout> | undefined
      const drop = (c: Conn) => {
        c.ws.removeAllListeners()
        c.ws.on("error", () => {})
        c.ws.terminate()
      }
      const stopTimers = () => {
        clearTimeout(lifetime)
        clearTimeout(handoverTimer)
      }
      const finish = (why: string) => {
        if (done) return
        done = true
        stopTimers()
        noticeShutdown = () => {}
        connection = "disconnected"
        core.endHandover()
        const openedAt = current.openedAt
        drop(current)
        if (next !== undefined) drop(next)
        resume(Effect.succeed({ openMs: openedAt === 0 ? 0 : Date.now() - openedAt, why }))
      }
      /** The replacement takes over; the old connection closes. */
      const swap = () => {
        const old = current
        if (next === undefined || done) return
        clearTimeout(handoverTimer)
        current = next
        next = undefined
        current.fromNew = false
        // Symbols the replacement did not catch up with may show a gap: charge it to the reconnect.
        if (!core.handoverComplete) core.newConnection()
        core.endHandover()
        drop(old)
        connection = current.openedAt === 0 ? "connecting" : "connected"
        arm()
      }
      const plan = () => {
        if (done || next !== undefined) return
        if (current.openedAt === 0) return finish("planned reconnect")
        core.beginHandover()
        next = open(true)
        handoverTimer = setTimeout(swap, HANDOVER_MS)
      }
      const arm = () => {
        clearTimeout(lifetime)
        lifetime = setTimeout(plan, book.reconnectEveryMs)
        noticeShutdown = plan
      }
      const ended = (c: Conn, why: string) => {
        if (done) return
        if (c === next) {
          // The replacement failed: back to the loop, which reconnects at once.
          next = undefined
          drop(c)
          return finish("planned reconnect")
        }
        if (c !== current) return
        if (next !== undefined) return swap()
        finish(why)
      }
      function open(fromNew: boolean): Conn {
        const ws = new WebSocket(url, { perMessageDeflate: false })
        const c: Conn = { ws, fromNew, openedAt: 0 }
        ws.on("open", () => {
          c.openedAt = Date.now()
          connections++
          if (c === current) {
            connection = "connected"
            if (!fromNew) core.newConnection()
          }
        })
        ws.on("message", (data: WebSocket.RawData) => {
          core.onFrame(data.toString(), Date.now(), nowNs(), c.fromNew)
          if (next !== undefined && core.handoverComplete) swap()
        })
        ws.on("error", () => ended(c, "error"))
        ws.on("close", () => ended(c, "closed"))
        return c
      }
      current = open(false)
      arm()
      return Effect.sync(() => {
        done = true
        stopTimers()
        noticeShutdown = () => {}
        core.endHandover()
        drop(current)
        if (next !== undefined) drop(next)
      })
    })
    const connectionFiber = yield* Effect.forkScoped(
      Effect.gen(function* () {
        let delay = config.retry.reconnectBaseDelayMs
        for (;;) {
          connection = "connecting"
          const ended = yield* connectOnce
          // A connection that lived a while (or a planned replacement) reconnects at once.
          if (ended.openMs > 10_000 || (ended.why !== "closed" && ended.why !== "error")) {
            delay = config.retry.reconnectBaseDelayMs
            if (ended.why === "serverShutdown" || ended.why === "planned reconnect") continue
          }
          yield* Effect.sleep(Math.round(delay * (0.5 + Math.random() / 2)))
          delay = Math.min(config.retry.reconnectMaxDelayMs, delay * 2)
        }
      })
    )

    // Until interrupted: then the socket closes (scope), and the rows held are flushed with a
    // last checkpoint.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        yield* Fiber.interrupt(connectionFiber)
        connection = "closed"
        yield* flushNow(true).pipe(Effect.catchAll((e) => Effect.logError(e.message)))
        yield* writeStatus(false)
      })
    )
    yield* Deferred.await(failed)
    return status(false)
  })
