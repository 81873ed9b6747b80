/**
 * Options whose values are checked while the command line is parsed, so a bad value stops the
 * command before it does anything, with exit code 2 and a sentence that names the option, the value
 * given and what is expected: `--rate-limit abc is not an integer; expected requests per minute, 0 or
 * more.` (@effect/cli's own checks say `'abc' is not a integer` and name no option.)
 */
import { HelpDoc, Options, ValidationError } from "@effect/cli"
import { Effect } from "effect"
import { isIsoDate } from "../domain/time.js"

/** The value as typed, quoted only when it would not read as one word. */
const shown = (value: string): string => (/^[^\s'"]+$/.test(value) ? value : JSON.stringify(value))

const invalid = (name: string, value: string, problem: string, expected: string) =>
  Effect.fail(
    ValidationError.invalidValue(HelpDoc.p(`--${name} ${shown(value)} ${problem}; expected ${expected}.`))
  )

/** One of `choices`, e.g. `--dataset stock_bars_1s`. */
export const choiceOption = <const C extends ReadonlyArray<string>>(
  name: string,
  choices: C
): Options.Options<C[number]> =>
  Options.text(name).pipe(
    Options.withPseudoName(choices.join("|")),
    Options.withDescription(`One of: ${choices.join(", ")}.`),
    Options.mapEffect((value) =>
      (choices as ReadonlyArray<string>).includes(value)
        ? Effect.succeed(value as C[number])
        : invalid(name, value, "is not one of the choices", `one of: ${choices.join(", ")}`)
    )
  )

/** A whole number between `min` and `max`; `expected` says what it counts, e.g. "requests per minute, 0 or more". */
export const integerOption = (
  name: string,
  bounds: { readonly min: number; readonly max?: number; readonly expected: string }
): Options.Options<number> =>
  Options.text(name).pipe(
    Options.withPseudoName("N"),
    Options.mapEffect((value) => {
      const n = /^[+-]?\d+$/.test(value.trim()) ? Number(value) : Number.NaN
      if (!Number.isSafeInteger(n)) return invalid(name, value, "is not an integer", bounds.expected)
      if (n < bounds.min || (bounds.max !== undefined && n > bounds.max))
        return invalid(name, value, "is out of range", bounds.expected)
      return Effect.succeed(n)
    })
  )

/** A calendar date, YYYY-MM-DD. */
export const dateOption = (name: string): Options.Options<string> =>
  Options.text(name).pipe(
    Options.withPseudoName("YYYY-MM-DD"),
    Options.mapEffect((value) =>
      isIsoDate(value) ? Effect.succeed(value) : invalid(name, value, "is not a date", "YYYY-MM-DD")
    )
  )
