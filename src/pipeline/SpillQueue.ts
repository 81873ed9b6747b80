/**
 * The bounded queue between a socket reader and the pipeline. It never drops and never makes the
 * producer wait for the consumer: up to `capacity` items are held in memory; past that, everything
 * offered goes to append-only JSON-lines segment files under `dir` (`seg-<16 digits>.jsonl`, rotated
 * at `segmentBytes`) until the consumer has drained the spill, so the global order is FIFO. A fully
 * drained segment is deleted. Segments found at start (left by a crash, or by a close that had not
 * drained) are delivered first, before anything offered later; a segment is deleted only when all of
 * its items have been taken, so after a crash the items of a partly drained segment come again
 * (at-least-once, like the rest of the pipeline).
 *
 * Synchronous offers (`offerUnsafe`, for socket handlers that must offer in order without waiting):
 * appending to a file is asynchronous, so overflow first goes to an in-memory staging FIFO that one
 * writer fiber drains with ONE write per wake-up, taking everything staged at that moment. In the
 * steady state the staging FIFO holds only what arrived during one write, so memory stays bounded.
 * When the disk is slower than the feed or fails (disk full), nothing is dropped: items stay staged
 * in memory (the consumer can still take them, in order, once the disk part is drained), the writer
 * retries every `retryAfter`, and `offerUnsafe` returns a `SpillError` once a write has failed or
 * more than `maxStaged` items wait. That is the producer's cue to stop reading (fail the stream and
 * reconnect, so the gap is repaired from the REST API) instead of growing memory without bound.
 * `offer` is the same, but waits for the write of the items it spilled (on the disk, never on the
 * consumer) and fails with that write's `SpillError`; its items are accepted either way.
 *
 * Closing the scope writes what is only in memory to the spill (staged items to the tail, the
 * in-memory buffer to a segment numbered before the others) so a clean stop loses nothing.
 * Offers are chunked: no Effect and no write per item.
 */
import type { FileHandle } from "node:fs/promises"
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { Chunk, Clock, Duration, Effect, Fiber, Option, type Scope, Stream } from "effect"
import { SpillError, type StorageError } from "../domain/errors.js"
import { fileAction, systemCauseOf } from "../domain/systemCause.js"
import { describeFsError, errorCode, mkdirs, toStorageError } from "../sinks/atomicFile.js"

/** One open segment file, written at explicit positions. Injectable to simulate a failing disk. */
export interface SpillFile {
  readonly write: (bytes: Uint8Array, position: number) => Promise<void>
  readonly truncate: (size: number) => Promise<void>
  readonly close: () => Promise<void>
}

/** Creates a new segment file (it must not exist). */
export type OpenSpillFile = (path: string) => Promise<SpillFile>

/** The real file system. */
export const openNodeSpillFile: OpenSpillFile = async (path) => {
  const handle = await NodeFs.open(path, "wx", 0o644)
  return {
    write: async (bytes, position) => {
      let done = 0
      while (done < bytes.length) {
        const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done)
        done += bytesWritten
      }
    },
    truncate: (size) => handle.truncate(size),
    close: () => handle.close()
  }
}

export interface SpillQueueOptions<A> {
  /** Folder of the segment files, e.g. `<dataDir>/state/spill/<source>`; created if missing. */
  readonly dir: string
  /** Items held in memory before overflow spills, counted by `weight`. */
  readonly capacity: number
  /**
   * What one item counts for against `capacity` and `maxStaged`; default 1. A frame of a thousand
   * bars can count as a thousand, so the memory bound holds whatever the frame size.
   */
  readonly weight?: (a: A) => number
  /** One line, without a newline. */
  readonly encode: (a: A) => string
  /** The inverse of `encode`; it must accept every line `encode` produced. */
  readonly decode: (line: string) => A
  /** A segment is closed and a new one started past this size. Default 64 MiB. */
  readonly segmentBytes?: number
  /** Weight staged for the writer above which `offerUnsafe` reports the disk as too slow. Default max(capacity, 65536). */
  readonly maxStaged?: number
  /** Bytes read from a segment at a time. Default 1 MiB. */
  readonly readBytes?: number
  /** After a failed write, how long the writer waits before trying again on its own. Default 1 second. */
  readonly retryAfter?: Duration.DurationInput
  /** Opens segment files for writing. Default: the real file system. */
  readonly openFile?: OpenSpillFile
}

