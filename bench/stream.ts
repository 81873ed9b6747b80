/**
 * Stream benchmark: a local WebSocket server floods per-second aggregates (`A` events with the
 * vendor's full field set, every frame a JSON array carrying one session second for every
 * subscribed symbol) as fast as the client reads, and the production client path —
 * `MassiveSocket.Live` → `StreamRunner.run` → SpillQueue → late data → validate → dedupe → real
 * sinks — takes it to Parquet alone, then to Parquet + embedded PGlite.
 *
 *   node bin/run-ts.mjs bench/stream.ts [seconds=60] [symbols=1000] [parquet|parquet+pglite|all] [msgs/s=250000|max]
 *
 * The server. A child process (this file again, with `--flood-server`), so its CPU is not on the
 * client's event loop and its memory is not in the client's RSS. It speaks the handshake
 * (connected → auth → auth_success → subscribe → one `success` per channel), then sends one frame
 * per session second from the open, every subscribed symbol in it. Frames come from 8 pre-rendered
 * price variants per connection with `s`/`e` (13 digits) written into a copy of the bytes, so the
 * server spends its time sending, not formatting. Pace: at a given rate (default 250,000 msgs/s,
 * i.e. 250 frames of 1,000 symbols a second) the frames due are sent every 10 ms whatever the
 * client does, as a real feed would; what the client has not read piles up in the server's
 * `bufferedAmount` (reported as "server unread"). With `max`, at most 4 frames whose `ws` send
 * callback has not fired are in flight and the next is sent from the callback, so the server goes
 * as fast as the client reads (a ceiling; past it the client's queue spills). After the last second of the session it starts over at the open (a "pass"): later passes
 * re-send keys already written, which the sinks take as corrections. Its clock (session time of
 * the last frame + 3 s, capped at the close) is reported to this process over IPC and served by an
 * in-process `MassiveSim` as `/v1/marketstatus/now`, so the runner lives in the replayed session
 * (what `serveStoredDay` does). Why not `MassiveSocketSim` at "max": its timeline materialises every
 * bar of the day up front (1000 symbols × 23,400 s = 23 M `StockBar`s, several GiB), in the
 * measured process.
 *
 * Method.
 * - Arrival: a layer wrapping `MassiveSocket.Live` appends `(receivedAt, bars)` of every frame of
 *   bars (a `Frame` event, undecoded, for large frames) to a FIFO. `receivedAt` is stamped in the
 *   socket's message handler, when `ws` hands the frame over: time the frame then waits in the
 *   client (behind a decode, or a busy event loop) counts.
 * - Durable: a layer wrapping the real `Sinks` (fan-out: resolves once EVERY sink committed) takes,
 *   at the end of each `stock_bars_1s` append commit of n rows, frames off the FIFO until they hold n
 *   bars (the runner commits frames in arrival order; rejected or duplicate rows would break the
 *   match, so they are counted and reported). Per frame, latency = commit end − receivedAt; the p50
 *   and p99 are over events (each frame weighs its bar count). Per flush, latency = commit end −
 *   earliest arrival in it.
 * - Sustained msgs/s: rows committed by the commits after the first one that end within the run,
 *   divided by the time from the end of the first commit to the end of the last one (start-up:
 *   sinks, PGlite, connect, handshake, first flush excluded).
 * - The run lasts `seconds` from the first data frame received; then the runner is interrupted
 *   (it drains what is queued, at most 8 s, and flushes; reported as "drain").
 * - RSS of this process (the client): peak sampled every 20 ms, and a sample every 10 s.
 * - Spills: `stats.spilled` (queued events that went to the spill file).
 * - Where a slow flush's time went: GC pauses (`perf_hooks` "gc" entries), event-loop delay
 *   (`monitorEventLoopDelay`), and event-loop stalls (a 5 ms timer that fired over 50 ms late).
 *   The flushes after warm-up whose oldest event missed the target are listed, slowest first, with
 *   the wait before their commit, the commit, and the GC and stalls in their window.
 * - Page faults: the client's minor page faults a second over the run, and, after the stage costs,
 *   what one costs on this host (`pageFaultCost`). A frame of 1,000 bars is a 250 KiB string: each
 *   one is faulted in afresh, so where faults are dear (a VM) they are a large share of the work.
 */
import { type ChildProcess, fork } from "node:child_process"
import * as Os from "node:os"
import * as Path from "node:path"
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks"
import { Effect, Exit, Fiber, Layer, Logger, LogLevel, Stream } from "effect"
import { type RawData, type WebSocket, WebSocketServer } from "ws"
import * as MarketCalendar from "../src/calendar/MarketCalendar.js"
import { AppConfig } from "../src/config/AppConfig.js"
import { StockBars1s } from "../src/domain/StockBar.js"
import { newYorkTimeToEpochMs } from "../src/domain/time.js"
import * as Alerts from "../src/monitor/Alerts.js"
import type { StreamStats } from "../src/monitor/StreamStats.js"
import * as Checkpoints from "../src/pipeline/Checkpoints.js"
import { makeDeduplicator } from "../src/pipeline/dedupe.js"
import { makeLateDataFilter } from "../src/pipeline/lateData.js"
import { makeValidator } from "../src/pipeline/validate.js"
import * as StreamRunner from "../src/runners/stream.js"
import * as MassiveSim from "../src/sim/MassiveSim.js"
import { encodeParquet, loadCompression } from "../src/sinks/parquetCodec.js"
import * as Quarantine from "../src/sinks/Quarantine.js"
import { Sinks } from "../src/sinks/Sink.js"
import * as SinksLive from "../src/sinks/SinksLive.js"
import { fromWorkerEvents, rowCodec, toWorkerEvents } from "../src/sources/massive/barColumns.js"
import * as MassiveRest from "../src/sources/massive/MassiveRest.js"
import * as MassiveSocket from "../src/sources/massive/MassiveSocket.js"
import * as StockBarsFeed from "../src/sources/massive/stockBarsFeed.js"
import { codec } from "../src/sources/massive/stockBarsFeed.js"
import { decodeFrame } from "../src/sources/massive/wsWire.js"
import { benchConfig, scratchDir } from "./benchConfig.js"

