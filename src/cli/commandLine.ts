/** Command lines the CLI prints for the user to copy: the global options they gave, shell-quoted words. */
import { Option } from "effect"
import { DEFAULT_CONFIG_DIR, type GlobalOptions } from "./setup.js"

/** A word as a POSIX shell reads it back: bare when that is safe, single-quoted otherwise. */
export const shellWord = (word: string): string =>
  /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`

/**
 * `npx tapehouse` with the global options given on this command line (`--data-dir`, and
 * `--config-dir` unless left at the default), so a printed follow-up runs on the same data.
 */
export const tapehouseWith = (global: GlobalOptions): string =>
  [
    "npx tapehouse",
    ...(Option.isSome(global.dataDir) ? ["--data-dir", shellWord(global.dataDir.value)] : []),
    ...(global.configDir !== DEFAULT_CONFIG_DIR ? ["--config-dir", shellWord(global.configDir)] : [])
  ].join(" ")
