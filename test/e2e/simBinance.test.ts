/** `tapehouse sim binance` as a user runs it: a child process serving REST and WebSocket until SIGINT. */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import WebSocket from "ws"
import { collect, runCli, start } from "../support/cli.js"

describe("tapehouse sim binance", () => {
  it.live(
    "prints the four base URLs, serves them, and stops cleanly on SIGINT; a bad --symbols exits 2",
    () =>
      Effect.gen(function* () {
        const child = start([
          "sim",
          "binance",
          "--port",
          "0",
          "--rate",
          "500",
          "--symbols",
          "btcusdt,SUSHIUSDT"
        ])
        const done = collect(child, 60_000)
        const env = yield* Effect.promise(
          () =>
            new Promise<Record<string, string>>((resolve) => {
              let out = ""
              child.stdout?.on("data", (d: Buffer) => {
                out += d.toString()
                const found = Object.fromEntries(
                  [...out.matchAll(/(TAPEHOUSE_BINANCE_\w+)=(\S+)/g)].map((m) => [m[1], m[2]])
                )
                if (Object.keys(found).length === 4) resolve(found as Record<string, string>)
              })
            })
        )
        const spot = yield* Effect.promise(() =>
          fetch(`${env.TAPEHOUSE_BINANCE_SPOT_URL}/api/v3/depth?symbol=BTCUSDT&limit=5`)
        )
        expect(spot.status).toBe(200)
        expect(spot.headers.get("x-mbx-used-weight-1m")).toBe("5")
        const info = (yield* Effect.promise(() =>
          fetch(`${env.TAPEHOUSE_BINANCE_USDM_URL}/fapi/v1/exchangeInfo`).then((r) => r.json())
        )) as { symbols: Array<{ symbol: string }> }
        expect(info.symbols.map((s) => s.symbol)).toEqual(["BTCUSDT", "SUSHIUSDT"])
        const frame = yield* Effect.promise(
          () =>
            new Promise<{ e: string; s: string; pu: number }>((resolve) => {
              const ws = new WebSocket(`${env.TAPEHOUSE_BINANCE_USDM_WS_URL}/ws/sushiusdt@depth@100ms`)
              ws.on("message", (data) => {
                ws.terminate()
                resolve(JSON.parse(String(data)))
              })
            })
        )
        expect([frame.e, frame.s, typeof frame.pu]).toEqual(["depthUpdate", "SUSHIUSDT", "number"])
        child.kill("SIGINT")
        const result = yield* Effect.promise(() => done)
        expect(result.code).toBe(0)
        expect(result.stdout).toContain("spot BTCUSDT, USD-M BTCUSDT,SUSHIUSDT")
        expect(env.TAPEHOUSE_BINANCE_USDM_WS_URL).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/public$/)

        const bad = yield* runCli(["sim", "binance", "--symbols", "FOOUSDT"])
        expect(bad.code).toBe(2)
        expect(bad.stderr).toContain("--symbols")
        expect(bad.stderr).toContain("FOOUSDT")
      })
  )
})
