import { defineConfig } from "vitest/config"

/**
 * Test files that must each get fresh modules: they drive Effect's TestClock against timers,
 * workers or sockets that module state elsewhere (a warm frame-decode worker, a shared simulator)
 * would otherwise carry from the file before.
 */
const isolatedFiles = [
  "test/e2e/streamRestart.test.ts",
  "test/monitor/Alerts.test.ts",
  "test/monitor/Heartbeat.test.ts",
  "test/monitor/StallMonitor.test.ts",
  "test/runners/stream.test.ts",
  "test/runners/streamMoved.test.ts",
  "test/runners/streamSet.test.ts",
  "test/sim/MassiveSocketSim.test.ts",
  "test/sources/massive/MassiveRest.test.ts",
  "test/sources/massive/MassiveSocket.test.ts",
  "test/sources/massive/newsPoller.test.ts"
]

export default defineConfig({
  test: {
    // Builds dist/ first: the CLI tests run the compiled bin, never a stale build.
    // Also one temp folder for the run, shared by every fork (sharedTemp.ts: the template database).
    globalSetup: ["test/support/buildOnce.ts", "test/support/sharedTemp.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The JSON report is what .ci/run reads to print "N passed, N failed".
    reporters: ["default", ["json", { outputFile: "test-results.json" }]],
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    projects: [
      { extends: true, test: { name: "isolated", include: isolatedFiles } },
      {
        extends: true,
        // Loading the modules again for every file was a quarter of the suite's time: the other
        // files share a fork's loaded modules (each file still builds its own layers and servers).
        test: { name: "shared", include: ["test/**/*.test.ts"], exclude: isolatedFiles, isolate: false }
      }
    ]
  }
})
