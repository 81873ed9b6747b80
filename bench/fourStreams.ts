/**
 * The four Massive datasets streamed together at realistic rates: CPU and memory of the `stream`
 * process, as a user runs it.
 *
 *   node bin/run-ts.mjs bench/fourStreams.ts [realtime-seconds=300] [session-speed=60] [date=2024-03-05]
 *
 * 1. `tapehouse sim serve` (the synthetic market) and four backfills of the day into a scratch
 *    lake: SPY per-second bars, I:VIX, SPY's tracked option contracts' bars, SPY news. Every
 *    command runs with the shipped config but no client-side rate limit (a paid plan).
 * 2. Real time: `tapehouse simulate --date D --speed 1` replays that day from the open, and
 *    `tapehouse stream --datasets stock_bars_1s,option_bars_1s,index_bars_1s,news` captures it with
 *    the shipped defaults (flush every 1 s, news polled every 5 min, contracts discovered from the
 *    first SPY aggregate's `op`). For `realtime-seconds`, the stream process's CPU time (user +
 *    sys, from /proc/<pid>/stat) and RSS are sampled every second. Rates are the session's own:
 *    SPY and I:VIX one bar a second, the chain's contracts as they trade (sparse).
 * 3. A whole session: the same at `session-speed` times real time, to its close, RSS sampled
 *    every 5 s: does it stay flat over a replayed session?
 *
 * The stream's own CPU is what is reported; the simulator runs in its own process.
 *
 * `session-speed` 0 skips step 3 (while iterating on the real-time figure).
 * FOUR_STREAMS_LAKE=<dir> keeps the backfilled lake of step 1 in <dir> and reuses it when it is
 * there already (the simulator replays it; the stream writes elsewhere). With
 * FOUR_STREAMS_CPU_PROF=<dir>, the real-time stream process runs with `--cpu-prof` (its main
 * thread and the PGlite worker each write a .cpuprofile into <dir> when it exits).
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as NodeFs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

const realtimeSeconds = Number(process.argv[2] ?? 300)
const sessionSpeed = Number(process.argv[3] ?? 60)
const DATE = process.argv[4] ?? "2024-03-05"
const KEY = "bench-four-streams"
const BIN = Path.resolve("bin/tapehouse.mjs")
const DATASETS = "stock_bars_1s,option_bars_1s,index_bars_1s,news"
const CLOCK_TICKS = 100 // _SC_CLK_TCK on Linux
const PAGE_KB = 4
const CPU_PROF_DIR = process.env.FOUR_STREAMS_CPU_PROF

/**
 * The shipped config with no client-side rate limit (the shipped 5 requests a minute is Massive's
 * free tier, which has no options or indices: a user streaming all four has a paid plan).
 */
