/**
 * `tapehouse sql` starts the keeper from its entry point, before the CLI loads: which command
 * lines do, and a keeper started that way declines when there is nothing for it to keep.
 */
import { afterAll, describe, expect, it } from "vitest"
import { sqlCommandLine } from "../../src/cli/earlyKeeper.js"
import { spawnKeeper } from "../../src/sinks/keeperProcess.js"
import { makeTempDir, removeTempDirs } from "../support/tempDirs.js"

afterAll(removeTempDirs)

describe("sqlCommandLine", () => {
  it("reads --data-dir and --config-dir (either spelling) before sql with a query", () => {
    expect(sqlCommandLine(["sql", "select 1"])).toEqual({ configDir: "./config", dataDir: undefined })
    expect(sqlCommandLine(["--data-dir", "/d", "sql", "select 1"])).toEqual({
      configDir: "./config",
      dataDir: "/d"
    })
    expect(sqlCommandLine(["--config-dir=/c", "--data-dir=/d", "sql", "select 1"])).toEqual({
      configDir: "/c",
      dataDir: "/d"
    })
  })

  it("leaves alone other commands, help, a missing query and options it does not know", () => {
    expect(sqlCommandLine(["status"])).toBeUndefined()
    expect(sqlCommandLine(["backfill", "--symbols", "sql"])).toBeUndefined()
    expect(sqlCommandLine(["sql"])).toBeUndefined()
    expect(sqlCommandLine(["sql", "--help"])).toBeUndefined()
    expect(sqlCommandLine(["--log-level", "debug", "sql", "select 1"])).toBeUndefined()
    expect(sqlCommandLine(["--data-dir"])).toBeUndefined()
    expect(sqlCommandLine([])).toBeUndefined()
  })
})

describe("a keeper started from the command line", () => {
  /** Starts it with `env` added to this process's environment for the spawn. */
  const spawnWith = (env: Record<string, string>, args: ReadonlyArray<string>) => {
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]))
    Object.assign(process.env, env)
    try {
      return spawnKeeper(args)
    } finally {
      for (const [k, v] of Object.entries(saved))
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
    }
  }

  it("declines when keeping is off, or when a Postgres server is configured", async () => {
    const dataDir = makeTempDir("tapehouse-early-keeper-")
    // Three keepers at once: each is a process that loads the configuration.
    const [off, server, broken] = await Promise.all([
      spawnWith({ TAPEHOUSE_SQL_KEEP_OPEN_MS: "0" }, ["--cli", "./config", dataDir]),
      spawnWith({ TAPEHOUSE_SQL_KEEP_OPEN_MS: "60000", TAPEHOUSE_PG_URL: "postgres://u@127.0.0.1:1/db" }, [
        "--cli",
        "./config",
        dataDir
      ]),
      spawnWith({ TAPEHOUSE_SQL_KEEP_OPEN_MS: "often" }, ["--cli", "./config", dataDir])
    ])
    expect(off).toEqual({ type: "declined", reason: "sinks.sql.keep_open_ms is 0" })
    expect(server).toEqual({ type: "declined", reason: "a Postgres server is configured" })
    expect(broken).toEqual({ type: "declined", reason: "the configuration does not load" })
  })
})
