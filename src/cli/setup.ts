/** Shared by commands: resolving the configuration and preparing the data dir. */
import { existsSync } from "node:fs"
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { Effect, Option } from "effect"
import type { AppConfigShape } from "../config/AppConfig.js"
import { ConfigError } from "../domain/errors.js"
import { storageErrorOf } from "../domain/systemCause.js"
import { mkdirs } from "../sinks/atomicFile.js"

export interface GlobalOptions {
  readonly dataDir: Option.Option<string>
  readonly configDir: string
}

/** The package's folder: the nearest one above this module with a package.json (from src/cli/ or dist/). */
const packageDir = (from: string): string => {
  for (let dir = from; ; dir = Path.dirname(dir)) {
    if (existsSync(Path.join(dir, "package.json"))) return dir
    if (Path.dirname(dir) === dir) return Path.resolve(from, "../..")
  }
}

/** The defaults shipped with the package, used when `--config-dir` is left at ./config and that is absent. */
export const packagedConfigDir = Path.join(packageDir(import.meta.dirname), "config")
export const DEFAULT_CONFIG_DIR = "./config"

/** The config directory `--config-dir` names: ./config, else the packaged defaults when ./config is absent. */
export const configDirFor = (given: string): Effect.Effect<string> =>
  given !== DEFAULT_CONFIG_DIR
    ? Effect.succeed(given)
    : Effect.promise(() =>
        NodeFs.stat(given).then(
          (s) => (s.isDirectory() ? given : packagedConfigDir),
          () => packagedConfigDir
        )
      )

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
