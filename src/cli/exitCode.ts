/**
 * The process exit code of a command's outcome:
 * - 0: success, `--help`, or a stream stopped by a signal or `tapehouse stop` (its normal end);
 * - 1: a failure (days failed, a vendor or storage error);
 * - 2: bad usage or configuration;
 * - 130 / 143: any other command interrupted by SIGINT (Ctrl-C) / SIGTERM, as shells expect, so
 *   scripts and cron do not take an interrupted backfill for a finished one.
 */
import { ValidationError } from "@effect/cli"
import { Cause, Effect, Exit, Option } from "effect"

/** Process-wide by nature: signals reach the process, not a fiber. */
const state: { signal: NodeJS.Signals | undefined; interruptIsNormalEnd: boolean } = {
  signal: undefined,
  interruptIsNormalEnd: false
}

/** Remembers the first SIGINT/SIGTERM (the runtime itself turns them into an interruption). */
export const watchSignals = (): void => {
  for (const signal of ["SIGINT", "SIGTERM"] as const)
    process.on(signal, () => {
      state.signal ??= signal
    })
}

/** For commands whose way to end is a signal (`stream`): an interruption then exits 0. */
export const interruptIsNormalEnd = Effect.sync(() => {
  state.interruptIsNormalEnd = true
})

/** The signal that interrupted the run, if one did. */
export const receivedSignal = (): NodeJS.Signals | undefined => state.signal

export const exitCodeOf = (exit: Exit.Exit<unknown, unknown>): number => {
  if (Exit.isSuccess(exit)) return 0
  if (Cause.isInterruptedOnly(exit.cause)) {
    if (state.interruptIsNormalEnd || state.signal === undefined) return 0
    return state.signal === "SIGTERM" ? 143 : 130
  }
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    if (ValidationError.isValidationError(error)) return error._tag === "HelpRequested" ? 0 : 2
    const tag = (error as { readonly _tag?: string })._tag
    if (tag === "ConfigError" || tag === "UsageError") return 2
  }
  return 1
}