let configDir = ""
const writeConfig = (scratch: string) => {
  configDir = Path.join(scratch, "config")
  NodeFs.cpSync(Path.resolve("config"), configDir, { recursive: true })
  const sources = Path.join(configDir, "sources.yaml")
  const text = NodeFs.readFileSync(sources, "utf8")
  if (!/rate_limit_per_minute: 5/.test(text)) throw new Error(`${sources}: rate_limit_per_minute not found`)
  NodeFs.writeFileSync(sources, text.replace(/rate_limit_per_minute: 5/, "rate_limit_per_minute: 0"))
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A CLI child with its output kept; `line` resolves with the first stdout line matching. */
const cli = (
  args: ReadonlyArray<string>,
  env: Record<string, string>,
  nodeArgs: ReadonlyArray<string> = []
) => {
  const child = spawn(process.execPath, [...nodeArgs, BIN, "--config-dir", configDir, ...args], {
    env: { ...process.env, NO_COLOR: "1", MASSIVE_API_KEY: KEY, ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let out = ""
  let err = ""
  child.stdout.on("data", (d: Buffer) => (out += d.toString()))
  child.stderr.on("data", (d: Buffer) => (err += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve))
  const line = async (pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> => {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      const m = out.match(pattern)
      if (m !== null) return m
      if (child.exitCode !== null) break
      await sleep(50)
    }
    throw new Error(`tapehouse ${args.join(" ")}: no line matching ${pattern}\n${out}\n${err}`)
  }
  return { child, exited, line, output: () => `${out}${err}` }
}

/** Progress on stderr; the results go to stdout. */
const note = (text: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${text}\n`)

const run = async (args: ReadonlyArray<string>, env: Record<string, string>) => {
  note(`tapehouse ${args.join(" ")}`)
  const c = cli(args, env)
  const code = await c.exited
  if (code !== 0) throw new Error(`tapehouse ${args.join(" ")} exited ${code}\n${c.output()}`)
  return c.output()
}

/** CPU seconds (user + sys) and RSS (MB) of a process, from /proc. */
const usage = (pid: number) => {
  const stat = NodeFs.readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  const cpu = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
  const rssMb = (Number(fields[21]) * PAGE_KB) / 1024
  return { cpu, rssMb }
}

const stopGracefully = async (c: ReturnType<typeof cli>) => {
  if (c.child.exitCode === null) c.child.kill("SIGINT")
  const code = await Promise.race([c.exited, sleep(60_000).then(() => "timeout" as const)])
  if (code === "timeout") c.child.kill("SIGKILL")
  return code
}

interface Sample {
  readonly t: number
  readonly cpu: number
  readonly rssMb: number
}

/** Replays the day at `speed` into a fresh data dir and samples the stream until `until` says stop. */
const streamReplay = async (
  lake: string,
  scratch: string,
  speed: number,
  everyMs: number,
  until: (elapsedMs: number, stream: ChildProcess) => boolean,
  nodeArgs: ReadonlyArray<string> = []
) => {
  const simulate = cli(
    ["simulate", "--dataset", "stock_bars_1s", "--date", DATE, "--speed", String(speed), "--api-key", KEY],
    { TAPEHOUSE_DATA_DIR: lake }
  )
  const rest = (await simulate.line(/REST\s+(\S+)/))[1] ?? ""
  const ws = (await simulate.line(/WebSocket\s+(ws:\/\/\S+?)\/\w+\s/))[1] ?? ""
  const dataDir = NodeFs.mkdtempSync(Path.join(scratch, "stream-"))
  note(`simulate at ${speed}x on ${rest}; stream --datasets ${DATASETS}`)
  const stream = cli(
    ["stream", "--datasets", DATASETS, "--no-reconcile"],
    { TAPEHOUSE_DATA_DIR: dataDir, TAPEHOUSE_MASSIVE_URL: rest, TAPEHOUSE_MASSIVE_WS_URL: ws },
    nodeArgs
  )
  const pid = stream.child.pid ?? 0
  const samples: Array<Sample> = []
  const started = Date.now()
  while (stream.child.exitCode === null && !until(Date.now() - started, stream.child)) {
    try {
      samples.push({ t: (Date.now() - started) / 1000, ...usage(pid) })
    } catch {
      break // the process ended between the check and the read
    }
    await sleep(everyMs)
  }
  note(`stopping the stream after ${((Date.now() - started) / 1000).toFixed(0)} s`)
  const code = await stopGracefully(stream)
  await stopGracefully(simulate)
  return { samples, code, output: stream.output(), dataDir }
}

const fmt = (n: number, digits = 1) => n.toFixed(digits)

const main = async () => {
  const scratch = NodeFs.mkdtempSync(Path.join(Os.tmpdir(), "tapehouse-bench-four-"))
  try {
    writeConfig(scratch)
    const kept = process.env.FOUR_STREAMS_LAKE
    const lake = kept === undefined ? Path.join(scratch, "lake") : Path.resolve(kept)
    const ready = Path.join(lake, "four-streams-backfilled")
    if (NodeFs.existsSync(ready) && NodeFs.readFileSync(ready, "utf8") === `${DATE}\n`)
      note(`reusing the backfilled lake ${lake}`)
    else {
      const sim = cli(["sim", "serve", "--api-key", KEY], {})
      const url = (await sim.line(/listening on (\S+)/))[1] ?? ""
      const env = { TAPEHOUSE_DATA_DIR: lake, TAPEHOUSE_MASSIVE_URL: url }
      const day = ["--from", DATE, "--to", DATE]
      await run(["backfill", "--dataset", "stock_bars_1s", "--symbols", "SPY", ...day], env)
      await run(["backfill", "--dataset", "index_bars_1s", "--symbols", "I:VIX", ...day], env)
      await run(["backfill", "--dataset", "option_bars_1s", "--underlying", "SPY", ...day], env)
      await run(["backfill", "--dataset", "news", "--tickers", "SPY", ...day], env)
      await stopGracefully(sim)
      if (kept !== undefined) NodeFs.writeFileSync(ready, `${DATE}\n`)
    }

    const load = Os.loadavg().map((l) => fmt(l, 2))
    // Real time: CPU over a window after the first minute (start-up: PGlite, discovery, subscribe).
    const warmUpS = Math.min(60, realtimeSeconds / 4)
    const profile =
      CPU_PROF_DIR === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", Path.resolve(CPU_PROF_DIR)]
    const realtime = await streamReplay(lake, scratch, 1, 1000, (ms) => ms >= realtimeSeconds * 1000, profile)
    const steady = realtime.samples.filter((s) => s.t >= warmUpS)
    const first = steady[0]
    const last = steady.at(-1)
    const cpuShare =
      first && last && last.t > first.t ? (last.cpu - first.cpu) / (last.t - first.t) : Number.NaN
    const rssRealtime = realtime.samples.map((s) => s.rssMb)

    // A whole session at `sessionSpeed`: the stream ends by itself at the close (6.5 h / speed).
    const sessionCap = ((6.5 * 3600) / sessionSpeed + 180) * 1000
    const session =
      sessionSpeed > 0
        ? await streamReplay(lake, scratch, sessionSpeed, 5000, (ms) => ms >= sessionCap)
        : { samples: [], code: null, output: "(session skipped)", dataDir: "" }
    const rss = session.samples.map((s) => s.rssMb)
    const quarter = Math.max(1, Math.floor(rss.length / 4))
    const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
    const sessionFirst = session.samples[0]
    const sessionLast = session.samples.at(-1)

    console.log(
      `\`node bin/run-ts.mjs bench/fourStreams.ts ${realtimeSeconds} ${sessionSpeed} ${DATE}\`: Node ${process.version}, ${Os.cpus().length} cores, load average before ${load.join(" ")}\n`
    )
    console.log("| run | duration | CPU of one core | RSS min / median / max MB |")
    console.log("|---|---|---|---|")
    const sorted = [...rssRealtime].sort((a, b) => a - b)
    console.log(
      `| real time (speed 1), after ${fmt(warmUpS, 0)} s of start-up | ${fmt(last?.t ?? 0, 0)} s | ${fmt(cpuShare * 100, 2)} % | ${fmt(sorted[0] ?? 0)} / ${fmt(sorted[Math.floor(sorted.length / 2)] ?? 0)} / ${fmt(sorted.at(-1) ?? 0)} |`
    )
    const sessionSorted = [...rss].sort((a, b) => a - b)
    console.log(
      `| whole session at ${sessionSpeed}x | ${fmt(sessionLast?.t ?? 0, 0)} s (exit ${session.code}) | ${sessionFirst && sessionLast ? fmt(((sessionLast.cpu - sessionFirst.cpu) / Math.max(1, sessionLast.t - sessionFirst.t)) * 100, 2) : "?"} % | ${fmt(sessionSorted[0] ?? 0)} / ${fmt(sessionSorted[Math.floor(sessionSorted.length / 2)] ?? 0)} / ${fmt(sessionSorted.at(-1) ?? 0)} |`
    )
    console.log(
      `\nRSS over the session, mean of each quarter (MB): ${[0, 1, 2, 3].map((q) => fmt(mean(rss.slice(q * quarter, (q + 1) * quarter)))).join(", ")}`
    )
    console.log(`\nreal-time stream output (tail):\n${realtime.output.split("\n").slice(-12).join("\n")}`)
    console.log(`\nsession stream output (tail):\n${session.output.split("\n").slice(-16).join("\n")}`)
  } finally {
    NodeFs.rmSync(scratch, { recursive: true, force: true })
  }
}

await main()
