/**
 * `tapehouse books` on a day of BTCUSDT-like data: a seeded synthetic day (test/support/bookDay.ts)
 * written with the capture's own segment writer, then the real CLI (compiled dist/) rebuilding
 * top-20 books every 100 ms, timed from outside with its CPU time and peak RSS.
 *
 *   npm run build && node bin/run-ts.mjs bench/booksCommand.ts [events] [levels] [every] [encrypt|plain]
 *
 * Defaults: 864,000 events (one every 100 ms, as `<symbol>@depth@100ms` sends for a busy symbol),
 * 2-7 level changes each (about 3.9 M rows of book_deltas), segments of 50,000 events, top 20
 * every 100 ms, files not encrypted. The data dir is a fresh temporary folder, removed at the end.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Either } from "effect"
import { parseBookKey } from "../src/books/encryption.js"
import { writeBookDay } from "../test/support/bookDay.js"

const EVENTS = Number(process.argv[2] ?? 864_000)
const LEVELS = Number(process.argv[3] ?? 20)
const EVERY = process.argv[4] ?? "100ms"
const ENCRYPT = process.argv[5] === "encrypt"
const DATE = "2026-01-05"
const KEY_HEX = "3c".repeat(32)

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "tapehouse-bench-books-"))
try {
  const key = ENCRYPT ? Either.getOrThrow(parseBookKey(KEY_HEX)) : undefined
  const t0 = performance.now()
  const written = await writeBookDay({
    dataDir,
    venue: "binance-spot",
    symbol: "BTCUSDT",
    date: DATE,
    events: EVENTS,
    eventsPerSegment: 50_000,
    validateEvery: 600,
    ...(key === undefined ? {} : { key })
  })
  const writeS = (performance.now() - t0) / 1000
  let deltaBytes = 0
  const deltaDir = path.join(dataDir, "lake", "book_deltas")
  for (const f of await fs.readdir(deltaDir, { recursive: true }))
    if (f.endsWith(".parquet")) deltaBytes += (await fs.stat(path.join(deltaDir, f))).size
  console.log(
    `wrote ${EVENTS.toLocaleString("en-US")} events, ${written.levelChanges.toLocaleString("en-US")} level changes in ${written.segments} segments (${(deltaBytes / 1e6).toFixed(1)} MB${ENCRYPT ? ", encrypted" : ""}) in ${writeS.toFixed(1)} s`
  )
  const args = [
    "-f",
    "%e %U %S %M",
    process.execPath,
    "bin/tapehouse.mjs",
    "--data-dir",
    dataDir,
    "books",
    "--venue",
    "binance-spot",
    "--symbol",
    "BTCUSDT",
    "--from",
    DATE,
    "--to",
    DATE,
    "--levels",
    String(LEVELS),
    "--every",
    EVERY
  ]
  const run = spawnSync("/usr/bin/time", args, {
    encoding: "utf8",
    env: { ...process.env, ...(ENCRYPT ? { TAPEHOUSE_BOOK_KEY: KEY_HEX } : {}) }
  })
  if (run.status !== 0) throw new Error(`books failed (${run.status}):\n${run.stdout}\n${run.stderr}`)
  const [wall, user, sys, maxKb] = run.stderr.trim().split("\n").at(-1)!.split(" ").map(Number)
  let outBytes = 0
  const outDir = path.join(dataDir, "lake", `book_top${LEVELS}_${EVERY}`)
  for (const f of await fs.readdir(outDir, { recursive: true }))
    if (f.endsWith(".parquet")) outBytes += (await fs.stat(path.join(outDir, f))).size
  console.log(run.stdout.trim())
  console.log(
    `books --levels ${LEVELS} --every ${EVERY}: ${wall} s wall, ${((user ?? 0) + (sys ?? 0)).toFixed(1)} s CPU, peak RSS ${((maxKb ?? 0) / 1024).toFixed(0)} MB; output ${(outBytes / 1e6).toFixed(1)} MB; ${Math.round(written.levelChanges / (wall ?? 1)).toLocaleString("en-US")} level changes/s end to end`
  )
} finally {
  await fs.rm(dataDir, { recursive: true, force: true })
}