const SERVER_FLAG = "--flood-server"
/** A Monday, a full session: 09:30–16:00 New York. */
const DATE = "2024-03-04"
const OPEN_MS = newYorkTimeToEpochMs(DATE, 9, 30)
const CLOSE_MS = newYorkTimeToEpochMs(DATE, 16, 0)
const FLUSH_INTERVAL_MS = 1000
/** The first seconds of a run (JIT warm-up, the decode worker starting) are reported apart. */
const WARMUP_MS = 10_000
/** The default `stream.queue_capacity`, in bars. */
const QUEUE_CAPACITY = 1_000_000
const MAX_IN_FLIGHT = 4
/** Paced mode: the server sends the frames due every PACE_TICK_MS. */
const PACE_TICK_MS = 10
const VARIANTS = 8

// ---------------------------------------------------------------------------------------------
// The flood server (child process)

type ServerMessage =
  | { readonly type: "listening"; readonly port: number }
  | {
      readonly type: "progress"
      readonly sessionMs: number
      readonly frames: number
      readonly events: number
      readonly passes: number
      readonly rss: number
      /** Largest `ws.bufferedAmount` seen: bytes the client had not read yet (paced mode). */
      readonly maxBuffered: number
    }

const status = (s: string, message: string) => JSON.stringify([{ ev: "status", status: s, message }])

/** Deterministic PRNG (mulberry32). */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

interface Template {
  readonly bytes: Buffer
  /** Byte offsets of the 13-digit `s` and `e` values, alternating. */
  readonly offsets: Int32Array
}

const PLACEHOLDER = "0000000000000"

const renderTemplate = (symbols: ReadonlyArray<string>, random: () => number): Template => {
  const parts: Array<string> = ["["]
  const offsets = new Int32Array(symbols.length * 2)
  let length = 1
  const r2 = (x: number) => Math.round(x * 100) / 100
  const r4 = (x: number) => Math.round(x * 10_000) / 10_000
  for (let i = 0; i < symbols.length; i++) {
    const base = 20 + ((i * 37) % 480)
    const o = r2(base * (1 + (random() - 0.5) * 0.002))
    const c = r2(base * (1 + (random() - 0.5) * 0.002))
    const h = r2(Math.max(o, c) + random() * 0.05)
    const l = r2(Math.min(o, c) - random() * 0.05)
    const v = 100 + Math.floor(random() * 5000)
    const vw = r4((h + l + c) / 3)
    const head = `${i === 0 ? "" : ","}{"ev":"A","sym":"${symbols[i]}","v":${v},"av":${v * 1000 + Math.floor(random() * 1e6)},"op":${r2(base)},"vw":${vw},"o":${o},"c":${c},"h":${h},"l":${l},"a":${r4(base * (1 + (random() - 0.5) * 0.01))},"z":${1 + Math.floor(random() * 200)},"s":`
    parts.push(head)
    length += head.length
    offsets[2 * i] = length
    const mid = `${PLACEHOLDER},"e":`
    parts.push(mid)
    length += mid.length
    offsets[2 * i + 1] = length
    parts.push(`${PLACEHOLDER}}`)
    length += PLACEHOLDER.length + 1
  }
  parts.push("]")
  const bytes = Buffer.from(parts.join(""), "latin1")
  if (bytes.length !== length + 1) throw new Error("template offsets are off")
  return { bytes, offsets }
}

