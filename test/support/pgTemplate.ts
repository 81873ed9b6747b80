/**
 * Data dirs with an empty embedded database already in `state/pg`, for tests that need many
 * fresh databases. Creating one runs initdb (15–40 s on a busy 2-core machine); it is done once
 * per test run, in a template folder under the run's shared folder (sharedTemp.ts), and every call
 * copies the template (a cleanly closed Postgres folder, so a copy is a valid database). Outside a
 * vitest run with that setup, once per process in a temp folder.
 */
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { PGlite } from "@electric-sql/pglite"
import { SHARED_DIR_ENV } from "./sharedTemp.js"
import { makeTempDir } from "./tempDirs.js"

let template: Promise<string> | undefined

const exists = (path: string): Promise<boolean> =>
  Fs.access(path).then(
    () => true,
    () => false
  )

const initdb = async (dir: string): Promise<void> => {
  const db = await PGlite.create(dir)
  await db.close()
}

const makeTemplate = async (): Promise<string> => {
  const shared = process.env[SHARED_DIR_ENV]
  if (shared === undefined) {
    const dir = Path.join(makeTempDir("tapehouse-pg-template-"), "pg")
    await initdb(dir)
    return dir
  }
  // Made in a staging folder and renamed into place: the template exists only whole. Forks that
  // race make one each; the first rename wins and the others use it.
  const target = Path.join(shared, "pg-template")
  if (await exists(target)) return target
  const staging = await Fs.mkdtemp(Path.join(shared, "pg-staging-"))
  try {
    await initdb(Path.join(staging, "pg"))
    await Fs.rename(Path.join(staging, "pg"), target).catch(async (error: unknown) => {
      if (!(await exists(target))) throw error
    })
  } finally {
    await Fs.rm(staging, { recursive: true, force: true })
  }
  return target
}

/** The template's path, made first if this process has none (or lost it). */
const templatePath = async (): Promise<string> => {
  // Files sharing a fork share this module: an earlier file's `removeTempDirs` may have taken its
  // template (one made outside the shared folder).
  if (template !== undefined && !(await template.then(exists, () => false))) template = undefined
  template ??= makeTemplate()
  return template
}

/**
 * Makes the template now (a `beforeAll` with a long timeout: the initdb, when this run has not
 * made it yet, is not charged to the first test that copies it).
 */
export const warmUpTemplate = async (): Promise<void> => {
  await templatePath()
}

/** The hook timeout for `warmUpTemplate`: an initdb takes up to a minute on a busy machine. */
export const WARM_UP_TIMEOUT_MS = 180_000

export const dataDirWithEmptyDb = async (prefix = "tapehouse-pg-"): Promise<string> => {
  const source = await templatePath()
  const dataDir = makeTempDir(prefix)
  await Fs.cp(source, Path.join(dataDir, "state", "pg"), { recursive: true })
  return dataDir
}
