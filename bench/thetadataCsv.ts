/**
 * ThetaData CSV benchmark: the simulator's first-order greeks answer for one SPXW expiration on one
 * day (200 strikes × 2 rights × 390 minutes = 156,000 rows, v3 CSV with CRLF), cut into 64 KiB
 * chunks as a socket delivers them, read three ways:
 *
 * - `split`: the client's hand-written reading (src/sources/thetadata/csvText.ts): lines cut at
 *   LF, fields with `String.split(",")` (quote-aware only on a line holding a quote);
 * - `csv-parse`: the csv-parse library's streaming parser (the original design's pick), fed the
 *   same chunks, records as arrays;
 * - `decode`: the whole client path, `makeGreeksCsvParser` (split + header mapping + numbers,
 *   strikes and New York times) to `OptionGreek` records.
 *
 * Also how fast the simulator generates that answer (`generate`, rows/s: its own path, rows
 * printed into bytes, taken in 256 KiB chunks as it writes them to the socket), and the part of
 * it that is the quote and greeks arithmetic alone (`greeks`: no text). Each step runs `rounds`
 * times, alternating; the table gives the median and the best.
 *
 *   node bin/run-ts.mjs bench/thetadataCsv.ts [rounds=5] [steps, e.g. decode,split]
 */
import * as os from "node:os"
import { parse } from "csv-parse"
import { bodyStart, dayText, TextBytes, writeContract } from "../src/sim/thetadata/greeksText.js"
import {
  emptyValues,
  expiryClock,
  fastGreekValues,
  spxDay,
  strikesOf
} from "../src/sim/thetadata/spxMarket.js"
import { makeLineSplitter, splitFields } from "../src/sources/thetadata/csvText.js"
import { makeGreeksCsvParser } from "../src/sources/thetadata/greeksCsv.js"

const rounds = Number(process.argv[2] ?? 5)
/** Steps to run, comma-separated (`decode,split`); all when absent. */
const only = process.argv[3]?.split(",")
const runs = (step: string) => only === undefined || only.includes(step)
const DATE = "2024-11-04"
const EXPIRATION = "2024-11-15"

const day = spxDay(DATE)!
const strikes = strikesOf(day, 100)

const CHUNK_BYTES = 256 * 1024

/** The answer as the simulator writes it: chunks of bytes. */
const generate = (): Array<Buffer> => {
  const d = dayText(day)
  const values = emptyValues()
  const out = new TextBytes(CHUNK_BYTES + 128 * 1024)
  const parts: Array<Buffer> = []
  out.text(bodyStart("v3", "csv"))
  for (const strike of strikes)
    for (const call of [true, false]) {
      writeContract("v3", "csv", d, { symbol: "SPXW", expiration: EXPIRATION, strike, call }, out, values)
      if (out.pos >= CHUNK_BYTES) parts.push(out.take())
    }
  parts.push(out.take())
  return parts
}

const greeksOnly = (): number => {
  const values = emptyValues()
  const clock = expiryClock(day, EXPIRATION)
  let n = 0
  for (const strike of strikes)
    for (const call of [true, false])
      for (let i = 0; i < day.minutes; i++) {
        fastGreekValues(call, day.spotCents[i]! / 100, strike, clock, i, values)
        n++
      }
  return n
}

const time = <A>(f: () => A): [number, A] => {
  const t0 = performance.now()
  const a = f()
  return [performance.now() - t0, a]
}

const timeAsync = async <A>(f: () => Promise<A>): Promise<[number, A]> => {
  const t0 = performance.now()
  const a = await f()
  return [performance.now() - t0, a]
}

const body = Buffer.concat(generate()).toString("utf8")
const rows = strikes.length * 2 * day.minutes
const chunks: Array<string> = []
for (let i = 0; i < body.length; i += 65_536) chunks.push(body.slice(i, i + 65_536))

const readSplit = (): number => {
  const splitter = makeLineSplitter()
  let fields = 0
  for (const chunk of chunks)
    splitter.feed(chunk, (line) => {
      fields += splitFields(line)?.length ?? 0
    })
  return fields
}

const readCsvParse = (): Promise<number> =>
  new Promise((resolve, reject) => {
    let fields = 0
    const parser = parse({ relax_column_count: false })
    parser.on("data", (record: Array<string>) => {
      fields += record.length
    })
    parser.on("error", reject)
    parser.on("end", () => resolve(fields))
    for (const chunk of chunks) parser.write(chunk)
    parser.end()
  })

const readDecode = (): number => {
  const parser = makeGreeksCsvParser("v3")
  let n = 0
  for (const chunk of chunks) {
    const batch = parser.feed(chunk)
    if (typeof batch === "string") throw new Error(batch)
    n += batch.columns.length + batch.rejected.length
  }
  const last = parser.end()
  if (typeof last === "string") throw new Error(last)
  return n + last.columns.length
}

const results: Record<string, Array<number>> = {
  generate: [],
  greeks: [],
  split: [],
  "csv-parse": [],
  decode: []
}
for (let r = 0; r < rounds; r++) {
  if (runs("generate")) results.generate!.push(time(generate)[0])
  if (runs("greeks")) results.greeks!.push(time(greeksOnly)[0])
  if (runs("split") || runs("csv-parse")) {
    const [tSplit, fSplit] = time(readSplit)
    const [tCsv, fCsv] = await timeAsync(readCsvParse)
    if (fSplit !== fCsv) throw new Error(`split read ${fSplit} fields, csv-parse ${fCsv}`)
    results.split!.push(tSplit)
    results["csv-parse"]!.push(tCsv)
  }
  if (runs("decode")) {
    const [tDecode, n] = time(readDecode)
    if (n !== rows) throw new Error(`decode read ${n} rows, expected ${rows}`)
    results.decode!.push(tDecode)
  }
}

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
console.log(
  `${os.cpus()[0]?.model ?? "cpu"} ×${os.cpus().length}, node ${process.version}, ${new Date().toISOString()}`
)
console.log(
  `${rows} rows, ${(body.length / 1e6).toFixed(1)} MB of CSV in ${chunks.length} chunks; ${rounds} rounds`
)
console.log("| step | median ms | best ms | rows/s (median) | MB/s (median) |")
console.log("| --- | --- | --- | --- | --- |")
for (const [name, xs] of Object.entries(results)) {
  if (xs.length === 0) continue
  const m = median(xs)
  console.log(
    `| ${name} | ${m.toFixed(0)} | ${Math.min(...xs).toFixed(0)} | ${Math.round((rows / m) * 1000).toLocaleString("en-US")} | ${(body.length / 1e3 / m).toFixed(0)} |`
  )
}
