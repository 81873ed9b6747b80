/** The command tree. */
import { Command } from "@effect/cli"
import { backfillCommand } from "./backfillCommand.js"
import { demoCommand } from "./demoCommand.js"
import { root } from "./root.js"
import { simCommand } from "./simCommand.js"
import { compactCommand, simulateCommand } from "./simulateCommand.js"
import { sqlCommand } from "./sqlCommand.js"
import { statusCommand } from "./statusCommand.js"
import { stopCommand, streamCommand } from "./streamCommand.js"

export const command = root.pipe(
  Command.withSubcommands([
    backfillCommand,
    streamCommand,
    stopCommand,
    statusCommand,
    simulateCommand,
    compactCommand,
    simCommand,
    sqlCommand,
    demoCommand
  ])
)

export const run = Command.run(command, { name: "tapehouse", version: "0.1.0" })
