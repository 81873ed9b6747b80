/** Shared by commands: resolving the configuration and preparing the data dir. */
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { Effect, Option } from "effect"
import type { AppConfigShape } from "../config/AppConfig.js"
import { configDirFor as configDirOf } from "../config/configDir.js"
import { ConfigError } from "../domain/errors.js"
import { storageErrorOf } from "../domain/systemCause.js"
import { mkdirs } from "../sinks/atomicFile.js"

export interface GlobalOptions {
  readonly dataDir: Option.Option<string>
  readonly configDir: string
}

export { DEFAULT_CONFIG_DIR } from "../config/configDir.js"

/** The config directory `--config-dir` names: ./config, else the packaged defaults when ./config is absent. */
export const configDirFor = (given: string): Effect.Effect<string> => Effect.sync(() => configDirOf(given))

export const resolveConfig = (global: GlobalOptions) =>
  Effect.flatMap(configDirFor(global.configDir), (configDir) =>
    // Loaded when a command runs (the YAML parser is not needed for --help).
    Effect.flatMap(
      Effect.promise(() => import("../config/loadConfig.js")),
      ({ loadConfig }) =>
        loadConfig({
          configDir,
          ...(Option.isSome(global.dataDir) ? { dataDir: global.dataDir.value } : {}),
          cwd: process.cwd(),
          env: process.env
        })
    )
  )

/**
 * Creates the data dir's folders and proves it is writable; a bad data dir is a config error
 * (exit 2) naming `data_dir`, the folder that failed, the system's cause and what to do.
 */
export const prepareDataDir = (config: AppConfigShape) =>
  Effect.tryPromise({
    try: async () => {
      for (const sub of ["lake", "state", "quarantine", "logs"]) await mkdirs(Path.join(config.dataDir, sub))
      const probe = Path.join(config.dataDir, "state", `.write-probe-${process.pid}`)
      await NodeFs.writeFile(probe, "")
      await NodeFs.rm(probe)
    },
    catch: (cause) => {
      const failed = storageErrorOf(config.dataDir)(cause)
      // ConfigError ends the sentence with its own full stop.
      return new ConfigError({
        key: "data_dir",
        value: config.dataDir,
        expected: `a writable folder; ${failed.reason.replace(/\.$/, "")}`,
        source: "--data-dir / TAPEHOUSE_DATA_DIR / settings.yaml"
      })
    }
  })
