/** ThetaTerminal.Live against the ThetaData simulator over real HTTP on loopback, v3 and v2. */
import * as http from "node:http"
import * as net from "node:net"
import { describe, expect, it } from "@effect/vitest"
import {
  Cause,
  Chunk,
  Context,
  Effect,
  Exit,
  Layer,
  Logger,
  LogLevel,
  Option,
  type Scope,
  Stream
} from "effect"
import { exitCodeOf } from "../../../src/cli/exitCode.js"
import { AppConfig } from "../../../src/config/AppConfig.js"
import type { OptionGreek } from "../../../src/domain/OptionGreek.js"
import type { Fault } from "../../../src/sim/core/faults.js"
import * as ThetaSim from "../../../src/sim/thetadata/ThetaSim.js"
import * as ThetaTerminal from "../../../src/sources/thetadata/ThetaTerminal.js"
import { testConfig } from "../../support/fixtures.js"

const REQUEST = { symbol: "SPXW", expiration: "2024-11-08", date: "2024-11-04" }
/** 4 strikes × 2 rights × 390 minutes. */
const ROWS = 3120

/** The Live client for `url`, alive for the enclosing scope. */
const terminal = (url: string, api: "v3" | "v2" = "v3", requestTimeoutMs = 10_000) =>
  Effect.map(
    Layer.build(
      ThetaTerminal.Live.pipe(
        Layer.provide(
          Layer.succeed(AppConfig, {
            ...testConfig("/nonexistent", "http://127.0.0.1:1"),
            thetadata: { url, api, requestTimeoutMs, concurrency: 3, maxDte: 60 }
          })
        )
      )
    ),
    (context) => Context.get(context, ThetaTerminal.ThetaTerminal)
  )

const withSim = <A, E>(
  f: (sim: ThetaSim.ThetaSim) => Effect.Effect<A, E, Scope.Scope>,
  options: ThetaSim.ThetaSimOptions = {}
) =>
  Effect.flatMap(ThetaSim.make({ strikesPerSide: 2, ...options }), f).pipe(
    Effect.scoped,
    Logger.withMinimumLogLevel(LogLevel.None)
  )

const collect = <E>(s: Stream.Stream<ThetaTerminal.GreeksPart, E>) =>
  Effect.map(Stream.runCollect(s), (c) => {
    const parts = Chunk.toReadonlyArray(c)
    const rows: Array<OptionGreek> = []
    const rejected: Array<{ reason: string }> = []
    for (const p of parts)
      if (p._tag === "Rows") {
        rows.push(...p.rows)
        rejected.push(...p.rejected)
      }
    return { parts, rows, rejected }
  })

const inject = (sim: ThetaSim.ThetaSim, fault: Fault, times = 1) =>
  sim.faults.inject(fault, { times, path: /greeks|bulk_hist/ })

