/**
 * The Parquet sink: one folder per Hive partition, `<dataDir>/lake/<dataset>/date=YYYY-MM-DD/`
 * (and `…/<column>=<value>/` below it for a dataset with a second partition column).
 * `replace` and `upsert` rewrite the partition whole and atomically into its base file
 * `part-0000.parquet` (read every file, merge, sort by key, write, retire the part files);
 * `append` writes the rows as a new part file `part-<seq>.parquet` without reading anything,
 * and `compact` (compact.ts) later folds the parts into the base. See compact.ts for the layout
 * and the crash-safety protocol.
 */
import * as path from "node:path"
import { Effect } from "effect"
import type { ParquetCompression } from "../config/AppConfig.js"
import { type Dataset, instrumentsOf } from "../domain/Dataset.js"
import { StorageError } from "../domain/errors.js"
import { makeDir } from "./atomicFile.js"
import {
  appendPart,
  BASE_FILE,
  type Content,
  coveredBy,
  listPartition,
  mergeRuns,
  partitionOf,
  prepare,
  publishStaged,
  readMerged,
  recoverStaged,
  SINK_NAME,
  stageBase,
  withPartitionLock,
  writeBase
} from "./compact.js"
import { loadCompression } from "./parquetCodec.js"
import type { CommitResult, PartitionWrite, Sink } from "./Sink.js"

export { partitionDir, partitionFile, readPartition } from "./compact.js"

export interface ParquetSinkOptions {
  readonly dataDir: string
  readonly compression: ParquetCompression
  /** Rows per row group. */
  readonly rowGroupSize: number
}

export { SINK_NAME }
/** The base file of a partition (backfilled or compacted); appended parts sort after it. */
export const PART_FILE = BASE_FILE

/**
 * Merges `incoming` into `existing`: sorted by key, and where keys are equal the incoming row
 * wins. Both inputs are normally sorted already, so the stable sort only merges two runs.
 */
export const mergeRows = <A>(
  dataset: Dataset<A>,
  existing: ReadonlyArray<A>,
  incoming: ReadonlyArray<A>
): Array<A> => mergeRuns(dataset, [existing, incoming])

/** Existing rows that a `replace` write leaves alone: those of instruments outside its scope. */
const keptByReplace = <A>(write: PartitionWrite<A>, existing: ReadonlyArray<A>): Array<A> => {
  const scope = new Set(write.instruments)
  const instruments = instrumentsOf(write.dataset)
  const kept: Array<A> = []
  for (let i = 0; i < existing.length; i++) {
    const row = existing[i]!
    if (!instruments(row).some((instrument) => scope.has(instrument))) kept.push(row)
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

    const commit = Effect.fn("ParquetSink.commit")(function* <A>(write: PartitionWrite<A>) {
      const partition = yield* partitionOf(dataDir, write.dataset, write.date, write.subPartition)

      if (write.mode === "append") {
        if (write.rows.length === 0) {
          const empty: CommitResult = { sink: SINK_NAME, rows: 0 }
          return empty
        }
        const part = yield* appendPart(partition, encodeOptions, write.rows)
        const appended: CommitResult = { sink: SINK_NAME, rows: write.rows.length, ...part }
        return appended
      }

      // One rewrite at a time per partition (shared with appends and compaction in this process).
      return yield* withPartitionLock(
        partition.dir,
        Effect.gen(function* () {
          yield* prepare(partition.dir, true).pipe(Effect.mapError(partition.storage))
          const listing = yield* listPartition(partition.dir).pipe(Effect.mapError(partition.storage))
          // A replace of every instrument the partition holds (a rebuilt day) keeps nothing: skip
          // decoding the old rows, the costly part of a rewrite.
          const replacesAll =
            write.mode === "replace" && (yield* coveredBy(partition, listing, new Set(write.instruments)))
          const existing = replacesAll ? [] : (yield* readMerged(partition, listing)).rows
          const base = write.mode === "replace" ? keptByReplace(write, existing) : existing
          // Nothing to merge with: the write's rows are the partition (sorted and deduplicated, as
          // a write's rows are), encoded from its columns when it has them.
          const rows: Content<A> =
            base.length === 0 && write.columns !== undefined
              ? write.columns
              : mergeRows(write.dataset, base, write.rows)
          const file = path.join(partition.relativeDir, BASE_FILE)
          if (write.staged === true) {
            // Nothing to stage: the partition was empty and stays empty.
            if (rows.length === 0 && !listing.base && listing.parts.length === 0) {
              const nothing: CommitResult = { sink: SINK_NAME, rows: 0 }
              return nothing
            }
            const staged = yield* stageBase(partition, encodeOptions, rows)
            const result: CommitResult = {
              sink: SINK_NAME,
              rows: rows.length,
              file,
              ...staged,
              retired: listing.parts,
              publish: publishStaged(partition, staged, listing.parts)
            }
            return result
          }
          const written = yield* writeBase(partition, encodeOptions, rows, listing.parts)
          const result: CommitResult =
            written === undefined
              ? { sink: SINK_NAME, rows: 0 }
              : {
                  sink: SINK_NAME,
                  rows: rows.length,
                  file,
                  ...written
                }
          return result
        })
      )
    })

    const sink: Sink = {
      name: SINK_NAME,
      commit,
      recover: (dataset, committed) =>
        Effect.map(recoverStaged(dataDir, dataset, committed), (found) =>
          found.map((r) => ({ sink: SINK_NAME, ...r }))
        )
    }
    return sink
  })
