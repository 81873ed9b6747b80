/**
 * A greeks body's parser as the client's stream drives it: chunks in, parsed batches out, in order.
 * `hereParser` parses in this thread as each chunk is pushed; `greeksDecodeThread.threadParser`
 * hands the chunks to a worker thread and gives its batches back as they come.
 */
import { Data, Effect } from "effect"
import type { TextOf } from "./bodyText.js"
import { type GreeksBatch, type GreeksCsvParser, makeGreeksCsvParser, type ThetaApi } from "./greeksCsv.js"

/** A batch of rows and rejects, or (a string) why the body cannot be read at all. */
export type Parsed = GreeksBatch | string

/** The decoding thread stopped before it answered: the body's rows are not all read. */
export class DecodeThreadStopped extends Data.TaggedError("DecodeThreadStopped")<{
  readonly detail: string
}> {}

export interface BodyParser<X> {
  /** Takes the body's next chunk; gives what is parsed by now, in order (often nothing). */
  readonly push: (x: X) => Array<Parsed>
  /** Too many chunks wait to be parsed: `settle` before pushing more. */
  readonly busy: () => boolean
  /** Waits until fewer chunks wait; gives what was parsed meanwhile. */
  readonly settle: Effect.Effect<Array<Parsed>, DecodeThreadStopped>
  /** The body ended: everything not yet given, its last line (without a line break) read as a row. */
  readonly end: Effect.Effect<Array<Parsed>, DecodeThreadStopped>
  /**
   * The body broke off: everything not yet given, with its unfinished last line rejected, and the
   * number of lines read.
   */
  readonly cut: Effect.Effect<{ readonly parsed: Array<Parsed>; readonly lines: number }, DecodeThreadStopped>
  /** The stream is over, however it ended: frees what the parser holds. */
  readonly close: () => void
}

/** Whether a parsed value is worth handing on: a reason, or a batch with rows or rejects. */
export const worthHanding = (parsed: Parsed): boolean =>
  typeof parsed === "string" || parsed.columns.length > 0 || parsed.rejected.length > 0

/** What `parser` gives for the body's next chunk (`text`): nothing, or a batch or a reason. */
export const parsedOf = (parser: GreeksCsvParser, text: string): Array<Parsed> => {
  const parsed = parser.feed(text)
  return worthHanding(parsed) ? [parsed] : []
}

/** The body ended: what is left of its text read, then its last line (without a line break). */
export const parsedAtEnd = <X>(parser: GreeksCsvParser, textOf: TextOf<X>): Array<Parsed> => {
  const rest = textOf.rest()
  const out = rest === "" ? [] : parsedOf(parser, rest)
  out.push(parser.end())
  return out
}

/** The body broke off: its unfinished last line rejected, and the lines read. */
export const parsedAtCut = (
  parser: GreeksCsvParser
): { readonly parsed: Array<Parsed>; readonly lines: number } => ({
  parsed: [parser.cut()],
  lines: parser.lines()
})

/** Parses each chunk in this thread as it is pushed. */
export const hereParser = <X>(api: ThetaApi, textOf: TextOf<X>): BodyParser<X> => {
  const parser = makeGreeksCsvParser(api)
  return {
    push: (x) => parsedOf(parser, textOf.chunk(x)),
    busy: () => false,
    settle: Effect.sync(() => []),
    end: Effect.sync(() => parsedAtEnd(parser, textOf)),
    cut: Effect.sync(() => parsedAtCut(parser)),
    close: () => {}
  }
}
