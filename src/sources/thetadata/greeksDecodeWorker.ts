/**
 * The worker side of `greeksDecodeThread`: each body's CSV parser, fed the body's bytes as they
 * arrive; every request is answered in order, with the batches it completed. Started through
 * `greeksDecodeWorker.mjs` (sources) or as its own entry point (dist/).
 */
import { parentPort } from "node:worker_threads"
import { type TextOf, utf8Text } from "./bodyText.js"
import { type Parsed, parsedAtCut, parsedAtEnd, parsedOf } from "./greeksBodyParser.js"
import { type GreeksCsvParser, makeGreeksCsvParser } from "./greeksCsv.js"
import { DECODER_READY, type DecodeRequest, type DecodeResponse, toWire } from "./greeksDecodeWire.js"

interface Body {
  readonly parser: GreeksCsvParser
  readonly text: TextOf<Uint8Array>
}

const port = parentPort
if (port !== null) {
  const bodies = new Map<number, Body>()
  const answer = (id: number, parsed: ReadonlyArray<Parsed>, lines?: number) => {
    const transfer = new Set<ArrayBuffer>()
    const wire = parsed.map((p) => toWire(p, transfer))
    const response: DecodeResponse =
      lines === undefined ? { id, parsed: wire } : { id, parsed: wire, last: { lines } }
    port.postMessage(response, [...transfer])
  }
  port.on("message", (request: DecodeRequest) => {
    if (request.type === "open") {
      bodies.set(request.id, { parser: makeGreeksCsvParser(request.api), text: utf8Text() })
      return
    }
    const body = bodies.get(request.id)
    if (body === undefined) return
    const { parser, text } = body
    switch (request.type) {
      case "feed":
        answer(request.id, parsedOf(parser, text.chunk(request.bytes)))
        return
      case "end":
        bodies.delete(request.id)
        answer(request.id, parsedAtEnd(parser, text), parser.lines())
        return
      case "cut": {
        bodies.delete(request.id)
        const { parsed, lines } = parsedAtCut(parser)
        answer(request.id, parsed, lines)
        return
      }
      case "close":
        bodies.delete(request.id)
    }
  })
  port.postMessage(DECODER_READY)
}
