/**
 * The work behind `books`, `fidelity` and `assess`: each reads one symbol's stored segments day by
 * day (bookSegments.ts, decrypting with the book key when the files are encrypted), replays them
 * (deltaReplay.ts) and writes or reports what it found. Loaded by the command handlers only.
 *
 * Every day stands alone: the capture writes a snapshot block at the start of each UTC day, so a
 * day's files rebuild its books without the day before, and a rerun of a day rewrites its output.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect } from "effect"
import { datesBetween } from "../domain/time.js"
import { writeFileAtomic } from "../sinks/atomicFile.js"
import { type AssessReport, assessReport } from "./assess.js"
import { BOOK_DELTAS, BOOK_SNAPSHOTS, type BookScales } from "./bookDatasets.js"
import { ledgerGapsOf } from "./bookLedger.js"
import { listSegments, readBookDeltas, readBookSnapshots, type SegmentFile } from "./bookSegments.js"
import { bookTopDatasetName, encodeBookTop } from "./bookTopParquet.js"
import { chainRulesOf, DeltaReplay } from "./deltaReplay.js"
import type { BookKey } from "./encryption.js"
import { type BookComparison, compareWithSnapshot, type FidelityReport, fidelityReport } from "./fidelity.js"
import { fidelityHtml } from "./fidelityHtml.js"
import { samplerHook, TopSampler } from "./topSampler.js"

const DAY_MS = 86_400_000

/** What a job could not do: no data, mixed scales, an unreadable or undecryptable file. */
export class BookJobError extends Error {
  readonly _tag = "BookJobError"
}

export interface BookTarget {
  readonly dataDir: string
  readonly venue: string
  readonly symbol: string
  readonly key: BookKey | undefined
}

const lakeOf = (dataDir: string) => path.join(dataDir, "lake")
const dayStart = (date: string) => Date.parse(`${date}T00:00:00Z`)

const segmentsOf = (t: BookTarget, dataset: typeof BOOK_DELTAS | typeof BOOK_SNAPSHOTS, date: string) =>
  listSegments(lakeOf(t.dataDir), dataset, { venue: t.venue, symbol: t.symbol, fromDate: date, toDate: date })

const sameScales = (a: BookScales, b: BookScales) =>
  a.priceScale === b.priceScale && a.sizeScale === b.sizeScale

/**
 * Replays the day's delta segments in write order; `onSegment` runs after each (to write what
 * it completed). Returns the replay and the day's scales (undefined when the day has no files).
 */
const replayDay = async (
  t: BookTarget,
  date: string,
  files: ReadonlyArray<SegmentFile>,
  replay: DeltaReplay,
  onSegment?: (scales: BookScales) => Promise<void>
): Promise<BookScales | undefined> => {
  let scales: BookScales | undefined
  for (const f of files) {
    const segment = await readBookDeltas(f.file, t.key)
    if (scales !== undefined && !sameScales(scales, segment.info.scales))
      throw new BookJobError(
        `${f.file} holds ${t.symbol} at scales ${segment.info.scales.priceScale}/${segment.info.scales.sizeScale}, other files of ${date} at ${scales.priceScale}/${scales.sizeScale}: the symbol's tick or step changed during the day, which books cannot rebuild across.`
      )
    scales = segment.info.scales
    replay.push(segment.rows)
    await onSegment?.(scales)
  }
  return scales
}

// --- books ---------------------------------------------------------------------------------------

export interface BooksOptions {
  readonly from: string
  readonly to: string
  readonly levels: number
  readonly everyMs: number
  /** As the user wrote it ("100ms"): part of the dataset name. */
  readonly everyText: string
}

export interface BooksDayOutcome {
  readonly date: string
  readonly rows: number
  readonly files: ReadonlyArray<string>
  readonly gaps: number
}

/** Rows per output file at most: the file period is the longest that keeps to it. */
const MAX_FILE_ROWS = 36_000
const FILE_PERIODS = [86_400_000, 21_600_000, 3_600_000, 900_000, 300_000, 60_000]

export const filePeriodFor = (everyMs: number): number =>
  FILE_PERIODS.find((p) => p / everyMs <= MAX_FILE_ROWS) ?? 60_000

const partName = (periodStartMs: number): string => {
  const d = new Date(periodStartMs)
  const hh = String(d.getUTCHours()).padStart(2, "0")
  const mm = String(d.getUTCMinutes()).padStart(2, "0")
  return `part-${hh}${mm}.parquet`
}

