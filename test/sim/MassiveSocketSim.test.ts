import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope, TestClock } from "effect"
import { nyseDay } from "../../src/calendar/nyseRules.js"
import * as MassiveSim from "../../src/sim/MassiveSim.js"
import * as MassiveSocketSim from "../../src/sim/MassiveSocketSim.js"
import { SYMBOLS, secondBars } from "../../src/sim/syntheticMarket.js"
import { authed, connect, type Json, parseFrame, statusOf, subscribe } from "./wsClient.js"

const DAY = "2024-03-04"
const session = nyseDay(DAY)
if (session._tag !== "open") throw new Error("test day must be a trading day")
const OPEN = session.openMs

const setup = (options: Partial<MassiveSocketSim.MassiveSocketSimOptions> = {}, simOptions = {}) =>
  Effect.gen(function* () {
    const sim = yield* MassiveSim.make(simOptions)
    const sock = yield* MassiveSocketSim.make(sim, { date: DAY, speed: "max", ...options })
    return { sim, sock, stocks: `${sock.url}/stocks` }
  })

const status = (s: string, message: string) => JSON.stringify([{ ev: "status", status: s, message }])

/** The `A` events a client should see for `symbols`, in publish order. */
const expectedFor = (symbols: ReadonlyArray<string>) =>
  symbols.flatMap((sym) => secondBars(sym, DAY)).sort((a, b) => a.ts - b.ts || (a.symbol < b.symbol ? -1 : 1))

const sameBar = (event: Json, bar: { symbol: string; ts: number } & Record<string, Json>) =>
  event.sym === bar.symbol &&
  event.s === bar.ts &&
  event.e === bar.ts + 1000 &&
  event.o === bar.open &&
  event.h === bar.high &&
  event.l === bar.low &&
  event.c === bar.close &&
  event.v === bar.volume &&
  event.vw === bar.vwap &&
  event.z === Math.round(bar.volume / bar.trades)

describe("MassiveSocketSim protocol", () => {
  it.scoped("connected, auth before reading connected, subscription acks, every frame an array", () =>
    Effect.gen(function* () {
      const { stocks } = yield* setup({ start: "manual" })
      const c = yield* connect(stocks, (ws) => ws.send(JSON.stringify({ action: "auth", params: "any-key" })))
      expect(yield* c.next).toBe(status("connected", "Connected Successfully"))
      expect(yield* c.next).toBe(status("auth_success", "authenticated"))
      expect(yield* subscribe(c, "A.SPY,A.QQQ")).toEqual([
        status("success", "subscribed to: A.SPY"),
        status("success", "subscribed to: A.QQQ")
      ])
      expect(yield* subscribe(c, "A.*")).toEqual([status("success", "subscribed to: A.*")])
      c.send({ action: "unsubscribe", params: "A.QQQ" })
      expect(yield* c.next).toBe(status("success", "unsubscribed to: A.QQQ"))
      c.send({ action: "dance", params: "" })
      expect(statusOf(yield* c.next)).toBe("error")
      for (const f of c.frames) expect(Array.isArray(parseFrame(f))).toBe(true)

      // A client that waits for `connected` first, as the Python client does.
      const py = yield* connect(stocks)
      expect(statusOf(yield* py.next)).toBe("connected")
      py.send({ action: "subscribe", params: "A.SPY" })
      expect(yield* py.next).toBe(status("auth_required", "authentication required"))
      py.send({ action: "auth", params: "k" })
      expect(statusOf(yield* py.next)).toBe("auth_success")

      // Other clusters: same protocol, empty feeds; options tickers split at the first dot only.
      const options = yield* authed(stocks.replace("/stocks", "/options"))
      expect(yield* subscribe(options, "A.O:SPY251219C00650000")).toEqual([
        status("success", "subscribed to: A.O:SPY251219C00650000")
      ])
      const indices = yield* authed(stocks.replace("/stocks", "/indices"))
      expect(yield* subscribe(indices, "V.I:SPX")).toEqual([status("success", "subscribed to: V.I:SPX")])
      const unknown = yield* Effect.either(connect(stocks.replace("/stocks", "/crypto")))
      expect(unknown._tag).toBe("Left")
    })
  )

  it.scoped("auth_failed with a key the simulator does not accept; no subscriptions then", () =>
    Effect.gen(function* () {
      const { stocks } = yield* setup({ start: "manual" }, { apiKeys: ["good"] })
      const c = yield* connect(stocks)
      expect(statusOf(yield* c.next)).toBe("connected")
      c.send({ action: "auth", params: "bad" })
      expect(yield* c.next).toBe(status("auth_failed", "authentication failed"))
      c.send({ action: "subscribe", params: "A.SPY" })
      expect(statusOf(yield* c.next)).toBe("auth_required")
      c.send({ action: "auth", params: "" })
      expect(statusOf(yield* c.next)).toBe("auth_failed")
      c.send({ action: "auth", params: "good" })
      expect(statusOf(yield* c.next)).toBe("auth_success")
    })
  )
})

