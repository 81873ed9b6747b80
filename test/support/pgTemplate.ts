/**
 * Data dirs with an empty embedded database already in `state/pg`, for tests that need many
 * fresh databases. Creating one runs initdb (15–40 s on a busy 2-core machine); the first call in
 * a test file does that once, in a template folder, and every call copies the template (a cleanly
 * closed Postgres folder, so a copy is a valid database).
 */
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { PGlite } from "@electric-sql/pglite"
import { makeTempDir } from "./tempDirs.js"

let template: Promise<string> | undefined

const exists = (path: string): Promise<boolean> =>
  Fs.access(path).then(
    () => true,
    () => false
  )

const makeTemplate = async (): Promise<string> => {
  const dir = Path.join(makeTempDir("tapehouse-pg-template-"), "pg")
  const db = await PGlite.create(dir)
  await db.close()
  return dir
}

/** A new temp data dir holding an empty, closed embedded database (removed by `removeTempDirs`). */
export const dataDirWithEmptyDb = async (prefix = "tapehouse-pg-"): Promise<string> => {
  // Files sharing a fork share this module: an earlier file's `removeTempDirs` took its template.
  if (template !== undefined && !(await template.then(exists, () => false))) template = undefined
  template ??= makeTemplate()
  const source = await template
  const dataDir = makeTempDir(prefix)
  await Fs.cp(source, Path.join(dataDir, "state", "pg"), { recursive: true })
  return dataDir
}
