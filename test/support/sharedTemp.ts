/**
 * vitest globalSetup: one temp folder for the whole run, shared by every fork and file (its path in
 * TAPEHOUSE_TEST_SHARED_DIR), removed when the run ends. It holds what is expensive to make and
 * the same for every test, such as the empty embedded database of pgTemplate.ts.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

export const SHARED_DIR_ENV = "TAPEHOUSE_TEST_SHARED_DIR"

export default function setup(): (() => void) | undefined {
  // globalSetup runs once per project (vitest.config.ts has two): the first one makes the folder.
  if (process.env[SHARED_DIR_ENV] !== undefined) return undefined
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapehouse-test-shared-"))
  process.env[SHARED_DIR_ENV] = dir
  return () => {
    Fs.rmSync(dir, { recursive: true, force: true })
    delete process.env[SHARED_DIR_ENV]
  }
}
