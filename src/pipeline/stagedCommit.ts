/**
 * The commit of a whole partition that readers can trust: a reader of the lake never sees a day
 * the checkpoints do not hold. In order:
 *   1. every sink commits the write staged (Parquet: a file readers do not see; SQL: its
 *      transaction);
 *   2. the checkpoint journal records the day, with the hash of the staged file;
 *   3. the staged file is published (renamed into place).
 * A crash after 2 and before 3 is completed by `recoverStaged` at the next start (the checkpoint
 * names the file); a crash before 2 leaves a staged file that the checkpoints do not name, which
 * `recoverStaged` deletes, and the day is redone.
 */
import { Effect } from "effect"
import type { Dataset } from "../domain/Dataset.js"
import type { SinkError, StorageError } from "../domain/errors.js"
import { type CommitResult, type PartitionWrite, publishAll, type Sinks } from "../sinks/Sink.js"
import { type CheckpointEntry, type Checkpoints, type FileEntry, fileKey } from "./Checkpoints.js"

/** The file entry of a staged commit's file result, to record with the day (none without a file). */
export const fileEntryOf = (
  dataset: string,
  date: string,
  results: ReadonlyArray<CommitResult>,
  at: string,
  unit?: string
): ReadonlyArray<FileEntry> => {
  const file = results.find((r) => r.file !== undefined && r.sha256 !== undefined)
  if (file?.file === undefined || file.sha256 === undefined) return []
  return [
    {
      kind: "file",
      dataset,
      date,
      ...(unit === undefined ? {} : { unit }),
      file: file.file,
      rows: file.rows,
      bytes: file.bytes ?? 0,
      sha256: file.sha256,
      ...(file.retired === undefined || file.retired.length === 0 ? {} : { retired: file.retired }),
      at
    }
  ]
}

/**
 * Stages `write` in every sink, records `entries(results)` in the checkpoints, then publishes. Returns
 * the sinks' results. `onRecorded` runs with the record, uninterruptibly: a caller's own account of
 * what is committed (an interrupted run's summary) never lags behind the checkpoints.
 */
export const commitStaged = <A>(
  sinks: Sinks["Type"],
  checkpoints: Checkpoints["Type"],
  write: PartitionWrite<A>,
  entries: (results: ReadonlyArray<CommitResult>) => Effect.Effect<ReadonlyArray<CheckpointEntry>>,
  onRecorded: Effect.Effect<void> = Effect.void
): Effect.Effect<ReadonlyArray<CommitResult>, SinkError | StorageError> =>
  Effect.gen(function* () {
    // Not spread when already staged: a columnar write's `rows` is a getter, built only if read.
    const results = yield* sinks.commit(write.staged === true ? write : { ...write, staged: true })
    const recorded = yield* entries(results)
    yield* Effect.uninterruptible(Effect.zipRight(checkpoints.record(recorded), onRecorded))
    yield* publishAll(results)
    return results
  })

/**
 * Resolves what a crash left between a checkpoint and its publish, for one dataset: staged files the
 * checkpoints name are published, the others discarded. Run it before writing the dataset.
 */
export const recoverStaged = <A>(
  sinks: Sinks["Type"],
  checkpoints: Checkpoints["Type"],
  dataset: Dataset<A>
) =>
  Effect.gen(function* () {
    const files = yield* checkpoints.files(dataset.name)
    const recovered = yield* sinks.recover(dataset, (date, unit) => {
      const f = files.get(fileKey(date, unit))
      return f === undefined ? undefined : { sha256: f.sha256, ...(f.retired ? { retired: f.retired } : {}) }
    })
    for (const r of recovered)
      yield* Effect.logWarning(
        r.action === "published"
          ? `${dataset.name} ${r.date}${r.subPartition === undefined ? "" : ` ${r.subPartition}`}: published the file a previous run committed but had not made visible (it stopped in between)`
          : `${dataset.name} ${r.date}${r.subPartition === undefined ? "" : ` ${r.subPartition}`}: removed a staged file a previous run never committed (it stopped first); the day is redone`
      )
    return recovered
  })
