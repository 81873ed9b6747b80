/**
 * `tapehouse sql`'s first call (nobody holds the embedded database, no keeper running), timed from
 * outside: when the keeper's lock appears, when the database is served (`state/pg.json`), the
 * command's first output (the answer) and its exit. Before each call the keeper the previous one
 * left is stopped and its lock waited out. Run it in a folder whose ./config and ./data hold a
 * lake with a migrated embedded database (the project folder after `npm start`, for instance).
 *
 *   node bin/run-ts.mjs bench/sqlColdCall.ts [runs=8] [bin=bin/tapehouse.mjs] [query]
 *
 * `bin` may be another checkout's bin/tapehouse.mjs, to compare builds on the same lake.
 */
import { spawn } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import * as Path from "node:path"

const runs = Number(process.argv[2] ?? 8)
const bin = Path.resolve(process.argv[3] ?? "bin/tapehouse.mjs")
const query = process.argv[4] ?? "SELECT count(*) FROM stock_bars_1s"
const lock = Path.resolve("data", "state", "pg.lock")
const record = Path.resolve("data", "state", "pg.json")

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Stops the keeper holding the database, if any, and waits until its lock is gone. */
const stopKeeper = async () => {
  if (!existsSync(lock)) return
  const pid = Number.parseInt(readFileSync(lock, "utf8"), 10)
  try {
    process.kill(pid, "SIGTERM")
  } catch {
    // Gone already: its lock is stale, and the command takes it over.
    return
  }
  while (existsSync(lock)) await sleep(20)
}

interface Timing {
  readonly lock: number
  readonly served: number
  readonly answer: number
  readonly exit: number
}

const once = (): Promise<Timing> =>
  new Promise((resolve, reject) => {
    const t0 = performance.now()
    const at = () => performance.now() - t0
    const seen = { lock: Number.NaN, served: Number.NaN, answer: Number.NaN }
    const child = spawn(process.execPath, [bin, "sql", query], { stdio: ["ignore", "pipe", "inherit"] })
    const watch = setInterval(() => {
      if (Number.isNaN(seen.lock) && existsSync(lock)) seen.lock = at()
      if (Number.isNaN(seen.served) && existsSync(record)) seen.served = at()
    }, 5)
    child.stdout.once("data", () => {
      seen.answer = at()
    })
    child.on("error", reject)
    child.on("exit", (code) => {
      clearInterval(watch)
      if (code !== 0) reject(new Error(`${bin} sql exited with ${code}`))
      else resolve({ ...seen, exit: at() })
    })
  })

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

const timings: Array<Timing> = []
for (let i = 0; i < runs; i++) {
  await stopKeeper()
  await sleep(300)
  const t = await once()
  timings.push(t)
  console.log(
    `run ${i + 1}: lock ${t.lock.toFixed(0)} ms, served ${t.served.toFixed(0)} ms, answer ${t.answer.toFixed(0)} ms, exit ${t.exit.toFixed(0)} ms`
  )
}
await stopKeeper()
const range = (k: keyof Timing) => {
  const xs = timings.map((t) => t[k])
  return `median ${median(xs).toFixed(0)} ms (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`
}
console.log(
  `${bin}: answer ${range("answer")}; exit ${range("exit")}; served ${range("served")}; lock ${range("lock")}`
)