describe("MassiveSocketSim replay", () => {
  it.scoped('"max": every bar of the subscribed symbols exactly once, in order, batched per second', () =>
    Effect.gen(function* () {
      const { sock, stocks } = yield* setup({ start: "manual" })
      const two = yield* authed(stocks)
      yield* subscribe(two, "A.SPY,A.QQQ")
      const all = yield* authed(stocks)
      yield* subscribe(all, "A.*")
      yield* sock.start
      yield* sock.finished
      const expected = expectedFor(["QQQ", "SPY"])
      yield* two.waitFor(() => two.aggregates().length >= expected.length)
      const got = two.aggregates()
      expect(got.length).toBe(expected.length)
      got.forEach((e, i) => {
        if (!sameBar(e, expected[i]!)) expect(e).toEqual(expected[i])
      })
      // Day fields: accumulated volume, official open, day VWAP.
      const spy = secondBars("SPY", DAY)
      const spyEvents = got.filter((e) => e.sym === "SPY")
      expect(spyEvents.every((e) => e.op === spy[0]!.open)).toBe(true)
      expect(spyEvents.at(-1)!.av).toBe(spy.reduce((s, b) => s + b.volume, 0))
      expect(spyEvents.every((e) => e.a >= 0 && e.ev === "A")).toBe(true)
      // One frame per publish second: every event of a frame has the same `s`.
      for (const f of two.frames) {
        const v = parseFrame(f)
        expect(Array.isArray(v)).toBe(true)
        if (v[0]?.ev === "A") expect(new Set(v.map((e: Json) => e.s)).size).toBe(1)
      }
      const everything = expectedFor(SYMBOLS)
      yield* all.waitFor(() => all.aggregates().length >= everything.length)
      expect(all.aggregates().length).toBe(everything.length)
      const stats = sock.stats()
      expect(stats.barsPublished).toBe(everything.length)
      expect(stats.connectionsOpened).toBe(2)
      expect(stats.connections[0]!.barsSent).toBe(expected.length)
      expect(stats.connections[0]!.framesSent).toBe(two.frames.length)
    })
  )

  it.scoped("speed 60 on the TestClock: nothing before its publish time, everything after", () =>
    Effect.gen(function* () {
      const { sock, stocks } = yield* setup({ speed: 60 })
      const c = yield* authed(stocks)
      yield* subscribe(c, "A.SPY")
      yield* sock.started
      expect(sock.sessionTimeMs()).toBe(OPEN)
      // The first bars (second 09:30:00) go out at 09:30:03 session time: 50 ms of clock at 60×.
      yield* TestClock.adjust(49)
      expect(sock.stats().barsPublished).toBe(0)
      yield* TestClock.adjust(1)
      expect(sock.sessionTimeMs()).toBe(OPEN + 3000)
      const firstSecond = expectedFor(SYMBOLS).filter((b) => b.ts === OPEN).length
      expect(sock.stats().barsPublished).toBe(firstSecond)
      yield* TestClock.adjust(500)
      const now = sock.sessionTimeMs()
      expect(now).toBe(OPEN + 33_000)
      const due = (b: { ts: number }) => b.ts + MassiveSocketSim.PUBLISH_DELAY_MS <= now
      const spy = secondBars("SPY", DAY).filter(due)
      // The fiber woken last by the clock may still be on its way: wait for its frame.
      yield* c.waitFor(() => c.aggregates().length >= spy.length)
      expect(c.aggregates().map((e) => e.s)).toEqual(spy.map((b) => b.ts))
      expect(sock.stats().barsPublished).toBe(expectedFor(SYMBOLS).filter(due).length)

      // A late client gets only what is published from then on.
      const late = yield* authed(stocks)
      yield* subscribe(late, "A.SPY")
      yield* TestClock.adjust(100)
      const later = secondBars("SPY", DAY).filter((b) => !due(b) && b.ts + 3000 <= sock.sessionTimeMs())
      yield* late.waitFor(() => late.aggregates().length >= later.length)
      expect(late.aggregates().map((e) => e.s)).toEqual(later.map((b) => b.ts))
    })
  )
})

