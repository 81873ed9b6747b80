/**
 * SchemaDrift: compares what the vendor sends with what the decoder expects, on samples the
 * decoders hand over (the first record of each REST page and of each WebSocket frame), never on
 * every record: new fields, required fields missing, changed JSON types.
 *
 * - The expected shape comes from the wire Schema itself (`shapeOf`), so it cannot fall behind the
 *   decoder. An optional field that is absent is the contract, not drift.
 * - Cheap: a sample's shape signature (its keys and their JSON types) is computed, and only a
 *   signature not seen before is compared with the shape (`ShapeChecker`).
 * - Each drift is reported once per (New York day, source, field, kind): one `schema-drift` alert
 *   and one row of the `schema_drift` dataset. A process that starts again the same day first reads
 *   that day's rows, so it does not report them again. Processing always goes on.
 */
import { Clock, Context, Effect, Layer, type Schema, SchemaAST } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import {
  type DriftKind,
  SchemaDrift as SchemaDriftDataset,
  type SchemaDriftRow
} from "../domain/SchemaDrift.js"
import { newYorkDate } from "../domain/time.js"
import { Sinks } from "../sinks/Sink.js"
import { Alerts, type AlertsShape } from "./Alerts.js"

export type JsonType = "number" | "string" | "boolean" | "null" | "object" | "array"

export interface FieldSpec {
  /** The JSON types the decoder takes; `any` when it does not look (an `Unknown` member). */
  readonly types: ReadonlySet<JsonType> | "any"
  readonly optional: boolean
}

/** What a decoder expects of a record: its fields by name. */
export type Shape = ReadonlyMap<string, FieldSpec>

export interface FieldDrift {
  readonly field: string
  readonly kind: DriftKind
  readonly expected: string | null
  readonly seen: string | null
}

const typesOfAst = (ast: SchemaAST.AST, out: Set<JsonType>): boolean => {
  switch (ast._tag) {
    case "NumberKeyword":
      out.add("number")
      return true
    case "StringKeyword":
    case "TemplateLiteral":
      out.add("string")
      return true
    case "BooleanKeyword":
      out.add("boolean")
      return true
    case "Literal":
      out.add(ast.literal === null ? "null" : (typeof ast.literal as JsonType))
      return true
    case "Enums":
      for (const [, v] of ast.enums) out.add(typeof v as JsonType)
      return true
    case "UndefinedKeyword":
      return true
    case "TupleType":
      out.add("array")
      return true
    case "TypeLiteral":
      out.add("object")
      return true
    case "Union":
      return ast.types.every((t) => typesOfAst(t, out))
    case "Refinement":
      return typesOfAst(ast.from, out)
    case "Transformation":
      return typesOfAst(ast.from, out)
    case "Suspend":
      return typesOfAst(ast.f(), out)
    default:
      // Unknown, Any, declarations: the decoder does not check the type.
      return false
  }
}

/** The shape a Schema.Struct decodes from (its encoded side), field by field. */
export const shapeOf = (schema: Schema.Schema.Any): Shape => {
  const ast = SchemaAST.encodedAST(schema.ast)
  const shape = new Map<string, FieldSpec>()
  if (ast._tag !== "TypeLiteral") return shape
  for (const p of ast.propertySignatures) {
    if (typeof p.name !== "string") continue
    const types = new Set<JsonType>()
    shape.set(p.name, { types: typesOfAst(p.type, types) ? types : "any", optional: p.isOptional })
  }
  return shape
}

export const jsonTypeOf = (value: unknown): JsonType =>
  value === null ? "null" : Array.isArray(value) ? "array" : (typeof value as JsonType)

