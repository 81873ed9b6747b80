/** Runs the real `tapehouse` bin in a child process, as a user would. */
import { type ChildProcess, spawn } from "node:child_process"
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { Effect } from "effect"

export const projectDir = Path.resolve(import.meta.dirname, "../..")
export const bin = Path.join(projectDir, "bin", "tapehouse.mjs")

export interface CliResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export interface CliOptions {
  readonly cwd?: string
  readonly env?: Readonly<Record<string, string>>
  /** Variables taken out of the child's environment (NO_COLOR=1 and TAPEHOUSE_SQL_KEEP_OPEN_MS=0 are set by default). */
  readonly unset?: ReadonlyArray<string>
  /** Kill after this long and fail the test: every command must exit by itself. */
  readonly timeoutMs?: number
  /** A command the bin runs under (`unshare … sh -c … "$@"`): its last argument is followed by node and the bin. */
  readonly prefix?: ReadonlyArray<string>
}

/** Env without the developer's own settings leaking in. */
const baseEnv = (): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue
    if (k.startsWith("TAPEHOUSE_") || k === "MASSIVE_API_KEY") continue
    env[k] = v
  }
  env.NO_COLOR = "1"
  // `sql` leaves no keeper process behind (sinks.sql.keep_open_ms): the tests of the keeper set it.
  env.TAPEHOUSE_SQL_KEEP_OPEN_MS = "0"
  return env
}

export const start = (args: ReadonlyArray<string>, options: CliOptions = {}): ChildProcess => {
  const env = { ...baseEnv(), ...options.env }
  for (const name of options.unset ?? []) delete env[name]
  const [command = process.execPath, ...before] = [...(options.prefix ?? []), process.execPath]
  return spawn(command, [...before, bin, ...args], {
    cwd: options.cwd ?? projectDir,
    env,
    stdio: ["ignore", "pipe", "pipe"]
  })
}

export const collect = (child: ChildProcess, timeoutMs = 120_000): Promise<CliResult> =>
  new Promise((resolve, reject) => {
    let stdout = ""
    let stderr = ""
    child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(
        new Error(`tapehouse did not exit within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`)
      )
    }, timeoutMs)
    child.on("error", reject)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })

export const runCli = (args: ReadonlyArray<string>, options: CliOptions = {}) =>
  Effect.promise(() => collect(start(args, options), options.timeoutMs))

/**
 * A config dir for tests: the shipped YAML with edits (text replacements), so tests exercise the
 * real files. `sql: false` turns the SQL sink off where a test is about something else.
 */
export const makeConfigDir = (
  dir: string,
  edits: {
    readonly sql?: boolean
    readonly replace?: ReadonlyArray<[file: string, from: RegExp, to: string]>
  } = {}
) =>
  Effect.promise(async () => {
    const target = Path.join(dir, "config")
    await NodeFs.mkdir(target, { recursive: true })
    for (const name of ["settings.yaml", "sources.yaml", "sinks.yaml", "retry.yaml"]) {
      let text = await NodeFs.readFile(Path.join(projectDir, "config", name), "utf8")
      if (name === "retry.yaml")
        text = text
          .replace(/base_delay_ms: \d+/, "base_delay_ms: 20")
          .replace(/max_delay_ms: \d+/, "max_delay_ms: 200")
      if (name === "sinks.yaml" && edits.sql === false)
        text = text.replace(/(sql:\s*\n(?:\s*#.*\n)*\s*enabled:) true/, "$1 false")
      if (name === "sources.yaml")
        text = text
          .replace(/calendar_from_api: true/, "calendar_from_api: false")
          .replace(/rate_limit_per_minute: 5/, "rate_limit_per_minute: 0")
      for (const [file, from, to] of edits.replace ?? []) if (file === name) text = text.replace(from, to)
      await NodeFs.writeFile(Path.join(target, name), text)
    }
    return target
  })

/** `--config-dir DIR backfill --dataset stock_bars_1s --symbols S --from F --to T`. */
export const backfillArgs = (configDir: string, symbols: string, from: string, to: string): Array<string> => [
  "--config-dir",
  configDir,
  "backfill",
  "--dataset",
  "stock_bars_1s",
  "--symbols",
  symbols,
  "--from",
  from,
  "--to",
  to
]
