// Preloaded into a process under measurement (node --import ./bench/exitStats.mjs ...): at exit it
// writes its CPU time and memory high-water mark as JSON to the file TAPEHOUSE_BENCH_STATS names.
// Used by bench/thetadataBackfill.ts to measure the compiled CLI from the outside.
import { readFileSync, writeFileSync } from "node:fs"

const out = process.env.TAPEHOUSE_BENCH_STATS
if (out) {
  process.on("exit", () => {
    const usage = process.resourceUsage()
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))
    writeFileSync(
      out,
      JSON.stringify({
        userUs: usage.userCPUTime,
        systemUs: usage.systemCPUTime,
        vmHwmKb: hwm === null ? null : Number(hwm[1])
      })
    )
  })
}
