/** The spill queue: FIFO across memory and segment files, recovery after a crash, and a failing disk. */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Exit, Fiber, Scope, Stream } from "effect"
import * as SpillQueue from "../../src/pipeline/SpillQueue.js"
import { makeTempDir, removeTempDirs } from "../support/tempDirs.js"

const tempDir = () => Path.join(makeTempDir("tapehouse-spill-"), "spill", "SPY")

afterAll(removeTempDirs)

interface Item {
  readonly n: number
  readonly s: string
}

const codec = {
  encode: (a: Item) => JSON.stringify(a),
  decode: (line: string) => JSON.parse(line) as Item
}

const items = (from: number, count: number): Array<Item> =>
  Array.from({ length: count }, (_, i) => ({ n: from + i, s: `x${from + i}` }))

const segmentFiles = (dir: string) => Fs.readdirSync(dir).filter((name) => name.endsWith(".jsonl"))

/** Takes everything until `end` and the queue is drained. */
const drain = (queue: SpillQueue.SpillQueue<Item>, max: number) =>
  Effect.gen(function* () {
    const out: Array<number> = []
    for (;;) {
      const batch = yield* queue.takeBatch(max)
      if (batch.length === 0) return out
      expect(batch.length).toBeLessThanOrEqual(max)
      for (const item of batch) out.push(item.n)
    }
  })

const range = (count: number) => Array.from({ length: count }, (_, i) => i)

const enospc = () => Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" })

