/**
 * REST decoding of indices aggregates through the index_bars_1s feed: the vendor's own example
 * response for I:NDX (only o/h/l/c/t per bar, no `adjusted`), read in place and served over real
 * HTTP on loopback, decodes bar for bar; malformed bars go to the rejected list with a reason.
 */
import { existsSync, readFileSync } from "node:fs"
import * as http from "node:http"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Layer, Stream } from "effect"
import { AppConfig } from "../../../src/config/AppConfig.js"
import type { IndexBar } from "../../../src/domain/IndexBar.js"
import * as IndexBarsFeed from "../../../src/sources/massive/indexBarsFeed.js"
import * as MassiveRest from "../../../src/sources/massive/MassiveRest.js"
import { sharedDir, tempDir, testConfig } from "../../support/fixtures.js"

const fixture = Path.join(
  sharedDir,
  "fixtures/massive/spec-examples/rest__v2__aggs__ticker__{indicesTicker}__range__{multiplier}__{timespan}__{from}__{to}.200.example.json"
)

/** A loopback server answering every aggregates request with `body(ticker)`; records the URLs asked. */
const serve = (body: (ticker: string) => string) =>
  Effect.acquireRelease(
    Effect.async<{ url: string; seen: Array<URL>; server: http.Server }>((resume) => {
      const seen: Array<URL> = []
      const server = http.createServer((req, res) => {
        const url = new URL(req.url ?? "/", "http://127.0.0.1")
        seen.push(url)
        const ticker = decodeURIComponent(url.pathname.split("/")[4] ?? "")
        res.writeHead(200, { "Content-Type": "application/json" })
        res.end(body(ticker))
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, seen, server }))
      })
    }),
    ({ server }) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
  )

const DAY = { date: "2023-03-09", openMs: 0, closeMs: 0 }

const fetchDay = (restUrl: string, ticker: string) =>
  Effect.gen(function* () {
    const dataDir = yield* tempDir()
    const layer = MassiveRest.Live.pipe(Layer.provide(Layer.succeed(AppConfig, testConfig(dataDir, restUrl))))
    return yield* Effect.flatMap(IndexBarsFeed.make, (feed) =>
      Stream.runCollect(feed.fetchDay(ticker, DAY as never)).pipe(Effect.map(Chunk.toReadonlyArray))
    ).pipe(Effect.provide(layer))
  })

describe.skipIf(!existsSync(fixture))("index_bars_1s REST decoding", () => {
  it.scoped("decodes the vendor's indices aggregates example: o/h/l/c/t bars, no adjusted, no volume", () =>
    Effect.gen(function* () {
      const text = readFileSync(fixture, "utf8")
      const example = JSON.parse(text) as {
        ticker: string
        results: Array<{ o: number; h: number; l: number; c: number; t: number }>
      }
      expect("adjusted" in example).toBe(false)
      const { url, seen } = yield* serve(() => text)
      const pages = yield* fetchDay(url, "I:NDX")
      expect(pages).toHaveLength(1)
      const expected: Array<IndexBar> = example.results.map((b) => ({
        symbol: "I:NDX",
        ts: b.t,
        open: b.o,
        high: b.h,
        low: b.l,
        close: b.c
      }))
      expect(pages[0]!.records).toEqual(expected)
      expect(pages[0]!.rejected).toEqual([])
      // Indices take no `adjusted` parameter; the ticker keeps its prefix in the path.
      expect(seen[0]!.pathname).toBe("/v2/aggs/ticker/I:NDX/range/1/second/2023-03-09/2023-03-09")
      expect(seen[0]!.searchParams.has("adjusted")).toBe(false)
    })
  )

  it.scoped("rejects malformed bars with a reason and keeps the good ones of the same page", () =>
    Effect.gen(function* () {
      const good = { o: 16.1, h: 16.2, l: 16.0, c: 16.15, t: 1709562600000 }
      const results = [
        good,
        { o: 16.1, h: "16.2", l: 16.0, c: 16.15, t: 1709562601000 },
        { o: 16.1, h: 16.2, c: 16.15, t: 1709562602000 },
        { o: 16.1, h: 16.2, l: 16.0, c: 16.15, t: 1709562603000.5 },
        { ...good, t: 1709562604000, v: "lots" },
        "not a bar",
        // A volume where indices send none is tolerated, and not stored.
        { ...good, t: 1709562605000, v: 0, vw: 16.1, n: 3 }
      ]
      const { url } = yield* serve((ticker) =>
        JSON.stringify({ ticker, queryCount: 7, resultsCount: 7, results, status: "OK", request_id: "r" })
      )
      const [page] = yield* fetchDay(url, "I:VIX")
      expect(page!.records).toEqual([
        { symbol: "I:VIX", ts: 1709562600000, open: 16.1, high: 16.2, low: 16.0, close: 16.15 },
        { symbol: "I:VIX", ts: 1709562605000, open: 16.1, high: 16.2, low: 16.0, close: 16.15 }
      ])
      expect(page!.rejected.map((r) => r.reason)).toEqual([
        "bar (t=1709562601000) field h is string, expected a number",
        "bar (t=1709562602000) has no l",
        "bar t=1709562603000.5 is not an integer epoch-ms timestamp",
        "bar (t=1709562604000) field v is string, expected a number",
        "bar is string, expected an object"
      ])
      expect(page!.rejected[0]!.record).toMatchObject({ symbol: "I:VIX", h: "16.2" })
    })
  )
})
