/**
 * The keeper locks and opens the database before it loads its configuration when it can tell
 * which one the command reads (keeperEarlyOpen.ts): how it tells, that the keeper adopts what it
 * opened, and that it lets go of it when the configuration says otherwise.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as EmbeddedPg from "../../src/sinks/EmbeddedPg.js"
import { isAlive } from "../../src/sinks/embeddedPgLock.js"
import { guessDataDir, settingsDataDir } from "../../src/sinks/keeperEarlyOpen.js"
import { spawnKeeper } from "../../src/sinks/keeperProcess.js"
import { dataDirWithEmptyDb, WARM_UP_TIMEOUT_MS, warmUpTemplate } from "../support/pgTemplate.js"
import { makeTempDir, removeTempDirs } from "../support/tempDirs.js"

afterAll(removeTempDirs)

describe("settingsDataDir", () => {
  it("reads settings.yaml's top-level data_dir, plain or quoted, with a comment after it", () => {
    expect(settingsDataDir("log:\n  level: info\ndata_dir: ./lake-root\n")).toBe("./lake-root")
    expect(settingsDataDir('data_dir: "/srv/my lake" # quoted\n')).toBe("/srv/my lake")
    expect(settingsDataDir("data_dir: '/srv/x'\r\n")).toBe("/srv/x")
    expect(settingsDataDir("data_dir: /srv/y   # where\n")).toBe("/srv/y")
  })

  it("leaves an empty value, a nested key and a missing key to the default", () => {
    expect(settingsDataDir("data_dir:\n")).toBeUndefined()
    expect(settingsDataDir("book:\n  data_dir: /nested\n")).toBeUndefined()
    expect(settingsDataDir("# data_dir: /commented\nlog:\n  level: info\n")).toBeUndefined()
  })
})

describe("guessDataDir", () => {
  /** A working directory with a config dir whose settings.yaml names `fromYaml`, and a `.env`. */
  const workDir = (fromYaml: string | undefined, dotEnv: string) => {
    const cwd = makeTempDir("tapehouse-guess-")
    Fs.mkdirSync(Path.join(cwd, "config"))
    Fs.writeFileSync(
      Path.join(cwd, "config", "settings.yaml"),
      fromYaml === undefined ? "log:\n  level: info\n" : `data_dir: ${fromYaml}\n`
    )
    Fs.writeFileSync(Path.join(cwd, ".env"), dotEnv)
    return cwd
  }

  it("follows loadConfig's order: flag, environment, .env, settings.yaml, ./data", () => {
    const cwd = workDir("./yaml-dir", "TAPEHOUSE_DATA_DIR=./dotenv-dir\n")
    const config = Path.join(cwd, "config")
    const env = { TAPEHOUSE_DATA_DIR: "./env-dir" }
    expect(guessDataDir(["--cli", config, "./flag-dir"], cwd, env)).toBe(Path.join(cwd, "flag-dir"))
    expect(guessDataDir(["--cli", config], cwd, env)).toBe(Path.join(cwd, "env-dir"))
    expect(guessDataDir(["--cli", config], cwd, { TAPEHOUSE_DATA_DIR: "" })).toBe(
      Path.join(cwd, "dotenv-dir")
    )
    const plain = workDir("./yaml-dir", "")
    expect(guessDataDir(["--cli", Path.join(plain, "config")], plain, {})).toBe(Path.join(plain, "yaml-dir"))
    const bare = workDir(undefined, "")
    expect(guessDataDir(["--cli", Path.join(bare, "config")], bare, {})).toBe(Path.join(bare, "data"))
    // The keeper's own form names the folder.
    expect(guessDataDir(["/srv/lake", "60000"], cwd, {})).toBe("/srv/lake")
  })

  it("does not guess when a Postgres server is named or keeping is off, in the environment or .env", () => {
    const cwd = workDir(undefined, "TAPEHOUSE_PG_URL=postgres://u@127.0.0.1:5432/db\n")
    const config = Path.join(cwd, "config")
    expect(guessDataDir(["--cli", config], cwd, {})).toBeUndefined()
    const off = workDir(undefined, "")
    expect(
      guessDataDir(["--cli", Path.join(off, "config")], off, { TAPEHOUSE_SQL_KEEP_OPEN_MS: "0" })
    ).toBeUndefined()
  })
})

describe("a keeper that opened the database before its configuration loaded", () => {
  beforeAll(warmUpTemplate, WARM_UP_TIMEOUT_MS)

  const lockOf = (dataDir: string) => {
    const text = Fs.readFileSync(Path.join(dataDir, "state", "pg.lock"), "utf8")
    return EmbeddedPg.parseLock(text)
  }

  /** Stops the keeper holding `dataDir` and waits until its lock is gone. */
  const stopKeeper = async (dataDir: string) => {
    const owner = lockOf(dataDir)
    if (owner !== undefined) process.kill(owner.pid, "SIGTERM")
    const deadline = Date.now() + 30_000
    while (Fs.existsSync(Path.join(dataDir, "state", "pg.lock")) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50))
    expect(Fs.existsSync(Path.join(dataDir, "state", "pg.lock"))).toBe(false)
  }

  it("serves it when the configuration agrees, and lets it go when the configuration names a server", async () => {
    const dataDir = await dataDirWithEmptyDb("tapehouse-early-open-")
    // A database without the schema yet: the keeper adopts what it opened early, migrates, then serves.
    expect((await spawnKeeper(["--cli", "./config", dataDir])).type).toBe("ready")
    await stopKeeper(dataDir)
    // Migrated: served before the keeper's configuration has loaded, and kept once it agrees.
    const served = await spawnKeeper(["--cli", "./config", dataDir])
    expect(served.type).toBe("ready")
    const owner = lockOf(dataDir)
    expect(owner?.keeper).toBe(true)
    expect(owner !== undefined && isAlive(owner.pid)).toBe(true)
    const record = JSON.parse(Fs.readFileSync(Path.join(dataDir, "state", "pg.json"), "utf8"))
    expect(record).toMatchObject({ pid: owner?.pid, port: served.type === "ready" ? served.port : -1 })
    await stopKeeper(dataDir)

    // sinks.yaml names a Postgres server, which only the configuration tells: the keeper served
    // the folder early (the command reads the server it configures, never this one), then its
    // configuration loads and it closes the database, removes its record and releases the lock.
    const config = makeTempDir("tapehouse-early-open-config-")
    for (const name of Fs.readdirSync("config"))
      Fs.copyFileSync(Path.join("config", name), Path.join(config, name))
    const sinks = Fs.readFileSync(Path.join(config, "sinks.yaml"), "utf8")
    Fs.writeFileSync(
      Path.join(config, "sinks.yaml"),
      sinks.replace(/^ {2}url: ""$/m, '  url: "postgres://u@127.0.0.1:1/db"')
    )
    expect((await spawnKeeper(["--cli", config, dataDir])).type).toBe("ready")
    const early = lockOf(dataDir)?.pid ?? 0
    const deadline = Date.now() + 30_000
    while (isAlive(early) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    expect(isAlive(early)).toBe(false)
    expect(Fs.existsSync(Path.join(dataDir, "state", "pg.lock"))).toBe(false)
    expect(Fs.existsSync(Path.join(dataDir, "state", "pg.json"))).toBe(false)
    // Closed whole: it opens again.
    expect((await spawnKeeper([dataDir, "60000"])).type).toBe("ready")
    await stopKeeper(dataDir)
  }, 120_000)
})
