/**
 * vitest globalSetup: compiles dist/ (scripts/build.mjs) before any test runs, and again before each
 * rerun in watch mode, so the tests that run the `tapehouse` bin run the build of the source under
 * test. (The bin itself runs the source through tsx when dist/ is older than src/; the build here
 * makes the tests exercise the compiled output, as users run it.)
 */
import { execFileSync } from "node:child_process"
import * as Path from "node:path"
import type { TestProject } from "vitest/node"

const projectDir = Path.resolve(import.meta.dirname, "../..")

const build = (): void => {
  execFileSync(process.execPath, [Path.join(projectDir, "scripts", "build.mjs")], {
    cwd: projectDir,
    stdio: ["ignore", "inherit", "inherit"]
  })
}

/** Set once the first project's setup has built: the other projects of the run reuse that build. */
const BUILT = "TAPEHOUSE_TEST_DIST_BUILT"

export default function setup(project: TestProject): void {
  // globalSetup runs once per project (vitest.config.ts has two): build once per run.
  if (process.env[BUILT] !== "1") {
    build()
    process.env[BUILT] = "1"
  }
  project.onTestsRerun(() => build())
}