describe("MassiveSocketSim faults", () => {
  /** A "max" session that starts once the client is subscribed to SPY with `fault` queued. */
  const withFault = (fault: MassiveSocketSim.WsFault) =>
    Effect.gen(function* () {
      const { sock, stocks } = yield* setup({ start: "manual" })
      sock.faults.inject(fault)
      const c = yield* authed(stocks)
      yield* subscribe(c, "A.SPY")
      yield* sock.start
      return { sock, c, stocks }
    })

  it.scoped("drop after N more frames: the TCP connection closes without a close frame", () =>
    Effect.gen(function* () {
      const { sock, c } = yield* withFault({ kind: "drop", afterFrames: 3 })
      expect(yield* c.closed).toBe(1006)
      expect(c.frames.filter((f) => parseFrame(f)?.[0]?.ev === "A").length).toBe(3)
      expect(sock.stats().connections[0]!.faults).toEqual(["drop"])
    })
  )

  it.scoped("drop at a session time", () =>
    Effect.gen(function* () {
      const at = OPEN + 60_000
      const { c } = yield* withFault({ kind: "drop", atSessionMs: at })
      expect(yield* c.closed).toBe(1006)
      const last = c.aggregates().at(-1)!
      expect(last.s + 3000).toBeLessThan(at)
      expect(last.s + 3000).toBeGreaterThan(at - 10_000)
    })
  )

  it.scoped("no-auth-reply, then auth-failed, each once", () =>
    Effect.gen(function* () {
      const { sock, stocks } = yield* setup({ start: "manual" })
      sock.faults.inject({ kind: "no-auth-reply" })
      sock.faults.inject({ kind: "auth-failed" })
      const c = yield* connect(stocks)
      expect(statusOf(yield* c.next)).toBe("connected")
      c.send({ action: "auth", params: "k" })
      c.send({ action: "auth", params: "k" })
      c.send({ action: "auth", params: "k" })
      expect(statusOf(yield* c.next)).toBe("auth_failed")
      expect(statusOf(yield* c.next)).toBe("auth_success")
      expect(c.frames.length).toBe(3)
      expect(sock.stats().connections[0]!.faults).toEqual(["no-auth-reply", "auth-failed"])
    })
  )

  it.scoped("malformed, non-array and unknown-event frames, the data still whole", () =>
    Effect.gen(function* () {
      const { sock, stocks } = yield* setup({ start: "manual" })
      sock.faults.inject({ kind: "malformed" })
      sock.faults.inject({ kind: "non-array" })
      sock.faults.inject({ kind: "unknown-event" })
      const c = yield* authed(stocks)
      yield* subscribe(c, "A.SPY")
      yield* sock.start
      const spy = secondBars("SPY", DAY)
      yield* c.waitFor(() => c.aggregates().length >= 3)
      const data = c.frames.slice(3, 8)
      expect(parseFrame(data[0]!)).toBeUndefined() // malformed: half a frame
      expect(data[0]!.startsWith('[{"ev":"A","sym":"SPY"')).toBe(true)
      expect(parseFrame(data[1]!)[0].s).toBe(spy[0]!.ts) // then the whole frame
      expect(parseFrame(data[2]!)).toMatchObject({ ev: "A", s: spy[1]!.ts }) // non-array: a bare event
      expect(parseFrame(data[3]!)[0].s).toBe(spy[1]!.ts)
      const withUnknown = parseFrame(data[4]!)
      expect(withUnknown.map((e: Json) => e.ev)).toEqual(["A", "ZZ"])
      expect(withUnknown[0].s).toBe(spy[2]!.ts)
      yield* sock.finished
      yield* c.waitFor(() => c.aggregates().length >= spy.length)
      expect(c.aggregates().map((e) => e.s)).toEqual(spy.map((b) => b.ts))
    })
  )

  it.scoped("max-connections and slow-consumer: a status, then a close", () =>
    Effect.gen(function* () {
      const { sock, stocks } = yield* setup({ start: "manual" })
      sock.faults.inject({ kind: "max-connections" })
      const kicked = yield* connect(stocks)
      expect(yield* kicked.closed).toBe(1008)
      expect(kicked.frames).toEqual([
        status("connected", "Connected Successfully"),
        status("max_connections", "Maximum number of connections exceeded.")
      ])
      sock.faults.inject({ kind: "slow-consumer" })
      const slow = yield* authed(stocks)
      yield* subscribe(slow, "A.SPY")
      yield* sock.start
      expect(yield* slow.closed).toBe(1008)
      expect(statusOf(slow.frames.at(-1)!)).toBe("slow_consumer")
      expect(slow.aggregates().length).toBe(0)
      expect(sock.stats().connections.map((s) => s.faults)).toEqual([["max-connections"], ["slow-consumer"]])
    })
  )

  it.scoped("correction: an already published bar re-sent later with a new close, high and volume", () =>
    Effect.gen(function* () {
      const { sock, c } = yield* withFault({ kind: "correction", symbol: "SPY", afterSeconds: 5 })
      yield* sock.finished
      const spy = secondBars("SPY", DAY)
      yield* c.waitFor(() => c.aggregates().length >= spy.length + 1)
      const got = c.aggregates()
      const first = got[0]!
      const again = got.findIndex((e, i) => i > 0 && e.s === first.s)
      expect(again).toBeGreaterThan(0)
      const fixed = got[again]!
      expect(fixed.c).toBe(Math.round((first.c + 0.01) * 100) / 100)
      expect(fixed.h).toBe(Math.max(first.h, fixed.c))
      expect(fixed.v).toBe(first.v + 100)
      // Sent with the bars published 5 session seconds later.
      expect(got[again - 1]!.s + 3000).toBeLessThanOrEqual(first.s + 3000 + 5000)
      expect(sock.corrections()).toEqual([{ ...spy[0]!, close: fixed.c, high: fixed.h, volume: fixed.v }])
    })
  )

  it.scoped("burst: the next N session seconds at once, without the clock moving", () =>
    Effect.gen(function* () {
      const { sock, stocks } = yield* setup({ speed: 1 })
      const c = yield* authed(stocks)
      yield* subscribe(c, "A.SPY")
      yield* sock.started
      sock.faults.inject({ kind: "burst", seconds: 30 })
      const burst = secondBars("SPY", DAY).filter((b) => b.ts + 3000 <= OPEN + 30_000)
      yield* c.waitFor(() => c.aggregates().length >= burst.length)
      expect(c.aggregates().map((e) => e.s)).toEqual(burst.map((b) => b.ts))
      expect(sock.sessionTimeMs()).toBe(OPEN)
      expect(sock.stats().sessionFaults).toEqual(["burst"])
    })
  )

  it.scoped("POST /__sim/ws-faults queues faults; GET lists them; bad bodies get 400", () =>
    Effect.gen(function* () {
      const { sim, stocks } = yield* setup({ start: "manual" })
      const post = (body: string) =>
        Effect.promise(() =>
          fetch(`${sim.url}/__sim/ws-faults`, { method: "POST", body }).then(async (r) => ({
            status: r.status,
            body: (await r.json()) as Json
          }))
        )
      expect((yield* post('{"kind":"auth-failed","times":2}')).status).toBe(200)
      const listed = yield* Effect.promise(() => fetch(`${sim.url}/__sim/ws-faults`).then((r) => r.json()))
      expect(listed).toEqual([{ fault: { kind: "auth-failed" }, remaining: 2 }])
      const bad = yield* post('{"kind":"nope"}')
      expect(bad.status).toBe(400)
      expect(bad.body.error).toContain("max-connections")
      const c = yield* connect(stocks)
      yield* c.next
      c.send({ action: "auth", params: "k" })
      expect(statusOf(yield* c.next)).toBe("auth_failed")
      const stats = yield* Effect.promise(() => fetch(`${sim.url}/__sim/ws-stats`).then((r) => r.json()))
      expect((stats as Json).connectionsOpened).toBe(1)
    })
  )
})

