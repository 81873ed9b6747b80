/** How a greeks body's chunks become text for the CSV parser. */
import { Buffer, isAscii } from "node:buffer"

/** How a body's chunks become text: each chunk's, then what is left at the end. */
export interface TextOf<X> {
  readonly chunk: (x: X) => string
  readonly rest: () => string
}

/**
 * A body's UTF-8 bytes as text, chunk by chunk. ThetaData's CSV is ASCII: while every chunk is,
 * a chunk is read as Latin-1 (the same text for ASCII bytes, and several times cheaper than a UTF-8
 * decode); from the first chunk that is not, the rest goes through a streaming UTF-8 decoder (no
 * multi-byte character can have started before it).
 */
export const utf8Text = (): TextOf<Uint8Array> => {
  let decoder: InstanceType<typeof TextDecoder> | undefined
  return {
    chunk: (b) => {
      if (decoder === undefined) {
        if (isAscii(b)) return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1")
        decoder = new TextDecoder()
      }
      return decoder.decode(b, { stream: true })
    },
    rest: () => (decoder === undefined ? "" : decoder.decode())
  }
}
