/**
 * What `status --dataset` costs on the journal of a year-long download: 252 trading days of 2024,
 * 40 units a day (one per expiration), each planned then done (one failed and retried in ten), one
 * file a unit: about 24,000 journal lines. It times the real bin (`dist/`, run `npm run build`
 * first) against `--help`, which every command pays, 7 runs each, and prints the median wall time
 * and the median CPU (user + system, from /usr/bin/time) of each command.
 *
 *   node bin/run-ts.mjs bench/statusInventory.ts
 */
import { spawnSync } from "node:child_process"
import * as NodeFs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Effect } from "effect"
import { fromRules } from "../src/calendar/MarketCalendar.js"

const RUNS = Number(process.env.RUNS ?? 7)
const UNITS = 40
const DATASET = "option_greeks_1m"
const bin = Path.resolve(import.meta.dirname, "..", "bin", "tapehouse.mjs")

const dataDir = NodeFs.mkdtempSync(Path.join(Os.tmpdir(), "tapehouse-bench-status-"))
const journal = Path.join(dataDir, "state", "checkpoints", `${DATASET}.jsonl`)
NodeFs.mkdirSync(Path.dirname(journal), { recursive: true })
const days = Effect.runSync(fromRules([], "rules").range("2024-01-02", "2024-12-31"))
  .filter((d) => d._tag === "open")
  .map((d) => d.date)
const lines: Array<string> = []
const at = "2024-12-31T21:00:00.000Z"
days.forEach((date, i) => {
  for (let u = 0; u < UNITS; u++) {
    const unit = { kind: "day", dataset: DATASET, symbol: "SPXW", date, expiration: `e${u}`, at }
    lines.push(JSON.stringify({ ...unit, status: "pending" }))
    if ((i + u) % 10 === 0) {
      lines.push(JSON.stringify({ ...unit, status: "failed", reason: "HTTP 474: terminal disconnected" }))
      lines.push(JSON.stringify({ ...unit, status: "pending" }))
    }
    const file = `lake/${DATASET}/date=${date}/expiration=e${u}/part-0000.parquet`
    lines.push(
      JSON.stringify({
        kind: "file",
        dataset: DATASET,
        date,
        file,
        rows: 150_000,
        bytes: 4_000_000,
        sha256: "0".repeat(64),
        at
      })
    )
    lines.push(JSON.stringify({ ...unit, status: "done", rows: 150_000 }))
  }
})
NodeFs.writeFileSync(journal, `${lines.join("\n")}\n`)

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const measure = (args: ReadonlyArray<string>) => {
  const wall: Array<number> = []
  const cpu: Array<number> = []
  for (let i = 0; i < RUNS; i++) {
    const r = spawnSync(
      "/usr/bin/time",
      ["-f", "%e %U %S", process.execPath, bin, "--data-dir", dataDir, ...args],
      {
        encoding: "utf8"
      }
    )
    const last = r.stderr.trim().split("\n").pop() ?? ""
    const [e, u, s] = last.split(" ").map(Number)
    if (e === undefined || u === undefined || s === undefined || Number.isNaN(e))
      throw new Error(`tapehouse ${args.join(" ")}: ${r.stderr}`)
    wall.push(e)
    cpu.push(u + s)
  }
  return { wall: median(wall), cpu: median(cpu) }
}

console.log(
  `${lines.length} journal lines, ${days.length} days x ${UNITS} units; load ${Os.loadavg()[0]!.toFixed(1)}`
)
console.log("| command | median wall | median CPU |")
console.log("| --- | --- | --- |")
for (const args of [
  ["--help"],
  ["status", "--dataset", DATASET, "--gaps"],
  ["status", "--dataset", DATASET],
  ["status", "--dataset", DATASET, "--json"]
]) {
  const m = measure(args)
  console.log(`| \`${args.join(" ")}\` | ${m.wall.toFixed(2)} s | ${m.cpu.toFixed(2)} s |`)
}
if (process.env.KEEP === undefined) NodeFs.rmSync(dataDir, { recursive: true, force: true })
else console.log(`kept ${dataDir}`)
