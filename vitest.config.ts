import { defineConfig } from "vitest/config"

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
    poolOptions: { forks: { maxForks: 2, minForks: 1 } }
  }
})