const runServer = () => {
  const send = (m: ServerMessage) => process.send?.(m)
  let sessionMs = OPEN_MS
  let frames = 0
  let events = 0
  let passes = 1
  let maxBuffered = 0
  /** Events per second to send; 0 = as fast as the client reads. */
  const rate = Number(process.argv[4] ?? 0)
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, path: "/stocks", perMessageDeflate: false })
  wss.on("listening", () => {
    const address = wss.address()
    if (typeof address === "object" && address !== null) send({ type: "listening", port: address.port })
  })
  const flood = (ws: WebSocket, symbols: ReadonlyArray<string>) => {
    const random = prng(42)
    const templates = Array.from({ length: VARIANTS }, () => renderTemplate(symbols, random))
    let s = OPEN_MS
    let k = 0
    let inFlight = 0
    let scheduled = false
    const onSent = () => {
      inFlight--
      if (rate === 0 && !scheduled) {
        scheduled = true
        setImmediate(pump)
      }
    }
    const sendOne = () => {
      const t = templates[k++ % VARIANTS]!
      const frame = Buffer.from(t.bytes)
      const sText = String(s)
      const eText = String(s + 1000)
      const offsets = t.offsets
      for (let i = 0; i < offsets.length; i += 2) {
        frame.write(sText, offsets[i]!, "latin1")
        frame.write(eText, offsets[i + 1]!, "latin1")
      }
      inFlight++
      ws.send(frame, { binary: false }, onSent)
      frames++
      events += symbols.length
      sessionMs = s + 3000
      s += 1000
      if (s >= CLOSE_MS) {
        s = OPEN_MS
        passes++
      }
    }
    const pump = () => {
      scheduled = false
      while (ws.readyState === ws.OPEN && inFlight < MAX_IN_FLIGHT) sendOne()
    }
    if (rate === 0) {
      pump()
      return
    }
    // Paced: frames due since the start at `rate` events/s, sent every tick whatever the client does
    // (a real feed does not wait either); what the client has not read piles up in `bufferedAmount`.
    const framesPerSecond = rate / symbols.length
    const started = performance.now()
    let sent = 0
    const tick = setInterval(() => {
      if (ws.readyState !== ws.OPEN) return clearInterval(tick)
      const due = Math.floor(((performance.now() - started) / 1000) * framesPerSecond)
      while (sent < due) {
        sendOne()
        sent++
      }
      maxBuffered = Math.max(maxBuffered, ws.bufferedAmount)
    }, PACE_TICK_MS)
  }
  wss.on("connection", (ws) => {
    let authenticated = false
    let flooding = false
    ws.on("error", () => {})
    ws.on("message", (data: RawData) => {
      const text = Array.isArray(data)
        ? Buffer.concat(data).toString()
        : Buffer.from(data as Buffer).toString()
      const msg = JSON.parse(text) as { readonly action?: unknown; readonly params?: unknown }
      if (msg.action === "auth") {
        authenticated = typeof msg.params === "string" && msg.params.length > 0
        ws.send(authenticated ? status("auth_success", "authenticated") : status("auth_failed", "bad key"))
        return
      }
      if (msg.action === "subscribe" && authenticated && typeof msg.params === "string") {
        const channels = msg.params.split(",").filter((c) => c.startsWith("A."))
        for (const c of channels) ws.send(status("success", `subscribed to: ${c}`))
        if (!flooding) {
          flooding = true
          flood(
            ws,
            channels.map((c) => c.slice(2))
          )
        }
      }
    })
    ws.send(status("connected", "Connected Successfully"))
  })
  const progress = setInterval(
    () =>
      send({
        type: "progress",
        sessionMs: Math.min(sessionMs, CLOSE_MS),
        frames,
        events,
        passes,
        rss: process.memoryUsage().rss,
        maxBuffered
      }),
    100
  )
  const stop = () => {
    clearInterval(progress)
    for (const c of wss.clients) c.terminate()
    wss.close(() => process.exit(0))
    setTimeout(() => process.exit(0), 2000).unref()
  }
  process.on("message", (m) => {
    if (m === "stop") stop()
  })
  process.on("disconnect", stop)
  // Never outlive a lost parent by much.
  setTimeout(stop, Number(process.argv[3] ?? 60) * 1000 + 180_000).unref()
}

// ---------------------------------------------------------------------------------------------
// The client side (this process)

interface ServerState {
  port: number
  sessionMs: number
  frames: number
  events: number
  passes: number
  rss: number
  maxBuffered: number
}

const startServer = (seconds: number, rate: number) =>
  Effect.acquireRelease(
    Effect.async<{ readonly child: ChildProcess; readonly state: ServerState }, Error>((resume) => {
      const runTs = Path.resolve(import.meta.dirname, "../bin/run-ts.mjs")
      const child = fork(
        runTs,
        [Path.resolve(import.meta.dirname, "stream.ts"), SERVER_FLAG, String(seconds), String(rate)],
        {
          execArgv: [],
          stdio: ["ignore", "inherit", "inherit", "ipc"]
        }
      )
      const state: ServerState = {
        port: 0,
        sessionMs: OPEN_MS,
        frames: 0,
        events: 0,
        passes: 1,
        rss: 0,
        maxBuffered: 0
      }
      child.on("message", (m: ServerMessage) => {
        if (m.type === "listening") {
          state.port = m.port
          resume(Effect.succeed({ child, state }))
        } else {
          state.sessionMs = m.sessionMs
          state.frames = m.frames
          state.events = m.events
          state.passes = m.passes
          state.rss = m.rss
          state.maxBuffered = m.maxBuffered
        }
      })
      child.once("exit", (code) => resume(Effect.fail(new Error(`flood server exited (${code})`))))
    }),
    ({ child }) =>
      Effect.async<void>((resume) => {
        if (child.exitCode !== null) return resume(Effect.void)
        const kill = setTimeout(() => child.kill("SIGKILL"), 3000)
        child.once("exit", () => {
          clearTimeout(kill)
          resume(Effect.void)
        })
        child.send("stop")
      })
  )

/** Frames received and not yet committed, oldest first. */
class ArrivalFifo {
  private at: Array<number> = []
  private bars: Array<number> = []
  private head = 0
  push(receivedAt: number, bars: number) {
    this.at.push(receivedAt)
    this.bars.push(bars)
  }
  size() {
    return this.at.length - this.head
  }
  /** Frames holding `n` bars, oldest first, as [receivedAt, bars] pairs; `exact` false when they do not add up. */
  take(n: number): { readonly frames: Array<readonly [number, number]>; readonly exact: boolean } {
    const frames: Array<readonly [number, number]> = []
    let left = n
    while (left > 0 && this.head < this.at.length) {
      const b = this.bars[this.head]!
      frames.push([this.at[this.head]!, b])
      left -= b
      this.head++
    }
    if (this.head > 50_000) {
      this.at = this.at.slice(this.head)
      this.bars = this.bars.slice(this.head)
      this.head = 0
    }
    return { frames, exact: left === 0 }
  }
}

interface Flush {
  readonly start: number
  readonly end: number
  readonly rows: number
  /** Commit end − earliest arrival in it. */
  readonly latencyMs: number
  /** Frames it held (entries of `frameLatencies`). */
  readonly frames: number
}