export interface SpillQueueStats {
  /** Items in memory ready to take: the bounded buffer and the read-ahead of the spill. */
  readonly inMemory: number
  /** Items that overflowed but are not written yet (held in memory, waiting for the disk). */
  readonly staged: number
  /** Items in segment files not read yet. */
  readonly spilledPending: number
  /** Items that overflowed the memory bound since the queue was opened, counted by `weight`. */
  readonly spilledTotal: number
  /** Items found in segments at start. */
  readonly recovered: number
  /** Segment files on disk. */
  readonly segments: number
  /** Bytes of the segment files not read yet. */
  readonly spillBytes: number
  /** Whether offers go to the spill (until it is drained). */
  readonly spilling: boolean
}

export interface SpillQueue<A> {
  /**
   * Appends items in order without waiting for the consumer. When some spill, waits until they are
   * written. A `SpillError` means the items are held in memory instead (accepted: do not offer them again).
   */
  readonly offer: (items: ReadonlyArray<A>) => Effect.Effect<void, SpillError>
  /**
   * Appends items in order, synchronously. Returns a `SpillError` (items accepted and held in memory)
   * when the last spill write failed or more than `maxStaged` items wait for the disk: stop producing.
   */
  readonly offerUnsafe: (items: ReadonlyArray<A>) => SpillError | undefined
  /** Waits until everything staged so far is written (or fails with the write's error). */
  readonly flush: Effect.Effect<void, SpillError>
  /**
   * Waits for at least one item and returns up to `max` in FIFO order. After `end`, returns an empty
   * array once everything is taken.
   */
  /**
   * Up to `max` items in order, waiting until at least one is available, or at most `waitAtMost`
   * (then `[]`). With `into`, the items are also appended to it in the same atomic step that takes
   * them, so a caller interrupted right after the take still has them. Never wrap a take in
   * `Effect.timeout` or `Effect.uninterruptible`: the first discards what was taken, the second
   * makes the wait unbounded; use `waitAtMost` and `into`.
   */
  readonly takeBatch: (
    max: number,
    waitAtMost?: Duration.DurationInput,
    into?: Array<A>
  ) => Effect.Effect<ReadonlyArray<A>, StorageError>
  /** Batches until `end` and drained. */
  readonly stream: (maxBatch: number) => Stream.Stream<A, StorageError>
  /** End of input: no more offers; the consumer drains and finishes. */
  readonly end: Effect.Effect<void>
  /** Items not taken yet, in memory and on disk. */
  readonly size: () => number
  readonly stats: () => SpillQueueStats
  /** Items found in segments at start; they come out first. */
  readonly recovered: number
}

const MiB = 1024 * 1024
/** Sequence of the first segment in an empty folder; lower numbers are left for segments written at close. */
const FIRST_SEQ = 1_000_000_000
const segmentPattern = /^seg-(\d{16})\.jsonl$/
const segmentName = (seq: number): string => `seg-${String(seq).padStart(16, "0")}.jsonl`
const NEWLINE = 0x0a

/** A FIFO of chunks: push and take are O(1) amortized per item. */
class Fifo<A> {
  private chunks: Array<ReadonlyArray<A> | undefined> = []
  private head = 0
  private offset = 0
  length = 0
  /** Sum of `weigh` over the items held (their count without `weigh`). */
  weight = 0

  constructor(private readonly weigh?: (a: A) => number) {}

  private weightOf(items: ReadonlyArray<A>, from: number, to: number): number {
    const weigh = this.weigh
    if (weigh === undefined) return to - from
    let w = 0
    for (let i = from; i < to; i++) w += weigh(items[i]!)
    return w
  }

  /** Appends a copy of `items[from, to)`. */
  push(items: ReadonlyArray<A>, from: number, to: number = items.length): void {
    if (from >= to) return
    this.chunks.push(items.slice(from, to))
    this.length += to - from
    this.weight += this.weightOf(items, from, to)
  }