describe("MassiveSocketSim entitlements", () => {
  it.scoped("a key limited to some clusters gets auth_failed on the others only; other keys everywhere", () =>
    Effect.gen(function* () {
      const { sim, sock } = yield* setup({
        start: "manual",
        entitlements: { "k-stocks": ["stocks", "indices"] }
      })
      const authOn = (cluster: string, key: string) =>
        Effect.gen(function* () {
          const c = yield* connect(`${sock.url}/${cluster}`)
          yield* c.next
          c.send({ action: "auth", params: key })
          return JSON.parse(yield* c.next)[0] as Json
        })
      expect((yield* authOn("stocks", "k-stocks")).status).toBe("auth_success")
      expect((yield* authOn("indices", "k-stocks")).status).toBe("auth_success")
      const refused = yield* authOn("options", "k-stocks")
      expect(refused).toEqual({
        ev: "status",
        status: "auth_failed",
        message: "authentication failed: this key is not entitled to the /options cluster"
      })
      expect((yield* authOn("options", "k-other")).status).toBe("auth_success")

      // Over HTTP: lift the limit, then limit another key; unknown clusters are refused.
      const post = (body: unknown) =>
        Effect.promise(() =>
          fetch(`${sim.url}/__sim/ws-entitlements`, { method: "POST", body: JSON.stringify(body) }).then(
            async (r) => ({ status: r.status, body: (await r.json()) as Json })
          )
        )
      expect((yield* post({ key: "k-stocks", parts: null })).status).toBe(200)
      expect((yield* authOn("options", "k-stocks")).status).toBe("auth_success")
      expect((yield* post({ key: "k-other", parts: ["stocks"] })).body.entitled).toEqual({
        "k-other": ["stocks"]
      })
      expect((yield* authOn("options", "k-other")).status).toBe("auth_failed")
      const bad = yield* post({ key: "k-other", parts: ["futures"] })
      expect(bad.status).toBe(400)
      expect(bad.body.error).toContain("unknown part(s): futures")
      expect(sock.entitlements.list()).toEqual({ "k-other": ["stocks"] })
    })
  )
})

describe("MassiveSocketSim lifecycle", () => {
  it.effect("closing the scope closes client connections and the server", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const { sim, stocks } = yield* Scope.extend(setup({ start: "manual" }), scope)
      const outer = yield* Scope.make()
      const c = yield* Scope.extend(authed(stocks), outer)
      yield* Scope.close(scope, Exit.void)
      expect(yield* c.closed).toBe(1006)
      expect(sim.server.listening).toBe(false)
      yield* Scope.close(outer, Exit.void)
    })
  )
})
