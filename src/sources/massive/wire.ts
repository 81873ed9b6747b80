/**
 * Massive REST wire types: the JSON the vendor sends, as Schemas, at the boundary only.
 * Every struct ignores unknown members (Schema's default on decode), so fields the vendor adds
 * later do not break decoding. Only what tapehouse reads, or what every sample carries, is required.
 *
 * Aggregate bars are the hot path: `decodeBar` checks them with a plain function instead of
 * `AggregateBar` (see the measurement next to it). `AggregateBar` documents the shape and serves tests.
 */
import { Schema } from "effect"
import type { Rejected } from "../../domain/Dataset.js"
import type { StockBar } from "../../domain/StockBar.js"

/** `status` values of a successful response. "DELAYED" is what delayed-data plans get. */
export const SuccessStatus = Schema.Literal("OK", "DELAYED")

/**
 * Envelope of `/v2/aggs/ticker/{ticker}/range/...`. `results` is left unknown here and checked bar
 * by bar, so one bad bar is rejected alone instead of failing the page. Indices responses carry no
 * `adjusted` and (in the spec example) no `resultsCount`, so those are optional.
 */
export const AggregatesEnvelope = Schema.Struct({
  ticker: Schema.String,
  queryCount: Schema.optional(Schema.Number),
  resultsCount: Schema.optional(Schema.Number),
  adjusted: Schema.optional(Schema.Boolean),
  results: Schema.optional(Schema.Array(Schema.Unknown)),
  status: SuccessStatus,
  request_id: Schema.optional(Schema.String),
  count: Schema.optional(Schema.Number),
  next_url: Schema.optional(Schema.String)
})
export type AggregatesEnvelope = typeof AggregatesEnvelope.Type

/**
 * The envelope without `results`, which the client checks itself (`resultsOf`): Schema's
 * `Array(Unknown)` walks every bar with a parse result of its own, a cost per row on the hot path.
 */
export const AggregatesEnvelopeHead = AggregatesEnvelope.omit("results")

/** `results` of an aggregates body: absent is no bars; anything but an array is a problem (a sentence). */
export const resultsOf = (body: unknown): ReadonlyArray<unknown> | string => {
  // biome-ignore lint/suspicious/noExplicitAny: vendor decoding, the envelope is checked by its Schema
  const results = (body as any)?.results
  if (results === undefined) return []
  return Array.isArray(results) ? results : `results is ${describeType(results)}, expected an array of bars`
}

/** One custom-range aggregate bar. Indices bars have only `o,h,l,c,t`. `otc` appears only when true. */
export const AggregateBar = Schema.Struct({
  o: Schema.Number,
  h: Schema.Number,
  l: Schema.Number,
  c: Schema.Number,
  t: Schema.Number,
  v: Schema.optional(Schema.Number),
  vw: Schema.optional(Schema.Number),
  n: Schema.optional(Schema.Number),
  otc: Schema.optional(Schema.Boolean)
})
export type AggregateBar = typeof AggregateBar.Type

/** `/v1/open-close/{ticker}/{date}`. `from` is a date (stocks, options) or an ISO timestamp (indices). */
export const OpenClose = Schema.Struct({
  status: SuccessStatus,
  from: Schema.String,
  symbol: Schema.String,
  open: Schema.Number,
  high: Schema.Number,
  low: Schema.Number,
  close: Schema.Number,
  volume: Schema.optional(Schema.Number),
  afterHours: Schema.optional(Schema.Number),
  preMarket: Schema.optional(Schema.Number),
  otc: Schema.optional(Schema.Boolean)
})
export type OpenClose = typeof OpenClose.Type

/** `/v1/marketstatus/now`: a bare object (no `status`, no `request_id`). */
export const MarketStatusNow = Schema.Struct({
  market: Schema.String,
  serverTime: Schema.String,
  earlyHours: Schema.Boolean,
  afterHours: Schema.Boolean,
  exchanges: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  currencies: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String }))
})
export type MarketStatusNow = typeof MarketStatusNow.Type

/**
 * One entry of `/v1/marketstatus/upcoming`. `status` is "closed" or "early-close" in every sample; it
 * is read as a string so that a new value is skipped by the caller rather than failing the whole list.
 * `open`/`close` (UTC ISO timestamps) are present on early closes only.
 */
