/**
 * The one live line a command keeps at the bottom of a terminal (a backfill's progress, a
 * stream's counters), rewritten in place. Log lines go through `print`, which clears the live line,
 * writes the log line and redraws the live line under it, so the two are never glued together.
 * Off a terminal the live line is not shown at all and `print` writes plain lines.
 */
import { Context, Effect, Layer } from "effect"

export interface StatusLineShape {
  /** True when a live line is shown (stderr is a terminal). */
  readonly live: boolean
  /** Replaces the live line (a no-op off a terminal). */
  readonly show: (text: string) => void
  /** Removes the live line, leaving the cursor at the start of an empty line. */
  readonly clear: () => void
  /** Writes `text` and a newline above the live line. */
  readonly print: (text: string) => void
}

export class StatusLine extends Context.Tag("tapehouse/StatusLine")<StatusLine, StatusLineShape>() {}

const ERASE = "\r\x1b[2K"

/** A live line on `out`; `live` false writes plain lines only. */
export const make = (out: { readonly write: (s: string) => unknown }, live: boolean): StatusLineShape => {
  let current: string | undefined
  return {
    live,
    show: (text) => {
      if (!live) return
      current = text
      out.write(`${ERASE}${text}`)
    },
    clear: () => {
      if (current === undefined) return
      current = undefined
      out.write(ERASE)
    },
    print: (text) => {
      if (current === undefined) out.write(`${text}\n`)
      else out.write(`${ERASE}${text}\n${current}`)
    }
  }
}

/**
 * stderr, live when it is a terminal. The live line is removed when the scope closes, so the
 * command's own output starts on a clean line.
 */
export const Live: Layer.Layer<StatusLine> = Layer.scoped(
  StatusLine,
  Effect.acquireRelease(
    Effect.sync(() => make(process.stderr, process.stderr.isTTY === true)),
    (line) => Effect.sync(() => line.clear())
  )
)
