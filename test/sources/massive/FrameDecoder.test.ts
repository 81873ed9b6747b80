/** Large frames decoded on the worker thread give exactly the events of decodeFrame, in order. */
import { afterAll, describe, expect, it } from "@effect/vitest"
import type { StockBar } from "../../../src/domain/StockBar.js"
import type { LiveEvent } from "../../../src/runners/LiveFeed.js"
import * as FrameDecoder from "../../../src/sources/massive/FrameDecoder.js"
import { codec } from "../../../src/sources/massive/stockBarsFeed.js"
import { decodeFrame } from "../../../src/sources/massive/wsWire.js"

const AT = 1_709_562_600_000

const aggregates = (symbols: number, s: number, vw: (i: number) => number | null | undefined) =>
  JSON.stringify(
    Array.from({ length: symbols }, (_, i) => {
      const w = vw(i)
      return {
        ev: "A",
        sym: `S${i}`,
        v: 100 + i,
        o: 10.5 + i,
        c: 10.25 + i,
        h: 11 + i,
        l: 10 + i,
        s,
        e: s + 1000,
        ...(w === undefined ? {} : { vw: w })
      }
    })
  )

const expected = (frames: ReadonlyArray<string>): Array<LiveEvent<StockBar>> =>
  frames.flatMap((f) => [...decodeFrame(f, AT, codec)])

/** Every frame received at `at`, their events in one list. */
const decodeAll = (frames: ReadonlyArray<string>, at: number) => {
  const perFrame = FrameDecoder.decodeEach(
    frames,
    frames.map(() => at),
    codec
  )
  return perFrame instanceof Promise ? perFrame.then((all) => all.flat()) : perFrame.flat()
}

afterAll(() => FrameDecoder.shutdown())

describe("FrameDecoder", () => {
  it("counts a frame's events without decoding it", () => {
    expect(FrameDecoder.eventCount(aggregates(1000, AT, () => 1))).toBe(1000)
    expect(FrameDecoder.eventCount("[]")).toBe(0)
    expect(FrameDecoder.isLarge(aggregates(1000, AT, () => 1))).toBe(true)
    expect(FrameDecoder.isLarge(aggregates(2, AT, () => 1))).toBe(false)
  })

  it("decodeEach keeps each frame's events apart, each with its own arrival time", async () => {
    const frames = [aggregates(300, AT, () => 1), "not json", aggregates(400, AT + 1000, () => 2)]
    const perFrame = await FrameDecoder.decodeEach(frames, [AT + 1, AT + 2, AT + 3], codec)
    expect(perFrame).toEqual(frames.map((f, i) => decodeFrame(f, AT + 1 + i, codec)))
  })

  it("small frames are decoded in this thread, synchronously", () => {
    const frames = [aggregates(3, AT, () => 10)]
    const out = decodeAll(frames, AT)
    expect(out).not.toBeInstanceOf(Promise)
    expect(out).toEqual(expected(frames))
  })

  it("large frames come back from the worker equal to decodeFrame, in order, mixed with statuses, rejects and unknown events", async () => {
    const big = aggregates(2000, AT, (i) => (i % 3 === 0 ? null : i % 3 === 1 ? undefined : 10 + i / 7))
    expect(big.length).toBeGreaterThanOrEqual(FrameDecoder.WORKER_MIN_CHARS)
    const mixed = JSON.stringify([
      { ev: "status", status: "success", message: "subscribed to: A.S1" },
      ...JSON.parse(aggregates(400, AT + 1000, () => 3.25)),
      { ev: "A", sym: "BAD", o: "x", h: 1, l: 1, c: 1, v: 1, s: AT },
      { ev: "T", sym: "S1", p: 1 },
      ...JSON.parse(aggregates(100, AT + 2000, () => -0))
    ])
    const frames = [big, "not json", mixed, aggregates(2, AT + 3000, () => 1)]
    const before = FrameDecoder.stats()
    const out = decodeAll(frames, AT)
    expect(out).toBeInstanceOf(Promise)
    const events = await out
    expect(events).toEqual(expected(frames))
    // It really went through the worker (a failed start would have fallen back to this thread).
    expect(FrameDecoder.stats()).toEqual({ onWorker: before.onWorker + 1, fellBack: before.fellBack })
    const bars = events.flatMap((e) => (e._tag === "Records" ? e.records : []))
    expect(bars).toHaveLength(2000 + 400 + 100 + 2)
    expect(bars[0]).toMatchObject({ symbol: "S0", vwap: null, trades: null })
    expect(bars[1]).toMatchObject({ symbol: "S1", vwap: null })
    expect(bars[2]!.vwap).toBe(10 + 2 / 7)
  })

  it("batches sent back to back resolve in order, and after a shutdown a new worker takes over", async () => {
    const frames = Array.from({ length: 6 }, (_, k) => aggregates(500, AT + k * 1000, () => k))
    const pending = frames.map((f) => decodeAll([f], AT))
    const results = await Promise.all(pending)
    expect(results.flat()).toEqual(expected(frames))
    await FrameDecoder.shutdown()
    expect(await decodeAll([frames[0]!], AT)).toEqual(expected([frames[0]!]))
  })

  it("warmUp settles once a new worker has loaded its code; the next batch goes to that worker", async () => {
    await FrameDecoder.shutdown()
    let settled = false
    const ready = FrameDecoder.warmUp().then(() => {
      settled = true
    })
    await Promise.resolve()
    // Loading takes the worker about a second (tsx compiles the decoder): not settled at once.
    expect(settled).toBe(false)
    await ready
    const before = FrameDecoder.stats()
    const frames = [aggregates(500, AT, () => 1)]
    expect(await decodeAll(frames, AT)).toEqual(expected(frames))
    expect(FrameDecoder.stats()).toEqual({ onWorker: before.onWorker + 1, fellBack: before.fellBack })
    // Already up: settles without starting another.
    await FrameDecoder.warmUp()
  })

  it("batches in flight when the worker stops are decoded in this thread: nothing is lost", async () => {
    const frames = Array.from({ length: 4 }, (_, k) => aggregates(800, AT + k * 1000, () => 2))
    const before = FrameDecoder.stats()
    const pending = frames.map((f) => decodeAll([f], AT))
    await FrameDecoder.shutdown()
    expect((await Promise.all(pending)).flat()).toEqual(expected(frames))
    const after = FrameDecoder.stats()
    expect(after.onWorker - before.onWorker + after.fellBack - before.fellBack).toBe(4)
  })
})
