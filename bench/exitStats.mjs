// Preloaded into a process under measurement (node --import ./bench/exitStats.mjs ...): at exit it
// writes its CPU time, its memory high-water mark (VmHWM) and the peaks of its memory parts
// (sampled every 100 ms: V8 heap in use and reserved, array buffers) as JSON to the file
// TAPEHOUSE_BENCH_STATS names. Used by bench/thetadataBackfill.ts to measure the compiled CLI.
import { readFileSync, writeFileSync } from "node:fs"

const out = process.env.TAPEHOUSE_BENCH_STATS
if (out) {
  const peak = { rss: 0, heapTotal: 0, heapUsed: 0, arrayBuffers: 0 }
  const sample = () => {
    const m = process.memoryUsage()
    for (const k of Object.keys(peak)) peak[k] = Math.max(peak[k], m[k])
  }
  setInterval(sample, 100).unref()
  process.on("exit", () => {
    sample()
    const usage = process.resourceUsage()
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))
    writeFileSync(
      out,
      JSON.stringify({
        userUs: usage.userCPUTime,
        systemUs: usage.systemCPUTime,
        vmHwmKb: hwm === null ? null : Number(hwm[1]),
        peak
      })
    )
  })
}
