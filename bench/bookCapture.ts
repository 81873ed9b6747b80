/**
 * Order-book capture from the Binance simulator at a sustained event rate (issue 13): P95 from a
 * message's arrival to durable in the write-ahead log, events lost, the capture's peak RSS, and
 * the WebSocket messages that carried the events.
 *
 *   node bin/run-ts.mjs bench/bookCapture.ts [seconds=120] [events/s total=100000] [segment_ms=50]
 *
 * Two processes as a user runs them: `tapehouse sim binance` (BTCUSDT and ETHUSDT, half the rate
 * each) and `tapehouse stream --dataset book_deltas --venue binance-spot`. An event is one level
 * change, one row of book_deltas. Figures come from the capture's status file (its WAL latency
 * histogram and gap counts), the simulator's stats, and /proc for RSS and the CPU time of both
 * processes (on a shared machine, CPU seconds say more than the latency). Run `npm run build` first.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"

const seconds = Number(process.argv[2] ?? 120)
const totalRate = Number(process.argv[3] ?? 100_000)
const segmentMs = Number(process.argv[4] ?? 50)
const symbols = ["BTCUSDT", "ETHUSDT"]
const projectDir = path.resolve(import.meta.dirname, "..")
const bin = path.join(projectDir, "bin", "tapehouse.mjs")

const run = (args: ReadonlyArray<string>, env: Record<string, string> = {}): ChildProcess =>
  spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))

/** User + system CPU seconds of a process so far (/proc/<pid>/stat, in clock ticks of 1/100 s). */
const cpuSeconds = async (pid: number): Promise<number> => {
  const text = await fs.readFile(`/proc/${pid}/stat`, "utf8").catch(() => "")
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ")
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100
}

const peakRss = async (pid: number): Promise<number> => {
  const text = await fs.readFile(`/proc/${pid}/status`, "utf8").catch(() => "")
  const m = /VmHWM:\s+(\d+) kB/.exec(text)
  return m === null ? 0 : Number(m[1]) / 1024
}

const main = async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "bench-book-"))
  const configDir = path.join(dir, "config")
  await fs.mkdir(configDir)
  for (const name of ["settings.yaml", "sources.yaml", "sinks.yaml", "retry.yaml"]) {
    let text = await fs.readFile(path.join(projectDir, "config", name), "utf8")
    if (name === "settings.yaml") text = text.replace(/segment_ms: 1000/, `segment_ms: ${segmentMs}`)
    await fs.writeFile(path.join(configDir, name), text)
  }
  const dataDir = path.join(dir, "data")

  const sim = run([
    "sim",
    "binance",
    "--port",
    "0",
    "--rate",
    String(totalRate / symbols.length),
    "--symbols",
    symbols.join(",")
  ])
  const env = await new Promise<Record<string, string>>((resolve) => {
    let out = ""
    sim.stdout!.on("data", (d: Buffer) => {
      out += d.toString()
      const found = Object.fromEntries(
        [...out.matchAll(/(TAPEHOUSE_BINANCE_\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!])
      )
      if (Object.keys(found).length === 4) resolve(found)
    })
  })
  const simUrl = env.TAPEHOUSE_BINANCE_SPOT_URL!
  const started = Date.now()
  const capture = run(
    [
      "--config-dir",
      configDir,
      "--data-dir",
      dataDir,
      "stream",
      "--dataset",
      "book_deltas",
      "--venue",
      "binance-spot",
      "--symbols",
      symbols.join(",")
    ],
    env
  )
  let stderr = ""
  capture.stderr!.on("data", (d: Buffer) => (stderr += d.toString()))
  const captureDone = exited(capture)
  const statusFile = path.join(dataDir, "state", "books", "binance-spot", "status.json")
  const readStatus = async () =>
    JSON.parse(await fs.readFile(statusFile, "utf8")) as {
      messages: number
      wal: { rows: number; segments: number; checkpoints: number; p95DurableMs: number }
      symbols: Array<{
        symbol: string
        appliedLevels: number
        gaps: number
        eventsLostEstimate: number
        state: string
      }>
    }
  let rss = 0
  while (Date.now() - started < seconds * 1000) {
    await new Promise((r) => setTimeout(r, 1000))
    rss = Math.max(rss, await peakRss(capture.pid!))
  }
  const simStats = (await (await fetch(`${simUrl}/__sim/binance-stats`)).json()) as {
    messagesPublished: number
    messagesDropped: number
    connections: Array<{ endedBy: string | undefined; dataFrames: number }>
    symbols: Array<{ venue: string; symbol: string; events: number }>
  }
  rss = Math.max(rss, await peakRss(capture.pid!))
  const captureCpu = await cpuSeconds(capture.pid!)
  const simCpu = await cpuSeconds(sim.pid!)
  capture.kill("SIGTERM")
  const code = await captureDone
  const status = await readStatus()
  sim.kill("SIGINT")
  await exited(sim)
  const elapsed = (Date.now() - started) / 1000
  const levels = status.symbols.reduce((s, x) => s + x.appliedLevels, 0)
  const lost = status.symbols.reduce((s, x) => s + x.eventsLostEstimate, 0)
  const gaps = status.symbols.reduce((s, x) => s + x.gaps, 0)
  const simEvents = simStats.symbols.filter((s) => s.venue === "spot").reduce((s, x) => s + x.events, 0)
  const endedBy = simStats.connections.map((c) => c.endedBy).filter((e) => e !== undefined)
  const result = {
    date: new Date().toISOString(),
    seconds: Math.round(elapsed),
    targetEventsPerSecond: totalRate,
    simEvents,
    capturedLevelChanges: levels,
    capturedPerSecond: Math.round(levels / elapsed),
    walRows: status.wal.rows,
    segments: status.wal.segments,
    checkpoints: status.wal.checkpoints,
    p95ArrivalToDurableMs: status.wal.p95DurableMs,
    gaps,
    eventsLostEstimate: lost,
    wsMessages: status.messages,
    simMessagesPublished: simStats.messagesPublished,
    connectionsEnded: endedBy,
    peakRssMiB: Math.round(rss),
    captureCpuSeconds: captureCpu,
    captureCpuShare: Number((captureCpu / elapsed).toFixed(2)),
    simCpuSeconds: simCpu,
    exitCode: code,
    loadavg: os.loadavg().map((l) => l.toFixed(2))
  }
  console.log(JSON.stringify(result, null, 2))
  if (stderr.length > 0) console.error(stderr.slice(0, 2000))
  await fs.rm(dir, { recursive: true, force: true })
}

await main()
