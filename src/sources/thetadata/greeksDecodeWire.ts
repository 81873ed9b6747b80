/**
 * What the main thread and the greeks decoding thread (greeksDecodeWorker.ts) say to each other.
 * A batch crosses as its columns, their typed arrays transferred (not copied); strings and rejects
 * are copied.
 */
import type { Rejected } from "../../domain/Dataset.js"
import type { FlatColumnData } from "../../sinks/parquetColumns.js"
import type { Parsed } from "./greeksBodyParser.js"
import { greeksBatch, type ThetaApi } from "./greeksCsv.js"

/** The worker's first message: its code is loaded. */
export const DECODER_READY = "greeks-decoder-ready"

export type DecodeRequest =
  | { readonly type: "open"; readonly id: number; readonly api: ThetaApi }
  | { readonly type: "feed"; readonly id: number; readonly bytes: Uint8Array }
  | { readonly type: "end"; readonly id: number }
  | { readonly type: "cut"; readonly id: number }
  | { readonly type: "close"; readonly id: number }

/** A string column as it crosses: its distinct strings, and each row's index among them. */
interface CodedStrings {
  readonly kind: "coded"
  readonly distinct: ReadonlyArray<string>
  readonly codes: Uint32Array
  readonly present: Uint8Array | undefined
}

type WireColumn = FlatColumnData | CodedStrings

/** A batch as it crosses. */
export type WireParsed =
  | string
  | {
      readonly length: number
      readonly columns: ReadonlyArray<WireColumn>
      readonly rejected: Array<Rejected>
    }

/**
 * The answer to one `feed` (what it completed), or to `end` or `cut` (`last`: everything left, and
 * the lines read). A body's answers come in the order of its requests.
 */
export interface DecodeResponse {
  readonly id: number
  readonly parsed: ReadonlyArray<WireParsed>
  readonly last?: { readonly lines: number }
}

/**
 * A string column coded: a copied array of strings would arrive as a new string per row (symbol and
 * right repeat on every row), which the receiving thread holds until the unit commits.
 */
const coded = (values: ReadonlyArray<string>, present: Uint8Array | undefined): CodedStrings => {
  const distinct: Array<string> = []
  const index = new Map<string, number>()
  const codes = new Uint32Array(values.length)
  let last: string | undefined
  let lastCode = 0
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!
    if (v !== last) {
      let code = index.get(v)
      if (code === undefined) {
        code = distinct.length
        distinct.push(v)
        index.set(v, code)
      }
      last = v
      lastCode = code
    }
    codes[i] = lastCode
  }
  return { kind: "coded", distinct, codes, present }
}

const decoded = (column: CodedStrings): FlatColumnData => {
  const { distinct, codes } = column
  const values = new Array<string>(codes.length)
  for (let i = 0; i < codes.length; i++) values[i] = distinct[codes[i]!]!
  return { kind: "string", values, present: column.present }
}

/** `parsed` as it crosses; the buffers of its typed arrays are added to `transfer`. */
export const toWire = (parsed: Parsed, transfer: Set<ArrayBuffer>): WireParsed => {
  if (typeof parsed === "string") return parsed
  const columns = parsed.columns.columns.map((column): WireColumn => {
    const wire = column.kind === "string" ? coded(column.values, column.present) : column
    for (const array of [wire.kind === "coded" ? wire.codes : wire.values, wire.present]) {
      if (ArrayBuffer.isView(array) && array.buffer instanceof ArrayBuffer) transfer.add(array.buffer)
    }
    return wire
  })
  return { length: parsed.columns.length, columns, rejected: parsed.rejected }
}

/** A batch back from the wire. */
export const fromWire = (wire: WireParsed): Parsed =>
  typeof wire === "string"
    ? wire
    : greeksBatch(
        { length: wire.length, columns: wire.columns.map((c) => (c.kind === "coded" ? decoded(c) : c)) },
        wire.rejected
      )
