/**
 * Greeks bodies parsed on the decoding thread (greeksDecodeThread.ts) give what the same bodies
 * parsed in this thread give: the same rows, rejects and line numbers, the same cut and header
 * errors; and a decoding thread that stops mid-body fails that body with a clear error.
 */
import { Effect, Either, Stream } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as DecodeThread from "../../../src/sources/thetadata/greeksDecodeThread.js"
import { type GreeksPart, greeksFromBytes } from "../../../src/sources/thetadata/ThetaTerminal.js"

const HEADER =
  "symbol,expiration,strike,right,timestamp,bid,ask,delta,theta,vega,rho,epsilon,lambda,implied_vol,iv_error,underlying_timestamp,underlying_price"

/** A v3 body of `contracts` × 390 minutes, CRLF, with a few bad and quoted lines among them. */
const body = (contracts: number): string => {
  const lines = [HEADER]
  for (let c = 0; c < contracts; c++) {
    const strike = (5700 + 5 * (c >> 1)).toFixed(3)
    const right = c % 2 === 0 ? "CALL" : "PUT"
    for (let m = 0; m < 390; m++) {
      const t = `2024-11-04T${String(9 + Math.floor((30 + m) / 60)).padStart(2, "0")}:${String((30 + m) % 60).padStart(2, "0")}:00`
      const delta = (c % 2 === 0 ? 0.5 : -0.5) + m / 10_000
      lines.push(
        `SPXW,2024-11-08,${strike},${right},${t},${(1 + m / 100).toFixed(2)},${(1.1 + m / 100).toFixed(2)},${delta.toFixed(4)},-0.0141,0.1913,0.0063,-0.0064,55.2930,0.${1000 + m},0.0000,${t},${(5712 + m / 10).toFixed(2)}`
      )
    }
    if (c === 3) lines.push("SPXW,2024-11-08,5700.000,CALL,not-a-time,1,2,0.5,0,0,0,0,0,0.2,0,x,1")
    if (c === 5) lines.push("SPXW,2024-11-08,5700.000,CALL")
    if (c === 7)
      lines.push(
        `"SPXW",2024-11-08,"5790.000",CALL,2024-11-04T16:00:00,1,2,0.5,0,0,0,0,0,0.2,0,2024-11-04T16:00:00,5712.00`
      )
  }
  return `${lines.join("\r\n")}\r\n`
}

/** `text` as UTF-8 bytes in chunks of `size`, each owning its buffer or a view into a larger one. */
const chunksOf = (text: string, size: number): Array<Uint8Array> => {
  const bytes = new TextEncoder().encode(text)
  const out: Array<Uint8Array> = []
  for (let i = 0, k = 0; i < bytes.length; i += size, k++) {
    const piece = bytes.subarray(i, i + size)
    out.push(k % 2 === 0 ? piece.slice() : piece)
  }
  return out
}

interface Read {
  readonly rows: ReadonlyArray<unknown>
  readonly rejected: ReadonlyArray<unknown>
  readonly noData: number
}

const collect = (
  bytes: Stream.Stream<Uint8Array, string>,
  where: "auto" | "here"
): Promise<{ readonly read: Read; readonly error: unknown }> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const parts: Array<GreeksPart> = []
      const result = yield* Stream.runForEach(
        greeksFromBytes("v3", "/v3/test", bytes, 30_000, (e) => String(e), where),
        (p) => Effect.sync(() => parts.push(p))
      ).pipe(Effect.either)
      const rows: Array<unknown> = []
      const rejected: Array<unknown> = []
      let noData = 0
      for (const p of parts) {
        if (p._tag === "NoData") noData++
        else {
          for (const r of p.rows) rows.push(r)
          for (const r of p.rejected) rejected.push(r)
        }
      }
      return { read: { rows, rejected, noData }, error: Either.isLeft(result) ? result.left : undefined }
    })
  )

beforeAll(async () => {
  expect(await DecodeThread.warmUp()).toBe(true)
})