/** Keys and JSON types of a record, in its key order: equal signatures drift the same way. */
export const signatureOf = (record: Readonly<Record<string, unknown>>): string => {
  let s = ""
  for (const k in record) {
    const v = record[k]
    const t = typeof v
    // One character a type, without building the type's name.
    s +=
      k +
      (t === "number"
        ? "n,"
        : t === "string"
          ? "s,"
          : t === "boolean"
            ? "b,"
            : v === null
              ? "0,"
              : Array.isArray(v)
                ? "a,"
                : "o,")
  }
  return s
}

const typesText = (types: ReadonlySet<JsonType>) => [...types].sort().join("|")

/** Every drift of `record` from `shape`. */
export const diffRecord = (
  shape: Shape,
  record: Readonly<Record<string, unknown>>
): ReadonlyArray<FieldDrift> => {
  const out: Array<FieldDrift> = []
  for (const field in record) {
    const spec = shape.get(field)
    const seen = jsonTypeOf(record[field])
    if (spec === undefined) out.push({ field, kind: "new", expected: null, seen })
    else if (spec.types !== "any" && !spec.types.has(seen))
      out.push({ field, kind: "type", expected: typesText(spec.types), seen })
  }
  for (const [field, spec] of shape)
    if (!spec.optional && !Object.hasOwn(record, field))
      out.push({
        field,
        kind: "missing",
        expected: spec.types === "any" ? "any" : typesText(spec.types),
        seen: null
      })
  return out
}

/** Signatures remembered per source; past this a new one is compared again, which is only slower. */
const MAX_SIGNATURES = 256

/** `diffRecord` behind a cache of signatures already compared. */
export class ShapeChecker {
  private readonly known = new Map<string, ReadonlyArray<FieldDrift>>()
  constructor(readonly shape: Shape) {}

  check(record: Readonly<Record<string, unknown>>): ReadonlyArray<FieldDrift> {
    const signature = signatureOf(record)
    const cached = this.known.get(signature)
    if (cached !== undefined) return cached
    const drift = diffRecord(this.shape, record)
    if (this.known.size >= MAX_SIGNATURES) this.known.clear()
    this.known.set(signature, drift)
    return drift
  }
}

export interface SchemaDriftShape {
  /**
   * Checks `sample`, a record of `source` as the vendor sent it (a plain object), against `shape`.
   * Cheap when the sample's signature was seen before; never fails.
   */
  readonly observe: (source: string, shape: Shape, sample: unknown) => Effect.Effect<void>
}

export class SchemaDrift extends Context.Tag("tapehouse/SchemaDrift")<SchemaDrift, SchemaDriftShape>() {}

export interface DriftLedger {
  /** Writes rows of one day (upsert by key). */
  readonly write: (date: string, rows: ReadonlyArray<SchemaDriftRow>) => Effect.Effect<void, unknown>
  /** The rows already written for a day ([] when none). */
  readonly load: (date: string) => Effect.Effect<ReadonlyArray<SchemaDriftRow>, unknown>
}

const EXAMPLE_CHARS = 1000

const exampleOf = (sample: unknown): string => {
  try {
    return (JSON.stringify(sample) ?? "").slice(0, EXAMPLE_CHARS)
  } catch {
    return ""
  }
}

const alertMessage = (row: SchemaDriftRow): string =>
  row.kind === "new"
    ? `${row.source} sends a field the decoder does not know: ${row.field} (${row.seen}); ignored, processing goes on`
    : row.kind === "missing"
      ? `${row.source} sends records without the required field ${row.field}; they are rejected to quarantine`
      : `${row.source} sends ${row.field} as ${row.seen}, the decoder expects ${row.expected}`

