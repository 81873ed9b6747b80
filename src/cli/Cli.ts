/** The command tree, and how a command line runs through it. */
import { Command } from "@effect/cli"
import { Effect, Option } from "effect"
import { UsageError } from "../domain/errors.js"
import { backfillCommand } from "./backfillCommand.js"
import { assessCommand, booksCommand, fidelityCommand } from "./bookCommands.js"
import { withCliConsole } from "./cliConsole.js"
import { consolidateCommand } from "./consolidateCommand.js"
import { demoCommand } from "./demoCommand.js"
import { discoverCommand } from "./discoverCommand.js"
import { errorsCommand } from "./errorsCommand.js"
import { healthCommand } from "./healthCommand.js"
import { root } from "./root.js"
import { simCommand } from "./simCommand.js"
import { compactCommand, simulateCommand } from "./simulateCommand.js"
import { sqlCommand } from "./sqlCommand.js"
import { statusCommand } from "./statusCommand.js"
import { stopCommand, streamCommand } from "./streamCommand.js"
import { commandTree, unknownOption } from "./unknownOptions.js"

const subcommands = [
  backfillCommand,
  discoverCommand,
  streamCommand,
  stopCommand,
  statusCommand,
  errorsCommand,
  healthCommand,
  simulateCommand,
  compactCommand,
  consolidateCommand,
  simCommand,
  sqlCommand,
  booksCommand,
  fidelityCommand,
  assessCommand,
  demoCommand
] as const

export const command = root.pipe(Command.withSubcommands(subcommands))

const runCommand = Command.run(command, { name: "tapehouse", version: "0.1.0" })
const tree = commandTree(root, subcommands)

/** Runs `argv` (as `process.argv`): an unknown option is a usage error (exit 2) before anything runs. */
export const run = (argv: ReadonlyArray<string>) =>
  withCliConsole(
    Option.match(unknownOption(tree, argv.slice(2)), {
      onNone: () => runCommand(argv),
      onSome: (detail) => Effect.fail(new UsageError({ detail }))
    })
  )
