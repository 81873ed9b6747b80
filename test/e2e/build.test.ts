/**
 * The compiled CLI (scripts/build.mjs, run by `npm ci` and before this suite): the bin runs it, and
 * runs the TypeScript source instead whenever it is missing or older than src/; the worker thread
 * it starts by URL loads from it; and starting it loads none of the heavy modules that only some
 * commands need (they load when those commands run).
 */
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import { builtinModules } from "node:module"
import * as Path from "node:path"
import { Worker } from "node:worker_threads"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { type DecodeResponse, WORKER_READY } from "../../src/sources/massive/barColumns.js"
import {
  DECODER_READY,
  fromWire,
  type DecodeResponse as GreeksDecodeResponse
} from "../../src/sources/thetadata/greeksDecodeWire.js"
import { collect, projectDir, runCli } from "../support/cli.js"
import { tempDir } from "../support/fixtures.js"

const dist = Path.join(projectDir, "dist")

interface Metafile {
  readonly outputs: Record<
    string,
    {
      readonly imports: ReadonlyArray<{
        readonly path: string
        readonly kind: string
        readonly external?: boolean
      }>
      readonly inputs: Record<string, unknown>
    }
  >
}

/** The modules bundled into the outputs that loading `entry` loads, and the packages it imports from node_modules. */
const loadedAtStart = (meta: Metafile, entry: string) => {
  const outputs = new Set([entry])
  const external = new Set<string>()
  for (const output of outputs)
    for (const i of meta.outputs[output]!.imports) {
      // The entry (src/bin.ts) loads the CLI (src/cli/main.ts) by a dynamic import, always: it
      // only starts `sql`'s keeper first. Dynamic imports elsewhere are the commands' lazy loads.
      if (i.kind !== "import-statement" && !(output === entry && i.kind === "dynamic-import")) continue
      if (i.external) external.add(i.path)
      else outputs.add(i.path)
    }
  const inputs = [...outputs].flatMap((o) => Object.keys(meta.outputs[o]!.inputs))
  return { inputs, external: [...external] }
}

/** The worker's messages in order: each call gives the next one (or its error). */
const messagesOf = (worker: Worker): (() => Promise<unknown>) => {
  const messages: Array<unknown> = []
  worker.on("message", (m) => messages.push(m))
  return () =>
    new Promise<unknown>((resolve, reject) => {
      if (messages.length > 0) return resolve(messages.shift())
      worker.once("message", () => resolve(messages.shift()))
      worker.once("error", reject)
    })
}

