/** Errors only commands raise. */
import { Schema } from "effect"

/** `status --verify` found files that do not match their checkpoint. Exit code 1. */
export class IntegrityError extends Schema.TaggedError<IntegrityError>()("IntegrityError", {
  dataset: Schema.String,
  mismatches: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `${this.mismatches.length} ${this.dataset} partition file(s) do not match their checkpoint (${this.mismatches.join(", ")}). Rerun the backfill with --overwrite for those dates.`
  }
}

/** `stop` could not stop every stream in time. Exit code 1. */
export class StopTimeout extends Schema.TaggedError<StopTimeout>()("StopTimeout", {
  streams: Schema.Array(Schema.String),
  seconds: Schema.Number
}) {
  override get message(): string {
    return `still running after ${this.seconds} s: ${this.streams.join(", ")}. They may be flushing; run stop again or check the logs.`
  }
}

/** `books`, `fidelity` or `assess` could not do its work: no data, or a file it cannot read or decrypt. Exit code 1. */
export class BookCommandError extends Schema.TaggedError<BookCommandError>()("BookCommandError", {
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
}
