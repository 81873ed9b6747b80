/**
 * The Parquet sink: one file per Hive partition, `<dataDir>/lake/<dataset>/date=YYYY-MM-DD/part-0000.parquet`,
 * rewritten whole and atomically on every commit (read existing rows, merge, sort by key, write).
 */
import { createHash } from "node:crypto"
import * as path from "node:path"
import { Effect } from "effect"
import type { ParquetCompression } from "../config/AppConfig.js"
import { compareByKey, type Dataset } from "../domain/Dataset.js"
import { SinkError, StorageError } from "../domain/errors.js"
import {
  makeDir,
  readFileIfExists,
  removeFileAndEmptyDir,
  removeStaleTemps,
  writeFileAtomic
} from "./atomicFile.js"
import { decodeParquet, encodeParquet, loadCompression, ParquetCodecError } from "./parquetCodec.js"
import type { CommitResult, PartitionWrite, Sink } from "./Sink.js"

export interface ParquetSinkOptions {
  readonly dataDir: string
  readonly compression: ParquetCompression
  /** Rows per row group. */
  readonly rowGroupSize: number
}

export const SINK_NAME = "parquet"
export const PART_FILE = "part-0000.parquet"

const datePattern = /^\d{4}-\d{2}-\d{2}$/
const namePattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/

/** The partition folder of `dataset` on `date`, relative to the data dir. */
export const partitionDir = (datasetName: string, date: string): string =>
  path.join("lake", datasetName, `date=${date}`)

/** The partition file of `dataset` on `date`, relative to the data dir. */
export const partitionFile = (datasetName: string, date: string): string =>
  path.join(partitionDir(datasetName, date), PART_FILE)

/**
 * Merges `incoming` into `existing`: sorted by key, and where keys are equal the incoming row
 * wins. Both inputs are normally sorted already, so the stable sort only merges two runs.
 */
export const mergeRows = <A>(
  dataset: Dataset<A>,
  existing: ReadonlyArray<A>,
  incoming: ReadonlyArray<A>
): Array<A> => {
  const compare = compareByKey(dataset)
  const all = existing.length === 0 ? incoming.slice() : existing.concat(incoming)
  // Stable: among equal keys, existing rows come first and incoming rows (in their order) after.
  all.sort(compare)
  const out: Array<A> = []
  for (let i = 0; i < all.length; i++) {
    const row = all[i]!
    const next = all[i + 1]
    // Keep only the last of a run of equal keys: the newest write.
    if (next !== undefined && compare(row, next) === 0) continue
    out.push(row)
  }
  return out
}

/** Existing rows that a `replace` write leaves alone: those of instruments outside its scope. */
const keptByReplace = <A>(write: PartitionWrite<A>, existing: ReadonlyArray<A>): Array<A> => {
  const scope = new Set(write.instruments)
  const column = write.dataset.instrument
  const kept: Array<A> = []
  for (let i = 0; i < existing.length; i++) {
    const row = existing[i]!
    if (!scope.has(String(row[column]))) kept.push(row)
  }
  return kept
}

/** Builds the sink. Fails if the lake folder cannot be created or the compression cannot be loaded. */
export const make = (options: ParquetSinkOptions): Effect.Effect<Sink, StorageError> =>
  Effect.gen(function* () {
    const dataDir = path.resolve(options.dataDir)
    const lakeDir = path.join(dataDir, "lake")
    if (!Number.isSafeInteger(options.rowGroupSize) || options.rowGroupSize < 1) {
      return yield* new StorageError({
        path: dataDir,
        detail: `parquet row group size must be a positive integer, got ${options.rowGroupSize}`
      })
    }
    yield* Effect.tryPromise({
      try: () => loadCompression(options.compression),
      catch: (cause) =>
        new StorageError({
          path: dataDir,
          detail: `${options.compression} compression is unavailable (${cause instanceof Error ? cause.message : String(cause)}); set parquet compression to snappy`
        })
    })
    yield* makeDir(lakeDir)
    const encodeOptions = { compression: options.compression, rowGroupSize: options.rowGroupSize }

    // One commit at a time per partition file: a commit reads, merges and rewrites the whole file.
    const locks = new Map<string, Effect.Semaphore>()
    const lockFor = (file: string): Effect.Semaphore => {
      let lock = locks.get(file)
      if (lock === undefined) {
        lock = Effect.unsafeMakeSemaphore(1)
        locks.set(file, lock)
      }
      return lock
    }

    const commit = Effect.fn("ParquetSink.commit")(function* <A>(write: PartitionWrite<A>) {
      const dataset = write.dataset
      const partition = `date=${write.date}`
      const fail = (detail: string) =>
        new SinkError({ sink: SINK_NAME, dataset: dataset.name, partition, detail })
      if (!datePattern.test(write.date)) return yield* fail(`partition date ${write.date} is not YYYY-MM-DD`)
      if (!namePattern.test(dataset.name))
        return yield* fail(`dataset name ${dataset.name} is not a folder name`)

      const relative = partitionFile(dataset.name, write.date)
      const file = path.join(dataDir, relative)
      const dir = path.dirname(file)
      const storage = (e: StorageError) => fail(`cannot use ${e.path}: ${e.detail}`)

      return yield* lockFor(file).withPermits(1)(
        Effect.gen(function* () {
          yield* removeStaleTemps(dir).pipe(Effect.mapError(storage))
          const bytesBefore = yield* readFileIfExists(file).pipe(Effect.mapError(storage))
          const existing =
            bytesBefore === undefined
              ? []
              : yield* Effect.tryPromise({
                  try: () => decodeParquet(dataset, bytesBefore),
                  catch: (cause) =>
                    fail(
                      `existing file ${file} cannot be read (${cause instanceof ParquetCodecError ? cause.detail : String(cause)}); move it aside to rewrite the partition`
                    )
                })
          const base = write.mode === "replace" ? keptByReplace(write, existing) : existing
          const rows = mergeRows(dataset, base, write.rows)

          if (rows.length === 0) {
            yield* removeFileAndEmptyDir(file).pipe(Effect.mapError(storage))
            const result: CommitResult = { sink: SINK_NAME, rows: 0 }
            return result
          }

          const bytes = yield* Effect.try({
            try: () => encodeParquet(dataset, rows, encodeOptions),
            catch: (cause) =>
              fail(`cannot encode rows: ${cause instanceof ParquetCodecError ? cause.detail : String(cause)}`)
          })
          const sha256 = createHash("sha256").update(bytes).digest("hex")
          yield* makeDir(dir).pipe(Effect.mapError(storage))
          yield* writeFileAtomic(file, bytes).pipe(Effect.mapError(storage))
          const result: CommitResult = {
            sink: SINK_NAME,
            rows: rows.length,
            file: relative,
            bytes: bytes.byteLength,
            sha256
          }
          return result
        })
      )
    })

    const sink: Sink = { name: SINK_NAME, commit }
    return sink
  })
