/**
 * Massive WebSocket wire types (spec §11.3–11.4): server frames are JSON arrays of events, each
 * with `ev`. `StatusEvent` and `AggregateEvent` document the shapes as Schemas (tests check that the
 * hand-written decoder agrees with them); `decodeFrame` is the hot path: one `JSON.parse` per frame
 * and plain type checks per event, no Effect and no Schema per event (same reasoning and measurement
 * style as `decodeBar` in wire.ts; see `test/sources/massive/wsWire.test.ts` "throughput").
 *
 * Control messages the client sends (`auth`, `subscribe`) are built by `authMessage` and
 * `subscribeMessage`.
 */
import { Schema } from "effect"
import type { Rejected } from "../../domain/Dataset.js"
import type { LiveEvent } from "../../runners/LiveFeed.js"

/** `{ev:"status", status, message}`: connection, auth, subscription and disconnect notices. */
export const StatusEvent = Schema.Struct({
  ev: Schema.Literal("status"),
  status: Schema.String,
  message: Schema.String
})
export type StatusEvent = typeof StatusEvent.Type

/**
 * Per-second (`A`) or per-minute (`AM`) aggregate of stocks and options, keys exactly as in spec
 * §11.4. Only the keys the datasets read are required; `av`, `op`, `a`, `z`, `e`, `otc` are optional
 * (a later vendor change there must not quarantine good bars). Indices aggregates carry no `v`/`vw`:
 * see `IndexAggregateEvent`.
 */
export const AggregateEvent = Schema.Struct({
  ev: Schema.Literal("A", "AM"),
  sym: Schema.String,
  v: Schema.Number,
  av: Schema.optional(Schema.Number),
  op: Schema.optional(Schema.Number),
  vw: Schema.optional(Schema.NullOr(Schema.Number)),
  o: Schema.Number,
  c: Schema.Number,
  h: Schema.Number,
  l: Schema.Number,
  a: Schema.optional(Schema.Number),
  z: Schema.optional(Schema.Number),
  s: Schema.Number.pipe(Schema.int()),
  e: Schema.optional(Schema.Number),
  otc: Schema.optional(Schema.Boolean)
})
export type AggregateEvent = typeof AggregateEvent.Type

/** Indices `A`/`AM` (spec §11.4): no volume keys at all. */
export const IndexAggregateEvent = Schema.Struct({
  ev: Schema.Literal("A", "AM"),
  sym: Schema.String,
  op: Schema.optional(Schema.Number),
  o: Schema.Number,
  c: Schema.Number,
  h: Schema.Number,
  l: Schema.Number,
  s: Schema.Number.pipe(Schema.int()),
  e: Schema.optional(Schema.Number)
})
export type IndexAggregateEvent = typeof IndexAggregateEvent.Type

/**
 * How a dataset reads Massive aggregates: which `ev` it takes, whether they carry a volume, and the
 * record an aggregate makes (positional arguments: no object per event on the hot path).
 */
export interface AggregateCodec<A> {
  /** The `ev` read (`A`: per second); aggregates of another `ev` are reported as unknown events. */
  readonly ev: "A" | "AM"
  /** `required`: stock and option bars (an aggregate without `v` is rejected); `none`: index bars. */
  readonly volume: "required" | "none"
  /** The record of an aggregate; `v` and `vw` are undefined when absent. */
  readonly toRecord: (
    sym: string,
    s: number,
    o: number,
    h: number,
    l: number,
    c: number,
    v: number | undefined,
    vw: number | undefined
  ) => A
  /** Told each aggregate's official open of the day (`op`), when it carries one. */
  readonly noteOpen?: (sym: string, op: number) => void
}

/** Status values after which the server drops the connection (spec §11.3): the client reconnects. */
export const disconnectStatuses: ReadonlySet<string> = new Set([
  "max_connections",
  "slow_consumer",
  "force_disconnect"
])

/** `{"action":"auth","params":KEY}`. */
export const authMessage = (apiKey: string): string => JSON.stringify({ action: "auth", params: apiKey })

/** `{"action":"subscribe","params":"A.SPY,A.QQQ"}`: one message, comma-joined, no spaces (spec §11.2). */
export const subscribeMessage = (channels: ReadonlyArray<string>): string =>
  JSON.stringify({ action: "subscribe", params: channels.join(",") })

const sampleLength = 300

const excerpt = (text: string): string =>
  text.length > sampleLength ? text.slice(0, sampleLength) + "…" : text

const describeType = (x: unknown): string => (x === null ? "null" : Array.isArray(x) ? "array" : typeof x)

const rejectedFrame = <A>(frame: string, reason: string, receivedAt: number): ReadonlyArray<LiveEvent<A>> => [
  { _tag: "Rejected", rejected: [{ record: { frame }, reason }], receivedAt }
]

/**
 * Decodes one server frame into events, in frame order:
 * - consecutive aggregates of the codec's `ev` become one `Records` event, each made by the codec;
 * - each status object becomes a `Status` event, at its place in the frame;
 * - events that do not decode are gathered in one `Rejected` event after those;
 * - events of a type this decoder does not read (`T`, `Q`, `V`, `AM` for a per-second codec, …) are
 *   counted per `ev` and reported as `Unknown` events (count and one sample) last.
 * A frame that is not JSON, or not an array, is one `Rejected` event carrying the frame text.
 */