const run = <A, E>(effect: Effect.Effect<A, E>): Promise<A> => Effect.runPromise(Effect.orDie(effect))

/** Rebuilds and writes `book_top<N>_<every>` for each day of the range; a day without deltas is reported with 0 rows. */
export const rebuildBooks = async (t: BookTarget, o: BooksOptions): Promise<Array<BooksDayOutcome>> => {
  const dataset = bookTopDatasetName(o.levels, o.everyText)
  const outcomes: Array<BooksDayOutcome> = []
  for (const date of datesBetween(o.from, o.to)) {
    const start = dayStart(date)
    const files = await segmentsOf(t, BOOK_DELTAS, date)
    const dir = path.join(
      lakeOf(t.dataDir),
      dataset,
      `venue=${t.venue}`,
      `date=${date}`,
      `symbol=${t.symbol}`
    )
    const sampler = new TopSampler({
      levels: o.levels,
      everyMs: o.everyMs,
      fromMs: start,
      toMs: start + DAY_MS,
      fileMs: filePeriodFor(o.everyMs)
    })
    const replay = new DeltaReplay(
      chainRulesOf(t.venue),
      { startMs: start, endMs: start + DAY_MS },
      samplerHook(sampler)
    )
    const written: Array<string> = []
    let rows = 0
    let lastE: number | undefined
    const flush = async (scales: BookScales) => {
      for (const block of sampler.take()) {
        const file = path.join(dir, partName(block.periodStartMs))
        const bytes = encodeBookTop(block, {
          symbol: t.symbol,
          levels: o.levels,
          priceScale: scales.priceScale,
          sizeScale: scales.sizeScale,
          datasetName: dataset
        })
        await fs.mkdir(dir, { recursive: true })
        await run(writeFileAtomic(file, bytes))
        written.push(file)
        rows += block.rows
      }
    }
    const scales = await replayDay(t, date, files, replay, async (s) => {
      lastE = replay.lastEventTime
      await flush(s)
    })
    if (scales !== undefined) {
      sampler.finish(lastE, replay)
      await flush(scales)
    }
    // Files of an earlier run that this one did not write (another range of hours) go.
    const names = new Set(written.map((f) => path.basename(f)))
    const old = await fs.readdir(dir).catch(() => [] as Array<string>)
    for (const name of old)
      if (/^part-\d{4}\.parquet$/.test(name) && !names.has(name)) await fs.rm(path.join(dir, name))
    outcomes.push({ date, rows, files: written, gaps: replay.counts.gaps })
  }
  return outcomes
}

// --- fidelity ------------------------------------------------------------------------------------

interface ValidationSnapshot {
  readonly time: number
  readonly lastUpdateId: number
  readonly bidPrices: Array<number>
  readonly bidSizes: Array<number>
  readonly askPrices: Array<number>
  readonly askSizes: Array<number>
}

/** The `validate` REST snapshots of the day, by lastUpdateId. */
const validationSnapshots = async (t: BookTarget, date: string): Promise<Array<ValidationSnapshot>> => {
  const out = new Map<string, ValidationSnapshot>()
  for (const f of await segmentsOf(t, BOOK_SNAPSHOTS, date)) {
    const { rows } = await readBookSnapshots(f.file, t.key)
    for (let i = 0; i < rows.length; i++) {
      if (rows.purpose[i] !== "validate") continue
      const id = rows.lastUpdateId[i]!
      const received = rows.receivedTime[i]!
      const k = `${id}/${received}`
      let s = out.get(k)
      if (s === undefined) {
        const E = rows.eventTime[i]!
        s = {
          time: E >= 0 ? E : Number(received / 1_000_000n),
          lastUpdateId: id,
          bidPrices: [],
          bidSizes: [],
          askPrices: [],
          askSizes: []
        }
        out.set(k, s)
      }
      // Rows carry their rank: place each level where it belongs.
      const level = rows.level[i]!
      if (rows.sideIsBid[i] === 1) {
        s.bidPrices[level] = rows.price[i]!
        s.bidSizes[level] = rows.size[i]!
      } else {
        s.askPrices[level] = rows.price[i]!
        s.askSizes[level] = rows.size[i]!
      }
    }
  }
  return [...out.values()].sort((a, b) => a.lastUpdateId - b.lastUpdateId)
}

export interface FidelityOutcome {
  readonly report: FidelityReport
  readonly jsonFile: string
  readonly htmlFile: string
}

