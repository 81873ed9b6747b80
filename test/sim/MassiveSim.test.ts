import { existsSync, readFileSync } from "node:fs"
import * as http from "node:http"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Exit, Scope } from "effect"
import { newYorkTimeToEpochMs } from "../../src/domain/time.js"
import * as MassiveSim from "../../src/sim/MassiveSim.js"
import { secondBars } from "../../src/sim/syntheticMarket.js"

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies under test
type Json = any

const getJson = (url: string, init?: RequestInit) =>
  Effect.promise(async () => {
    const res = await fetch(url, init)
    const text = await res.text()
    return { res, text, body: JSON.parse(text) as Json }
  })

interface RawResponse {
  readonly status?: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: Buffer
  /** The body ended normally (not cut short). */
  readonly complete: boolean
  readonly error?: string
}

/** A plain node:http GET that reports what arrived instead of throwing. */
const raw = (url: string, headers: Record<string, string> = {}) =>
  Effect.async<RawResponse>((resume) => {
    const chunks: Array<Buffer> = []
    const req = http.get(url, { headers, agent: false }, (res) => {
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () =>
        resume(
          Effect.succeed({
            status: res.statusCode!,
            headers: res.headers,
            body: Buffer.concat(chunks),
            complete: res.complete
          })
        )
      )
      res.on("error", (e) =>
        resume(
          Effect.succeed({
            status: res.statusCode!,
            headers: res.headers,
            body: Buffer.concat(chunks),
            complete: false,
            error: e.message
          })
        )
      )
    })
    req.on("error", (e) =>
      resume(Effect.succeed({ headers: {}, body: Buffer.concat(chunks), complete: false, error: e.message }))
    )
  })

const aggsPath = (ticker: string, mult: number, span: string, from: string, to: string) =>
  `/v2/aggs/ticker/${ticker}/range/${mult}/${span}/${from}/${to}`

const DAY = "2024-03-04"

