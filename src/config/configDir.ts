/**
 * Which config directory a command reads: `--config-dir`, else ./config, else the defaults shipped
 * with the package. Plain Node (no Effect): the keeper reads it before it loads anything else.
 */
import { existsSync, statSync } from "node:fs"
import * as Path from "node:path"

/** The package's folder: the nearest one above this module with a package.json (from src/ or dist/). */
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
export const configDirFor = (given: string): string =>
  given !== DEFAULT_CONFIG_DIR || statSync(given, { throwIfNoEntry: false })?.isDirectory() === true
    ? given
    : packagedConfigDir