interface Probe {
  firstArrival: number | undefined
  received: number
  readonly fifo: ArrivalFifo
  readonly flushes: Array<Flush>
  /** [latency ms, events] per frame. */
  readonly frameLatencies: Array<readonly [number, number]>
  mismatches: number
}

const makeProbe = (): Probe => ({
  firstArrival: undefined,
  received: 0,
  fifo: new ArrivalFifo(),
  flushes: [],
  frameLatencies: [],
  mismatches: 0
})

/** `MassiveSocket.Live`, recording the arrival of every `Records` event the runner will commit. */
const recordingSocket = (probe: Probe) =>
  Layer.effect(
    MassiveSocket.MassiveSocket,
    Effect.map(MassiveSocket.MassiveSocket, (live) =>
      MassiveSocket.MassiveSocket.of({
        events: (request) =>
          live.events(request).pipe(
            Stream.mapChunks((chunk) => {
              for (const e of chunk) {
                // Large frames arrive undecoded (`Frame`, with their event count); small ones as records.
                if (e._tag !== "Frame" && e._tag !== "Records") continue
                const bars = e._tag === "Frame" ? e.count : e.records.length
                if (bars === 0) continue
                probe.firstArrival ??= e.receivedAt
                probe.received += bars
                probe.fifo.push(e.receivedAt, bars)
              }
              return chunk
            })
          )
      })
    )
  ).pipe(Layer.provide(MassiveSocket.Live))

/** The configured sinks, timing every streamed commit and matching it to the frames it holds. */
const recordingSinks = (probe: Probe) =>
  Layer.effect(
    Sinks,
    Effect.map(Sinks, (inner) =>
      Sinks.of({
        sinks: inner.sinks,
        recover: inner.recover,
        commit: (write) => {
          if (write.dataset.name !== StockBars1s.name || write.mode !== "append") return inner.commit(write)
          const start = Date.now()
          return Effect.tap(inner.commit(write), () =>
            Effect.sync(() => {
              const end = Date.now()
              const { frames, exact } = probe.fifo.take(write.rows.length)
              if (!exact) probe.mismatches++
              let earliest = end
              for (const [at, bars] of frames) {
                probe.frameLatencies.push([end - at, bars])
                if (at < earliest) earliest = at
              }
              probe.flushes.push({
                start,
                end,
                rows: write.rows.length,
                latencyMs: end - earliest,
                frames: frames.length
              })
            })
          )
        }
      })
    )
  ).pipe(Layer.provide(SinksLive.fromConfig))

const weightedPercentile = (samples: ReadonlyArray<readonly [number, number]>, p: number): number => {
  if (samples.length === 0) return Number.NaN
  const sorted = [...samples].sort((a, b) => a[0] - b[0])
  const total = sorted.reduce((s, x) => s + x[1], 0)
  let acc = 0
  for (const [v, w] of sorted) {
    acc += w
    if (acc >= p * total) return v
  }
  return sorted[sorted.length - 1]![0]
}

/** `PerformanceEntry.detail.kind` of a mark-compact collection (perf_hooks' NODE_PERFORMANCE_GC_MAJOR). */
const GC_MAJOR = 4

const gcSummary = (
  pauses: ReadonlyArray<{ readonly at: number; readonly ms: number; readonly kind: number }>,
  from: number,
  to: number
) => {
  const inRun = pauses.filter((g) => g.at >= from && g.at < to)
  const major = inRun.filter((g) => g.kind === GC_MAJOR)
  return {
    gcMajor: major.length,
    gcMajorMaxMs: Math.round(Math.max(0, ...major.map((g) => g.ms))),
    gcTotalMs: Math.round(inRun.reduce((t, g) => t + g.ms, 0))
  }
}

const mib = (bytes: number) => Math.round(bytes / 1024 / 1024)

type Mode = "parquet" | "parquet+pglite"

interface Result {
  readonly mode: Mode
  readonly symbols: number
  readonly seconds: number
  readonly sustained: number
  readonly receivedPerSecond: number
  readonly serverSentPerSecond: number
  readonly committed: number
  readonly received: number
  readonly backlogAtStop: number
  readonly drainMs: number
  readonly p50: number
  readonly p99: number
  /** p50 / p99 over the frames committed after WARMUP_MS. */
  readonly steadyP50: number
  readonly steadyP99: number
  readonly flushP50: number
  readonly flushP99: number
  readonly flushMax: number
  readonly flushes: number
  readonly rowsPerFlush: number
  readonly commitShare: number
  readonly commitMsP50: number
  readonly peakRssMiB: number
  readonly rssEvery10sMiB: ReadonlyArray<number>
  readonly spilled: number
  readonly rejected: number
  readonly reconnects: number
  readonly mismatches: number
  readonly passes: number
  readonly serverRssMiB: number
  /** Most bytes the server had sent that the client had not read yet (paced mode). */
  readonly serverBufferedMiB: number
  /** Event-loop delay over the run (10 ms resolution): p99 and max, ms. */
  readonly loopDelayP99: number
  readonly loopDelayMax: number
  /** Minor page faults of this process (all its threads) a second over the run. */
  readonly faultsPerSecond: number
  /** GC pauses over the run: major (mark-compact) count and longest, all kinds' total, ms. */
  readonly gcMajor: number
  readonly gcMajorMaxMs: number
  readonly gcTotalMs: number
  /** The flushes after warm-up that missed the latency target, slowest first (at most 10). */
  readonly slowFlushes: ReadonlyArray<{
    /** From the earliest arrival in it to the start of its commit, ms. */
    readonly waitMs: number
    readonly commitMs: number
    readonly rows: number
    /** GC pauses between its earliest arrival and its end, ms (major ones apart). */
    readonly gcMs: number
    readonly gcMajorMs: number
    /** Event-loop stalls over 50 ms in that window, ms. */
    readonly stallMs: number
  }>
  /** Flushes after warm-up that missed the latency target, and all flushes after warm-up. */
  readonly lateFlushes: number
  readonly steadyFlushes: number
  /** After warm-up: commit duration p99 / max, and wait before the commit p99 / max, ms. */
  readonly commitP99: number
  readonly commitMax: number
  readonly waitP99: number
  readonly waitMax: number
}