describe("the compiled CLI", () => {
  it.live("the bin runs the build, which the suite made from the current source", () =>
    Effect.gen(function* () {
      const r = yield* runCli(["--help"])
      expect(r.code, r.stderr).toBe(0)
      // The bin says so when it runs the source instead.
      expect(r.stderr).toBe("")
      expect(r.stdout).toContain("USAGE")
    })
  )

  it.scopedLive("run from a folder without ./config, the build finds the config shipped beside it", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir()
      const r = yield* runCli(["--data-dir", Path.join(dir, "data"), "status"], { cwd: dir })
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toContain("No checkpoints and no lake in")
    })
  )

  it.scopedLive("the bin runs the source when dist/ is older than a file under src/, or missing", () =>
    Effect.gen(function* () {
      // A project of the bin's shape, whose "build" and "source" say which one ran.
      const dir = yield* tempDir()
      const write = (file: string, text: string, mtime: Date) => {
        const path = Path.join(dir, file)
        Fs.mkdirSync(Path.dirname(path), { recursive: true })
        Fs.writeFileSync(path, text)
        Fs.utimesSync(path, mtime, mtime)
      }
      const earlier = new Date(Date.now() - 60_000)
      const now = new Date()
      Fs.mkdirSync(Path.join(dir, "bin"))
      Fs.copyFileSync(Path.join(projectDir, "bin", "tapehouse.mjs"), Path.join(dir, "bin", "tapehouse.mjs"))
      Fs.symlinkSync(Path.join(projectDir, "node_modules"), Path.join(dir, "node_modules"))
      write("package.json", '{ "type": "module" }\n', earlier)
      write("scripts/build.mjs", "", earlier)
      write("src/bin.ts", 'const from: string = "source"\nconsole.log(from)\n', earlier)
      write("src/cli/Cli.ts", "export {}\n", earlier)
      Fs.utimesSync(Path.join(dir, "src", "cli"), earlier, earlier)
      Fs.utimesSync(Path.join(dir, "src"), earlier, earlier)
      write("dist/tapehouse.mjs", 'console.log("build")\n', now)
      write("dist/build.json", "{}\n", now)
      const run = () =>
        Effect.promise(() =>
          collect(
            spawn(process.execPath, [Path.join(dir, "bin", "tapehouse.mjs")], {
              cwd: dir,
              stdio: ["ignore", "pipe", "pipe"]
            })
          )
        )

      const fresh = yield* run()
      expect(fresh.stdout).toBe("build\n")
      expect(fresh.stderr).toBe("")

      write("src/cli/Cli.ts", "export {}\n", new Date(now.getTime() + 1000))
      const stale = yield* run()
      expect(stale.stdout).toBe("source\n")
      expect(stale.stderr).toContain("src/ changed since the last build; running the TypeScript source")

      Fs.rmSync(Path.join(dir, "dist"), { recursive: true })
      const missing = yield* run()
      expect(missing.stdout).toBe("source\n")
      expect(missing.stderr).toContain("there is no build in dist/; running the TypeScript source")
    })
  )

  it.live("the frame decoding worker loads from dist/ and decodes frames", () =>
    Effect.promise(async () => {
      const worker = new Worker(Path.join(dist, "frameDecodeWorker.mjs"))
      try {
        const next = messagesOf(worker)
        expect(await next()).toBe(WORKER_READY)
        const frame = JSON.stringify([
          {
            ev: "A",
            sym: "SPY",
            s: 1709562600000,
            e: 1709562601000,
            o: 1,
            h: 2,
            l: 0.5,
            c: 1.5,
            v: 100,
            vw: 1.2
          }
        ])
        worker.postMessage({ id: 7, frames: [frame], receivedAt: [1], ev: "A", volume: "required" })
        const response = (await next()) as DecodeResponse
        expect(response.id).toBe(7)
        const [event] = response.events[0]!
        expect(event).toMatchObject({ _tag: "AggregateColumns", symbols: ["SPY"] })
      } finally {
        await worker.terminate()
      }
    })
  )

  it.live("the greeks decoding worker loads from dist/ and reads a CSV body into columns", () =>
    Effect.promise(async () => {
      const worker = new Worker(Path.join(dist, "greeksDecodeWorker.mjs"))
      try {
        const next = messagesOf(worker)
        expect(await next()).toBe(DECODER_READY)
        const body = [
          "symbol,expiration,strike,right,timestamp,bid,ask,delta,theta,vega,rho,epsilon,lambda,implied_vol,iv_error,underlying_timestamp,underlying_price",
          "SPXW,2024-11-08,5750.000,CALL,2024-11-04T09:35:00,0.00,0.02,0.0026,-0.0141,0.1913,0.0063,-0.0064,55.2930,0.5874,0.0721,2024-11-04T09:35:00,5712.66",
          ""
        ].join("\r\n")
        worker.postMessage({ type: "open", id: 3, api: "v3" })
        worker.postMessage({ type: "feed", id: 3, bytes: new TextEncoder().encode(body) })
        expect(await next()).toEqual({ id: 3, parsed: [] })
        worker.postMessage({ type: "end", id: 3 })
        const last = (await next()) as GreeksDecodeResponse
        expect(last.last).toEqual({ lines: 2 })
        const batch = fromWire(last.parsed[0]!)
        expect(typeof batch === "string" ? batch : batch.rows).toEqual([
          expect.objectContaining({ symbol: "SPXW", strike: 5_750_000, right: "call", bid: 0, ask: 0.02 })
        ])
      } finally {
        await worker.terminate()
      }
    })
  )

  it("starting it loads none of the sources, sinks, runners, simulators or their libraries", () => {
    const meta = JSON.parse(Fs.readFileSync(Path.join(dist, "meta.json"), "utf8")) as Metafile
    const entry = Object.keys(meta.outputs).find((o) => o.endsWith("/tapehouse.mjs"))!
    const { inputs, external } = loadedAtStart(meta, entry)
    // Sanity: the command definitions are there.
    expect(inputs).toContain("src/cli/backfillCommand.ts")
    const heavy = [
      /^src\/(sources|sim)\//,
      /^src\/runners\/(backfill|stream|repair)/,
      /^src\/sinks\/(ParquetSink|SqlSink|SinksLive|EmbeddedPg|compact|parquetCodec|flatParquetWriter)/,
      /^src\/calendar\/MarketCalendar/,
      /^src\/config\/loadConfig/,
      /node_modules\/(undici|ws|pg|hyparquet[\w-]*|@effect\/sql[\w-]*|@electric-sql\/[\w-]+)\//
    ]
    expect(inputs.filter((i) => heavy.some((h) => h.test(i)))).toEqual([])
    expect(external.filter((e) => !e.startsWith("node:") && !builtinModules.includes(e))).toEqual([])
  })
})