  takeInto(out: Array<A>, max: number): void {
    while (out.length < max && this.head < this.chunks.length) {
      const chunk = this.chunks[this.head]!
      const end = Math.min(chunk.length, this.offset + (max - out.length))
      for (let i = this.offset; i < end; i++) out.push(chunk[i]!)
      this.length -= end - this.offset
      this.weight -= this.weightOf(chunk, this.offset, end)
      if (end === chunk.length) {
        this.chunks[this.head] = undefined
        this.head++
        this.offset = 0
      } else {
        this.offset = end
      }
    }
    if (this.head === this.chunks.length) {
      this.chunks = []
      this.head = 0
      this.weight = 0
    } else if (this.head > 1024 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head)
      this.head = 0
    }
  }

  /** Removes and returns every item, as chunks. */
  takeAll(): Array<ReadonlyArray<A>> {
    const out: Array<ReadonlyArray<A>> = []
    for (let i = this.head; i < this.chunks.length; i++) {
      const chunk = this.chunks[i]!
      out.push(i === this.head && this.offset > 0 ? chunk.slice(this.offset) : chunk)
    }
    this.chunks = []
    this.head = 0
    this.offset = 0
    this.length = 0
    this.weight = 0
    return out
  }

  /** Puts chunks taken by `takeAll` back in front. */
  restore(parts: ReadonlyArray<ReadonlyArray<A>>): void {
    const rest = this.takeAll()
    for (const part of parts) this.push(part, 0)
    for (const part of rest) this.push(part, 0)
  }
}

/** A wake-up with a version, so a notification between a check and the wait is not missed. */
class Signal {
  version = 0
  private readonly waiters = new Set<() => void>()

  notify(): void {
    this.version++
    if (this.waiters.size === 0) return
    const waiting = [...this.waiters]
    this.waiters.clear()
    for (const wake of waiting) wake()
  }

  wait(seen: number): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      if (this.version !== seen) return resume(Effect.void)
      const wake = () => resume(Effect.void)
      this.waiters.add(wake)
      return Effect.sync(() => {
        this.waiters.delete(wake)
      })
    })
  }
}

/** The outcome of one write, awaited by the `offer` calls whose items it carries. */
interface Ticket {
  settled: boolean
  error: SpillError | undefined
  readonly waiters: Array<(error: SpillError | undefined) => void>
}

const newTicket = (): Ticket => ({ settled: false, error: undefined, waiters: [] })

const settle = (ticket: Ticket | undefined, error: SpillError | undefined): void => {
  if (ticket === undefined || ticket.settled) return
  ticket.settled = true
  ticket.error = error
  for (const wake of ticket.waiters) wake(error)
  ticket.waiters.length = 0
}

const awaitTicket = (ticket: Ticket): Effect.Effect<void, SpillError> =>
  Effect.async<void, SpillError>((resume) => {
    const wake = (error: SpillError | undefined) =>
      resume(error === undefined ? Effect.void : Effect.fail(error))
    if (ticket.settled) return wake(ticket.error)
    ticket.waiters.push(wake)
    return Effect.sync(() => {
      const i = ticket.waiters.indexOf(wake)
      if (i >= 0) ticket.waiters.splice(i, 1)
    })
  })

interface Segment {
  readonly seq: number
  readonly path: string
  /** Bytes of whole lines on disk. */
  bytes: number
  /** Bytes already read into memory. */
  readPos: number
}

/** Scans a segment left on disk: its whole lines (a torn last line is ignored) and their byte length. */
const scanSegment = async (file: string): Promise<{ readonly lines: number; readonly bytes: number }> => {
  const handle = await NodeFs.open(file, "r")
  try {
    const buffer = Buffer.allocUnsafe(MiB)
    let position = 0
    let lines = 0
    let bytes = 0
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position)
      if (bytesRead === 0) break
      for (let i = buffer.indexOf(NEWLINE, 0); i >= 0 && i < bytesRead; i = buffer.indexOf(NEWLINE, i + 1)) {
        lines++
        bytes = position + i + 1
      }
      position += bytesRead
    }
    return { lines, bytes }
  } finally {
    await handle.close()
  }
}