const runOnce = (mode: Mode, seconds: number, symbolCount: number, rate: number) =>
  Effect.gen(function* () {
    const server = yield* startServer(seconds, rate)
    const serverState = server.state
    // The vendor clock follows the replay (as `serveStoredDay` wires it).
    const rest = yield* MassiveSim.make({ port: 0, bars: () => [], now: () => serverState.sessionMs })
    const dataDir = yield* scratchDir("tapehouse-bench-stream-")
    const config = benchConfig({
      dataDir,
      restUrl: rest.url,
      wsUrl: `ws://127.0.0.1:${serverState.port}`,
      parquet: true,
      sql: mode === "parquet+pglite",
      queueCapacity: QUEUE_CAPACITY
    })
    const probe = makeProbe()
    const layer = Layer.mergeAll(
      MassiveRest.Live,
      recordingSocket(probe),
      MarketCalendar.Test,
      Layer.effect(Checkpoints.Checkpoints, Checkpoints.make(dataDir)),
      Quarantine.Live,
      recordingSinks(probe),
      Alerts.Live
    ).pipe(Layer.provideMerge(Layer.succeed(AppConfig, config)))

    const symbols = Array.from({ length: symbolCount }, (_, i) => `S${String(i).padStart(4, "0")}`)
    let last: StreamStats | undefined
    let peak = process.memoryUsage().rss
    const peakSampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss)
    }, 20)
    const rssEvery10s: Array<number> = []
    let rssSampler: NodeJS.Timeout | undefined
    // Where a slow flush's time went: GC pauses (epoch ms start, duration, kind) and event-loop delay.
    const gcPauses: Array<{ readonly at: number; readonly ms: number; readonly kind: number }> = []
    const gcObserver = new PerformanceObserver((list) => {
      for (const e of list.getEntries())
        gcPauses.push({
          at: performance.timeOrigin + e.startTime,
          ms: e.duration,
          kind: (e as { readonly detail?: { readonly kind?: number } }).detail?.kind ?? 0
        })
    })
    gcObserver.observe({ entryTypes: ["gc"] })
    const loopDelay = monitorEventLoopDelay({ resolution: 10 })
    // Event-loop stalls: a 5 ms timer that fired more than 50 ms late (epoch ms of the end, length).
    const stalls: Array<{ readonly at: number; readonly ms: number }> = []
    let lastBeat = Date.now()
    const stallSampler = setInterval(() => {
      const now = Date.now()
      if (now - lastBeat > 55) stalls.push({ at: now, ms: now - lastBeat - 5 })
      lastBeat = now
    }, 5)

    const outcome = yield* Effect.gen(function* () {
      const runner = yield* Effect.flatMap(StockBarsFeed.makeLive, (feed) =>
        StreamRunner.run(feed, { instruments: symbols, source: "bench", reconcile: false }, (s) => {
          last = s
        })
      ).pipe(Effect.scoped, Effect.provide(layer), Effect.fork)
      // Start-up (sinks, PGlite, connect, handshake) ends with the first data frame.
      for (let waited = 0; probe.firstArrival === undefined; waited += 50) {
        if (waited > 120_000) return yield* Effect.dieMessage("no data frame within 120 s")
        const early = runner.unsafePoll()
        if (early !== null && Exit.isFailure(early)) return yield* Effect.failCause(early.cause)
        yield* Effect.sleep("50 millis")
      }
      const t0 = probe.firstArrival!
      loopDelay.enable()
      // A sample every 10 s (every 60 s in runs over two minutes).
      rssSampler = setInterval(
        () => rssEvery10s.push(process.memoryUsage().rss),
        seconds > 120 ? 60_000 : 10_000
      )
      const serverEventsAtStart = serverState.events
      const faultsAtStart = process.resourceUsage().minorPageFault
      yield* Effect.sleep(Math.max(0, t0 + seconds * 1000 - Date.now()))
      const deadline = Date.now()
      const faults = process.resourceUsage().minorPageFault - faultsAtStart
      loopDelay.disable()
      clearInterval(rssSampler)
      const serverEvents = serverState.events - serverEventsAtStart
      const receivedAtStop = probe.received
      const committedAtStop = probe.flushes.reduce((s, f) => s + f.rows, 0)
      const flushesAtStop = probe.flushes.length
      const framesAtStop = probe.frameLatencies.length
      yield* Fiber.interrupt(runner)
      return {
        t0,
        deadline,
        faults,
        serverEvents,
        receivedAtStop,
        backlog: receivedAtStop - committedAtStop,
        flushesAtStop,
        framesAtStop,
        drainMs: Date.now() - deadline
      }
    }).pipe(
      Effect.ensuring(
        Effect.sync(() => {
          clearInterval(peakSampler)
          if (rssSampler !== undefined) clearInterval(rssSampler)
          gcObserver.disconnect()
          clearInterval(stallSampler)
        })
      )
    )

    // Latencies of the commits made during the run; the drain after the stop is reported apart.
    const inRun = probe.flushes.slice(0, outcome.flushesAtStop)
    const frameLatencies = probe.frameLatencies.slice(0, outcome.framesAtStop)
    // Steady state: frames committed after the first WARMUP_MS of the run (JIT, worker start-up).
    const steadyFrom = inRun.findIndex((f) => f.start >= outcome.t0 + WARMUP_MS)
    const steadyLatencies =
      steadyFrom < 0 ? [] : frameLatencies.slice(inRun.slice(0, steadyFrom).reduce((n, f) => n + f.frames, 0))
    const steadyFlushes = steadyFrom < 0 ? [] : inRun.slice(steadyFrom)
    const first = inRun[0]
    const lastFlush = inRun[inRun.length - 1]
    const steadyRows = inRun.slice(1).reduce((s, f) => s + f.rows, 0)
    const steadyMs = first !== undefined && lastFlush !== undefined ? lastFlush.end - first.end : 0
    const wall = (outcome.deadline - outcome.t0) / 1000
    const commitMs = inRun.reduce((s, f) => s + (f.end - f.start), 0)
    const flushLat = inRun.map((f) => [f.latencyMs, 1] as const)
    const commitDur = inRun.map((f) => [f.end - f.start, 1] as const)
    const result: Result = {
      mode,
      symbols: symbolCount,
      seconds,
      // With fewer than two commits in the run there is no steady state: rows committed over the run.
      sustained:
        inRun.length >= 2 && steadyMs > 0
          ? Math.round(steadyRows / (steadyMs / 1000))
          : Math.round(inRun.reduce((s, f) => s + f.rows, 0) / wall),
      receivedPerSecond: Math.round(outcome.receivedAtStop / wall),
      serverSentPerSecond: Math.round(outcome.serverEvents / wall),
      committed: inRun.reduce((s, f) => s + f.rows, 0),
      received: outcome.receivedAtStop,
      backlogAtStop: outcome.backlog,
      drainMs: outcome.drainMs,
      p50: weightedPercentile(frameLatencies, 0.5),
      p99: weightedPercentile(frameLatencies, 0.99),
      steadyP50: weightedPercentile(steadyLatencies, 0.5),
      steadyP99: weightedPercentile(steadyLatencies, 0.99),
      flushP50: weightedPercentile(flushLat, 0.5),
      flushP99: weightedPercentile(flushLat, 0.99),
      flushMax: Math.max(...inRun.map((f) => f.latencyMs)),
      flushes: inRun.length,
      rowsPerFlush: inRun.length > 0 ? Math.round(inRun.reduce((s, f) => s + f.rows, 0) / inRun.length) : 0,
      commitShare: steadyMs > 0 ? commitMs / (lastFlush!.end - first!.start) : 0,
      commitMsP50: weightedPercentile(commitDur, 0.5),
      peakRssMiB: mib(peak),
      rssEvery10sMiB: rssEvery10s.map(mib),
      spilled: last?.spilled ?? 0,
      rejected: last?.rejected ?? 0,
      reconnects: last?.reconnects ?? 0,
      mismatches: probe.mismatches,
      passes: serverState.passes,
      serverRssMiB: mib(serverState.rss),
      serverBufferedMiB: Math.round((serverState.maxBuffered / 1024 / 1024) * 10) / 10,
      loopDelayP99: Math.round(loopDelay.percentile(99) / 1e6),
      loopDelayMax: Math.round(loopDelay.max / 1e6),
      faultsPerSecond: Math.round(outcome.faults / wall),
      ...gcSummary(gcPauses, outcome.t0, outcome.deadline),
      slowFlushes: steadyFlushes
        .filter((f) => f.latencyMs > FLUSH_INTERVAL_MS + 50)
        .sort((a, b) => b.latencyMs - a.latencyMs)
        .slice(0, 10)
        .map((f) => {
          const earliest = f.end - f.latencyMs
          const within = gcPauses.filter((g) => g.at + g.ms > earliest && g.at < f.end)
          return {
            waitMs: f.start - earliest,
            commitMs: f.end - f.start,
            rows: f.rows,
            gcMs: Math.round(within.reduce((t, g) => t + g.ms, 0)),
            gcMajorMs: Math.round(within.filter((g) => g.kind === GC_MAJOR).reduce((t, g) => t + g.ms, 0)),
            stallMs: stalls
              .filter((x) => x.at > earliest && x.at - x.ms < f.end)
              .reduce((t, x) => t + x.ms, 0)
          }
        }),
      lateFlushes: steadyFlushes.filter((f) => f.latencyMs > FLUSH_INTERVAL_MS + 50).length,
      steadyFlushes: steadyFlushes.length,
      commitP99: weightedPercentile(
        steadyFlushes.map((f) => [f.end - f.start, 1] as const),
        0.99
      ),
      commitMax: Math.max(0, ...steadyFlushes.map((f) => f.end - f.start)),
      waitP99: weightedPercentile(
        steadyFlushes.map((f) => [f.start - (f.end - f.latencyMs), 1] as const),
        0.99
      ),
      waitMax: Math.max(0, ...steadyFlushes.map((f) => f.start - (f.end - f.latencyMs)))
    }
    return result
  }).pipe(Effect.scoped)