export const UpcomingDay = Schema.Struct({
  exchange: Schema.String,
  name: Schema.String,
  date: Schema.String,
  status: Schema.String,
  open: Schema.optional(Schema.String),
  close: Schema.optional(Schema.String)
})
export type UpcomingDay = typeof UpcomingDay.Type

/** `/v1/marketstatus/upcoming`: a bare JSON array. */
export const MarketStatusUpcoming = Schema.Array(UpcomingDay)

/** An error body: `ERROR` bodies carry `error`, `NOT_AUTHORIZED`/`NOT_FOUND` bodies carry `message`. */
export const ErrorBody = Schema.Struct({
  status: Schema.String,
  request_id: Schema.optional(Schema.String),
  error: Schema.optional(Schema.String),
  message: Schema.optional(Schema.String)
})
export type ErrorBody = typeof ErrorBody.Type

const decodeErrorBody = Schema.decodeUnknownOption(ErrorBody)

/** The vendor's own words from an error body, or a trimmed excerpt of the raw text when it is not JSON. */
export const errorText = (body: string): string => {
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    const trimmed = body.trim()
    return trimmed.length === 0 ? "empty body" : trimmed.length > 200 ? trimmed.slice(0, 200) + "…" : trimmed
  }
  const decoded = decodeErrorBody(parsed)
  if (decoded._tag === "Some") {
    const e = decoded.value
    const text = e.error ?? e.message ?? e.status
    return e.request_id === undefined ? text : `${text} (request_id ${e.request_id})`
  }
  const raw = body.trim()
  return raw.length > 200 ? raw.slice(0, 200) + "…" : raw
}

/** A bar decoded to the canonical record, or the reason it was not. */
export type BarResult<A = StockBar> =
  | { readonly _tag: "Bar"; readonly bar: A }
  | { readonly _tag: "Rejected"; readonly rejected: Rejected }

/**
 * How a dataset reads custom-range aggregate bars: whether they must carry a volume, and the record
 * a bar makes (positional arguments: no object per bar beyond the record).
 */
export interface BarCodec<A> {
  /** `required`: stock and option bars (a bar without `v` is rejected); `none`: index bars (only o/h/l/c/t). */
  readonly volume: "required" | "none"
  /** The record of a bar of `symbol`; `v`, `vw` and `n` are undefined when absent or null. */
  readonly toRecord: (
    symbol: string,
    t: number,
    o: number,
    h: number,
    l: number,
    c: number,
    v: number | undefined,
    vw: number | undefined,
    n: number | undefined
  ) => A
}

/** Stock (and option) bars: `vw`/`n` absent or null become null; a bar without `v` is rejected, not a zero volume. */
export const stockBarCodec: BarCodec<StockBar> = {
  volume: "required",
  toRecord: (symbol, ts, open, high, low, close, v, vw, n) => ({
    symbol,
    ts,
    open,
    high,
    low,
    close,
    volume: v ?? 0,
    vwap: vw ?? null,
    trades: n ?? null
  })
}

const describeType = (x: unknown): string => (x === null ? "null" : Array.isArray(x) ? "array" : typeof x)

/**
 * Decodes one aggregate bar into a `StockBar` for `symbol` (`decodeAggregateBar` with `stockBarCodec`).
 *
 * Why not `Schema.decodeUnknownEither(AggregateBar)`: measured on 23,400 bars (one regular session of
 * second bars) with Node 20 on the 2-core dev box (`npx vitest run test/sources/massive/wire.test.ts -t
 * throughput`, which prints both), `Schema.decodeUnknownEither(AggregateBar)` plus the mapping to
 * `StockBar` does about 0.55M bars/s, this function about 13.6M bars/s including the mapping. The
 * backfill target (300k rows/s end to end) leaves decoding a small slice of the budget, which Schema
 * would eat on its own (0.55M/s = 1.8 µs of every 3.3 µs), so the plain function it is; `AggregateBar` stays the documented shape and tests check both agree.
 */
export const decodeBar = (raw: unknown, symbol: string): BarResult =>
  decodeAggregateBar(raw, symbol, stockBarCodec)