/** Replays the day against its validation snapshots and writes the report's JSON and HTML. */
export const fidelityOfDay = async (
  t: BookTarget,
  date: string,
  levels: number
): Promise<FidelityOutcome> => {
  const start = dayStart(date)
  const files = await segmentsOf(t, BOOK_DELTAS, date)
  if (files.length === 0)
    throw new BookJobError(
      `no book_deltas of ${t.symbol} on ${t.venue} for ${date} under ${lakeOf(t.dataDir)}: capture it with stream --dataset book_deltas first.`
    )
  const snapshots = await validationSnapshots(t, date)
  const ledgerGaps = await ledgerGapsOf(t.dataDir, t.venue, t.symbol, start, start + DAY_MS)
  const rules = chainRulesOf(t.venue)
  const comparisons: Array<BookComparison> = []
  let next = 0
  let notCompared = 0
  const replay = new DeltaReplay(
    rules,
    { startMs: start, endMs: start + DAY_MS },
    (_E, U, u, isSnapshot, at) => {
      // Snapshots whose state the book reaches before this item: compare those the book holds.
      while (next < snapshots.length && snapshots[next]!.lastUpdateId < u) {
        const s = snapshots[next++]!
        const L = s.lastUpdateId
        const reachable = isSnapshot ? L === at.lastUpdateId : rules === "spot" ? U <= L + 1 : true
        if (at.held && L >= at.lastUpdateId && reachable)
          comparisons.push(compareWithSnapshot(at.book, at.lastUpdateId, s, s.time, levels))
        else notCompared++
      }
    }
  )
  const scales = await replayDay(t, date, files, replay)
  for (; next < snapshots.length; next++) {
    const s = snapshots[next]!
    if (replay.held && s.lastUpdateId === replay.lastUpdateId)
      comparisons.push(compareWithSnapshot(replay.book, replay.lastUpdateId, s, s.time, levels))
    else notCompared++
  }
  const report = fidelityReport({
    venue: t.venue,
    symbol: t.symbol,
    date,
    levels,
    priceScale: scales?.priceScale ?? 0,
    sizeScale: scales?.sizeScale ?? 0,
    dayStartMs: start,
    dayEndMs: start + DAY_MS,
    counts: replay.counts,
    gaps: replay.gapList,
    ledgerGaps,
    comparisons,
    snapshotsNotCompared: notCompared,
    eventsPerMinute: Array.from(replay.eventsPerMinute)
  })
  const dir = path.join(t.dataDir, "reports")
  await fs.mkdir(dir, { recursive: true })
  const base = path.join(dir, `fidelity-${t.venue}-${t.symbol}-${date}`)
  const jsonFile = `${base}.json`
  const htmlFile = `${base}.html`
  await run(writeFileAtomic(jsonFile, new TextEncoder().encode(`${JSON.stringify(report, null, 2)}\n`)))
  await run(writeFileAtomic(htmlFile, new TextEncoder().encode(fidelityHtml(report))))
  return { report, jsonFile, htmlFile }
}

// --- assess --------------------------------------------------------------------------------------

export interface AssessOptions {
  readonly from: string
  readonly to: string
  readonly levels: number
  readonly everyMs: number
}

/** Replays the range's deltas (ids, times and sizes of the files) and estimates what more costs. */
export const assessRange = async (t: BookTarget, o: AssessOptions): Promise<AssessReport> => {
  const days = datesBetween(o.from, o.to)
  const start = dayStart(o.from)
  const replay = new DeltaReplay(chainRulesOf(t.venue), { startMs: start, endMs: dayStart(o.to) + DAY_MS })
  const holdings: Array<{ date: string; files: number; bytes: number }> = []
  for (const date of days) {
    const files = await segmentsOf(t, BOOK_DELTAS, date)
    let bytes = 0
    for (const f of files) bytes += (await fs.stat(f.file)).size
    await replayDay(t, date, files, replay)
    holdings.push({ date, files: files.length, bytes })
  }
  return assessReport(
    {
      venue: t.venue,
      symbol: t.symbol,
      from: o.from,
      to: o.to,
      days: holdings,
      counts: replay.counts,
      largestFileRows: replay.largestSegmentRows,
      largestGapIds: replay.gapList.reduce((m, g) => Math.max(m, g.missingIds), 0),
      levels: o.levels,
      everyMs: o.everyMs
    },
    days
  )
}
