/**
 * Part files and compaction of a Parquet partition.
 *
 * A partition folder `lake/<dataset>/date=YYYY-MM-DD/` holds a base file `part-0000.parquet`
 * (written by backfill, `replace`/`upsert` and compaction) and, while the day is streamed, part
 * files `part-<seq>.parquet` (seq ≥ 1, zero-padded to 6 digits, one per `append`). The content
 * of a partition is its files in order — the base, then the parts by increasing seq —
 * deduplicated by key, the last write winning. `compact` folds them into one new base.
 *
 * Crash safety of a rewrite that retires part files (compaction, and `replace`/`upsert` on a
 * partition that has parts):
 *   1. the new base is encoded and its sha256 computed;
 *   2. the intent `.compaction.json` — the parts to retire and the sha256 of the new base (null
 *      when the partition becomes empty) — is written atomically (temp, fsync, rename);
 *   3. the new base is renamed into place (or the old base deleted when the partition empties);
 *   4. the listed parts are deleted and the folder fsynced;
 *   5. the intent is deleted.
 * A crash leaves the intent behind. Recovery (`recoverPartition`, run by every writer before it
 * touches the partition) compares the base with it: the base is the new one, so step 3 happened
 * → delete the listed parts, then the intent (roll forward); otherwise step 3 never happened →
 * delete the intent, the parts still hold their rows (roll back). `readPartition` honours a
 * pending intent the same way without changing anything. Temporaries and the intent never end
 * in `.parquet`, so readers globbing `*.parquet` never see them.
 *
 * One process writes a given partition at a time (the stream, or a backfill/compaction run);
 * inside a process every writer of a partition takes the same lock.
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect, Either, Schema } from "effect"
import type { ParquetCompression } from "../config/AppConfig.js"
import { compareByKey, type Dataset } from "../domain/Dataset.js"
import { SinkError, StorageError } from "../domain/errors.js"
import {
  errorCode,
  fsyncDir,
  makeDir,
  readdirOrEmpty,
  readFileIfExists,
  removeFileAndEmptyDir,
  removeStaleTemps,
  toStorageError,
  writeFileAtomic
} from "./atomicFile.js"
import {
  decodeColumns,
  decodeParquet,
  type EncodeOptions,
  encodeColumns,
  encodeParquet,
  loadCompression,
  ParquetCodecError,
  stringColumnWithin
} from "./parquetCodec.js"
import { type ColumnarRows, columnsFromRows } from "./parquetColumns.js"
import {
  BASE_FILE,
  INTENT_FILE,
  isPartFileName,
  partFileName,
  partitionDir,
  partSeq,
  STAGED_FILE
} from "./partitionLayout.js"

export interface CompactOptions {
  readonly dataDir: string
  readonly compression: ParquetCompression
  /** Rows per row group. */
  readonly rowGroupSize: number
}

export interface CompactResult {
  /** Rows of the partition afterwards. */
  readonly rows: number
  /** Rows dropped because a later write had the same key. */
  readonly duplicatesRemoved: number
  /** Part files folded into the base (0: the partition was already compacted, nothing written). */
  readonly partsMerged: number
  /** The base file, relative to the data dir; absent when the partition is empty. */
  readonly file?: string
  readonly bytes?: number
  readonly sha256?: string
}

/** What `recoverPartition` found and did. */
export interface Recovery {
  /** `none`: no intent; `completed`: the rename had happened, parts deleted; `rolledBack`: it had not. */
  readonly action: "none" | "completed" | "rolledBack"
  /** Part files deleted (completed). */
  readonly removedParts: ReadonlyArray<string>
}

export const SINK_NAME = "parquet"
export {
  BASE_FILE,
  INTENT_FILE,
  isPartFileName,
  partFileName,
  partitionDir,
  partitionFile,
  STAGED_FILE
} from "./partitionLayout.js"

const datePattern = /^\d{4}-\d{2}-\d{2}$/
const namePattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/

const sha256Of = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")

// --- merging -----------------------------------------------------------------------------

/**
 * Merges runs of rows written in this order: sorted by key, and of rows with equal keys only the
 * last (of the latest run) is kept. Runs are normally sorted already, so the stable sort only
 * merges them.
 */
