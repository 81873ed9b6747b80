/**
 * Binance simulator benchmark, two parts.
 *
 * 1. generate: the market alone (`makeDepthMarket`, no sockets), every depth stream of every
 *    symbol active (spot @100ms and @1000ms, USD-M @100ms, @250ms, @500ms), stepped as fast as
 *    it goes: events (level changes) per second of CPU, messages built, ms per 50 ms step at
 *    the configured rate. Its headroom over real time is what the server has left for sockets.
 * 2. serve: `tapehouse sim binance` from dist/ as a child process at `rate` events/s per symbol
 *    (6 symbols: 3 spot + 3 USD-M), one `ws` client here on one combined connection per venue
 *    subscribed to every `@depth@100ms` stream, for `seconds`: messages and level changes
 *    received per second, U/u and pu continuity (gaps must be 0), and the events the server
 *    generated (from `/__sim/binance-stats`) against the target.
 *
 *   npm run build && node bin/run-ts.mjs bench/binanceSim.ts [seconds=10] [rate per symbol=33334] [generate]
 */
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import WebSocket from "ws"
import { SPOT_SYMBOLS, USDM_SYMBOLS } from "../src/sim/binance/catalog.js"
import { makeDepthMarket } from "../src/sim/binance/depthMarket.js"

const seconds = Number(process.argv[2] ?? 10)
const rate = Number(process.argv[3] ?? 33_334)
const symbols = SPOT_SYMBOLS.length + USDM_SYMBOLS.length
const target = rate * symbols

const generate = () => {
  const market = makeDepthMarket({
    seed: 1,
    startMs: 0,
    venues: {
      spot: SPOT_SYMBOLS.map((spec) => ({ spec, rate })),
      usdm: USDM_SYMBOLS.map((spec) => ({ spec, rate }))
    }
  })
  for (const s of SPOT_SYMBOLS) {
    const lower = s.symbol.toLowerCase()
    market.activate("spot", `${lower}@depth@100ms`)
    market.activate("spot", `${lower}@depth`)
  }
  for (const s of USDM_SYMBOLS) {
    const lower = s.symbol.toLowerCase()
    market.activate("usdm", `${lower}@depth@100ms`)
    market.activate("usdm", `${lower}@depth`)
    market.activate("usdm", `${lower}@depth@500ms`)
  }
  let messages = 0
  let bytes = 0
  let levels = 0
  const publish = (_: unknown, m: { payload: string; levels: number }) => {
    messages++
    bytes += m.payload.length
    levels += m.levels
  }
  for (let i = 0; i < 100; i++) market.step(publish) // warm-up
  const eventsBefore = market.stats().reduce((n, s) => n + s.events, 0)
  messages = bytes = levels = 0
  const steps = Math.round((seconds * 1000) / market.stepMs)
  const t0 = process.hrtime.bigint()
  const cpu0 = process.cpuUsage()
  for (let i = 0; i < steps; i++) market.step(publish)
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6
  const used = process.cpuUsage(cpu0)
  const ms = (used.user + used.system) / 1000
  const events = market.stats().reduce((n, s) => n + s.events, 0) - eventsBefore
  console.log(
    `generate: ${seconds} s of market time at ${target.toLocaleString("en-US")} events/s (${symbols} symbols × ${rate.toLocaleString("en-US")}) in ${ms.toFixed(0)} ms of CPU (${wallMs.toFixed(0)} ms wall)`
  )
  console.log(
    `  ${Math.round(events / (ms / 1000)).toLocaleString("en-US")} events/s of CPU (${(events / (ms / 1000) / target).toFixed(1)}× real time); ${(ms / steps).toFixed(2)} ms per 50 ms step; ${messages.toLocaleString("en-US")} messages, ${levels.toLocaleString("en-US")} levels after coalescing, ${(bytes / 1e6).toFixed(1)} MB of JSON`
  )
}

const serve = async () => {
  const child = spawn(
    process.execPath,
    ["bin/tapehouse.mjs", "sim", "binance", "--port", "0", "--rate", String(rate)],
    { stdio: ["ignore", "pipe", "inherit"] }
  )
  const url = await new Promise<string>((resolve) => {
    let out = ""
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString()
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (m) resolve(m[1]!)
    })
  })
  const ws = url.replace(/^http/, "ws")
  const stats = async () =>
    (await (await fetch(`${url}/__sim/binance-stats`)).json()) as {
      symbols: Array<{ events: number }>
      messagesPublished: number
    }
  let messages = 0
  let levels = 0
  let gaps = 0
  let bytes = 0
  const last = new Map<string, number>()
  const open = (path: string, names: ReadonlyArray<string>) =>
    new Promise<WebSocket>((resolve) => {
      const c = new WebSocket(`${path}/stream?streams=${names.join("/")}`)
      c.on("message", (data: Buffer) => {
        bytes += data.length
        const { stream, data: d } = JSON.parse(data.toString()) as {
          stream: string
          data: { U: number; u: number; pu?: number; b: Array<unknown>; a: Array<unknown> }
        }
        const key = `${path}|${stream}`
        const prev = last.get(key)
        if (prev !== undefined && (d.pu === undefined ? d.U !== prev + 1 : d.pu !== prev)) gaps++
        last.set(key, d.u)
        messages++
        levels += d.b.length + d.a.length
      })
      c.on("open", () => resolve(c))
    })
  const clients = [
    await open(
      ws,
      SPOT_SYMBOLS.map((s) => `${s.symbol.toLowerCase()}@depth@100ms`)
    ),
    await open(
      `${ws}/public`,
      USDM_SYMBOLS.map((s) => `${s.symbol.toLowerCase()}@depth@100ms`)
    )
  ]
  /** The server's CPU seconds so far (Linux: utime + stime of /proc/<pid>/stat, in clock ticks of 10 ms). */
  const serverCpu = () => {
    const fields = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]!.split(" ")
    return (Number(fields[11]) + Number(fields[12])) / 100
  }
  const before = await stats()
  const server0 = serverCpu()
  const cpu0 = process.cpuUsage()
  const t0 = Date.now()
  messages = levels = bytes = 0
  await new Promise((r) => setTimeout(r, seconds * 1000))
  const wall = (Date.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  const serverCpuShare = (serverCpu() - server0) / wall
  const after = await stats()
  const events =
    after.symbols.reduce((n, s) => n + s.events, 0) - before.symbols.reduce((n, s) => n + s.events, 0)
  for (const c of clients) c.terminate()
  child.kill("SIGINT")
  console.log(
    `serve: ${wall.toFixed(1)} s against \`sim binance --rate ${rate}\` (${symbols} symbols), one client per venue`
  )
  console.log(
    `  server generated ${Math.round(events / wall).toLocaleString("en-US")} events/s (target ${target.toLocaleString("en-US")}); client received ${Math.round(messages / wall).toLocaleString("en-US")} messages/s, ${Math.round(levels / wall).toLocaleString("en-US")} levels/s, ${(bytes / wall / 1e6).toFixed(1)} MB/s; gaps ${gaps}; server CPU ${(serverCpuShare * 100).toFixed(0)} % (${((serverCpuShare * wall * 1e6) / events).toFixed(2)} µs per event), client CPU ${(((cpu.user + cpu.system) / 1e6 / wall) * 100).toFixed(0)} %`
  )
}

generate()
if (process.argv[4] !== "generate") await serve()
