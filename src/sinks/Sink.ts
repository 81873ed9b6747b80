/**
 * The Sink port. A sink commits one partition write atomically: either every row of it is
 * visible afterwards or none is. Checkpoints advance only after every sink committed.
 */
import { Context, Effect } from "effect"
import type { Dataset } from "../domain/Dataset.js"
import type { SinkError } from "../domain/errors.js"

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
  /** Instruments this write covers (values of `dataset.instrument`). */
  readonly instruments: ReadonlyArray<string>
  /** Valid, deduplicated rows, sorted by key. May be empty (e.g. an unknown symbol). */
  readonly rows: ReadonlyArray<A>
  readonly mode: WriteMode
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
}

export interface Sink {
  readonly name: string
  readonly commit: <A>(write: PartitionWrite<A>) => Effect.Effect<CommitResult, SinkError>
}

/** Fan-out over every configured sink. A custom layer can add its own `Sink` to the list. */
export class Sinks extends Context.Tag("tapehouse/Sinks")<
  Sinks,
  {
    readonly sinks: ReadonlyArray<Sink>
    readonly commit: <A>(write: PartitionWrite<A>) => Effect.Effect<ReadonlyArray<CommitResult>, SinkError>
  }
>() {}

/** Commits to every sink concurrently; fails with the first sink error (the checkpoint then stays put). */
export const fanOut = (sinks: ReadonlyArray<Sink>): Sinks["Type"] =>
  Sinks.of({
    sinks,
    commit: (write) =>
      Effect.forEach(sinks, (sink) => sink.commit(write), { concurrency: "unbounded" }).pipe(
        Effect.withSpan("Sinks.commit", { attributes: { dataset: write.dataset.name, date: write.date } })
      )
  })