export const decodeFrame = <A>(
  frame: string,
  receivedAt: number,
  codec: AggregateCodec<A>
): ReadonlyArray<LiveEvent<A>> => {
  let parsed: unknown
  try {
    parsed = JSON.parse(frame)
  } catch {
    return rejectedFrame(frame, "frame is not JSON", receivedAt)
  }
  if (!Array.isArray(parsed)) return rejectedFrame(frame, "frame is not a JSON array", receivedAt)

  const out: Array<LiveEvent<A>> = []
  let records: Array<A> | undefined
  let rejected: Array<Rejected> | undefined
  let unknown: Map<string, { count: number; sample: string }> | undefined
  const wantsVolume = codec.volume === "required"
  const noteOpen = codec.noteOpen

  const flushRecords = () => {
    if (records !== undefined) {
      out.push({ _tag: "Records", records, receivedAt })
      records = undefined
    }
  }

  for (let i = 0; i < parsed.length; i++) {
    const raw: unknown = parsed[i]
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      ;(rejected ??= []).push({
        record: { event: raw as never },
        reason: `event ${i} is ${describeType(raw)}, expected an object`
      })
      continue
    }
    // biome-ignore lint/suspicious/noExplicitAny: vendor decoding, each field's type is checked below
    const e = raw as any
    const ev = e.ev
    if (ev === codec.ev) {
      const sym = e.sym
      const o = e.o
      const h = e.h
      const l = e.l
      const c = e.c
      const v = e.v
      const vw = e.vw
      const s = e.s
      if (
        typeof sym === "string" &&
        typeof o === "number" &&
        typeof h === "number" &&
        typeof l === "number" &&
        typeof c === "number" &&
        typeof s === "number" &&
        Number.isInteger(s) &&
        (wantsVolume ? typeof v === "number" : v === undefined || v === null || typeof v === "number") &&
        (vw === undefined || vw === null || typeof vw === "number")
      ) {
        records ??= []
        records.push(codec.toRecord(sym, s, o, h, l, c, v ?? undefined, vw ?? undefined))
        if (noteOpen !== undefined && typeof e.op === "number") noteOpen(sym, e.op)
      } else {
        ;(rejected ??= []).push({
          record: raw as Record<string, unknown>,
          reason: aggregateProblem(e, wantsVolume)
        })
      }
    } else if (ev === "status") {
      if (typeof e.status === "string") {
        flushRecords()
        out.push({
          _tag: "Status",
          status: e.status,
          message: typeof e.message === "string" ? e.message : "",
          at: receivedAt
        })
      } else {
        ;(rejected ??= []).push({
          record: raw as Record<string, unknown>,
          reason: `status event field status is ${describeType(e.status)}, expected a string`
        })
      }
    } else if (typeof ev === "string") {
      unknown ??= new Map()
      const seen = unknown.get(ev)
      if (seen === undefined) unknown.set(ev, { count: 1, sample: excerpt(JSON.stringify(raw)) })
      else seen.count++
    } else {
      ;(rejected ??= []).push({
        record: raw as Record<string, unknown>,
        reason:
          ev === undefined
            ? `event ${i} has no ev`
            : `event ${i} field ev is ${describeType(ev)}, expected a string`
      })
    }
  }
  flushRecords()
  if (rejected !== undefined) out.push({ _tag: "Rejected", rejected, receivedAt })
  if (unknown !== undefined) {
    for (const [ev, { count, sample }] of unknown) out.push({ _tag: "Unknown", ev, count, sample })
  }
  return out
}

/** The first thing wrong with an aggregate event, as a sentence fragment (slow path only). */
// biome-ignore lint/suspicious/noExplicitAny: vendor decoding
const aggregateProblem = (e: any, wantsVolume: boolean): string => {
  const sym = typeof e.sym === "string" ? ` ${e.sym}` : ""
  const at = typeof e.s === "number" ? ` (s=${e.s})` : ""
  const what = `${e.ev} event${sym}${at}`
  if (e.sym === undefined) return `${what} has no sym`
  if (typeof e.sym !== "string") return `${what} field sym is ${describeType(e.sym)}, expected a string`
  for (const k of ["o", "h", "l", "c", "s"] as const) {
    if (e[k] === undefined) return `${what} has no ${k}`
    if (typeof e[k] !== "number") return `${what} field ${k} is ${describeType(e[k])}, expected a number`
  }
  if (!Number.isInteger(e.s)) return `${what} s=${e.s} is not an integer epoch-ms timestamp`
  if (wantsVolume && (e.v === undefined || e.v === null))
    return `${what} has no v (volume); indices aggregates carry no volume and do not fit this dataset`
  if (e.v !== undefined && e.v !== null && typeof e.v !== "number")
    return `${what} field v is ${describeType(e.v)}, expected a number`
  if (typeof e.vw !== "number") return `${what} field vw is ${describeType(e.vw)}, expected a number`
  return `${what} does not decode`
}
