/** Errors users and logs see. Each `message` reads as a sentence that says what to do. */
import { Schema } from "effect"

/** A configuration value is invalid. Exit code 2. */
export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  key: Schema.String,
  value: Schema.String,
  expected: Schema.String,
  source: Schema.String
}) {
  override get message(): string {
    return `Invalid configuration: ${this.key} = ${this.value} (from ${this.source}); expected ${this.expected}.`
  }
}

/** The command line asks for something impossible (bad dates, unknown dataset). Exit code 2. */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", {
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
}

/** The vendor refused the credentials (401/403). Never retried. */
export class VendorAuthError extends Schema.TaggedError<VendorAuthError>()("VendorAuthError", {
  vendor: Schema.String,
  status: Schema.Number,
  detail: Schema.String,
  /** The environment variable holding the vendor's key (its config section's `keyEnv`). */
  keyEnv: Schema.String
}) {
  override get message(): string {
    const what = this.status === 403 ? "refused access (not entitled)" : "rejected the API key"
    return `${this.vendor} ${what} (HTTP ${this.status}: ${this.detail}). Check ${this.keyEnv} in the environment or .env and your plan's entitlements.`
  }
}

/** A vendor request failed after every retry, or with a status that is not retried. */
export class VendorRequestError extends Schema.TaggedError<VendorRequestError>()("VendorRequestError", {
  vendor: Schema.String,
  /** The request, with credentials removed. */
  request: Schema.String,
  status: Schema.optional(Schema.Number),
  detail: Schema.String
}) {
  override get message(): string {
    const status = this.status === undefined ? "" : ` (HTTP ${this.status})`
    return `${this.vendor} request ${this.request} failed${status}: ${this.detail}`
  }
}

/**
 * A vendor failure that no retry and no other unit of the run can get past (nothing answers at the
 * vendor's URL; the subscription lacks the data): the run stops at once. `detail` is the vendor
 * module's own sentence, with the fix.
 */
export class VendorStopError extends Schema.TaggedError<VendorStopError>()("VendorStopError", {
  vendor: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
}

/** A vendor response did not have the shape the protocol promises. */
export class VendorDecodeError extends Schema.TaggedError<VendorDecodeError>()("VendorDecodeError", {
  vendor: Schema.String,
  request: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.vendor} response to ${this.request} is not what the protocol describes: ${this.detail}`
  }
}

/** A sink could not commit a batch; nothing of that batch is visible and the checkpoint did not move. */
export class SinkError extends Schema.TaggedError<SinkError>()("SinkError", {
  sink: Schema.String,
  dataset: Schema.String,
  partition: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.sink} sink could not commit ${this.dataset} ${this.partition}: ${this.detail}`
  }
}

/**
 * A file or folder of the data dir, or a database server, cannot be used. The message names it,
 * the system's cause and the one action that fits that cause:
 * "Cannot write /data/lake/…: ENOSPC (no space left on device). Free space on the disk …".
 */
export class StorageError extends Schema.TaggedError<StorageError>()("StorageError", {
  /** The file, folder or server (host:port) that failed. */
  path: Schema.String,
  /** The system's message when `code` is set; otherwise what went wrong, as a phrase. */
  detail: Schema.String,
  /** What was being done, as a phrase ("cannot write"); "cannot use" when absent. */
  operation: Schema.optional(Schema.String),
  /** The system's cause: ENOSPC, EROFS, ECONNREFUSED, a Postgres SQLSTATE, … */
  code: Schema.optional(Schema.String),
  /** The one thing to do about it, as a sentence (without its full stop). */
  action: Schema.optional(Schema.String)
}) {
  /** The message starting in lower case, to quote inside another error's message. */
  get reason(): string {
    const cause = this.code === undefined ? this.detail : `${this.code} (${this.detail})`
    const action = this.action === undefined ? "" : ` ${this.action}.`
    return `${this.operation ?? "cannot use"} ${this.path}: ${cause}.${action}`
  }

  override get message(): string {
    const reason = this.reason
    return reason.charAt(0).toUpperCase() + reason.slice(1)
  }
}

/** A backfill finished but some days failed after retries. Exit code 1. */
export class BackfillIncomplete extends Schema.TaggedError<BackfillIncomplete>()("BackfillIncomplete", {
  failed: Schema.Array(
    Schema.Struct({
      symbol: Schema.String,
      date: Schema.String,
      /** The unit of the day that failed (an expiration), for datasets whose days split into units. */
      unit: Schema.optional(Schema.String),
      reason: Schema.String
    })
  )
}) {
  override get message(): string {
    const lines = this.failed.map(
      (f) => `  ${f.symbol} ${f.date}${f.unit === undefined ? "" : ` ${f.unit}`}: ${f.reason}`
    )
    return `${this.failed.length} day(s) failed after retries (every other day is committed; rerun to retry them):\n${lines.join("\n")}`
  }
}

/**
 * The spill queue could not write overflow to its segment file (disk full, folder gone, or a disk
 * slower than the feed). Nothing was dropped: the items that could not be written are held in memory
 * and are still delivered in order; the offer that fails has been accepted and must not be repeated.
 */
export class SpillError extends Schema.TaggedError<SpillError>()("SpillError", {
  path: Schema.String,
  /** The system's message when `code` is set; otherwise what went wrong. */
  detail: Schema.String,
  /** Items accepted but not yet on disk, held in memory. */
  held: Schema.Number,
  /** The system's cause: ENOSPC, EROFS, … */
  code: Schema.optional(Schema.String),
  /** The one thing to do about that cause (without its full stop); else free space on the disk. */
  action: Schema.optional(Schema.String)
}) {
  override get message(): string {
    const cause = this.code === undefined ? this.detail : `${this.code} (${this.detail})`
    const action =
      this.action ?? "Free space on the data dir's disk (or stop the feed) before memory runs out"
    return `Spill file ${this.path} could not be written: ${cause}; everything committed so far is intact; ${this.held} items are held in memory and nothing was dropped. ${action}.`
  }
}
