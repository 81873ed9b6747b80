/** Options every command takes; they sit on the root command and subcommands read them from it. */
import { Options } from "@effect/cli"

export const dataDir = Options.text("data-dir").pipe(
  Options.withPseudoName("DIR"),
  Options.withDescription(
    "Folder of the lake, state, quarantine and logs. Default: env TAPEHOUSE_DATA_DIR, then data_dir in settings.yaml, then ./data."
  ),
  Options.optional
)

export const configDir = Options.text("config-dir").pipe(
  Options.withPseudoName("DIR"),
  Options.withDescription(
    "Folder holding settings.yaml, sources.yaml, sinks.yaml and retry.yaml. When left at ./config and there is none, the defaults shipped with tapehouse are used."
  ),
  Options.withDefault("./config")
)

export const globalOptions = { dataDir, configDir }
