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
 */
export type WriteMode = "replace" | "upsert"

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
  /** The file holding the partition afterwards, relative to the data dir (file sinks). */
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
