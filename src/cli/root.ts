/** The root command: global options only; subcommands read them with `yield* root`. */
import { Command } from "@effect/cli"
import { globalOptions } from "./globalOptions.js"

export const root = Command.make("tapehouse", globalOptions).pipe(
  Command.withDescription(
    "tapehouse builds a local market-data lake: backfill vendor history into Hive-partitioned Parquet and Postgres, check its state, and run the vendor simulator."
  )
)