/**
 * Where the time goes: each synchronous stage of the runner's hot path alone, on frames like the
 * flood's, one thread, best of 3. The runner runs all of them on one event loop (decode in the
 * producer fiber, the rest in the flush), so their per-event costs add up.
 */
const stageCosts = (symbolCount: number) =>
  Effect.gen(function* () {
    yield* Effect.promise(() => loadCompression("snappy"))
    const symbols = Array.from({ length: symbolCount }, (_, i) => `S${String(i).padStart(4, "0")}`)
    const template = renderTemplate(symbols, prng(7))
    const frames: Array<string> = []
    for (let k = 0; k < Math.max(1, Math.round(200_000 / symbolCount)); k++) {
      const frame = Buffer.from(template.bytes)
      for (let i = 0; i < template.offsets.length; i += 2) {
        frame.write(String(OPEN_MS + k * 1000), template.offsets[i]!, "latin1")
        frame.write(String(OPEN_MS + k * 1000 + 1000), template.offsets[i + 1]!, "latin1")
      }
      frames.push(frame.toString("latin1"))
    }
    const lateData = makeLateDataFilter(StockBars1s, DATE, 0)
    const validate = makeValidator(StockBars1s)
    const dedupe = makeDeduplicator(StockBars1s)
    const window = { date: DATE, startMs: OPEN_MS, endMs: CLOSE_MS }
    const best = <T>(f: () => T): { readonly ms: number; readonly out: T } => {
      let ms = Number.POSITIVE_INFINITY
      let out = f()
      for (let i = 0; i < 3; i++) {
        const t = performance.now()
        out = f()
        ms = Math.min(ms, performance.now() - t)
      }
      return { ms, out }
    }
    const decoded = best(() =>
      frames.flatMap((f) => decodeFrame(f, 0, codec).flatMap((e) => (e._tag === "Records" ? e.records : [])))
    )
    const columns = frames.map((f) =>
      toWorkerEvents(decodeFrame(f, 0, rowCodec({ ev: "A", volume: "required" }, new Map())), [])
    )
    const rebuilt = best(() => columns.flatMap((events) => fromWorkerEvents(events, codec)))
    const late = best(() => lateData(decoded.out))
    const valid = best(() => validate(late.out.accepted, window))
    const deduped = best(() => dedupe(valid.out.valid))
    const encoded = best(() =>
      encodeParquet(StockBars1s, deduped.out.rows, { compression: "snappy", rowGroupSize: 100000 })
    )
    const n = decoded.out.length
    return [
      ["JSON.parse + decodeFrame (wsWire; on the worker thread for large frames)", decoded.ms],
      ["bars from the worker's columns (main thread)", rebuilt.ms],
      ["late-data filter (newYorkDate per row)", late.ms],
      ["validate", valid.ms],
      ["dedupe (bucketed by symbol: no sort for time-ordered batches)", deduped.ms],
      ["encodeParquet (snappy)", encoded.ms]
    ].map(([stage, ms]) => ({ stage: stage as string, usPerEvent: ((ms as number) * 1000) / n, events: n }))
  })

