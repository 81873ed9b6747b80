/**
 * What crosses between the main thread and the Parquet encoder thread (parquetEncodeThread.ts,
 * parquetEncodeWorker.ts). Kept apart from both so that the worker loads neither Effect nor the
 * Parquet reader.
 */

import type { FlatColumnData } from "./parquetColumns.js"
import type { ColumnTable, EncodeOptions } from "./parquetEncode.js"

/**
 * A string column as it crosses to the worker: its distinct strings and each row's index among
 * them (a few strings rather than one per row to copy, and none to collect there).
 */
interface CodedStrings {
  readonly kind: "coded"
  readonly dictionary: ReadonlyArray<string>
  readonly codes: Uint32Array
  readonly present: Uint8Array | undefined
}

type WireColumn = FlatColumnData | CodedStrings

/** What the main thread sends: one table to encode, its string columns coded. */
export interface EncodeRequest {
  readonly id: number
  readonly table: Omit<ColumnTable, "table"> & {
    readonly table: { readonly length: number; readonly columns: ReadonlyArray<WireColumn> }
  }
  readonly options: EncodeOptions
}

/** A string column coded for the trip. */
export const codedStrings = (
  values: ReadonlyArray<string>,
  present: Uint8Array | undefined
): CodedStrings => {
  const dictionary: Array<string> = []
  const index = new Map<string, number>()
  const codes = new Uint32Array(values.length)
  let last: string | undefined
  let code = 0
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!
    if (v !== last) {
      let c = index.get(v)
      if (c === undefined) {
        c = dictionary.length
        dictionary.push(v)
        index.set(v, c)
      }
      last = v
      code = c
    }
    codes[i] = code
  }
  return { kind: "coded", dictionary, codes, present }
}

/** The request's table as the encoder reads it: string columns decoded. */
export const tableOfRequest = (request: EncodeRequest): ColumnTable => ({
  ...request.table,
  table: {
    length: request.table.table.length,
    columns: request.table.table.columns.map((c): FlatColumnData => {
      if (c.kind !== "coded") return c
      const values = new Array<string>(c.codes.length)
      for (let i = 0; i < values.length; i++) values[i] = c.dictionary[c.codes[i]!]!
      return { kind: "string", values, present: c.present }
    })
  }
})

/** What the worker answers: the file's bytes, or why the table could not be encoded. */
export type EncodeResponse =
  | { readonly id: number; readonly bytes: Uint8Array }
  | { readonly id: number; readonly error: string }
