/** The command tree: runs it, prints domain errors as sentences, maps them to exit codes (bin.ts loads it). */
import { ValidationError } from "@effect/cli"
// Only the services @effect/cli needs, by module: the package's index loads its HTTP client (undici) too.
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import { Cause, Console, Effect, Layer, Option } from "effect"
import { makeRedactor } from "../config/redact.js"
import { VENDOR_KEY_ENVS } from "../config/vendors.js"
import { run } from "./Cli.js"
import { exitCodeOf, watchSignals } from "./exitCode.js"

// Errors printed here may quote URLs or causes: mask any secret the environment holds.
const redact = makeRedactor(
  [...VENDOR_KEY_ENVS, "TAPEHOUSE_PG_URL"].map((name) => process.env[name]).filter((s): s is string => !!s)
)

watchSignals()

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