describe("SpillQueue", () => {
  it.live("is FIFO with no spill", () =>
    Effect.gen(function* () {
      const dir = tempDir()
      const queue = yield* SpillQueue.make({ dir, capacity: 100, ...codec })
      yield* queue.offer(items(0, 10))
      expect(queue.offerUnsafe(items(10, 20))).toBeUndefined()
      expect(queue.size()).toBe(30)
      expect((yield* queue.takeBatch(7)).map((i) => i.n)).toEqual(range(7))
      yield* queue.end
      expect(yield* drain(queue, 5)).toEqual(range(30).slice(7))
      expect(queue.stats()).toMatchObject({ spilledTotal: 0, segments: 0, inMemory: 0, spilling: false })
      expect(segmentFiles(dir)).toEqual([])
    }).pipe(Effect.scoped)
  )

  it.live("capacity counts weight: heavy items (frames of many bars) spill once the bound is reached", () =>
    Effect.gen(function* () {
      const dir = tempDir()
      // Each item weighs n % 10 + 1 (1…10); the bound is 25.
      const queue = yield* SpillQueue.make({
        dir,
        capacity: 25,
        weight: (a: Item) => (a.n % 10) + 1,
        ...codec
      })
      // 0..5 weigh 1+2+3+4+5+6 = 21; item 6 (weight 7) would make 28 > 25, so it and later ones spill.
      yield* queue.offer(items(0, 10))
      expect(queue.stats()).toMatchObject({ inMemory: 6, spilling: true, spilledTotal: 7 + 8 + 9 + 10 })
      // An item heavier than the whole bound still goes to memory when memory is empty.
      const idle = yield* SpillQueue.make({ dir: tempDir(), capacity: 3, weight: () => 1000, ...codec })
      yield* idle.offer(items(0, 1))
      expect(idle.stats()).toMatchObject({ inMemory: 1, spilling: false, spilledTotal: 0 })
      yield* idle.offer(items(1, 1))
      expect(idle.stats()).toMatchObject({ inMemory: 1, spilling: true, spilledTotal: 1000 })
      // Everything comes out once, in order, and the drained segments are deleted.
      yield* queue.end
      expect(yield* drain(queue, 3)).toEqual(range(10))
      expect(segmentFiles(dir)).toEqual([])
    }).pipe(Effect.scoped)
  )

  it.live(
    "a burst far above capacity spills, comes out exactly once in order, and its segments are deleted",
    () =>
      Effect.gen(function* () {
        const dir = tempDir()
        const queue = yield* SpillQueue.make({ dir, capacity: 50, segmentBytes: 4096, ...codec })
        for (let i = 0; i < 5000; i += 250) yield* queue.offer(items(i, 250))
        const stats = queue.stats()
        expect(stats.inMemory).toBe(50)
        expect(stats.spilledTotal).toBe(4950)
        expect(stats.spilledPending).toBe(4950)
        expect(stats.spilling).toBe(true)
        expect(stats.segments).toBeGreaterThan(5)
        expect(segmentFiles(dir).length).toBe(stats.segments)
        yield* queue.end
        expect(yield* drain(queue, 333)).toEqual(range(5000))
        expect(queue.stats()).toMatchObject({
          spilledPending: 0,
          segments: 0,
          spilling: false,
          spilledTotal: 4950
        })
        expect(segmentFiles(dir)).toEqual([])
      }).pipe(Effect.scoped)
  )

  it.live(
    "drained segments are deleted while the spill goes on, and the queue leaves spill mode once drained",
    () =>
      Effect.gen(function* () {
        const dir = tempDir()
        const queue = yield* SpillQueue.make({ dir, capacity: 10, segmentBytes: 2048, ...codec })
        // One write per offer: ten offers, each rotating past segmentBytes.
        for (let i = 0; i < 1000; i += 100) yield* queue.offer(items(i, 100))
        const before = segmentFiles(dir)
        expect(before.length).toBeGreaterThan(3)
        const taken: Array<number> = []
        while (taken.length < 600) for (const item of yield* queue.takeBatch(50)) taken.push(item.n)
        // Everything taken from the oldest segments: they are gone, the newer ones remain.
        const after = segmentFiles(dir)
        expect(after.length).toBeLessThan(before.length)
        expect(after).toEqual(before.slice(before.length - after.length))
        while (taken.length < 1000) for (const item of yield* queue.takeBatch(50)) taken.push(item.n)
        expect(taken).toEqual(range(1000))
        // Taking past the end runs the clean-up; nothing is left and offers go to memory again.
        yield* queue.offer(items(1000, 5))
        expect(queue.stats()).toMatchObject({ spilling: false, segments: 0, inMemory: 5 })
        expect(segmentFiles(dir)).toEqual([])
        expect((yield* queue.takeBatch(10)).map((i) => i.n)).toEqual(range(1005).slice(1000))
      }).pipe(Effect.scoped)
  )

  it.live("interleaved offers and takes while spilling keep the order", () =>
    Effect.gen(function* () {
      const dir = tempDir()
      const queue = yield* SpillQueue.make({ dir, capacity: 20, segmentBytes: 1024, ...codec })
      const taken: Array<number> = []
      let next = 0
      for (let round = 0; round < 200; round++) {
        const count = 1 + ((round * 37) % 60)
        if (round % 3 === 0) yield* queue.offer(items(next, count))
        else expect(queue.offerUnsafe(items(next, count))).toBeUndefined()
        next += count
        for (const item of yield* queue.takeBatch(1 + ((round * 13) % 45))) taken.push(item.n)
      }
      expect(queue.stats().spilledTotal).toBeGreaterThan(0)
      yield* queue.end
      taken.push(...(yield* drain(queue, 17)))
      expect(taken).toEqual(range(next))
      expect(segmentFiles(dir)).toEqual([])
    }).pipe(Effect.scoped)
  )

  it.live("segments left by a crash are drained first, before anything offered after the restart", () =>
    Effect.gen(function* () {
      const dir = tempDir()
      // A queue that spills and then "crashes": its scope is never closed, nothing drained.
      const crashed = yield* SpillQueue.make({ dir, capacity: 10, segmentBytes: 2048, ...codec }).pipe(
        Scope.extend(yield* Scope.make())
      )
      yield* crashed.offer(items(0, 500))
      expect(crashed.stats().spilledPending).toBe(490)
      // A write torn by the crash: a last line without its newline is ignored.
      const last = segmentFiles(dir).sort().at(-1)!
      Fs.appendFileSync(Path.join(dir, last), '{"n":99999,"s":"torn')

      const queue = yield* SpillQueue.make({ dir, capacity: 10, ...codec })
      // The 10 items that were only in memory died with the process; the spilled ones come back.
      expect(queue.recovered).toBe(490)
      expect(queue.stats()).toMatchObject({ recovered: 490, spilledPending: 490, spilling: true })
      yield* queue.offer(items(500, 30))
      yield* queue.end
      expect(yield* drain(queue, 64)).toEqual(range(530).slice(10))
      expect(segmentFiles(dir)).toEqual([])
    }).pipe(Effect.scoped)
  )

  it.live(
    "closing without draining writes what is only in memory, so the next queue gets everything back",
    () =>
      Effect.gen(function* () {
        const dir = tempDir()
        yield* Effect.scoped(
          Effect.gen(function* () {
            const queue = yield* SpillQueue.make({ dir, capacity: 10, ...codec })
            yield* queue.offer(items(0, 100))
            expect(queue.offerUnsafe(items(100, 50))).toBeUndefined()
            expect((yield* queue.takeBatch(3)).map((i) => i.n)).toEqual([0, 1, 2])
          })
        )
        const queue = yield* SpillQueue.make({ dir, capacity: 10, ...codec })
        expect(queue.recovered).toBe(147)
        yield* queue.end
        expect(yield* drain(queue, 1000)).toEqual(range(150).slice(3))
      }).pipe(Effect.scoped)
  )

  it.live(
    "a full disk fails the offer with a clear SpillError; nothing is lost and a later write catches up",
    () =>
      Effect.gen(function* () {
        const dir = tempDir()
        let diskFull = false
        const openFile: SpillQueue.OpenSpillFile = async (path) => {
          const file = await SpillQueue.openNodeSpillFile(path)
          return {
            ...file,
            write: (bytes, position) => (diskFull ? Promise.reject(enospc()) : file.write(bytes, position))
          }
        }
        const queue = yield* SpillQueue.make({ dir, capacity: 10, retryAfter: "1 hour", openFile, ...codec })
        yield* queue.offer(items(0, 40))
        diskFull = true
        const error = yield* Effect.flip(queue.offer(items(40, 25)))
        expect(error._tag).toBe("SpillError")
        expect(error.path.startsWith(dir)).toBe(true)
        expect(error.held).toBe(25)
        expect(error.code).toBe("ENOSPC")
        expect(error.message).toContain("could not be written: ENOSPC (no space left on device)")
        expect(error.message).toContain(`Free space on the disk holding ${dir}`)
        expect(error.message).toContain("everything committed so far is intact; 25 items are held in memory")
        // The synchronous offer is accepted too, and says the disk is failing.
        const unsafe = queue.offerUnsafe(items(65, 5))
        expect(unsafe?._tag).toBe("SpillError")
        expect(unsafe?.held).toBe(30)
        expect(queue.stats()).toMatchObject({
          inMemory: 10,
          staged: 30,
          spilledPending: 30,
          spilledTotal: 60
        })
        expect(queue.size()).toBe(70)
        // A flush while the disk is still full fails again, and still loses nothing.
        expect((yield* Effect.flip(queue.flush))._tag).toBe("SpillError")
        diskFull = false
        yield* queue.flush
        expect(queue.stats()).toMatchObject({ staged: 0, spilledPending: 60 })
        yield* queue.end
        expect(yield* drain(queue, 7)).toEqual(range(70))
      }).pipe(Effect.scoped)
  )

  it.live("while the disk is full the consumer still drains the staged items in order", () =>
    Effect.gen(function* () {
      const dir = tempDir()
      const openFile: SpillQueue.OpenSpillFile = () => Promise.reject(enospc())
      const queue = yield* SpillQueue.make({ dir, capacity: 5, retryAfter: "1 hour", openFile, ...codec })
      const error = yield* Effect.flip(queue.offer(items(0, 20)))
      expect(error.held).toBe(15)
      yield* queue.end
      expect(yield* drain(queue, 4)).toEqual(range(20))
    }).pipe(Effect.scoped)
  )

  it.live("a spill folder that became a file while spilling is a SpillError naming the folder", () =>
    Effect.gen(function* () {
      const dir = tempDir()
      const queue = yield* SpillQueue.make({ dir, capacity: 5, retryAfter: "1 hour", ...codec })
      Fs.rmSync(dir, { recursive: true })
      Fs.writeFileSync(dir, "not a folder")
      const error = yield* Effect.flip(queue.offer(items(0, 8)))
      expect(error.path.startsWith(dir)).toBe(true)
      expect(error.code).toBe("ENOTDIR")
      expect(error.message).toContain("A file is in the way")
      expect(queue.size()).toBe(8)
      yield* queue.end
      expect(yield* drain(queue, 100)).toEqual(range(8))
    }).pipe(Effect.scoped)
  )

  it.live("a spill folder under a regular file fails at start with a StorageError", () =>
    Effect.gen(function* () {
      const parent = makeTempDir("tapehouse-spill-")
      Fs.writeFileSync(Path.join(parent, "state"), "a file")
      const error = yield* Effect.flip(
        Effect.scoped(SpillQueue.make({ dir: Path.join(parent, "state", "spill"), capacity: 5, ...codec }))
      )
      expect(error._tag).toBe("StorageError")
      expect(error.code).toBe("ENOTDIR")
    })
  )

  it.live("offerUnsafe reports a disk slower than the feed once too much waits, without dropping", () =>
    Effect.gen(function* () {
      const dir = tempDir()
      let release: () => void = () => undefined
      const gate = new Promise<void>((resolve) => {
        release = resolve
      })
      const openFile: SpillQueue.OpenSpillFile = async (path) => {
        const file = await SpillQueue.openNodeSpillFile(path)
        return { ...file, write: (bytes, position) => gate.then(() => file.write(bytes, position)) }
      }
      const queue = yield* SpillQueue.make({ dir, capacity: 5, maxStaged: 100, openFile, ...codec })
      let reported = 0
      for (let i = 0; i < 300; i += 10) if (queue.offerUnsafe(items(i, 10)) !== undefined) reported++
      expect(reported).toBeGreaterThan(0)
      expect(queue.size()).toBe(300)
      release()
      yield* queue.flush
      yield* queue.end
      expect(yield* drain(queue, 64)).toEqual(range(300))
    }).pipe(Effect.scoped)
  )

  it.live("a producer offering small chunks while a consumer takes batches: total and order preserved", () =>
    Effect.gen(function* () {
      const dir = tempDir()
      const queue = yield* SpillQueue.make({ dir, capacity: 200, segmentBytes: 8192, ...codec })
      const total = 20_000
      const producer = yield* Effect.fork(
        Effect.gen(function* () {
          for (let i = 0; i < total; ) {
            const count = 1 + (i % 37)
            const chunk = items(i, Math.min(count, total - i))
            if (i % 2 === 0) yield* queue.offer(chunk)
            else expect(queue.offerUnsafe(chunk)).toBeUndefined()
            i += chunk.length
            if (i % 5 === 0) yield* Effect.yieldNow()
          }
          yield* queue.end
        })
      )
      const consumed = yield* queue.stream(97).pipe(
        Stream.mapChunks((chunk) => Chunk.map(chunk, (item) => item.n)),
        Stream.runCollect
      )
      yield* Fiber.join(producer)
      expect(Chunk.toReadonlyArray(consumed)).toEqual(range(total))
      expect(queue.stats()).toMatchObject({ segments: 0, spilledPending: 0, staged: 0, inMemory: 0 })
      expect(segmentFiles(dir)).toEqual([])
    }).pipe(Effect.scoped)
  )

  it.live("the scope closes cleanly after a normal drain and leaves no files", () =>
    Effect.gen(function* () {
      const dir = tempDir()
      const scope = yield* Scope.make()
      const queue = yield* SpillQueue.make({ dir, capacity: 3, ...codec }).pipe(Scope.extend(scope))
      yield* queue.offer(items(0, 10))
      yield* queue.end
      expect(yield* drain(queue, 4)).toEqual(range(10))
      yield* Scope.close(scope, Exit.void)
      expect(segmentFiles(dir)).toEqual([])
    })
  )
})

describe("SpillQueue under interruption", () => {
  it.scopedLive("a bounded take (waitAtMost) racing the producer never loses or reorders items", () =>
    Effect.gen(function* () {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapehouse-spill-int-"))),
        (d) => Effect.sync(() => Fs.rmSync(d, { recursive: true, force: true }))
      )
      const queue = yield* SpillQueue.make<number>({ dir, capacity: 50, encode: String, decode: Number })
      const total = 5000
      const received: Array<number> = []
      const producer = Effect.gen(function* () {
        for (let i = 0; i < total; i += 100) {
          yield* queue.offer(Array.from({ length: 100 }, (_, k) => i + k))
          yield* Effect.yieldNow()
        }
      })
      const consumer = Effect.gen(function* () {
        while (received.length < total) {
          // Tiny bounded waits race the producer constantly.
          for (const n of yield* queue.takeBatch(37, "1 millis")) received.push(n)
        }
      })
      yield* Effect.all([producer, consumer], { concurrency: 2 })
      expect(received).toEqual(Array.from({ length: total }, (_, i) => i))
    })
  )
})