describe("MassiveSim aggregates and pagination", () => {
  it.scopedLive("follows next_url through every second bar of a day exactly once", () =>
    Effect.gen(function* () {
      const sim = yield* MassiveSim.make({ apiKeys: ["k1"] })
      const expected = secondBars("SPY", DAY).map((b) => b.ts)
      let url: string | undefined =
        `${sim.url}${aggsPath("SPY", 1, "second", DAY, DAY)}?adjusted=true&sort=asc&limit=5000&apiKey=k1`
      const seen: Array<number> = []
      let pages = 0
      while (url !== undefined) {
        const { res, body }: { res: Response; body: Json } = yield* getJson(url)
        expect(res.status).toBe(200)
        expect(body.status).toBe("OK")
        expect(res.headers.get("x-request-id")).toBe(body.request_id)
        expect(body.resultsCount).toBe(body.results.length)
        for (const bar of body.results) seen.push(bar.t)
        pages++
        if (body.next_url !== undefined) {
          expect(body.next_url.startsWith(`${sim.url}/v2/aggs/ticker/SPY/range/1/second/`)).toBe(true)
          expect(body.next_url).not.toContain("k1")
          expect(body.next_url).not.toContain("apiKey")
          // The `from` segment is the next bar's epoch ms; the cursor is opaque base64.
          const next = new URL(body.next_url)
          expect(next.pathname.split("/")[8]).toBe(String(expected[seen.length]))
          const cursor = Buffer.from(next.searchParams.get("cursor")!, "base64url").toString()
          expect(cursor).toContain("limit=5000")
          expect(cursor).toContain("sort=asc")
          // As the official JS client does: append the key.
          url = `${body.next_url}&apiKey=k1`
        } else url = undefined
      }
      expect(pages).toBe(Math.ceil(expected.length / 5000))
      expect(seen).toEqual(expected)
    })
  )

  it.scopedLive("pages descending with pageSize and a Bearer key, each bar once", () =>
    Effect.gen(function* () {
      const sim = yield* MassiveSim.make({ pageSize: 700 })
      const headers = { Authorization: "Bearer anything" }
      let url: string | undefined =
        `${sim.url}${aggsPath("QQQ", 1, "minute", "2024-03-04", "2024-03-06")}?sort=desc`
      const seen: Array<number> = []
      while (url !== undefined) {
        const { body }: { body: Json } = yield* getJson(url, { headers })
        expect(body.results.length).toBeLessThanOrEqual(700)
        for (const bar of body.results) seen.push(bar.t)
        url = body.next_url
      }
      expect(seen.length).toBe(3 * 390)
      expect(new Set(seen).size).toBe(seen.length)
      expect(seen).toEqual([...seen].sort((a, b) => b - a))
      expect(sim.requests().every((r) => r.auth === "bearer" && r.status === 200)).toBe(true)
    })
  )

  it.scopedLive(
    "holds back what is not published yet, as the real API: a future date answers OK without results",
    () =>
      Effect.gen(function* () {
        // The clock at 10:00:10 on DAY: bars up to 10:00:07 are out (a second closes, then 2 s).
        const now = newYorkTimeToEpochMs(DAY, 10, 0) + 10_000
        const sim = yield* MassiveSim.make({ now: () => now })
        const today = yield* getJson(`${sim.url}${aggsPath("SPY", 1, "second", DAY, DAY)}?apiKey=x`)
        expect(today.res.status).toBe(200)
        const ts = (today.body.results as Array<Json>).map((b) => b.t as number)
        expect(ts.length).toBeGreaterThan(0)
        expect(Math.max(...ts)).toBeLessThanOrEqual(now - 3000)
        expect(ts).toEqual(
          secondBars("SPY", DAY)
            .filter((b) => b.ts <= now - 3000)
            .map((b) => b.ts)
        )
        const future = yield* getJson(
          `${sim.url}${aggsPath("SPY", 1, "second", "2024-03-06", "2024-03-06")}?apiKey=x`
        )
        expect(future.res.status).toBe(200)
        expect(future.body).toMatchObject({ status: "OK", resultsCount: 0, queryCount: 0 })
        expect("results" in future.body).toBe(false)
        // No daily open/close before the close.
        const openClose = yield* getJson(`${sim.url}/v1/open-close/SPY/${DAY}?apiKey=x`)
        expect(openClose.res.status).toBe(404)
      })
  )

  it.scopedLive(
    "answers day bars at New York midnight, empty ranges without results, bad limits with 400",
    () =>
      Effect.gen(function* () {
        const sim = yield* MassiveSim.make({})
        const day = yield* getJson(
          `${sim.url}${aggsPath("SPY", 1, "day", "2024-03-01", "2024-03-08")}?apiKey=x`
        )
        expect(day.body.results.map((b: Json) => b.t)).toEqual(
          ["2024-03-01", "2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08"].map((d) =>
            newYorkTimeToEpochMs(d, 0, 0)
          )
        )
        expect(Object.keys(day.body.results[0]).sort()).toEqual(["c", "h", "l", "n", "o", "t", "v", "vw"])

        const unknown = yield* getJson(
          `${sim.url}${aggsPath("NOPE", 1, "day", "2024-03-01", "2024-03-08")}?apiKey=x`
        )
        expect(unknown.res.status).toBe(200)
        expect(unknown.body.resultsCount).toBe(0)
        expect("results" in unknown.body).toBe(false)
        expect("next_url" in unknown.body).toBe(false)

        const ms = yield* getJson(
          `${sim.url}${aggsPath("SPY", 1, "minute", String(newYorkTimeToEpochMs(DAY, 10, 0)), String(newYorkTimeToEpochMs(DAY, 10, 4)))}?apiKey=x`
        )
        expect(ms.body.resultsCount).toBe(5)

        const tooMany = yield* getJson(
          `${sim.url}${aggsPath("SPY", 1, "day", "2024-03-01", "2024-03-08")}?limit=50001&apiKey=x`
        )
        expect(tooMany.res.status).toBe(400)
        expect(tooMany.body.status).toBe("ERROR")
        expect(typeof tooMany.body.error).toBe("string")
        const badDate = yield* getJson(
          `${sim.url}${aggsPath("SPY", 1, "day", "2024-13-01", "2024-03-08")}?apiKey=x`
        )
        expect(badDate.res.status).toBe(400)
      })
  )
})

