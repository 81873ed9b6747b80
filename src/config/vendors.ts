/**
 * What every vendor's configuration section has in common, so that the things done for all vendors
 * (masking their secrets in logs and errors, telling the user which variable holds a refused key)
 * read it from the vendors' sections, not from a name written into the code. A new vendor's section
 * extends `VendorConfig` and adds itself to `VENDORS`.
 */
import { Option, Redacted } from "effect"
import type { AppConfigShape } from "./AppConfig.js"

export interface VendorConfig {
  /** The vendor's name in messages, e.g. "Massive". */
  readonly vendor: string
  /** The environment variable (or `.env` entry) holding its API key; never YAML. */
  readonly keyEnv: string
  readonly apiKey: Option.Option<Redacted.Redacted<string>>
}

/** The environment variables holding vendor keys, known before any config is read (cli/main.ts masks them). */
export const VENDOR_KEY_ENVS: ReadonlyArray<string> = ["MASSIVE_API_KEY"]

/** Every vendor section of a configuration. */
export const vendorsOf = (config: AppConfigShape): ReadonlyArray<VendorConfig> => [config.massive]

/** Every secret a configuration holds: the vendors' keys and a Postgres URL (its password). */
export const secretsOf = (config: AppConfigShape): ReadonlyArray<string> =>
  [...vendorsOf(config).map((v) => v.apiKey), config.sql.url].flatMap((o) =>
    Option.isSome(o) ? [Redacted.value(o.value)] : []
  )
