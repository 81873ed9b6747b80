/**
 * The console the CLI prints through (help, usage errors, command output). @effect/cli renders its
 * help with ANSI styles whatever the output is, and gives every text option and argument the same
 * filler line ("A user-defined piece of text.") above the description we wrote. Here:
 * - styles are removed unless the stream is a terminal and NO_COLOR is unset (the logger's rule);
 * - the filler line is removed (with the blank line after it): every option has a description.
 */
import { type Console, Effect } from "effect"

// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts the styles removed here.
const ANSI_STYLE = /\x1b\[[0-9;]*m/g
/** @effect/cli's help for a text primitive, on its own indented line in a description list. */
const FILLER = /^[ \t]+A user-defined piece of text(?: that is confidential)?\.\n(?:[ \t]*\n)?/gm

const styled = (stream: NodeJS.WriteStream): boolean =>
  stream.isTTY === true && process.env["NO_COLOR"] === undefined

/** The text as it should reach a stream: no filler, and styles only where they render. */
export const cleanText = (text: string, keepStyles: boolean): string =>
  (keepStyles ? text : text.replace(ANSI_STYLE, "")).replace(FILLER, "")

const cleanArgs = (args: ReadonlyArray<unknown>, keepStyles: boolean): Array<unknown> =>
  args.map((a) => (typeof a === "string" ? cleanText(a, keepStyles) : a))

/** Runs `effect` with Console.log and Console.error cleaned for stdout and stderr. */
export const withCliConsole = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.console, (base) =>
    Effect.withConsole(effect, {
      ...base,
      log: (...args: ReadonlyArray<unknown>) => base.log(...cleanArgs(args, styled(process.stdout))),
      error: (...args: ReadonlyArray<unknown>) => base.error(...cleanArgs(args, styled(process.stderr)))
    } satisfies Console.Console)
  )