export const mergeRuns = <A>(dataset: Dataset<A>, runs: ReadonlyArray<ReadonlyArray<A>>): Array<A> => {
  const compare = compareByKey(dataset)
  // A loop, not `concat(...runs)`: a streamed day can have more parts than a call has arguments.
  const all: Array<A> = []
  for (const run of runs) for (let i = 0; i < run.length; i++) all.push(run[i]!)
  // The usual case (one sorted, deduplicated run into an empty partition): nothing to sort or drop.
  let increasing = true
  for (let i = 1; i < all.length && increasing; i++) increasing = compare(all[i - 1]!, all[i]!) < 0
  if (increasing) return all
  // Stable: among equal keys, rows keep their write order.
  all.sort(compare)
  const out: Array<A> = []
  for (let i = 0; i < all.length; i++) {
    const row = all[i]!
    const next = all[i + 1]
    if (next !== undefined && compare(row, next) === 0) continue
    out.push(row)
  }
  return out
}

// --- per-partition state -----------------------------------------------------------------

interface PartitionState {
  readonly lock: Effect.Semaphore
  /** The next part seq; undefined until the folder was scanned once. */
  nextSeq: number | undefined
  /** Temporaries left by a crashed process were removed. */
  swept: boolean
  /** The folder was made (or found) by an append of this process: the next appends skip the mkdir. */
  made: boolean
}

// Shared by every sink and compaction of this process, keyed by absolute partition folder.
const states = new Map<string, PartitionState>()

const stateOf = (dir: string): PartitionState => {
  let state = states.get(dir)
  if (state === undefined) {
    state = { lock: Effect.unsafeMakeSemaphore(1), nextSeq: undefined, swept: false, made: false }
    states.set(dir, state)
  }
  return state
}

