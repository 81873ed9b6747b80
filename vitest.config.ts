import { defineConfig } from "vitest/config"
import { BaseSequencer, type TestSpecification } from "vitest/node"

/**
 * The end-to-end and stream-runner files take one to two minutes each, the rest seconds. Started
 * first, the two workers end together; started last (a fresh clone has no timings cached, so the
 * default order is by file size), one of them ran alone for minutes at the end of the suite.
 */
class SlowFilesFirst extends BaseSequencer {
  override async sort(files: Array<TestSpecification>): Promise<Array<TestSpecification>> {
    const rank = (f: TestSpecification) =>
      f.moduleId.includes("/test/e2e/") ? 0 : f.moduleId.includes("/test/runners/") ? 1 : 2
    // Stable: within a rank, the default order (cached durations, else size) stays.
    return [...(await super.sort(files))].sort((a, b) => rank(a) - rank(b))
  }
}

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Builds dist/ first: the CLI tests run the compiled bin, never a stale build.
    globalSetup: ["test/support/buildOnce.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The JSON report is what .ci/run reads to print "N passed, N failed".
    reporters: ["default", ["json", { outputFile: "test-results.json" }]],
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    sequence: { sequencer: SlowFilesFirst }
  }
})
