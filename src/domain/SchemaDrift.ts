/**
 * The schema drift ledger: one row per (day, source, field, kind) where what the vendor sent
 * differed from what the decoder expects (a new field, a required field missing, a changed type).
 * A dataset tapehouse writes about itself (`schema_drift`), like the continuity ledger.
 */
import { Schema } from "effect"
import type { Dataset } from "./Dataset.js"
import { newYorkDate, newYorkDayRange } from "./time.js"

export const DRIFT_KINDS = ["new", "missing", "type"] as const
export type DriftKind = (typeof DRIFT_KINDS)[number]

export const SchemaDriftRow = Schema.Struct({
  /** The vendor message checked, e.g. "massive-aggregates" (REST bars), "massive-ws-aggregates". */
  source: Schema.String,
  field: Schema.String,
  /** `new`: a field the decoder does not know; `missing`: a required field absent; `type`: another JSON type. */
  kind: Schema.String,
  /** The JSON type(s) the decoder expects, `|`-joined; null for a new field. */
  expected: Schema.NullOr(Schema.String),
  /** The JSON type seen; null for a missing field. */
  seen: Schema.NullOr(Schema.String),
  /** When it was first seen that day (epoch ms). */
  first_seen: Schema.Number,
  /** The record it was seen in, as JSON (cut at 1000 characters). */
  example: Schema.String
})
export type SchemaDriftRow = typeof SchemaDriftRow.Type

export const SchemaDrift: Dataset<SchemaDriftRow> = {
  name: "schema_drift",
  schema: SchemaDriftRow,
  columns: [
    { name: "source", type: "string", nullable: false, doc: "vendor message checked" },
    { name: "field", type: "string", nullable: false, doc: "field name" },
    { name: "kind", type: "string", nullable: false, doc: "new, missing or type" },
    { name: "expected", type: "string", nullable: true, doc: "JSON type(s) the decoder expects" },
    { name: "seen", type: "string", nullable: true, doc: "JSON type seen" },
    { name: "first_seen", type: "timestamp_ms", nullable: false, doc: "first seen that day, UTC" },
    { name: "example", type: "string", nullable: false, doc: "a record that showed it, JSON" }
  ],
  key: ["source", "field", "kind"],
  instrument: "source",
  timeColumn: "first_seen",
  eventTime: (r) => r.first_seen,
  partitionDate: (r) => newYorkDate(r.first_seen),
  partitionRange: newYorkDayRange,
  rules: []
}