/** Runs `effect` holding the process-wide lock of the partition folder `dir` (absolute). */
export const withPartitionLock = <A, E, R>(
  dir: string,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => stateOf(dir).lock.withPermits(1)(effect)

/** A validated partition: where it lives and how its errors read. */
export interface Partition<A> {
  readonly dataset: Dataset<A>
  readonly date: string
  /** Absolute partition folder. */
  readonly dir: string
  /** The partition folder relative to the data dir. */
  readonly relativeDir: string
  readonly fail: (detail: string) => SinkError
  readonly storage: (error: StorageError) => SinkError
}

/** Validates the date and dataset name (before anything touches the disk). */
export const partitionOf = <A>(
  dataDir: string,
  dataset: Dataset<A>,
  date: string,
  subPartition?: string
): Effect.Effect<Partition<A>, SinkError> => {
  const column = dataset.subPartition
  const sub = column === undefined || subPartition === undefined ? undefined : { column, value: subPartition }
  const fail = (detail: string) =>
    new SinkError({
      sink: SINK_NAME,
      dataset: dataset.name,
      partition: sub === undefined ? `date=${date}` : `date=${date}/${sub.column}=${sub.value}`,
      detail
    })
  if (!datePattern.test(date)) return Effect.fail(fail(`partition date ${date} is not YYYY-MM-DD`))
  if (!namePattern.test(dataset.name))
    return Effect.fail(fail(`dataset name ${dataset.name} is not a folder name`))
  // A dataset with a second partition column writes below it only (never a whole date at once).
  if ((column === undefined) !== (subPartition === undefined))
    return Effect.fail(
      fail(
        column === undefined
          ? `${dataset.name} has no second partition column, yet a write names one (${subPartition})`
          : `${dataset.name} is partitioned by date and ${column}, and the write names no ${column}`
      )
    )
  if (sub !== undefined && !namePattern.test(sub.value))
    return Effect.fail(fail(`${sub.column} ${JSON.stringify(sub.value)} is not a folder name`))
  const relativeDir = partitionDir(dataset.name, date, sub)
  return Effect.succeed({
    dataset,
    date,
    dir: path.join(path.resolve(dataDir), relativeDir),
    relativeDir,
    fail,
    storage: (e: StorageError) => fail(e.reason)
  })
}

// --- files -------------------------------------------------------------------------------

/** The files of a partition folder: whether the base exists, and the parts in write order. */
export interface Listing {
  readonly base: boolean
  readonly parts: ReadonlyArray<string>
  /** Highest part seq present (0 when none). */
  readonly maxSeq: number
}

const emptyListing: Listing = { base: false, parts: [], maxSeq: 0 }

/** Lists a partition folder (a missing folder is an empty partition). */
export const listPartition = (dir: string): Effect.Effect<Listing, StorageError> =>
  Effect.tryPromise({
    try: async (): Promise<Listing> => {
      let names: Array<string>
      try {
        names = await fs.readdir(dir)
      } catch (cause) {
        if (errorCode(cause) === "ENOENT") return emptyListing
        throw cause
      }
      let base = false
      const parts: Array<{ readonly name: string; readonly seq: number }> = []
      for (const name of names) {
        if (name === BASE_FILE) {
          base = true
          continue
        }
        const seq = partSeq(name)
        if (seq !== undefined) parts.push({ name, seq })
      }
      parts.sort((a, b) => a.seq - b.seq || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      const last = parts[parts.length - 1]
      return {
        base,
        parts: parts.map((p) => p.name),
        maxSeq: last === undefined || !Number.isSafeInteger(last.seq) ? 0 : last.seq
      }
    },
    catch: toStorageError(dir)
  })

/** Deletes `names` in `dir` (missing ones are fine), then fsyncs the folder once. */
const deleteFiles = (dir: string, names: ReadonlyArray<string>): Effect.Effect<void, StorageError> =>
  Effect.tryPromise({
    try: async () => {
      const unlink = (name: string) =>
        fs.unlink(path.join(dir, name)).catch((cause: unknown) => {
          if (errorCode(cause) !== "ENOENT") throw cause
        })
      for (let i = 0; i < names.length; i += 32) await Promise.all(names.slice(i, i + 32).map(unlink))
      await fsyncDir(dir)
    },
    catch: toStorageError(dir)
  })

// --- the intent --------------------------------------------------------------------------

const PartName = Schema.String.pipe(Schema.filter((name) => isPartFileName(name)))

const Intent = Schema.Struct({
  version: Schema.Literal(1),
  base: Schema.Literal(BASE_FILE),
  /** sha256 of the new base; null when the partition becomes empty (no base). */
  sha256: Schema.NullOr(Schema.String),
  /** Part files the new base replaces. */
  parts: Schema.Array(PartName)
})
type Intent = typeof Intent.Type

const decodeIntent = Schema.decodeUnknownEither(Schema.parseJson(Intent))

const readIntent = (dir: string): Effect.Effect<Intent | undefined, StorageError> => {
  const file = path.join(dir, INTENT_FILE)
  return Effect.flatMap(readFileIfExists(file), (bytes) => {
    if (bytes === undefined) return Effect.succeed(undefined)
    const decoded = decodeIntent(Buffer.from(bytes).toString("utf8"))
    return Either.isRight(decoded)
      ? Effect.succeed(decoded.right)
      : Effect.fail(
          new StorageError({
            path: file,
            detail:
              "the compaction intent is not readable; check which part files the base already holds, then delete the intent"
          })
        )
  })
}

/** True when the base on disk (`base`, undefined when absent) is the one the intent announced. */
const baseIsNew = (intent: Intent, base: Uint8Array | undefined): boolean =>
  intent.sha256 === null ? base === undefined : base !== undefined && sha256Of(base) === intent.sha256

const recoverUnlocked = (dir: string): Effect.Effect<Recovery, StorageError> =>
  Effect.gen(function* () {
    const intent = yield* readIntent(dir)
    if (intent === undefined) return { action: "none", removedParts: [] } satisfies Recovery
    const base = yield* readFileIfExists(path.join(dir, BASE_FILE))
    const intentFile = path.join(dir, INTENT_FILE)
    if (baseIsNew(intent, base)) {
      yield* deleteFiles(dir, intent.parts)
      yield* removeFileAndEmptyDir(intentFile)
      return { action: "completed", removedParts: intent.parts } satisfies Recovery
    }
    yield* removeFileAndEmptyDir(intentFile)
    return { action: "rolledBack", removedParts: [] } satisfies Recovery
  })

/**
 * Removes stale temporaries (`everyTime`, or once per process and partition: the hot append path)
 * and recovers a pending intent. Call under the lock, before anything else touches the partition.
 */
export const prepare = (dir: string, everyTime: boolean): Effect.Effect<Recovery, StorageError> =>
  Effect.gen(function* () {
    const state = stateOf(dir)
    if (everyTime || !state.swept) {
      yield* removeStaleTemps(dir)
      state.swept = true
    }
    return yield* recoverUnlocked(dir)
  })

/**
 * Completes or undoes an interrupted compaction of the partition folder `dir`: when its intent
 * names the base on disk, the listed parts are deleted; otherwise the intent is dropped. Also
 * removes temporaries of crashed writes. A folder without an intent is left as it is.
 */
export const recoverPartition = (dir: string): Effect.Effect<Recovery, StorageError> => {
  const absolute = path.resolve(dir)
  return withPartitionLock(
    absolute,
    Effect.gen(function* () {
      yield* removeStaleTemps(absolute)
      stateOf(absolute).swept = true
      return yield* recoverUnlocked(absolute)
    })
  )
}

// --- reading and rewriting ---------------------------------------------------------------

const decodeFile = <A>(partition: Partition<A>, file: string, bytes: Uint8Array) =>
  Effect.tryPromise({
    try: () => decodeParquet(partition.dataset, bytes),
    catch: (cause) =>
      partition.fail(
        `existing file ${file} cannot be read (${cause instanceof ParquetCodecError ? cause.detail : String(cause)}); move it aside to rewrite the partition`
      )
  })

const readFile = <A>(partition: Partition<A>, name: string) =>
  Effect.gen(function* () {
    const file = path.join(partition.dir, name)
    const bytes = yield* readFileIfExists(file).pipe(Effect.mapError(partition.storage))
    if (bytes === undefined)
      return yield* partition.fail(`file ${file} disappeared while reading the partition`)
    return yield* decodeFile(partition, file, bytes)
  })

/** The rows of each file, in write order (base first). */
const readRuns = <A>(
  partition: Partition<A>,
  listing: Listing
): Effect.Effect<Array<ReadonlyArray<A>>, SinkError> =>
  // Results keep the files' order; reading several at once pays on slow disks.
  Effect.forEach(
    listing.base ? [BASE_FILE, ...listing.parts] : listing.parts,
    (name) => readFile(partition, name),
    {
      concurrency: 8
    }
  )

const countRows = <A>(runs: ReadonlyArray<ReadonlyArray<A>>): number =>
  runs.reduce((n, run) => n + run.length, 0)

/** The partition's rows, deduplicated across files; call under the lock after `prepare`. */
export const readMerged = <A>(
  partition: Partition<A>,
  listing: Listing
): Effect.Effect<{ readonly rows: ReadonlyArray<A>; readonly read: number }, SinkError> =>
  Effect.map(readRuns(partition, listing), (runs) => ({
    // The base alone is sorted and deduplicated already.
    rows: listing.parts.length === 0 ? (runs[0] ?? []) : mergeRuns(partition.dataset, runs),
    read: countRows(runs)
  }))

/**
 * True when every row of every file of the partition belongs to an instrument of `scope`, so that
 * a `replace` of `scope` keeps none of them and the files need not be decoded. Reads only the
 * instrument column; false (decode and filter as usual) for a list instrument column or when a
 * file cannot be read that way. Call under the lock after `prepare`.
 */
export const coveredBy = <A>(
  partition: Partition<A>,
  listing: Listing,
  scope: ReadonlySet<string>
): Effect.Effect<boolean, SinkError> =>
  Effect.gen(function* () {
    const dataset = partition.dataset
    const instrument = dataset.columns.find((c) => c.name === dataset.instrument)
    if (instrument?.type !== "string") return false
    for (const name of listing.base ? [BASE_FILE, ...listing.parts] : listing.parts) {
      const bytes = yield* readFileIfExists(path.join(partition.dir, name)).pipe(
        Effect.mapError(partition.storage)
      )
      if (bytes === undefined) return false
      const within = yield* Effect.promise(() =>
        stringColumnWithin(bytes, instrument.name, scope).catch(() => false)
      )
      if (!within) return false
    }
    return true
  })

/** What a rewrite writes: rows in key order, or the same rows held as columns. */
export type Content<A> = ReadonlyArray<A> | ColumnarRows

const encodeContent = <A>(partition: Partition<A>, options: EncodeOptions, content: Content<A>) =>
  Effect.try({
    try: () =>
      "columns" in content
        ? encodeColumns(partition.dataset, content, options)
        : encodeParquet(partition.dataset, content, options),
    catch: (cause) =>
      partition.fail(
        `cannot encode rows: ${cause instanceof ParquetCodecError ? cause.detail : String(cause)}`
      )
  })

export interface Written {
  readonly bytes: number
  readonly sha256: string
}

/**
 * Makes `rows` the whole content of the partition: the new base, and `retired` parts deleted.
 * With parts to retire, the intent protocol (module header) keeps it crash safe. Returns the size
 * and hash of the base, or undefined when `rows` is empty and the partition is gone.
 */
export const writeBase = <A>(
  partition: Partition<A>,
  options: EncodeOptions,
  rows: Content<A>,
  retired: ReadonlyArray<string>
): Effect.Effect<Written | undefined, SinkError> =>
  Effect.gen(function* () {
    const baseFile = path.join(partition.dir, BASE_FILE)
    const bytes = rows.length === 0 ? undefined : yield* encodeContent(partition, options, rows)
    const sha256 = bytes === undefined ? null : sha256Of(bytes)

    const steps = Effect.gen(function* () {
      if (retired.length === 0) {
        if (bytes === undefined) {
          yield* removeFileAndEmptyDir(baseFile)
          return
        }
        yield* makeDir(partition.dir)
        yield* writeFileAtomic(baseFile, bytes)
        return
      }
      const intentFile = path.join(partition.dir, INTENT_FILE)
      const intent: Intent = { version: 1, base: BASE_FILE, sha256, parts: retired }
      yield* writeFileAtomic(intentFile, new TextEncoder().encode(JSON.stringify(intent)))
      if (bytes === undefined) yield* deleteFiles(partition.dir, [BASE_FILE])
      else yield* writeFileAtomic(baseFile, bytes)
      yield* deleteFiles(partition.dir, retired)
      yield* removeFileAndEmptyDir(intentFile)
    })
    yield* steps.pipe(Effect.mapError(partition.storage))
    return bytes === undefined || sha256 === null ? undefined : { bytes: bytes.byteLength, sha256 }
  })

// --- staged rewrites ---------------------------------------------------------------------

/**
 * A staged base (`STAGED_FILE`, `part-0000.parquet.staged`): the partition's next base written in full (atomic,
 * fsynced) but invisible to readers (not `*.parquet`) and to `listPartition`. An empty file stands
 * for "the partition becomes empty". `publishStaged` makes it the base; `recoverStaged` resolves
 * one left by a crash, from what the checkpoints recorded.
 */

/** sha256 of the empty staged file, the "partition becomes empty" marker. */
export const EMPTY_SHA256 = sha256Of(new Uint8Array(0))

/** Writes `rows` as the staged base of the partition; returns its size and hash (empty rows: the marker). */
export const stageBase = <A>(
  partition: Partition<A>,
  options: EncodeOptions,
  rows: Content<A>
): Effect.Effect<Written, SinkError> =>
  Effect.gen(function* () {
    const bytes = rows.length === 0 ? new Uint8Array(0) : yield* encodeContent(partition, options, rows)
    yield* makeDir(partition.dir).pipe(
      Effect.zipRight(writeFileAtomic(path.join(partition.dir, STAGED_FILE), bytes)),
      Effect.mapError(partition.storage)
    )
    return { bytes: bytes.byteLength, sha256: sha256Of(bytes) }
  })

/**
 * Makes the staged base the partition's base and deletes the `retired` parts it holds, under the
 * partition lock. With parts to retire the compaction intent keeps it crash safe (module header);
 * an empty staged file removes the base instead.
 */
export const publishStaged = <A>(
  partition: Partition<A>,
  written: Written,
  retired: ReadonlyArray<string>
): Effect.Effect<void, SinkError> =>
  withPartitionLock(
    partition.dir,
    Effect.gen(function* () {
      const staged = path.join(partition.dir, STAGED_FILE)
      const baseFile = path.join(partition.dir, BASE_FILE)
      const empty = written.bytes === 0
      // The staged file becomes the base; the empty marker removes the base (and a folder left empty).
      const swap = empty
        ? Effect.tryPromise({
            try: () => fs.rm(staged, { force: true }),
            catch: toStorageError(staged)
          }).pipe(Effect.zipRight(removeFileAndEmptyDir(baseFile)))
        : Effect.tryPromise({
            try: async () => {
              await fs.rename(staged, baseFile)
              await fsyncDir(partition.dir)
            },
            catch: toStorageError(staged)
          })
      const steps = Effect.gen(function* () {
        if (retired.length === 0) {
          yield* swap
          return
        }
        const intentFile = path.join(partition.dir, INTENT_FILE)
        const intent: Intent = {
          version: 1,
          base: BASE_FILE,
          sha256: empty ? null : written.sha256,
          parts: retired
        }
        yield* writeFileAtomic(intentFile, new TextEncoder().encode(JSON.stringify(intent)))
        yield* swap
        yield* deleteFiles(partition.dir, retired)
        yield* removeFileAndEmptyDir(intentFile)
      })
      yield* steps.pipe(Effect.mapError(partition.storage))
    })
  )

/** What `recoverStaged` found for one partition. */
export interface StagedRecovery {
  readonly date: string
  readonly subPartition?: string
  readonly action: "published" | "discarded"
}

/**
 * Every staged base of `dataset` left by a crash: published when `committed(date)` names its hash
 * (the checkpoint was recorded, the rename did not happen), deleted otherwise (the checkpoint
 * never was). Runs before a writer touches the dataset.
 */
export const recoverStaged = <A>(
  dataDir: string,
  dataset: Dataset<A>,
  committed: (
    date: string,
    subPartition?: string
  ) => { readonly sha256: string; readonly retired?: ReadonlyArray<string> } | undefined
): Effect.Effect<ReadonlyArray<StagedRecovery>, SinkError> =>
  Effect.gen(function* () {
    const root = path.join(path.resolve(dataDir), "lake", dataset.name)
    const column = dataset.subPartition
    const dates = yield* Effect.tryPromise({
      try: async () => {
        const list = readdirOrEmpty
        const staged = (dir: string) =>
          fs.access(path.join(dir, STAGED_FILE)).then(
            () => true,
            () => false
          )
        const found: Array<{ date: string; sub?: string }> = []
        for (const name of (await list(root)).sort()) {
          if (!name.startsWith("date=")) continue
          const date = name.slice("date=".length)
          if (column === undefined) {
            if (await staged(path.join(root, name))) found.push({ date })
            continue
          }
          const prefix = `${column}=`
          for (const subName of (await list(path.join(root, name))).sort())
            if (subName.startsWith(prefix) && (await staged(path.join(root, name, subName))))
              found.push({ date, sub: subName.slice(prefix.length) })
        }
        return found
      },
      catch: (cause) =>
        new SinkError({
          sink: SINK_NAME,
          dataset: dataset.name,
          partition: "*",
          detail: `cannot list ${root}: ${String(cause)}`
        })
    })
    const out: Array<StagedRecovery> = []
    for (const { date, sub } of dates) {
      const partition = yield* partitionOf(dataDir, dataset, date, sub)
      const staged = path.join(partition.dir, STAGED_FILE)
      const bytes = yield* readFileIfExists(staged).pipe(Effect.mapError(partition.storage))
      if (bytes === undefined) continue
      const entry = committed(date, sub)
      const sha256 = sha256Of(bytes)
      const where = sub === undefined ? { date } : { date, subPartition: sub }
      if (entry !== undefined && entry.sha256 === sha256) {
        yield* publishStaged(partition, { bytes: bytes.byteLength, sha256 }, entry.retired ?? [])
        out.push({ ...where, action: "published" })
      } else {
        yield* withPartitionLock(partition.dir, removeFileAndEmptyDir(staged)).pipe(
          Effect.mapError(partition.storage)
        )
        out.push({ ...where, action: "discarded" })
      }
    }
    return out
  })

const compactLocked = <A>(
  partition: Partition<A>,
  options: EncodeOptions
): Effect.Effect<CompactResult, SinkError> =>
  Effect.gen(function* () {
    yield* prepare(partition.dir, true).pipe(Effect.mapError(partition.storage))
    const listing = yield* listPartition(partition.dir).pipe(Effect.mapError(partition.storage))
    const file = path.join(partition.relativeDir, BASE_FILE)
    if (listing.parts.length === 0) {
      // Already compacted: report the base as it is, write nothing.
      if (!listing.base) return { rows: 0, duplicatesRemoved: 0, partsMerged: 0 } satisfies CompactResult
      const absolute = path.join(partition.dir, BASE_FILE)
      const bytes = yield* readFileIfExists(absolute).pipe(Effect.mapError(partition.storage))
      if (bytes === undefined)
        return { rows: 0, duplicatesRemoved: 0, partsMerged: 0 } satisfies CompactResult
      const rows = yield* decodeFile(partition, absolute, bytes)
      return {
        rows: rows.length,
        duplicatesRemoved: 0,
        partsMerged: 0,
        file,
        bytes: bytes.byteLength,
        sha256: sha256Of(bytes)
      } satisfies CompactResult
    }
    const merged = yield* readMerged(partition, listing)
    const written = yield* writeBase(partition, options, merged.rows, listing.parts)
    const counts = {
      rows: merged.rows.length,
      duplicatesRemoved: merged.read - merged.rows.length,
      partsMerged: listing.parts.length
    }
    return written === undefined ? counts : { ...counts, file, ...written }
  })

/**
 * Compacts one partition: the base and every part file, in write order, deduplicated by key
 * (last write wins) and sorted by key, into one new `part-0000.parquet`; the merged parts are
 * then deleted. Crash safe (module header). A partition without part files is left untouched.
 */
export const compact = Effect.fn("compact")(function* <A>(
  options: CompactOptions,
  dataset: Dataset<A>,
  date: string
) {
  const partition = yield* partitionOf(options.dataDir, dataset, date)
  yield* Effect.tryPromise({
    try: () => loadCompression(options.compression),
    catch: (cause) =>
      partition.fail(
        `${options.compression} compression is unavailable (${cause instanceof Error ? cause.message : String(cause)}); set parquet compression to snappy`
      )
  })
  const encodeOptions: EncodeOptions = {
    compression: options.compression,
    rowGroupSize: options.rowGroupSize
  }
  return yield* withPartitionLock(partition.dir, compactLocked(partition, encodeOptions))
})

/**
 * The rows of a partition as readers should see them: every file in write order, deduplicated by
 * key (last write wins), sorted by key. An interrupted compaction is honoured without repairing it
 * (parts the new base already holds are skipped). Not for the hot path: it loads the whole day.
 */
export const readPartition = <A>(
  dataDir: string,
  dataset: Dataset<A>,
  date: string
): Effect.Effect<ReadonlyArray<A>, SinkError> =>
  Effect.gen(function* () {
    const partition = yield* partitionOf(dataDir, dataset, date)
    return yield* withPartitionLock(
      partition.dir,
      Effect.gen(function* () {
        const listing = yield* listPartition(partition.dir).pipe(Effect.mapError(partition.storage))
        const intent = yield* readIntent(partition.dir).pipe(Effect.mapError(partition.storage))
        if (intent === undefined) return (yield* readMerged(partition, listing)).rows
        const base = yield* readFileIfExists(path.join(partition.dir, BASE_FILE)).pipe(
          Effect.mapError(partition.storage)
        )
        const retired = new Set(baseIsNew(intent, base) ? intent.parts : [])
        const live: Listing = { ...listing, parts: listing.parts.filter((name) => !retired.has(name)) }
        return (yield* readMerged(partition, live)).rows
      })
    )
  }).pipe(Effect.withSpan("readPartition", { attributes: { dataset: dataset.name, date } }))

/**
 * `readPartition` as columns (`ColumnarRows` in `dataset.columns` order): a partition that is one
 * base file (a backfilled day) is decoded straight into columns, without row objects; one with
 * part files goes through `readPartition` (merged by key), then into columns.
 */
export const readPartitionColumns = <A>(
  dataDir: string,
  dataset: Dataset<A>,
  date: string
): Effect.Effect<ColumnarRows, SinkError> =>
  Effect.gen(function* () {
    const partition = yield* partitionOf(dataDir, dataset, date)
    const toColumns = (rows: ReadonlyArray<A>) =>
      Effect.try({
        try: (): ColumnarRows => ({
          length: rows.length,
          columns: columnsFromRows(dataset.columns, rows as ReadonlyArray<Readonly<Record<string, unknown>>>)
        }),
        catch: (cause) => partition.fail(`cannot hold the partition's rows as columns: ${String(cause)}`)
      })
    // With no part file there is nothing to merge, and no pending intent to honour (it names parts).
    const single = yield* withPartitionLock(
      partition.dir,
      Effect.gen(function* () {
        const listing = yield* listPartition(partition.dir).pipe(Effect.mapError(partition.storage))
        if (listing.parts.length > 0) return undefined
        if (!listing.base) return yield* toColumns([])
        const file = path.join(partition.dir, BASE_FILE)
        const bytes = yield* readFileIfExists(file).pipe(Effect.mapError(partition.storage))
        if (bytes === undefined) return undefined
        return yield* Effect.tryPromise({
          try: () => decodeColumns(dataset.columns, bytes),
          catch: (cause) =>
            partition.fail(
              `existing file ${file} cannot be read (${cause instanceof ParquetCodecError ? cause.detail : String(cause)}); move it aside to rewrite the partition`
            )
        })
      })
    )
    if (single !== undefined) return single
    return yield* Effect.flatMap(readPartition(dataDir, dataset, date), toColumns)
  }).pipe(Effect.withSpan("readPartitionColumns", { attributes: { dataset: dataset.name, date } }))

// --- appending ---------------------------------------------------------------------------

/**
 * Writes `rows` as the next part file of the partition (temp, fsync, rename), reading no data.
 * The seq is found by scanning the folder once per process and partition, then counted up.
 * Call with non-empty rows; returns the file relative to the data dir, its size and hash.
 */
export const appendPart = <A>(
  partition: Partition<A>,
  options: EncodeOptions,
  rows: ReadonlyArray<A>
): Effect.Effect<Written & { readonly file: string }, SinkError> =>
  withPartitionLock(
    partition.dir,
    Effect.gen(function* () {
      const state = stateOf(partition.dir)
      yield* prepare(partition.dir, false).pipe(Effect.mapError(partition.storage))
      if (state.nextSeq === undefined) {
        const listing = yield* listPartition(partition.dir).pipe(Effect.mapError(partition.storage))
        state.nextSeq = listing.maxSeq + 1
      }
      const bytes = yield* Effect.try({
        try: () => encodeParquet(partition.dataset, rows, options),
        catch: (cause) =>
          partition.fail(
            `cannot encode rows: ${cause instanceof ParquetCodecError ? cause.detail : String(cause)}`
          )
      })
      const seq = state.nextSeq
      // Counted up before the write: a failed write never lets a later one reuse its name.
      state.nextSeq = seq + 1
      const name = partFileName(seq)
      const write = writeFileAtomic(path.join(partition.dir, name), bytes)
      const makeAndWrite = Effect.zipRight(makeDir(partition.dir), write)
      // A stream appends every second: the folder is made once, and again only if it went away.
      yield* (
        state.made
          ? Effect.catchIf(
              write,
              (e) => e.code === "ENOENT",
              () => makeAndWrite
            )
          : makeAndWrite
      ).pipe(Effect.mapError(partition.storage))
      state.made = true
      return {
        file: path.join(partition.relativeDir, name),
        bytes: bytes.byteLength,
        sha256: sha256Of(bytes)
      }
    })
  )
