/**
 * The continuity ledger: one row per gap a stream noticed (a reconnect or a stall) and how it
 * was repaired through REST, and one per end-of-session reconciliation. `status` reads it to
 * show a day's coverage.
 */
import { Schema } from "effect"
import type { Dataset } from "./Dataset.js"
import { newYorkDate, newYorkDayRange } from "./time.js"

export const ContinuityRow = Schema.Struct({
  /** The stream's source, e.g. "massive-stocks". */
  source: Schema.String,
  /** `gap` (a window the stream did not capture, repaired through REST) or `reconcile` (end of session). */
  kind: Schema.String,
  /**
   * Why a gap opened: `reconnect` (the connection was lost), `stall` (the feed went silent),
   * `restart` (the stream was stopped and started again during the session), `late-start` (the
   * stream started after the open with nothing captured before), `stopped` (the stream stopped
   * during a gap); for order books (source `<venue>:<SYMBOL>`) `sequence-gap` (update ids
   * skipped) or `reconnect`. Null for a reconciliation, and for rows written before causes were
   * recorded.
   */
  cause: Schema.NullOr(Schema.String),
  /** Window start and end (epoch ms, end exclusive). */
  start: Schema.Number,
  end: Schema.Number,
  /** Symbols the repair covered, comma-joined. */
  symbols: Schema.String,
  /** Rows the REST repair wrote (gap) or found different from what the stream wrote (reconcile). */
  rows: Schema.Number,
  /**
   * `repaired`, `failed` or `verified`; `resynced` for an order-book gap (the book was re-synced
   * from a snapshot; the deltas missed are lost, `rows` estimates how many level changes).
   */
  status: Schema.String,
  detail: Schema.NullOr(Schema.String)
})
export type ContinuityRow = typeof ContinuityRow.Type

export const Continuity: Dataset<ContinuityRow> = {
  name: "continuity",
  schema: ContinuityRow,
  columns: [
    { name: "source", type: "string", nullable: false, doc: "stream source" },
    { name: "kind", type: "string", nullable: false, doc: "gap or reconcile" },
    {
      name: "cause",
      type: "string",
      nullable: true,
      doc: "why a gap opened: reconnect, stall, restart, late-start or stopped"
    },
    { name: "start", type: "timestamp_ms", nullable: false, doc: "window start, UTC" },
    { name: "end", type: "timestamp_ms", nullable: false, doc: "window end (exclusive), UTC" },
    { name: "symbols", type: "string", nullable: false, doc: "symbols covered" },
    { name: "rows", type: "int64", nullable: false, doc: "rows repaired or found different" },
    {
      name: "status",
      type: "string",
      nullable: false,
      doc: "repaired, failed, verified, or resynced (order books)"
    },
    { name: "detail", type: "string", nullable: true, doc: "why it failed, or what differed" }
  ],
  key: ["source", "kind", "start"],
  instrument: "source",
  timeColumn: "start",
  eventTime: (r) => r.start,
  partitionDate: (r) => newYorkDate(r.start),
  partitionRange: newYorkDayRange,
  rules: [(r) => (r.end < r.start ? `end ${r.end} is before start ${r.start}` : undefined)]
}