describe("MassiveSim auth and routing", () => {
  it.scopedLive("accepts apiKey and Bearer, answers 401 with the vendor bodies, 404 on unknown paths", () =>
    Effect.gen(function* () {
      const sim = yield* MassiveSim.make({ apiKeys: ["good"] })
      const path = `${sim.url}/v1/open-close/SPY/${DAY}`
      const query = yield* getJson(`${path}?adjusted=true&apiKey=good`)
      expect(query.res.status).toBe(200)
      const bearer = yield* getJson(path, { headers: { Authorization: "Bearer good" } })
      expect(bearer.res.status).toBe(200)
      expect(bearer.text).toBe(query.text)

      const missing = yield* getJson(path)
      expect(missing.res.status).toBe(401)
      expect(missing.body).toEqual({
        status: "ERROR",
        request_id: missing.res.headers.get("x-request-id"),
        error: "API Key was not provided"
      })
      const wrong = yield* getJson(`${path}?apiKey=bad`)
      expect(wrong.res.status).toBe(401)
      expect(wrong.body).toEqual({
        status: "ERROR",
        request_id: wrong.res.headers.get("x-request-id"),
        error: "Unknown API Key"
      })
      const wrongBearer = yield* getJson(path, { headers: { Authorization: "Bearer bad" } })
      expect(wrongBearer.body.error).toBe("Unknown API Key")

      const unknownPath = yield* getJson(`${sim.url}/v9/nothing?apiKey=good`)
      expect(unknownPath.res.status).toBe(404)
      expect(unknownPath.body.status).toBe("NOT_FOUND")

      const recorded = sim.requests()
      expect(recorded.map((r) => [r.auth, r.status])).toEqual([
        ["query", 200],
        ["bearer", 200],
        ["none", 401],
        ["query", 401],
        ["bearer", 401],
        ["query", 404]
      ])
      expect(recorded[0]!.query).toEqual({ adjusted: "true" })
      expect(JSON.stringify(recorded)).not.toContain("good")
      sim.clearRequests()
      expect(sim.requests()).toEqual([])
    })
  )

  it.scopedLive("open-close: 200 on a trading day, 404 NOT_FOUND on weekends and holidays", () =>
    Effect.gen(function* () {
      const sim = yield* MassiveSim.make({})
      const ok = yield* getJson(`${sim.url}/v1/open-close/SPY/${DAY}?apiKey=x`)
      const [first, last] = [secondBars("SPY", DAY)[0]!, secondBars("SPY", DAY).at(-1)!]
      expect(ok.body).toMatchObject({
        status: "OK",
        from: DAY,
        symbol: "SPY",
        open: first.open,
        close: last.close
      })
      for (const date of ["2024-03-03", "2024-12-25"]) {
        const closed = yield* getJson(`${sim.url}/v1/open-close/SPY/${date}?apiKey=x`)
        expect(closed.res.status).toBe(404)
        expect(closed.body.status).toBe("NOT_FOUND")
        expect(closed.body.request_id).toBe(closed.res.headers.get("x-request-id"))
      }
    })
  )

  it.scopedLive("market status follows the injected clock", () =>
    Effect.gen(function* () {
      let now = newYorkTimeToEpochMs(DAY, 10, 0)
      const sim = yield* MassiveSim.make({ now: () => now })
      const open = yield* getJson(`${sim.url}/v1/marketstatus/now?apiKey=x`)
      expect(open.body).toMatchObject({ market: "open", earlyHours: false, afterHours: false })
      expect(open.body.serverTime).toBe("2024-03-04T10:00:00-05:00")
      now = newYorkTimeToEpochMs(DAY, 17, 0)
      const after = yield* getJson(`${sim.url}/v1/marketstatus/now?apiKey=x`)
      expect(after.body).toMatchObject({
        market: "extended-hours",
        afterHours: true,
        exchanges: { nyse: "extended-hours" }
      })

      now = newYorkTimeToEpochMs(DAY, 12, 0)
      const upcoming = yield* getJson(`${sim.url}/v1/marketstatus/upcoming?apiKey=x`)
      expect(Array.isArray(upcoming.body)).toBe(true)
      expect(upcoming.body).toContainEqual({
        exchange: "NYSE",
        name: "Good Friday",
        date: "2024-03-29",
        status: "closed"
      })
      expect(upcoming.body).toContainEqual({
        exchange: "NASDAQ",
        name: "Good Friday",
        date: "2024-03-29",
        status: "closed"
      })
      expect(upcoming.body).toContainEqual({
        exchange: "NYSE",
        name: "Independence Day",
        date: "2024-07-03",
        status: "early-close",
        open: "2024-07-03T13:30:00.000Z",
        close: "2024-07-03T17:00:00.000Z"
      })
      const dates = upcoming.body.map((d: Json) => d.date as string)
      expect(dates[0] >= DAY).toBe(true)
      expect(dates.at(-1) <= "2025-03-04").toBe(true)
      expect(dates).toContain("2025-01-09") // one-off closure
    })
  )
})