describe("ThetaTerminal.Live against the simulator", () => {
  it.live("lists expirations and reads the same greeks through v3 and v2 (following v2's Next-Page)", () =>
    withSim(
      (sim) =>
        Effect.gen(function* () {
          const v3 = yield* terminal(sim.url, "v3")
          const v2 = yield* terminal(sim.v2Url, "v2")
          const e3 = yield* v3.expirations("SPXW")
          expect(e3).toEqual(yield* v2.expirations("SPXW"))
          expect(e3).toContain("2024-11-08")
          expect(e3).not.toContain("2024-11-09") // a Saturday
          expect(yield* v3.expirations("NOPE")).toEqual([])
          const a = yield* collect(v3.greeks(REQUEST))
          const b = yield* collect(v2.greeks(REQUEST))
          expect(a.rejected).toEqual([])
          expect(a.rows).toHaveLength(ROWS)
          expect(b.rows).toEqual(a.rows)
          expect(a.rows[0]).toMatchObject({
            symbol: "SPXW",
            expiration: "2024-11-08",
            right: "call",
            ts: Date.parse("2024-11-04T14:30:00Z")
          })
          expect(a.rows.every((r) => r.strike % 5000 === 0)).toBe(true)
        }),
      { v2PageContracts: 3 }
    )
  )

  it.live("472 is a 'no data' outcome; 471 and 473 fail at once naming the tier", () =>
    withSim((sim) =>
      Effect.gen(function* () {
        const t = yield* terminal(sim.url)
        const none = yield* collect(t.greeks({ ...REQUEST, date: "2024-11-09" }))
        expect(none.parts).toEqual([
          { _tag: "NoData", detail: "No data for the specified timeframe & contract." }
        ])
        for (const status of [471, 473]) {
          inject(sim, { kind: "status", status }, 3)
          const error = yield* Effect.flip(collect(t.greeks(REQUEST)))
          expect(error._tag).toBe("ThetaTierError")
          expect(error.message).toContain("STANDARD tier")
          expect(error.message).toContain(`HTTP ${status}`)
          // not retried: two of the three scripted answers are still queued
          expect(sim.faults.pending()[0]?.remaining).toBe(2)
          sim.faults.clear()
        }
        // a v2 client at the v3 port: the path is unknown there, and the message says which setting to check
        const mismatch = yield* Effect.flip((yield* terminal(sim.url, "v2")).expirations("SPXW"))
        expect(mismatch.message).toContain("(HTTP 404)")
        expect(mismatch.message).toContain("check sources.thetadata.api (v2 now)")
      })
    )
  )

  it.live(
    "429 waits out its Retry-After; 474 is retried, and fails naming the disconnection after the attempts",
    () =>
      withSim((sim) =>
        Effect.gen(function* () {
          const t = yield* terminal(sim.url)
          inject(sim, { kind: "status", status: 429, retryAfter: "0.3" })
          const started = Date.now()
          const throttled = yield* collect(t.greeks(REQUEST))
          expect(Date.now() - started).toBeGreaterThanOrEqual(290)
          expect(throttled.rows).toHaveLength(ROWS)

          inject(sim, { kind: "status", status: 474 }, 2)
          expect((yield* collect(t.greeks(REQUEST))).rows).toHaveLength(ROWS)
          expect(sim.faults.pending()).toEqual([])

          inject(sim, { kind: "status", status: 474 }, 3)
          const error = yield* Effect.flip(collect(t.greeks(REQUEST)))
          expect(error._tag).toBe("ThetaRequestError")
          expect(error.message).toContain("disconnected from ThetaData's servers (HTTP 474")
          expect(error.message).toContain("3 attempt(s)")
        })
      )
  )

  it.live("a body cut short and malformed rows go to quarantine with their line numbers", () =>
    withSim((sim) =>
      Effect.gen(function* () {
        const t = yield* terminal(sim.url)
        inject(sim, { kind: "malformed-rows", count: 2 })
        const broken = yield* collect(t.greeks(REQUEST))
        expect(broken.rows).toHaveLength(ROWS - 2)
        expect(broken.rejected.map((r) => r.reason)).toEqual([
          "line 2: 16 fields where the header has 17 (a malformed row)",
          "line 3: 16 fields where the header has 17 (a malformed row)"
        ])

        inject(sim, { kind: "truncated" })
        const parts: Array<ThetaTerminal.GreeksPart> = []
        const exit = yield* Effect.exit(
          Stream.runForEach(t.greeks(REQUEST), (p) => Effect.sync(() => parts.push(p)))
        )
        const rows = parts.flatMap((p) => (p._tag === "Rows" ? p.rows : []))
        const rejected = parts.flatMap((p) => (p._tag === "Rows" ? p.rejected : []))
        expect(rows.length).toBeGreaterThan(ROWS / 3)
        expect(rows.length).toBeLessThan(ROWS)
        // the row the body broke off in is the line after the last complete one (header = line 1)
        expect(rejected).toHaveLength(1)
        expect(rejected[0]!.reason).toBe(`line ${rows.length + 2}: the body was cut short inside this row`)
        const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
        expect(Option.map(failure, (e) => e._tag)).toEqual(Option.some("ThetaResponseCut"))
      })
    )
  )

  it.live("a body that stalls is cut after the request timeout, its unfinished row quarantined", () =>
    Effect.gen(function* () {
      const header =
        "symbol,expiration,strike,right,timestamp,bid,ask,delta,theta,vega,rho,epsilon,lambda,implied_vol,iv_error,underlying_timestamp,underlying_price"
      const row =
        "SPXW,2024-11-08,5800.000,CALL,2024-11-04T09:30:00,10.00,10.20,0.5000,-1.0000,100.0000,10.0000,-10.0000,50.0000,0.1500,0.0000,2024-11-04T09:30:00,5800.00"
      const server = yield* Effect.acquireRelease(
        Effect.async<http.Server>((resume) => {
          const s = http.createServer((_req, res) => {
            res.writeHead(200, { "Content-Type": "text/csv" })
            res.write(`${header}\r\n${row}\r\nSPXW,2024-11-08,58`) // then nothing more
          })
          s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
        }),
        (s) =>
          Effect.async<void>((resume) => {
            s.closeAllConnections()
            s.close(() => resume(Effect.void))
          })
      )
      const t = yield* terminal(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, "v3", 300)
      const parts: Array<ThetaTerminal.GreeksPart> = []
      const exit = yield* Effect.exit(
        Stream.runForEach(t.greeks(REQUEST), (p) => Effect.sync(() => parts.push(p)))
      )
      expect(parts.flatMap((p) => (p._tag === "Rows" ? p.rows : []))).toHaveLength(1)
      expect(parts.flatMap((p) => (p._tag === "Rows" ? p.rejected.map((r) => r.reason) : []))).toEqual([
        "line 3: the body was cut short inside this row"
      ])
      const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      expect(Option.map(failure, (e) => e.message)).toEqual(
        Option.some(
          expect.stringContaining("nothing arrived for 300 ms (sources.thetadata.request_timeout_ms)")
        )
      )
    }).pipe(Effect.scoped)
  )

  it.live("a terminal that is not running: one message naming the URL and how to start it, exit 1", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(
        () =>
          new Promise<number>((resolve) => {
            const server = net.createServer().listen(0, "127.0.0.1", () => {
              const address = server.address() as net.AddressInfo
              server.close(() => resolve(address.port))
            })
          })
      )
      const url = `http://127.0.0.1:${port}`
      const t = yield* terminal(url)
      const exit = yield* Effect.exit(t.expirations("SPXW"))
      expect(exitCodeOf(exit)).toBe(1)
      const error = yield* Effect.flip(t.expirations("SPXW"))
      expect(error._tag).toBe("ThetaTerminalNotRunning")
      expect(error.message).toContain(`No ThetaData terminal answers at ${url} (connection refused)`)
      expect(error.message).toContain("ThetaTerminalv3.jar")
      expect(error.message).toContain("TAPEHOUSE_THETADATA_URL")
    }).pipe(Effect.scoped)
  )
})