/** Why a spill write failed and what to do, as a `SpillError` carries them. */
interface SpillWhy {
  readonly detail: string
  readonly code?: string | undefined
  readonly action?: string | undefined
}

const spillWhy = (cause: unknown, file: string): SpillWhy => {
  const system = systemCauseOf(cause)
  if (system === undefined) return { detail: describeFsError(cause) }
  // The queue retries by itself: space freed while it runs is used at once.
  const action =
    system.code === "ENOSPC" || system.code === "EDQUOT"
      ? `Free space on the disk holding ${file} (or stop the feed) before memory runs out`
      : fileAction(system.code, file)
  return { detail: system.message, code: system.code, action }
}

const unlinkIfExists = async (file: string): Promise<void> => {
  try {
    await NodeFs.unlink(file)
  } catch (cause) {
    if (errorCode(cause) !== "ENOENT") throw cause
  }
}

/** Opens the queue on `dir`, recovering segments left there. Closing the scope persists what is only in memory. */
export const make = <A>(
  options: SpillQueueOptions<A>
): Effect.Effect<SpillQueue<A>, StorageError, Scope.Scope> =>
  Effect.gen(function* () {
    const { dir, capacity, encode, decode } = options
    const segmentBytes = options.segmentBytes ?? 64 * MiB
    const maxStaged = options.maxStaged ?? Math.max(capacity, 65_536)
    const readBytes = Math.max(options.readBytes ?? MiB, 64)
    const retryAfter = options.retryAfter ?? "1 second"
    const openFile = options.openFile ?? openNodeSpillFile

    const segments: Array<Segment> = []
    let nextSeq = FIRST_SEQ
    let recovered = 0

    yield* Effect.tryPromise({
      try: async () => {
        await mkdirs(dir)
        const found: Array<{ seq: number; name: string }> = []
        for (const name of await NodeFs.readdir(dir)) {
          const match = segmentPattern.exec(name)
          if (match !== null) found.push({ seq: Number(match[1]), name })
        }
        found.sort((a, b) => a.seq - b.seq)
        for (const { seq, name } of found) {
          const path = Path.join(dir, name)
          nextSeq = Math.max(nextSeq, seq + 1)
          const { lines, bytes } = await scanSegment(path)
          if (lines === 0) {
            await unlinkIfExists(path)
            continue
          }
          segments.push({ seq, path, bytes, readPos: 0 })
          recovered += lines
        }
      },
      catch: toStorageError(dir)
    })

    const weigh = options.weight
    const mem = new Fifo<A>(weigh)
    const ahead = new Fifo<A>()
    const staged = new Fifo<A>(weigh)
    const dataSignal = new Signal()
    const writerSignal = new Signal()
    let inFlight = 0
    let inFlightWeight = 0
    let diskPending = recovered
    let spilling = segments.length > 0
    let spilledTotal = 0
    let ended = false
    let closed = false
    let retryNow = false
    let failure: SpillError | undefined
    let pendingTicket: Ticket | undefined
    let inFlightTicket: Ticket | undefined
    let writing: { readonly seg: Segment; readonly file: SpillFile } | undefined
    let reading: { readonly seg: Segment; readonly handle: FileHandle } | undefined

    const currentPath = (): string => writing?.seg.path ?? Path.join(dir, segmentName(nextSeq))

    const encodeLines = (parts: ReadonlyArray<ReadonlyArray<A>>): Buffer => {
      let text = ""
      for (const part of parts) {
        for (let i = 0; i < part.length; i++) {
          const line = encode(part[i]!)
          if (line.includes("\n"))
            throw new Error(`SpillQueue encode produced a newline: ${line.slice(0, 80)}`)
          text += line + "\n"
        }
      }
      return Buffer.from(text, "utf8")
    }

    /** Appends whole lines to the current segment (opening one if needed); a failed write is cut back. */
    const appendLines = async (bytes: Uint8Array, lines: number): Promise<void> => {
      if (writing === undefined) {
        const path = Path.join(dir, segmentName(nextSeq))
        const file = await openFile(path)
        const seg: Segment = { seq: nextSeq++, path, bytes: 0, readPos: 0 }
        segments.push(seg)
        writing = { seg, file }
      }
      const { seg, file } = writing
      try {
        await file.write(bytes, seg.bytes)
      } catch (cause) {
        // A partial line would corrupt the segment: cut it; the next write starts at the same place anyway.
        await file.truncate(seg.bytes).catch(() => undefined)
        throw cause
      }
      seg.bytes += bytes.length
      diskPending += lines
      if (seg.bytes >= segmentBytes) {
        writing = undefined
        await file.close()
      }
    }

    const heldError = (why: SpillWhy): SpillError =>
      new SpillError({
        path: currentPath(),
        detail: why.detail,
        held: staged.length + inFlight,
        ...(why.code === undefined ? {} : { code: why.code }),
        ...(why.action === undefined ? {} : { action: why.action })
      })

    /** One write of everything staged. Uninterruptible so a close never cuts a write in half. */
    const writeOnce = Effect.suspend(() => {
      inFlightWeight = staged.weight
      const parts = staged.takeAll()
      let count = 0
      for (const part of parts) count += part.length
      inFlight = count
      const ticket = pendingTicket ?? newTicket()
      pendingTicket = undefined
      inFlightTicket = ticket
      const bytes = encodeLines(parts)
      return Effect.tryPromise({ try: () => appendLines(bytes, count), catch: (cause) => cause }).pipe(
        Effect.match({
          onFailure: (cause) => {
            staged.restore(parts)
            inFlight = 0
            inFlightWeight = 0
            failure = heldError(spillWhy(cause, currentPath()))
            settle(ticket, failure)
          },
          onSuccess: () => {
            inFlight = 0
            inFlightWeight = 0
            failure = undefined
            settle(ticket, undefined)
          }
        }),
        Effect.ensuring(
          Effect.sync(() => {
            inFlightTicket = undefined
            dataSignal.notify()
          })
        )
      )
    }).pipe(Effect.uninterruptible)

    const writerLoop: Effect.Effect<void> = Effect.gen(function* () {
      for (;;) {
        const seen = writerSignal.version
        if (staged.length > 0 && (failure === undefined || retryNow)) {
          retryNow = false
          yield* writeOnce
        } else if (staged.length > 0) {
          yield* Effect.raceFirst(
            writerSignal.wait(seen),
            Effect.sleep(retryAfter).pipe(
              Effect.tap(() => {
                retryNow = true
              })
            )
          )
        } else {
          yield* writerSignal.wait(seen)
        }
      }
    })
    const writer = yield* Effect.forkScoped(writerLoop)

    /** Stages or buffers items; true when some went to the spill path. */
    const accept = (items: ReadonlyArray<A>): boolean => {
      if (ended || closed) throw new Error("SpillQueue: offer after end of input or close")
      const n = items.length
      if (n === 0) return false
      let from = 0
      if (!spilling) {
        // How many of the items fit under the bound (one always does when memory is empty, so an
        // item heavier than the whole capacity does not spill on an idle queue).
        let fit = 0
        let w = mem.weight
        while (fit < n) {
          const next = weigh === undefined ? 1 : weigh(items[fit]!)
          if (w + next > capacity && !(fit === 0 && mem.length === 0)) break
          w += next
          fit++
        }
        if (fit === n) {
          mem.push(items, 0)
          dataSignal.notify()
          return false
        }
        if (fit > 0) {
          mem.push(items, 0, fit)
          from = fit
        }
        spilling = true
      }
      const before = staged.weight
      staged.push(items, from)
      spilledTotal += staged.weight - before
      dataSignal.notify()
      if (failure === undefined) writerSignal.notify()
      return true
    }

    const offerUnsafe = (items: ReadonlyArray<A>): SpillError | undefined => {
      if (!accept(items)) return undefined
      if (failure !== undefined) return heldError(failure)
      const waiting = staged.weight + inFlightWeight
      if (waiting > maxStaged) {
        return heldError({
          detail: `the disk is slower than the feed: ${waiting} ${weigh === undefined ? "items" : "units"} wait to be written, over the limit of ${maxStaged}`
        })
      }
      return undefined
    }

    const waitForStaged = (): Effect.Effect<void, SpillError> => {
      const ticket = (pendingTicket ??= newTicket())
      retryNow = true
      writerSignal.notify()
      return awaitTicket(ticket)
    }

    const offer = (items: ReadonlyArray<A>): Effect.Effect<void, SpillError> =>
      Effect.suspend(() => (accept(items) ? waitForStaged() : Effect.void))

    const flush: Effect.Effect<void, SpillError> = Effect.suspend(() => {
      if (staged.length > 0) return waitForStaged()
      if (inFlightTicket !== undefined) return awaitTicket(inFlightTicket)
      return Effect.void
    })

    /** Reads the next whole lines of the oldest unread segment into the read-ahead. */
    const readMore = async (): Promise<void> => {
      const seg = segments.find((s) => s.readPos < s.bytes)
      if (seg === undefined) return
      if (reading?.seg !== seg) {
        const previous = reading
        reading = undefined
        await previous?.handle.close()
        reading = { seg, handle: await NodeFs.open(seg.path, "r") }
      }
      const { handle } = reading
      let size = Math.min(readBytes, seg.bytes - seg.readPos)
      for (;;) {
        const buffer = Buffer.allocUnsafe(size)
        let got = 0
        while (got < size) {
          const { bytesRead } = await handle.read(buffer, got, size - got, seg.readPos + got)
          if (bytesRead === 0)
            throw Object.assign(new Error("segment is shorter than written"), { path: seg.path })
          got += bytesRead
        }
        const last = buffer.lastIndexOf(NEWLINE)
        if (last < 0) {
          // One line longer than the read size: read more of it.
          size = Math.min(size * 2, seg.bytes - seg.readPos)
          continue
        }
        const lines = buffer.toString("utf8", 0, last).split("\n")
        const items: Array<A> = new Array(lines.length)
        for (let i = 0; i < lines.length; i++) items[i] = decode(lines[i]!)
        ahead.push(items, 0)
        seg.readPos += last + 1
        diskPending -= lines.length
        return
      }
    }

    const fullyRead = (seg: Segment): boolean => seg.readPos >= seg.bytes

    const needsCleanup = (): boolean => {
      if (ahead.length > 0) return false
      const first = segments[0]
      if (first !== undefined && fullyRead(first) && writing?.seg !== first) return true
      return (
        spilling && staged.length === 0 && inFlight === 0 && diskPending === 0 && segments.every(fullyRead)
      )
    }

    /** Deletes segments whose items were all taken; ends the spill when nothing is left in it. */
    const cleanup = async (): Promise<void> => {
      for (;;) {
        const first = segments[0]
        if (ahead.length > 0 || first === undefined || !fullyRead(first) || writing?.seg === first) break
        segments.shift()
        if (reading?.seg === first) {
          const { handle } = reading
          reading = undefined
          await handle.close()
        }
        await unlinkIfExists(first.path)
      }
      if (
        spilling &&
        ahead.length === 0 &&
        staged.length === 0 &&
        inFlight === 0 &&
        diskPending === 0 &&
        segments.every(fullyRead)
      ) {
        spilling = false
        const done = segments.splice(0)
        const w = writing
        const r = reading
        writing = undefined
        reading = undefined
        await w?.file.close()
        await r?.handle.close()
        for (const seg of done) await unlinkIfExists(seg.path)
      }
    }

    const lock = yield* Effect.makeSemaphore(1)

    // Uninterruptible except while waiting for data (when nothing has been taken yet): once items
    // are moved out of the queue they must reach the caller, even if a timeout or a shutdown
    // interrupts the take right then.
    const takeBatch = (
      max: number,
      waitAtMost?: Duration.DurationInput,
      into?: Array<A>
    ): Effect.Effect<ReadonlyArray<A>, StorageError> =>
      lock.withPermits(1)(
        Effect.uninterruptibleMask((restore) =>
          Effect.gen(function* () {
            const limit = Math.max(1, Math.floor(max))
            const deadline =
              waitAtMost === undefined
                ? undefined
                : (yield* Clock.currentTimeMillis) + Duration.toMillis(waitAtMost)
            for (;;) {
              const seen = dataSignal.version
              const out: Array<A> = []
              mem.takeInto(out, limit)
              if (out.length < limit) ahead.takeInto(out, limit)
              if (
                out.length < limit &&
                staged.length > 0 &&
                ahead.length === 0 &&
                diskPending === 0 &&
                inFlight === 0
              ) {
                // The disk part is drained and nothing is being written: the staged tail is next in order.
                staged.takeInto(out, limit)
                if (staged.length === 0) {
                  settle(pendingTicket, undefined)
                  pendingTicket = undefined
                }
              }
              if (needsCleanup()) {
                const path = segments[0]?.path ?? dir
                // Uninterruptible: an abandoned promise would go on changing the state under the next take.
                yield* Effect.uninterruptible(
                  Effect.tryPromise({ try: cleanup, catch: toStorageError(path) })
                )
              }
              if (out.length > 0) {
                if (into !== undefined) for (const item of out) into.push(item)
                return out
              }
              if (diskPending > 0) {
                const path = segments.find((s) => !fullyRead(s))?.path ?? dir
                yield* Effect.uninterruptible(
                  Effect.tryPromise({ try: readMore, catch: toStorageError(path) })
                )
                continue
              }
              if (ended && size() === 0) return out
              if (deadline === undefined) {
                yield* restore(dataSignal.wait(seen))
                continue
              }
              const remaining = deadline - (yield* Clock.currentTimeMillis)
              if (remaining <= 0) return out
              // Only the wait is bounded: nothing has been taken in this round yet.
              yield* restore(dataSignal.wait(seen).pipe(Effect.timeoutOption(remaining)))
            }
          })
        )
      )

    const size = (): number => mem.length + ahead.length + staged.length + inFlight + diskPending

    const stream = (maxBatch: number): Stream.Stream<A, StorageError> =>
      Stream.repeatEffectChunkOption(
        takeBatch(maxBatch).pipe(
          Effect.mapError(Option.some),
          Effect.flatMap((batch) =>
            batch.length === 0 ? Effect.fail(Option.none()) : Effect.succeed(Chunk.unsafeFromArray(batch))
          )
        )
      )

    const end = Effect.sync(() => {
      ended = true
      dataSignal.notify()
    })

    /** On close: staged items go to the tail, the in-memory buffer to a segment before all others. */
    const persistOnClose = async (): Promise<void> => {
      try {
        if (staged.length > 0) {
          const parts = staged.takeAll()
          let count = 0
          for (const part of parts) count += part.length
          await appendLines(encodeLines(parts), count)
        }
        if (mem.length > 0) {
          const parts = mem.takeAll()
          const seq = (segments[0]?.seq ?? nextSeq) - 1
          const file = await openFile(Path.join(dir, segmentName(seq)))
          try {
            await file.write(encodeLines(parts), 0)
          } finally {
            await file.close()
          }
        }
      } finally {
        const w = writing
        const r = reading
        writing = undefined
        reading = undefined
        await w?.file.close().catch(() => undefined)
        await r?.handle.close().catch(() => undefined)
      }
    }

    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        closed = true
        yield* Fiber.interrupt(writer)
        const inMemory = mem.length + staged.length
        yield* Effect.tryPromise({ try: persistOnClose, catch: (cause) => cause }).pipe(
          Effect.catchAll((cause) =>
            Effect.logWarning(
              `SpillQueue ${dir}: could not write ${inMemory} in-memory items to the spill at close: ${describeFsError(cause)}`
            )
          )
        )
      })
    )

    const queue: SpillQueue<A> = {
      offer,
      offerUnsafe,
      flush,
      takeBatch,
      stream,
      end,
      size,
      stats: () => ({
        inMemory: mem.length + ahead.length,
        staged: staged.length + inFlight,
        spilledPending: diskPending,
        spilledTotal,
        recovered,
        segments: segments.length,
        spillBytes: segments.reduce((n, s) => n + s.bytes - s.readPos, 0),
        spilling
      }),
      recovered
    }
    return queue
  })