/** The detector reporting through `alerts` and `ledger`. */
export const make = (alerts: AlertsShape, ledger: DriftLedger): Effect.Effect<SchemaDriftShape> =>
  Effect.gen(function* () {
    const checkers = new Map<string, ShapeChecker>()
    /** `date|source|field|kind` already reported, per date loaded from the ledger. */
    const reported = new Set<string>()
    const loadedDays = new Set<string>()
    const lock = yield* Effect.makeSemaphore(1)
    const keyOf = (date: string, r: { source: string; field: string; kind: string }) =>
      `${date}|${r.source}|${r.field}|${r.kind}`

    const report = (source: string, drift: ReadonlyArray<FieldDrift>, sample: unknown) =>
      lock.withPermits(1)(
        Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          const date = newYorkDate(now)
          if (!loadedDays.has(date)) {
            const earlier = yield* ledger
              .load(date)
              .pipe(
                Effect.catchAll((e) =>
                  Effect.as(
                    Effect.logWarning(`cannot read the schema_drift rows of ${date}: ${String(e)}`),
                    []
                  )
                )
              )
            for (const r of earlier) reported.add(keyOf(date, r))
            loadedDays.add(date)
          }
          const rows: Array<SchemaDriftRow> = []
          for (const d of drift) {
            const key = keyOf(date, { source, ...d })
            if (reported.has(key)) continue
            reported.add(key)
            rows.push({ source, ...d, first_seen: now, example: exampleOf(sample) })
          }
          if (rows.length === 0) return
          for (const row of rows)
            yield* alerts.raise({
              kind: "schema-drift",
              source,
              message: alertMessage(row),
              details: {
                field: row.field,
                drift: row.kind,
                expected: row.expected,
                seen: row.seen,
                example: row.example
              }
            })
          yield* ledger
            .write(date, rows)
            .pipe(
              Effect.catchAll((e) =>
                Effect.logError(`cannot write schema_drift rows of ${date}: ${String(e)}`)
              )
            )
        })
      )

    return SchemaDrift.of({
      observe: (source, shape, sample) => {
        if (typeof sample !== "object" || sample === null || Array.isArray(sample)) return Effect.void
        let checker = checkers.get(source)
        if (checker === undefined || checker.shape !== shape) {
          checker = new ShapeChecker(shape)
          checkers.set(source, checker)
        }
        const drift = checker.check(sample as Record<string, unknown>)
        if (drift.length === 0) return Effect.void
        return Effect.flatMap(Clock.currentTimeMillis, (now) => {
          // Reported already today: nothing to do, without taking the lock.
          const date = newYorkDate(now)
          if (loadedDays.has(date) && drift.every((d) => reported.has(keyOf(date, { source, ...d }))))
            return Effect.void
          return report(source, drift, sample).pipe(
            Effect.catchAllDefect((defect) => Effect.logError("schema drift report failed", defect))
          )
        })
      }
    })
  })

/** Alerts through `Alerts`, rows through every configured sink (`upsert` of the day's partition). */
export const Live: Layer.Layer<SchemaDrift, never, Alerts | Sinks | AppConfig> = Layer.effect(
  SchemaDrift,
  Effect.gen(function* () {
    const alerts = yield* Alerts
    const sinks = yield* Sinks
    const config = yield* AppConfig
    return yield* make(alerts, {
      write: (date, rows) =>
        sinks.commit({
          dataset: SchemaDriftDataset,
          date,
          instruments: [...new Set(rows.map((r) => r.source))],
          rows: [...rows].sort((a, b) =>
            a.source === b.source
              ? a.field === b.field
                ? a.kind < b.kind
                  ? -1
                  : 1
                : a.field < b.field
                  ? -1
                  : 1
              : a.source < b.source
                ? -1
                : 1
          ),
          mode: "upsert"
        }),
      load: (date) =>
        config.parquet.enabled
          ? Effect.flatMap(
              Effect.promise(() => import("../sinks/compact.js")),
              ({ readPartition }) => readPartition(config.dataDir, SchemaDriftDataset, date)
            )
          : Effect.succeed([])
    })
  })
)

/** Nothing checked: for layers that do not watch drift. */
export const Off: Layer.Layer<SchemaDrift> = Layer.succeed(
  SchemaDrift,
  SchemaDrift.of({ observe: () => Effect.void })
)
