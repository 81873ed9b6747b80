/**
 * The Sink port. A sink commits one partition write atomically: either every row of it is
 * visible afterwards or none is. Checkpoints advance only after every sink committed.
 *
 * A `staged` write is committed in two steps so that a reader never sees a day the checkpoints do
 * not hold as done: `commit` makes the rows durable under a name readers do not see, the caller
 * records the checkpoint, then runs each result's `publish`. A crash between the two leaves a
 * staged partition that `recover` publishes (the checkpoint names it) or discards (it does not).
 */
import { Context, Effect } from "effect"
import type { Dataset } from "../domain/Dataset.js"
import type { SinkError } from "../domain/errors.js"
import type { ColumnarRows } from "./parquetColumns.js"

/**
 * `replace`: afterwards the partition holds, for the instruments in scope, exactly `rows`
 *   (history correction, and a backfilled day). Rows of other instruments are untouched.
 * `upsert`: `rows` are merged into the partition by key, last write wins; nothing is removed.
 * `append`: the streaming write, cheap enough for every flush. `rows` are added as they are;
 *   rows whose key was written before (corrections) are allowed, and the later write wins.
 *   How soon the older version disappears depends on the sink: the SQL sink upserts by key, so
 *   a correction replaces the older row at once; the Parquet sink writes a new part file and
 *   leaves the older row where it is until compaction merges the day (deduplicated by key, last
 *   write wins). Until then readers of the lake that glob the files (DuckDB, Spark) may see both
 *   versions of a corrected row; `readPartition` (ParquetSink) resolves them.
 */
export type WriteMode = "replace" | "upsert" | "append"

export interface PartitionWrite<A> {
  readonly dataset: Dataset<A>
  /** Partition date, YYYY-MM-DD. Every row has `dataset.partitionDate(row) === date`. */
  readonly date: string
  /**
   * The partition's value of `dataset.subPartition` (an expiration), for a dataset that declares
   * one: the write covers that folder (Parquet) and those rows (SQL) only. Every row holds it.
   */
  readonly subPartition?: string
  /** Instruments this write covers (values of `dataset.instrument`). */
  readonly instruments: ReadonlyArray<string>
  /** Valid, deduplicated rows, sorted by key. May be empty (e.g. an unknown symbol). */
  readonly rows: ReadonlyArray<A>
  /**
   * The same rows as columns in `dataset.columns` order, when the writer computed them that way.
   * The Parquet sink then encodes them without reading `rows` where it can (a replace that keeps
   * no existing row), so `rows` may be a getter that builds the row objects on first read.
   */
  readonly columns?: ColumnarRows
  readonly mode: WriteMode
  /**
   * `replace`/`upsert` only: stage the new partition (durable, invisible to readers) and make it
   * visible when the caller runs the result's `publish`, after recording the checkpoint. Sinks whose
   * commit is its own visibility (SQL: a transaction) ignore it.
   */
  readonly staged?: boolean
}

export interface CommitResult {
  readonly sink: string
  readonly rows: number
  /**
   * The file written, relative to the data dir (file sinks): the partition's file after a
   * `replace`/`upsert`, the new part file after an `append`.
   */
  readonly file?: string
  readonly bytes?: number
  readonly sha256?: string
  /** Staged writes: the files `publish` retires (appended part files the new partition holds). */
  readonly retired?: ReadonlyArray<string>
  /** Staged writes: makes the staged partition the visible one. Run it after the checkpoint. */
  readonly publish?: Effect.Effect<void, SinkError>
}

/** What the checkpoints say was committed for a partition: the file's hash and what it retired. */
export interface CommittedPartition {
  readonly sha256: string
  readonly retired?: ReadonlyArray<string>
}

/** What `recover` did with a staged partition left by a crash. */
export interface RecoveredPartition {
  readonly sink: string
  readonly date: string
  /** Its `subPartition` value, below a second partition column. */
  readonly subPartition?: string
  /** `published`: the checkpoints held it, it is visible now; `discarded`: they did not, it is gone. */
  readonly action: "published" | "discarded"
}

export interface Sink {
  readonly name: string
  readonly commit: <A>(write: PartitionWrite<A>) => Effect.Effect<CommitResult, SinkError>
  /**
   * Resolves staged partitions of `dataset` left by a crash: publishes those `committed` names
   * (same hash), discards the others. Sinks without a staging step leave it out.
   */
  readonly recover?: <A>(
    dataset: Dataset<A>,
    committed: (date: string, subPartition?: string) => CommittedPartition | undefined
  ) => Effect.Effect<ReadonlyArray<RecoveredPartition>, SinkError>
}

/** Fan-out over every configured sink. A custom layer can add its own `Sink` to the list. */
export class Sinks extends Context.Tag("tapehouse/Sinks")<
  Sinks,
  {
    readonly sinks: ReadonlyArray<Sink>
    readonly commit: <A>(write: PartitionWrite<A>) => Effect.Effect<ReadonlyArray<CommitResult>, SinkError>
    /** `recover` of every sink that stages. */
    readonly recover: <A>(
      dataset: Dataset<A>,
      committed: (date: string, subPartition?: string) => CommittedPartition | undefined
    ) => Effect.Effect<ReadonlyArray<RecoveredPartition>, SinkError>
  }
>() {}

/** Commits to every sink concurrently; fails with the first sink error (the checkpoint then stays put). */
export const fanOut = (sinks: ReadonlyArray<Sink>): Sinks["Type"] =>
  Sinks.of({
    sinks,
    commit: (write) =>
      Effect.forEach(sinks, (sink) => sink.commit(write), { concurrency: "unbounded" }).pipe(
        Effect.withSpan("Sinks.commit", { attributes: { dataset: write.dataset.name, date: write.date } })
      ),
    recover: (dataset, committed) =>
      Effect.map(
        Effect.forEach(sinks, (sink) =>
          sink.recover === undefined ? Effect.succeed([]) : sink.recover(dataset, committed)
        ),
        (all) => all.flat()
      )
  })

/** Publishes every staged result of a commit (after its checkpoint was recorded). */
export const publishAll = (results: ReadonlyArray<CommitResult>): Effect.Effect<void, SinkError> =>
  Effect.forEach(results, (r) => r.publish ?? Effect.void, { discard: true })