/**
 * What a page fault costs on this host. A string over V8's regular object size (a 256 KiB frame)
 * gets pages of its own, mapped fresh and faulted in each time; four 64 KiB strings of the same
 * bytes reuse the young generation's pages. The difference, per fault, is the price of the faults.
 */
const pageFaultCost = () => {
  const bytes = Buffer.alloc(256 * 1024, 0x41)
  const quarter = bytes.subarray(0, 64 * 1024)
  const timed = (make: () => string, n: number) => {
    let best = Number.POSITIVE_INFINITY
    let faults = 0
    for (let round = 0; round < 3; round++) {
      const f0 = process.resourceUsage().minorPageFault
      const t = performance.now()
      let length = 0
      for (let i = 0; i < n; i++) length += make().length
      const us = ((performance.now() - t) * 1000) / n
      if (length !== n * make().length) throw new Error("page-fault probe: lengths are off")
      if (us < best) {
        best = us
        faults = (process.resourceUsage().minorPageFault - f0) / n
      }
    }
    return { us: best, faults }
  }
  const large = timed(() => bytes.toString("latin1"), 400)
  const small = timed(() => quarter.toString("latin1"), 1600)
  const perFault = large.faults >= 1 ? (large.us - 4 * small.us) / large.faults : Number.NaN
  return { largeUs: large.us, largeFaults: large.faults, fourSmallUs: 4 * small.us, perFault }
}

const fmt = (n: number) => n.toLocaleString("en-US")
const load = () =>
  Os.loadavg()
    .map((x) => x.toFixed(2))
    .join(", ")