/** The fields of an aggregate bar have the types the codec needs (volume required, or optional as for indices). */
const isBarShape = (
  b: { readonly [field: string]: unknown },
  wantsVolume: boolean
): b is {
  o: number
  h: number
  l: number
  c: number
  t: number
  v?: number | null
  vw?: number | null
  n?: number | null
} => {
  const { o, h, l, c, t, v, vw, n } = b
  return (
    typeof o === "number" &&
    typeof h === "number" &&
    typeof l === "number" &&
    typeof c === "number" &&
    typeof t === "number" &&
    (wantsVolume ? typeof v === "number" : v === undefined || v === null || typeof v === "number") &&
    Number.isInteger(t) &&
    (vw === undefined || vw === null || typeof vw === "number") &&
    (n === undefined || n === null || typeof n === "number")
  )
}

/**
 * Decodes one aggregate bar with `codec`, checking each field's type by hand. With `volume: "none"`
 * (indices) a bar of only `o,h,l,c,t` decodes, and `v`/`vw`/`n`, when a bar carries them anyway,
 * must still be numbers.
 */
export const decodeAggregateBar = <A>(raw: unknown, symbol: string, codec: BarCodec<A>): BarResult<A> => {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return reject({ symbol, value: raw as never }, `bar is ${describeType(raw)}, expected an object`)
  }
  const b = raw as Readonly<Record<string, unknown>>
  const wantsVolume = codec.volume === "required"
  if (isBarShape(b, wantsVolume)) {
    return {
      _tag: "Bar",
      bar: codec.toRecord(
        symbol,
        b.t,
        b.o,
        b.h,
        b.l,
        b.c,
        b.v ?? undefined,
        b.vw ?? undefined,
        b.n ?? undefined
      )
    }
  }
  return reject({ symbol, ...(raw as Record<string, unknown>) }, barProblem(b, wantsVolume))
}

/**
 * Decodes a page's bars with `codec` into `bars`, the ones that do not decode into `rejected`:
 * `decodeAggregateBar`'s checks without a result object per bar.
 */
export const decodeAggregateBars = <A>(
  results: ReadonlyArray<unknown>,
  symbol: string,
  codec: BarCodec<A>,
  bars: Array<A>,
  rejected: Array<Rejected>
): void => {
  const wantsVolume = codec.volume === "required"
  const toRecord = codec.toRecord
  for (let i = 0; i < results.length; i++) {
    const raw = results[i]
    if (typeof raw === "object" && raw !== null && !Array.isArray(raw)) {
      const b = raw as Readonly<Record<string, unknown>>
      if (isBarShape(b, wantsVolume)) {
        bars.push(
          toRecord(symbol, b.t, b.o, b.h, b.l, b.c, b.v ?? undefined, b.vw ?? undefined, b.n ?? undefined)
        )
        continue
      }
    }
    const r = decodeAggregateBar(raw, symbol, codec)
    if (r._tag === "Rejected") rejected.push(r.rejected)
    else bars.push(r.bar)
  }
}

const reject = (record: Record<string, unknown>, reason: string): BarResult<never> => ({
  _tag: "Rejected",
  rejected: { record, reason }
})

/** The first thing wrong with a bar, as a sentence fragment (only called on the slow path). */
// biome-ignore lint/suspicious/noExplicitAny: vendor decoding
const barProblem = (b: any, wantsVolume: boolean): string => {
  const at = typeof b.t === "number" ? ` (t=${b.t})` : ""
  for (const k of ["o", "h", "l", "c", "t"] as const) {
    if (b[k] === undefined) return `bar${at} has no ${k}`
    if (typeof b[k] !== "number") return `bar${at} field ${k} is ${describeType(b[k])}, expected a number`
  }
  if (!Number.isInteger(b.t)) return `bar t=${b.t} is not an integer epoch-ms timestamp`
  if (wantsVolume && (b.v === undefined || b.v === null)) {
    return `bar${at} has no v (volume); indices bars carry no volume and do not fit stock bars`
  }
  for (const k of ["v", "vw", "n"] as const) {
    if (b[k] !== undefined && b[k] !== null && typeof b[k] !== "number")
      return `bar${at} field ${k} is ${describeType(b[k])}, expected a number`
  }
  return `bar${at} does not decode`
}