describe("MassiveSim faults", () => {
  const withSim = (options: MassiveSim.MassiveSimOptions = {}) => MassiveSim.make(options)

  it.scopedLive(
    "status faults: a 503 burst then recovery; 429 with Retry-After; 403 vendor body; custom body",
    () =>
      Effect.gen(function* () {
        const sim = yield* withSim()
        const url = `${sim.url}${aggsPath("SPY", 1, "day", "2024-03-01", "2024-03-08")}?apiKey=x`
        sim.faults.inject({ kind: "status", status: 503 }, { times: 2 })
        const statuses: Array<number> = []
        for (let i = 0; i < 3; i++) statuses.push((yield* raw(url)).status!)
        expect(statuses).toEqual([503, 503, 200])

        sim.faults.inject({ kind: "status", status: 429, retryAfter: "3" })
        const limited = yield* raw(url)
        expect(limited.status).toBe(429)
        expect(limited.headers["retry-after"]).toBe("3")
        expect(JSON.parse(limited.body.toString()).error).toContain(
          "exceeded the maximum requests per minute"
        )

        sim.faults.inject({ kind: "status", status: 403 })
        const forbidden = JSON.parse((yield* raw(url)).body.toString())
        expect(forbidden.status).toBe("NOT_AUTHORIZED")
        expect(forbidden.message).toContain("not entitled")

        sim.faults.inject({ kind: "status", status: 500, body: "oops" })
        const custom = yield* raw(url)
        expect([custom.status, custom.body.toString()]).toEqual([500, "oops"])
        expect(sim.requests().map((r) => r.fault ?? null)).toEqual([
          "status",
          "status",
          null,
          "status",
          "status",
          "status"
        ])
      })
  )

  it.scopedLive("only requests matching the fault's path are affected", () =>
    Effect.gen(function* () {
      const sim = yield* withSim()
      sim.faults.inject({ kind: "status", status: 502 }, { path: /^\/v1\/open-close\// })
      expect((yield* raw(`${sim.url}/v1/marketstatus/now?apiKey=x`)).status).toBe(200)
      expect((yield* raw(`${sim.url}/v1/open-close/SPY/${DAY}?apiKey=x`)).status).toBe(502)
      expect((yield* raw(`${sim.url}/v1/open-close/SPY/${DAY}?apiKey=x`)).status).toBe(200)
      expect(sim.faults.pending()).toEqual([])
    })
  )

  it.scopedLive("every: one matching request in N, and a later fault hits one in M of the others", () =>
    Effect.gen(function* () {
      const sim = yield* withSim()
      const aggs = /^\/v2\/aggs\//
      sim.faults.inject({ kind: "status", status: 429, retryAfter: "0.2" }, { every: 3, path: aggs })
      sim.faults.inject({ kind: "status", status: 503 }, { every: 2, times: 2, path: aggs })
      expect(sim.faults.pending()).toEqual([
        {
          fault: { kind: "status", status: 429, retryAfter: "0.2" },
          remaining: null,
          every: 3,
          path: aggs.source
        },
        { fault: { kind: "status", status: 503 }, remaining: 2, every: 2, path: aggs.source }
      ])
      const url = `${sim.url}${aggsPath("SPY", 1, "day", "2024-03-01", "2024-03-08")}?apiKey=x`
      const statuses: Array<number> = []
      for (let i = 0; i < 12; i++) {
        statuses.push((yield* raw(url)).status!)
        // requests the path does not match are not counted
        expect((yield* raw(`${sim.url}/v1/marketstatus/now?apiKey=x`)).status).toBe(200)
      }
      // 429 on the 3rd, 6th, 9th, 12th; of the others, the 2nd and 4th get 503, then that fault is used up
      expect(statuses).toEqual([200, 503, 429, 200, 503, 429, 200, 200, 429, 200, 200, 429])
      expect(sim.faults.pending().map((p) => [p.fault.kind, p.remaining])).toEqual([["status", null]])
      expect(() => sim.faults.inject({ kind: "truncated" }, { every: 0 })).toThrow(
        /every must be a positive integer/
      )
    })
  )

  it.scopedLive("truncated: full Content-Length declared, half the body sent, socket closed", () =>
    Effect.gen(function* () {
      const sim = yield* withSim()
      const url = `${sim.url}${aggsPath("SPY", 1, "minute", DAY, DAY)}?apiKey=x`
      const full = yield* raw(url)
      sim.faults.inject({ kind: "truncated" })
      const cut = yield* raw(url)
      expect(cut.status).toBe(200)
      expect(Number(cut.headers["content-length"])).toBe(full.body.length)
      expect(cut.complete).toBe(false)
      expect(cut.body.length).toBeLessThan(full.body.length)
      expect(full.body.subarray(0, cut.body.length).equals(cut.body)).toBe(true)
      // fetch users see a failed body read.
      sim.faults.inject({ kind: "truncated" })
      const viaFetch = yield* Effect.promise(() =>
        fetch(url).then(
          (r) =>
            r.json().then(
              () => "parsed",
              () => "body failed"
            ),
          () => "request failed"
        )
      )
      expect(viaFetch).toBe("body failed")
    })
  )

  it.scopedLive("non-json: 200 with an HTML page", () =>
    Effect.gen(function* () {
      const sim = yield* withSim()
      sim.faults.inject({ kind: "non-json" })
      const res = yield* raw(`${sim.url}/v1/marketstatus/now?apiKey=x`)
      expect(res.status).toBe(200)
      expect(res.headers["content-type"]).toContain("text/html")
      expect(Either.isLeft(Either.try(() => JSON.parse(res.body.toString())))).toBe(true)
    })
  )

  it.scopedLive("slow: a client that gives up first sees no answer; the next request is normal", () =>
    Effect.gen(function* () {
      const sim = yield* withSim()
      sim.faults.inject({ kind: "slow", delayMs: 30_000 })
      const url = `${sim.url}/v1/marketstatus/now?apiKey=x`
      const outcome = yield* Effect.promise(() =>
        fetch(url, { signal: AbortSignal.timeout(300) }).then(
          (r) => `status ${r.status}`,
          (e: Error) => e.name
        )
      )
      expect(outcome).toBe("TimeoutError")
      expect((yield* raw(url)).status).toBe(200)
      // A short delay still answers normally.
      sim.faults.inject({ kind: "slow", delayMs: 20 })
      expect((yield* raw(url)).status).toBe(200)
      expect(sim.requests().at(-1)!.fault).toBe("slow")
    })
  )

  it.scopedLive("drop-connection: the socket closes without any response", () =>
    Effect.gen(function* () {
      const sim = yield* withSim()
      sim.faults.inject({ kind: "drop-connection" })
      const res = yield* raw(`${sim.url}/v1/marketstatus/now?apiKey=x`)
      expect(res.status).toBeUndefined()
      expect(res.error).toBeDefined()
      expect(sim.requests().at(-1)).toMatchObject({ status: 0, fault: "drop-connection" })
    })
  )

  it.scopedLive("repeat-rows: the next page starts with the previous page's last bars", () =>
    Effect.gen(function* () {
      const sim = yield* withSim({ pageSize: 100 })
      const first = yield* getJson(`${sim.url}${aggsPath("SPY", 1, "minute", DAY, DAY)}?apiKey=x`)
      sim.faults.inject({ kind: "repeat-rows", count: 3 })
      const second = yield* getJson(`${first.body.next_url}&apiKey=x`)
      expect(second.body.results.slice(0, 3)).toEqual(first.body.results.slice(-3))
      expect(second.body.results.length).toBe(103)
      expect(second.body.resultsCount).toBe(103)
      const clean = yield* getJson(`${first.body.next_url}&apiKey=x`)
      expect(clean.body.results[0].t).toBe(first.body.results.at(-1).t + 60_000)
    })
  )

  it.scopedLive("ohlc-violation: that many bars have high below low", () =>
    Effect.gen(function* () {
      const sim = yield* withSim()
      sim.faults.inject({ kind: "ohlc-violation", count: 5 })
      const url = `${sim.url}${aggsPath("SPY", 1, "minute", DAY, DAY)}?apiKey=x`
      const bad = yield* getJson(url)
      expect(bad.body.results.filter((b: Json) => b.h < b.l).length).toBe(5)
      const good = yield* getJson(url)
      expect(good.body.results.filter((b: Json) => b.h < b.l).length).toBe(0)
    })
  )

  it.scopedLive(
    "a page asked for again is the same text with its own request_id; a data fault queued after it still rewrites it",
    () =>
      Effect.gen(function* () {
        const sim = yield* withSim({ pageSize: 100 })
        const url = `${sim.url}${aggsPath("SPY", 1, "minute", DAY, DAY)}?apiKey=x`
        const first = yield* getJson(url)
        const again = yield* getJson(url)
        expect(again.body.request_id).not.toBe(first.body.request_id)
        const withoutId = (text: string) => text.replace(/"request_id":"[^"]*"/, "")
        expect(withoutId(again.text)).toBe(withoutId(first.text))
        expect(again.body.results).toHaveLength(100)
        const page2 = yield* getJson(`${again.body.next_url}&apiKey=x`)
        expect(page2.body.results[0].t).toBe(again.body.results.at(-1).t + 60_000)
        sim.faults.inject({ kind: "ohlc-violation", count: 5 })
        const bad = yield* getJson(url)
        expect(bad.body.results.filter((b: Json) => b.h < b.l).length).toBe(5)
        expect(withoutId((yield* getJson(url)).text)).toBe(withoutId(first.text))
        // Index pages keep their own wire (no volume keys, no `adjusted`) when answered again.
        const vix = `${sim.url}${aggsPath("I:VIX", 1, "second", DAY, DAY)}?apiKey=x`
        const v1 = yield* getJson(vix)
        const v2 = yield* getJson(vix)
        expect(withoutId(v2.text)).toBe(withoutId(v1.text))
        expect(v2.body.adjusted).toBeUndefined()
        expect(Object.keys(v2.body.results[0]).sort()).toEqual(["c", "h", "l", "o", "t"])
      })
  )

  it.scopedLive("rate limit: 429 with the vendor body once the per-minute budget is spent", () =>
    Effect.gen(function* () {
      const sim = yield* withSim({ rateLimitPerMinute: 2 })
      const url = `${sim.url}/v1/marketstatus/now?apiKey=x`
      const a = yield* raw(url)
      const b = yield* raw(url)
      const c = yield* getJson(url)
      expect([a.status, b.status, c.res.status]).toEqual([200, 200, 429])
      expect(c.body.status).toBe("ERROR")
      expect(c.body.error).toContain("exceeded the maximum requests per minute")
      sim.faults.setRateLimitPerMinute(undefined)
      expect((yield* raw(url)).status).toBe(200)
    })
  )

  it.scopedLive("faults can be driven over HTTP without a key", () =>
    Effect.gen(function* () {
      const sim = yield* withSim({ apiKeys: ["k"] })
      const post = (body: string) =>
        getJson(`${sim.url}/__sim/faults`, {
          method: "POST",
          body,
          headers: { "Content-Type": "application/json" }
        })
      const added = yield* post(
        JSON.stringify([
          { kind: "status", status: 500, times: 2, path: "^/v1/" },
          { kind: "non-json" },
          { kind: "truncated", every: 6, path: "^/v2/" }
        ])
      )
      expect(added.res.status).toBe(200)
      expect(sim.faults.pending().map((p) => [p.fault.kind, p.remaining, p.every])).toEqual([
        ["status", 2, undefined],
        ["non-json", 1, undefined],
        ["truncated", null, 6]
      ])
      const listed = yield* getJson(`${sim.url}/__sim/faults`)
      expect(listed.body.length).toBe(3)
      expect(listed.body[2]).toEqual({
        fault: { kind: "truncated" },
        remaining: null,
        every: 6,
        path: /^\/v2\//.source
      })
      expect((yield* post(JSON.stringify({ kind: "truncated", every: 0 }))).res.status).toBe(400)
      expect((yield* raw(`${sim.url}/v1/marketstatus/now?apiKey=k`)).status).toBe(500)

      const rejected = yield* post(JSON.stringify({ kind: "explode" }))
      expect(rejected.res.status).toBe(400)
      expect(rejected.body.status).toBe("ERROR")

      const cleared = yield* getJson(`${sim.url}/__sim/faults`, { method: "DELETE" })
      expect(cleared.res.status).toBe(200)
      expect(sim.faults.pending()).toEqual([])
      expect((yield* raw(`${sim.url}/v1/marketstatus/now?apiKey=k`)).status).toBe(200)
      // Control paths are not recorded.
      expect(sim.requests().every((r) => r.path.startsWith("/v1/"))).toBe(true)
    })
  )
})

describe("MassiveSim lifecycle", () => {
  it.live("closing the scope closes the server and its open connections", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const sim = yield* Scope.extend(MassiveSim.make({}), scope)
      // A keep-alive connection and a request parked on a slow fault.
      yield* getJson(`${sim.url}/v1/marketstatus/now?apiKey=x`)
      sim.faults.inject({ kind: "slow", delayMs: 60_000 })
      const parked = Effect.runPromise(raw(`${sim.url}/v1/marketstatus/now?apiKey=x`))
      yield* Effect.promise(() => new Promise((r) => setTimeout(r, 100)))
      yield* Scope.close(scope, Exit.void)
      const outcome = yield* Effect.promise(() => parked)
      expect(outcome.status).toBeUndefined()
      expect(sim.server.listening).toBe(false)
      const after = yield* Effect.promise(() =>
        fetch(`${sim.url}/v1/marketstatus/now?apiKey=x`).then(
          () => "answered",
          () => "refused"
        )
      )
      expect(after).toBe("refused")
    })
  )

  it.scopedLive("a taken port fails with SimStartError", () =>
    Effect.gen(function* () {
      const first = yield* MassiveSim.make({})
      const second = yield* Effect.either(MassiveSim.make({ port: first.port }))
      expect(Either.isLeft(second)).toBe(true)
      if (Either.isLeft(second)) {
        expect(second.left._tag).toBe("SimStartError")
        expect(second.left.message).toContain(`127.0.0.1:${first.port}`)
      }
    })
  )
})

