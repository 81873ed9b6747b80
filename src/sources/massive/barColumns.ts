/**
 * What the frame decode worker and `FrameDecoder` exchange: requests of frames (and how to read their
 * aggregates), and their events with the aggregates as columns (symbols, and one Float64Array
 * transferred without a copy). The worker knows no dataset: the main thread turns the columns into
 * records with the dataset's codec. Kept apart from the worker's entry so that loading it never
 * touches a thread's message port.
 */
import type { LiveEvent } from "../../runners/LiveFeed.js"
import type { AggregateCodec } from "./wsWire.js"

/** Numbers per aggregate in `values`: s, o, h, l, c, v, vw (NaN for absent). */
export const AGGREGATE_WIDTH = 7

export interface DecodeRequest {
  readonly id: number
  readonly frames: ReadonlyArray<string>
  /** When each frame was received. */
  readonly receivedAt: ReadonlyArray<number>
  readonly ev: AggregateCodec<unknown>["ev"]
  readonly volume: AggregateCodec<unknown>["volume"]
}

/** A `Records` event as columns. */
export interface AggregateColumns {
  readonly _tag: "AggregateColumns"
  readonly symbols: ReadonlyArray<string>
  readonly values: Float64Array
  readonly receivedAt: number
}

export type WorkerEvent = Exclude<LiveEvent<never>, { readonly _tag: "Records" }> | AggregateColumns

export interface DecodeResponse {
  readonly id: number
  /** The events of each frame, in frame order. */
  readonly events: ReadonlyArray<ReadonlyArray<WorkerEvent>>
  /** The official open (`op`) last seen per symbol in these frames. */
  readonly opens: ReadonlyArray<readonly [string, number]>
}

/** What the worker posts once its code is loaded, before any response. */
export const WORKER_READY = "ready"

type Row = readonly [string, number, number, number, number, number, number, number]

/** The codec the worker decodes with: each aggregate as a row of its fields, `op`s collected. */
export const rowCodec = (
  request: Pick<DecodeRequest, "ev" | "volume">,
  opens: Map<string, number>
): AggregateCodec<Row> => ({
  ev: request.ev,
  volume: request.volume,
  // JSON has no NaN, so NaN can stand for an absent value here.
  toRecord: (sym, s, o, h, l, c, v, vw) => [sym, s, o, h, l, c, v ?? Number.NaN, vw ?? Number.NaN],
  noteOpen: (sym, op) => opens.set(sym, op)
})

/** The `Records` events of rows as columns; the others unchanged. */
export const toWorkerEvents = (events: ReadonlyArray<LiveEvent<Row>>, transfer: Array<ArrayBuffer>) =>
  events.map((e): WorkerEvent => {
    if (e._tag !== "Records") return e
    const n = e.records.length
    const symbols: Array<string> = new Array(n)
    const values = new Float64Array(n * AGGREGATE_WIDTH)
    for (let i = 0; i < n; i++) {
      const r = e.records[i]!
      const k = i * AGGREGATE_WIDTH
      symbols[i] = r[0]
      for (let j = 1; j <= AGGREGATE_WIDTH; j++) values[k + j - 1] = r[j] as number
    }
    transfer.push(values.buffer)
    return { _tag: "AggregateColumns", symbols, values, receivedAt: e.receivedAt }
  })

/** The worker's events as `LiveEvent`s: columns back into records through the dataset's codec. */
export const fromWorkerEvents = <A>(
  events: ReadonlyArray<WorkerEvent>,
  codec: AggregateCodec<A>
): Array<LiveEvent<A>> =>
  events.map((e): LiveEvent<A> => {
    if (e._tag !== "AggregateColumns") return e
    const { symbols, values } = e
    const n = symbols.length
    const records: Array<A> = new Array(n)
    for (let i = 0; i < n; i++) {
      const k = i * AGGREGATE_WIDTH
      const v = values[k + 5]!
      const vw = values[k + 6]!
      records[i] = codec.toRecord(
        symbols[i]!,
        values[k]!,
        values[k + 1]!,
        values[k + 2]!,
        values[k + 3]!,
        values[k + 4]!,
        Number.isNaN(v) ? undefined : v,
        Number.isNaN(vw) ? undefined : vw
      )
    }
    return { _tag: "Records", records, receivedAt: e.receivedAt }
  })