const main = Effect.gen(function* () {
  const seconds = Number(process.argv[2] ?? 60)
  const symbolCount = Number(process.argv[3] ?? 1000)
  const mode = process.argv[4] ?? "all"
  const rateArg = process.argv[5] ?? "250000"
  const rate = rateArg === "max" ? 0 : Number(rateArg)
  if (
    !(seconds > 0) ||
    !(symbolCount > 0) ||
    !["parquet", "parquet+pglite", "all"].includes(mode) ||
    !(Number.isSafeInteger(rate) && rate >= 0)
  ) {
    console.error(
      "usage: node bin/run-ts.mjs bench/stream.ts [seconds=60] [symbols=1000] [parquet|parquet+pglite|all] [msgs/s=250000|max]"
    )
    process.exit(2)
  }
  const modes: ReadonlyArray<Mode> = mode === "all" ? ["parquet", "parquet+pglite"] : [mode as Mode]
  const loadBefore = load()
  const results: Array<Result> = []
  for (const m of modes) {
    const r = yield* runOnce(m, seconds, symbolCount, rate)
    results.push(r)
    console.error(`${m}: done (load average ${load()})`)
  }
  console.log(
    `\`node bin/run-ts.mjs bench/stream.ts ${seconds} ${symbolCount} ${mode} ${rateArg}\` — Node ${process.version}, ${Os.cpus().length} cores, load average (1, 5, 15 min) before ${loadBefore}, after ${load()}`
  )
  console.log(
    `feed ${rate === 0 ? "as fast as the client reads" : `paced at ${fmt(rate)} msgs/s`}, flush interval ${FLUSH_INTERVAL_MS} ms, queue capacity ${fmt(QUEUE_CAPACITY)} bars, one frame = one session second × ${symbolCount} symbols`
  )
  console.log("")
  console.log(
    "| sinks | sustained msgs/s | received msgs/s | p50 / p99 latency ms (per event) | after the first 10 s | per-flush latency p50 / p99 / max ms | peak RSS MiB | RSS every 10 s, or 60 s past 2 min (MiB) | spilled | backlog at stop | drain ms |"
  )
  console.log("|---|---|---|---|---|---|---|---|---|---|---|")
  for (const r of results)
    console.log(
      `| ${r.mode} | ${fmt(r.sustained)}${r.flushes < 2 ? " (≤ 1 commit in the run: rows committed / run)" : ""} | ${fmt(r.receivedPerSecond)} | ${r.p50} / ${r.p99} | ${r.steadyP50} / ${r.steadyP99} | ${r.flushP50} / ${r.flushP99} / ${r.flushMax} | ${r.peakRssMiB} | ${r.rssEvery10sMiB.join(", ")} | ${fmt(r.spilled)} | ${fmt(r.backlogAtStop)} | ${fmt(r.drainMs)} |`
    )
  console.log("")
  console.log(
    "| sinks | flushes | rows/flush | commit ms p50 | time in commits | committed | received | server sent msgs/s | passes | rejected | unmatched flushes | reconnects | server RSS MiB | server unread MiB (max) |"
  )
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
  for (const r of results)
    console.log(
      `| ${r.mode} | ${r.flushes} | ${fmt(r.rowsPerFlush)} | ${r.commitMsP50} | ${(r.commitShare * 100).toFixed(0)} % | ${fmt(r.committed)} | ${fmt(r.received)} | ${fmt(r.serverSentPerSecond)} | ${r.passes} | ${r.rejected} | ${r.mismatches} | ${r.reconnects} | ${r.serverRssMiB} | ${r.serverBufferedMiB} |`
    )
  console.log("")
  console.log(
    "| sinks | event-loop delay p99 / max ms | major GCs (longest ms) | GC pauses in all ms | client page faults/s | flushes after warm-up over the target | commit ms p99 / max | wait before commit ms p99 / max | slowest (wait + commit ms, rows, GC ms (major), loop stalls ms) |"
  )
  console.log("|---|---|---|---|---|---|---|---|---|")
  for (const r of results)
    console.log(
      `| ${r.mode} | ${r.loopDelayP99} / ${r.loopDelayMax} | ${r.gcMajor} (${r.gcMajorMaxMs}) | ${fmt(r.gcTotalMs)} | ${fmt(r.faultsPerSecond)} | ${r.lateFlushes} of ${r.steadyFlushes} | ${r.commitP99} / ${r.commitMax} | ${r.waitP99} / ${r.waitMax} | ${r.slowFlushes.map((f) => `${f.waitMs} + ${f.commitMs}, ${fmt(f.rows)}, GC ${f.gcMs} (${f.gcMajorMs}), stalls ${f.stallMs}`).join("; ") || "none"} |`
    )
  const target = (r: Result) =>
    `${r.mode}: ≥ 250k msgs/s ${r.sustained >= 250_000 ? "met" : "NOT met"}; p99 ≤ ${FLUSH_INTERVAL_MS + 50} ms ${r.p99 <= FLUSH_INTERVAL_MS + 50 ? "met" : "NOT met"} over the whole run, ${r.steadyP99 <= FLUSH_INTERVAL_MS + 50 ? "met" : "NOT met"} after the first 10 s`
  console.log("")
  for (const r of results) console.log(`- ${target(r)}`)
  const stages = yield* stageCosts(symbolCount)
  const total = stages.reduce((s, x) => s + x.usPerEvent, 0)
  console.log("")
  console.log(`Stage costs alone (${fmt(stages[0]!.events)} events, one thread, best of 3):`)
  console.log("")
  console.log("| stage | µs/event | share | ceiling msgs/s (this stage alone) |")
  console.log("|---|---|---|---|")
  for (const s of stages)
    console.log(
      `| ${s.stage} | ${s.usPerEvent.toFixed(2)} | ${((100 * s.usPerEvent) / total).toFixed(0)} % | ${fmt(Math.round(1e6 / s.usPerEvent))} |`
    )
  const worker = stages[0]!.usPerEvent
  const main = total - worker
  console.log(
    `| all of them on one thread (before the decode worker) | ${(total - stages[1]!.usPerEvent).toFixed(2)} | | ${fmt(Math.round(1e6 / (total - stages[1]!.usPerEvent)))} |`
  )
  console.log(
    `| on the event loop now (all but the worker's parse) | ${main.toFixed(2)} | | ${fmt(Math.round(1e6 / main))} |`
  )
  const faults = pageFaultCost()
  console.log("")
  console.log(
    `Page faults on this host: a fresh 256 KiB string takes ${faults.largeUs.toFixed(0)} µs to make (${faults.largeFaults.toFixed(0)} minor faults), four 64 KiB strings of the same bytes ${faults.fourSmallUs.toFixed(0)} µs: about ${faults.perFault.toFixed(1)} µs a fault.`
  )
})

if (process.argv[2] === SERVER_FLAG) {
  runServer()
} else {
  Effect.runPromise(main.pipe(Logger.withMinimumLogLevel(LogLevel.Warning))).then(
    () => process.exit(0),
    (e) => {
      console.error(e)
      process.exit(1)
    }
  )
}
