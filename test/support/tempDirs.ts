/**
 * Temp folders made synchronously, for setup outside an Effect scope (a layer's data dir, a plain
 * test). Each file that makes them calls `afterAll(removeTempDirs)`, so a run leaves nothing behind.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

const made: Array<string> = []

export const makeTempDir = (prefix: string): string => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix))
  made.push(dir)
  return dir
}

export const removeTempDirs = (): void => {
  for (const dir of made.splice(0)) Fs.rmSync(dir, { recursive: true, force: true })
}