afterAll(async () => {
  await DecodeThread.shutdown()
})

describe("greeks bodies on the decoding thread", () => {
  it("give the rows, rejects and line numbers this thread gives, in order, across batches", async () => {
    const text = body(48) // 18,720 rows: three batches
    const before = DecodeThread.stats().onWorker
    for (const size of [65_536, 16_384 + 7]) {
      const onThread = await collect(Stream.fromIterable(chunksOf(text, size)), "auto")
      const here = await collect(Stream.fromIterable(chunksOf(text, size)), "here")
      expect(onThread.error).toBeUndefined()
      expect(onThread.read.rows.length).toBe(48 * 390 + 1)
      expect(onThread.read.rejected.map((r) => (r as { reason: string }).reason)).toEqual([
        expect.stringMatching(/^line 1562: timestamp "not-a-time" is not a date-time/),
        "line 2343: 4 fields where the header has 17 (a malformed row)"
      ])
      expect(onThread.read).toEqual(here.read)
    }
    expect(DecodeThread.stats().onWorker).toBe(before + 2)
    expect(DecodeThread.stats().open).toBe(0)
  })

  it("a body cut short: the rows before the cut, the cut row rejected with its line, then ThetaResponseCut", async () => {
    const text = body(30)
    const cutAt = text.indexOf("\r\n", 400_000) + 12 // inside a line
    const chunks = chunksOf(text.slice(0, cutAt), 40_000)
    const cut = (): Stream.Stream<Uint8Array, string> =>
      Stream.concat(Stream.fromIterable(chunks), Stream.fail("connection reset"))
    const onThread = await collect(cut(), "auto")
    const here = await collect(cut(), "here")
    expect(onThread.read).toEqual(here.read)
    expect(onThread.error).toEqual(here.error)
    expect(onThread.error).toMatchObject({ _tag: "ThetaResponseCut", detail: "connection reset" })
    const last = onThread.read.rejected.at(-1) as { reason: string }
    expect(last.reason).toMatch(/the body was cut short inside this row$/)
  })

  it("a header without the columns the API sends fails with ThetaProtocolError, as in this thread", async () => {
    const text = `symbol,strike\r\n${"SPXW,5700.000\r\n".repeat(2000)}`
    const onThread = await collect(Stream.fromIterable(chunksOf(text, 20_000)), "auto")
    expect(onThread.error).toMatchObject({ _tag: "ThetaProtocolError" })
    expect(String((onThread.error as Error).message)).toContain("lacks expiration")
  })

  it("a decoding thread that stops mid-body fails that body with a clear error; the next body starts a new one", async () => {
    const chunks = chunksOf(body(20), 30_000)
    const stopped = Stream.concat(
      Stream.fromIterable(chunks.slice(0, 4)),
      Stream.concat(
        Stream.fromEffect(Effect.promise(() => DecodeThread.shutdown())).pipe(Stream.drain),
        Stream.fromIterable(chunks.slice(4))
      )
    )
    const failed = await collect(stopped, "auto")
    expect(failed.error).toMatchObject({ _tag: "ThetaRequestError", request: "/v3/test" })
    expect(String((failed.error as Error).message)).toMatch(
      /CSV decoding thread .*nothing of it was committed/
    )

    expect(await DecodeThread.warmUp()).toBe(true)
    const again = await collect(Stream.fromIterable(chunks), "auto")
    expect(again.error).toBeUndefined()
    expect(again.read.rows.length).toBe(20 * 390 + 1) // one quoted row among them
  })

  it("a body before the thread has loaded is parsed in this thread", async () => {
    await DecodeThread.shutdown()
    const before = DecodeThread.stats()
    const read = await collect(Stream.fromIterable(chunksOf(body(2), 65_536)), "auto")
    expect(read.read.rows.length).toBe(780)
    const after = DecodeThread.stats()
    expect(after.here).toBe(before.here + 1)
    expect(after.onWorker).toBe(before.onWorker)
    expect(await DecodeThread.warmUp()).toBe(true)
  })
})