const FIXTURES = fileURLToPath(new URL("../../../shared/fixtures/massive/", import.meta.url))
const haveFixtures = existsSync(FIXTURES)
if (!haveFixtures) console.warn(`Skipping fixture shape tests: they need ../shared (looked for ${FIXTURES}).`)
const fixture = (name: string): Json => JSON.parse(readFileSync(`${FIXTURES}${name}`, "utf8"))
const keys = (o: object) => Object.keys(o).sort()

describe.skipIf(!haveFixtures)("MassiveSim responses have the fixtures' shapes (needs ../shared)", () => {
  it.scopedLive("aggregates, open-close, marketstatus now and upcoming", () =>
    Effect.gen(function* () {
      // The clock is in 2022 for the upcoming list; the 2024 bars are served anyway (shapes only).
      const sim = yield* MassiveSim.make({
        now: () => newYorkTimeToEpochMs("2022-05-02", 12, 0),
        holdBackFuture: false
      })
      const aggsFixture = fixture(
        "test_rest__mocks__v2__aggs__ticker__AAPL__range__1__day__2005-04-01__2005-04-04.json"
      )
      const aggs = yield* getJson(
        `${sim.url}${aggsPath("AAPL", 1, "day", "2024-03-01", "2024-03-04")}?apiKey=x`
      )
      expect(keys(aggs.body)).toEqual(keys(aggsFixture))
      expect(keys(aggs.body.results[0])).toEqual(keys(aggsFixture.results[0]))

      const paged = fixture(
        "spec-examples/rest__v2__aggs__ticker__{stocksTicker}__range__{multiplier}__{timespan}__{from}__{to}.200.example.json"
      )
      const page = yield* getJson(
        `${sim.url}${aggsPath("AAPL", 1, "day", "2024-03-01", "2024-03-08")}?limit=2&apiKey=x`
      )
      // The spec example has no `count`; ours does, like the recorded fixture.
      expect(keys(page.body).filter((k) => k !== "count")).toEqual(keys(paged))

      const ocFixture = fixture("test_rest__mocks__v1__open-close__AAPL__2005-04-01&adjusted=true.json")
      const oc = yield* getJson(`${sim.url}/v1/open-close/AAPL/2024-03-04?adjusted=true&apiKey=x`)
      expect(keys(oc.body)).toEqual(keys(ocFixture))

      const nowFixture = fixture("test_rest__mocks__v1__marketstatus__now.json")
      const now = yield* getJson(`${sim.url}/v1/marketstatus/now?apiKey=x`)
      expect(keys(now.body)).toEqual(keys(nowFixture))
      expect(keys(now.body.exchanges)).toEqual(keys(nowFixture.exchanges))
      expect(keys(now.body.currencies)).toEqual(keys(nowFixture.currencies))

      const upFixture: Array<Json> = fixture("test_rest__mocks__v1__marketstatus__upcoming.json")
      const up = yield* getJson(`${sim.url}/v1/marketstatus/upcoming?apiKey=x`)
      const shapes = (items: Array<Json>) => new Set(items.map((i) => `${i.status}:${keys(i).join(",")}`))
      expect(shapes(up.body)).toEqual(shapes(upFixture))
      // Same days as the recorded May–Dec 2022 list, under the same names.
      const fixtureDays = upFixture.map((i) => `${i.exchange} ${i.date} ${i.name} ${i.status}`).sort()
      const ours = (up.body as Array<Json>)
        .filter((i) => i.date <= "2022-12-31")
        .map((i) => `${i.exchange} ${i.date} ${i.name} ${i.status}`)
      expect(ours.sort()).toEqual(fixtureDays)
    })
  )
})
