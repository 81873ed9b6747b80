/** `tapehouse sim thetadata`: the compiled CLI serves both APIs in the foreground and exits 0 on SIGINT. */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { collect, start } from "../support/cli.js"

describe("tapehouse sim thetadata", () => {
  it.live("serves v3 and v2 on the given ports and stops cleanly on SIGINT", () =>
    Effect.gen(function* () {
      const child = start(["sim", "thetadata", "--port", "0", "--v2-port", "0"])
      const done = collect(child, 60_000)
      const [v3, v2] = yield* Effect.promise(
        () =>
          new Promise<[string, string]>((resolve) => {
            let out = ""
            child.stdout?.on("data", (d: Buffer) => {
              out += d.toString()
              const m = /v3 on (http:\/\/127\.0\.0\.1:\d+), v2 on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
              if (m) resolve([m[1]!, m[2]!])
            })
          })
      )
      const greeks = yield* Effect.promise(() =>
        fetch(
          `${v3}/v3/option/history/greeks/first_order?symbol=SPXW&expiration=20241104&date=20241104&interval=1m`
        ).then(async (r) => ({ status: r.status, text: await r.text() }))
      )
      expect(greeks.status).toBe(200)
      // 200 strikes × 2 rights × 390 minutes, and the header
      expect(greeks.text.split("\r\n").filter((l) => l !== "")).toHaveLength(156_001)
      const list = yield* Effect.promise(() =>
        fetch(`${v2}/v2/list/expirations?root=SPXW`).then(
          (r) => r.json() as Promise<{ response: Array<number> }>
        )
      )
      expect(list.response).toContain(20241104)
      child.kill("SIGINT")
      const result = yield* Effect.promise(() => done)
      expect(result.code).toBe(0)
    })
  )
})
