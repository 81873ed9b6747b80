#!/usr/bin/env node
/** Entry point: runs the command tree, prints domain errors as sentences, maps them to exit codes. */
import { ValidationError } from "@effect/cli"
// Only the services @effect/cli needs, by module: the package's index loads its HTTP client (undici) too.
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import { Cause, Console, Effect, Exit, Layer, Option } from "effect"
import { run } from "./cli/Cli.js"
import { makeRedactor } from "./config/redact.js"

// Errors printed here may quote URLs or causes: mask any secret the environment holds.
const redact = makeRedactor(
  [process.env.MASSIVE_API_KEY, process.env.TAPEHOUSE_PG_URL].filter((s): s is string => !!s)
)

/** 2: bad usage or config; 1: a failure (days failed, vendor or storage error); 0: success or a clean stop. */
export const exitCodeOf = (exit: Exit.Exit<unknown, unknown>): number => {
  if (Exit.isSuccess(exit)) return 0
  if (Cause.isInterruptedOnly(exit.cause)) return 0
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    if (ValidationError.isValidationError(error)) return error._tag === "HelpRequested" ? 0 : 2
    const tag = (error as { readonly _tag?: string })._tag
    if (tag === "ConfigError" || tag === "UsageError") return 2
  }
  return 1
}

const main = run(process.argv).pipe(
  Effect.tapErrorCause((cause) => {
    if (Cause.isInterruptedOnly(cause)) return Effect.void
    const failure = Cause.failureOption(cause)
    // @effect/cli prints its own validation errors with the help text.
    if (Option.isSome(failure) && ValidationError.isValidationError(failure.value)) return Effect.void
    if (Option.isSome(failure) && failure.value instanceof Error)
      return Console.error(redact(`tapehouse: ${failure.value.message}`))
    return Console.error(redact(`tapehouse: unexpected failure\n${Cause.pretty(cause)}`))
  }),
  Effect.provide(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer, NodeTerminal.layer))
)

NodeRuntime.runMain(main, {
  disableErrorReporting: true,
  // Our own logger (monitor/logging.ts) writes the console and the JSON log file.
  disablePrettyLogger: true,
  teardown: (exit, onExit) => onExit(exitCodeOf(exit))
})
