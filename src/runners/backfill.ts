/**
 * The backfill runner: for each (instrument, trading day) not yet done, fetch the vendor's pages,
 * validate, deduplicate, commit the day's partition to every sink (staged), quarantine the rejects,
 * mark the instrument-days done, and only then make the day's file visible (stagedCommit.ts). A
 * crash at any point followed by a rerun gives the same lake: partition writes replace the
 * instruments' rows of that day, unfinished days are redone, and a day recorded but not yet
 * published is published first. An instrument-day for which the vendor returned nothing is
 * recorded `empty`, not done, and is retried by the next run unless `acceptEmpty`.
 *
 * A feed whose day splits into units (`Feed.units`: option greeks, one unit per expiration) is run
 * the same way one level down: each (instrument, day, unit) is planned, fetched, committed into its
 * own partition and checkpointed on its own, `units.concurrency` units at once over the whole run.
 * A unit without data is `empty` and final; a day is complete when each of its units is.
 */
import { Clock, Effect, Stream } from "effect"
import { MarketCalendar, type TradingSession } from "../calendar/MarketCalendar.js"
import { calendarOf } from "../calendar/sessionPolicy.js"
import { type Dataset, type EventWindow, instrumentsOf, type Rejected } from "../domain/Dataset.js"
import { VendorAuthError, VendorStopError } from "../domain/errors.js"
import { addDays, newYorkDate } from "../domain/time.js"
import * as Performance from "../monitor/Performance.js"
import * as PipelineMetrics from "../monitor/PipelineMetrics.js"
import { Checkpoints, type DayEntry, dayKey } from "../pipeline/Checkpoints.js"
import {
  concatRows,
  holdsColumns,
  instrumentCounterOfColumns,
  makeColumnDeduplicator,
  rowsOfColumns
} from "../pipeline/columnBatch.js"
import { makeDeduplicator } from "../pipeline/dedupe.js"
import { commitStaged, fileEntryOf, recoverStaged } from "../pipeline/stagedCommit.js"
import { makeValidator } from "../pipeline/validate.js"
import { makeColumnValidator } from "../pipeline/validateColumns.js"
import type { ColumnarRows } from "../sinks/parquetColumns.js"
import { Quarantine } from "../sinks/Quarantine.js"
import { type PartitionWrite, Sinks } from "../sinks/Sink.js"
import { collectAfterUnit } from "./collectAfterUnit.js"
import type { BackfillSource, SourcePage, VendorError } from "./Feed.js"

export interface BackfillRequest {
  readonly symbols: ReadonlyArray<string>
  readonly from: string
  readonly to: string
  /** Refetch and rewrite days already done (history correction). */
  readonly overwrite: boolean
  /** Treat instrument-days recorded `empty` (the vendor had nothing) as done: do not retry them. */
  readonly acceptEmpty?: boolean
  /** Trading days processed at once. */
  readonly concurrency: number
}

/** Where a planned trading day stands in this run. */
export type DayProgress = "queued" | "running" | "committed" | "failed"

/** Units of a feed whose days split into units: how many are planned and finished. */
export interface UnitProgress {
  /** What a unit is ("expiration"). */
  readonly noun: string
  readonly done: number
  readonly total: number
}

export interface BackfillProgress {
  readonly daysDone: number
  readonly daysTotal: number
  /** For a feed whose days split into units. */
  readonly units?: UnitProgress
  readonly rows: number
  readonly elapsedMs: number
  /** Every trading day this run has to do, in date order, and where it stands (a live view). */
  readonly days: ReadonlyMap<string, DayProgress>
}

export interface CommittedDay {
  readonly date: string
  /** The unit committed, for a feed whose days split into units (one entry per unit). */
  readonly unit?: string
  readonly symbols: ReadonlyArray<string>
  readonly rows: number
  readonly rejected: number
  readonly duplicates: number
  readonly file?: string
  readonly bytes?: number
}

export interface BackfillReport {
  readonly dataset: string
  readonly symbols: ReadonlyArray<string>
  readonly from: string
  readonly to: string
  readonly tradingDays: number
  readonly closedDays: ReadonlyArray<{ readonly date: string; readonly reason: string }>
  /** Instrument-days skipped because a previous run completed them. */
  readonly alreadyDone: ReadonlyArray<{ readonly symbol: string; readonly date: string }>
  readonly committed: ReadonlyArray<CommittedDay>
  readonly failed: ReadonlyArray<{
    readonly symbol: string
    readonly date: string
    readonly unit?: string
    readonly reason: string
  }>
  /** Instrument-days the vendor returned no rows for (recorded `empty`), by this run. */
  readonly empty: ReadonlyArray<{ readonly symbol: string; readonly date: string }>
  /** Instrument-days recorded `empty` before and skipped because of `acceptEmpty`. */
  readonly acceptedEmpty: ReadonlyArray<{ readonly symbol: string; readonly date: string }>
  readonly rows: number
  readonly rejected: number
  readonly duplicates: number
  readonly bytes: number
  readonly elapsedMs: number
  /** For a feed whose days split into units: what became of the days and their units. */
  readonly units?: UnitsReport
}

export interface UnitsReport {
  readonly noun: string
  /** Trading days (instrument-days) whose every unit is now done or without data. */
  readonly daysComplete: number
  /** Days with a unit that failed in this run. */
  readonly daysFailed: number
  /** Days complete before this run: nothing fetched. */
  readonly daysSkipped: number
  /** Units committed by this run. */
  readonly committed: number
  /** Units the vendor had no data for (recorded `empty`), by this run. */
  readonly noData: number
  readonly failed: number
  /** Units done (or without data) before this run, skipped. */
  readonly skipped: number
}

const messageOf = (e: { readonly message: string }) => e.message

/**
 * The first day of [from, to] that is not over at `nowMs`: later than today in New York, or today
 * while its session is still open or to come. History can only be backfilled for closed sessions
 * (the live one is `stream`'s); undefined when every day is over.
 */
export const firstUnclosedDay = (
  calendar: MarketCalendar["Type"],
  from: string,
  to: string,
  nowMs: number
): { readonly date: string; readonly why: string } | undefined => {
  const today = newYorkDate(nowMs)
  if (to < today) return undefined
  const first = from > today ? from : today
  if (first > today) return { date: first, why: `it is in the future (today is ${today} in New York)` }
  const day = calendar.day(today)
  if (day._tag === "open" && nowMs < day.closeMs)
    return {
      date: today,
      why: `its session has not closed yet (it closes at ${new Date(day.closeMs).toISOString()})`
    }
  if (to > today)
    return { date: addDays(today, 1), why: `it is in the future (today is ${today} in New York)` }
  return undefined
}

/**
 * Adds `rows` to `counts` per instrument; a row that belongs to several instruments (an article's
 * tickers) counts for each. A one-instrument column is counted by runs of equal values (a page is
 * one instrument's), without a list per row.
 */
const instrumentCounter = <A>(dataset: Dataset<A>) => {
  const column = dataset.instrument
  if (dataset.columns.find((c) => c.name === column)?.type === "string_list") {
    const instrumentOf = instrumentsOf(dataset)
    return (rows: ReadonlyArray<A>, counts: Map<string, number>): Map<string, number> => {
      for (const r of rows) for (const k of instrumentOf(r)) counts.set(k, (counts.get(k) ?? 0) + 1)
      return counts
    }
  }
  return (rows: ReadonlyArray<A>, counts: Map<string, number>): Map<string, number> => {
    let i = 0
    while (i < rows.length) {
      const value = rows[i]![column]
      let j = i + 1
      while (j < rows.length && rows[j]![column] === value) j++
      const k = String(value)
      counts.set(k, (counts.get(k) ?? 0) + (j - i))
      i = j
    }
    return counts
  }
}

/** What one instrument's fetch gave, gathered page by page. */
interface Received<A> {
  readonly valid: Array<A>
  /**
   * Valid rows held as columns: pages that come as columns are validated and kept so, without a
   * record per row, for as long as no page came as records (then they become records, in order).
   */
  readonly columns: Array<ColumnarRows>
  /** Records that failed decoding at the vendor boundary. */
  readonly vendorRejects: Array<Rejected>
  /** Records that failed validation. */
  readonly invalid: Array<Rejected>
  /** Valid records per instrument. */
  readonly received: Map<string, number>
  pages: number
  /** When its first page arrived (Clock, epoch ms). */
  firstPageAt: number | undefined
}

/** A unit of an instrument's day to fetch (an expiration of SPXW). */
export interface PlannedUnit {
  readonly symbol: string
  readonly unit: string
}

/** A trading day to work on: its instruments, and its units when the feed splits days into units. */
interface DayWork {
  readonly session: TradingSession
  readonly symbols: ReadonlyArray<string>
  readonly units?: ReadonlyArray<PlannedUnit>
}

/**
 * The units of one trading day a run fetches: each instrument's units (`unitsOf`) not yet `done`
 * or `empty` (no data is final for a unit), or all of them with `overwrite`. `complete` lists the
 * instruments whose every unit was finished before (the day is skipped for them); `skipped` counts
 * the units not fetched again. An instrument with no unit that day is complete with nothing to do.
 */
export const planUnits = <E>(
  request: Pick<BackfillRequest, "symbols" | "overwrite">,
  session: Pick<TradingSession, "date">,
  done: ReadonlyMap<string, DayEntry>,
  unitsOf: (symbol: string) => Effect.Effect<ReadonlyArray<string>, E>
): Effect.Effect<
  {
    readonly todo: ReadonlyArray<PlannedUnit>
    readonly complete: ReadonlyArray<string>
    readonly skipped: number
  },
  E
> =>
  Effect.gen(function* () {
    const todo: Array<PlannedUnit> = []
    const complete: Array<string> = []
    let skipped = 0
    for (const symbol of request.symbols) {
      const all = yield* unitsOf(symbol)
      let left = 0
      for (const unit of all) {
        const status = done.get(dayKey(symbol, session.date, unit))?.status
        if (!request.overwrite && (status === "done" || status === "empty")) skipped++
        else {
          todo.push({ symbol, unit })
          left++
        }
      }
      if (left === 0) complete.push(symbol)
    }
    return { todo, complete, skipped }
  })

/** What a run will do, known before it fetches anything. */
export interface BackfillPlan {
  readonly tradingDays: number
  /** Units to fetch, for a feed whose days split into units. */
  readonly units?: number
  /** Trading days with something to fetch. */
  readonly workDays: number
  /** Instrument-days to fetch. */
  readonly instrumentDays: number
  readonly alreadyDone: number
}

export const run = <A>(
  source: BackfillSource<A>,
  request: BackfillRequest,
  onProgress: (p: BackfillProgress) => void = () => {},
  onPlan: (plan: BackfillPlan) => Effect.Effect<void> = () => Effect.void
) =>
  Effect.gen(function* () {
    const dataset = source.dataset
    const calendar = calendarOf(source.sessionPolicy, yield* MarketCalendar)
    const checkpoints = yield* Checkpoints
    const sinks = yield* Sinks
    const quarantine = yield* Quarantine
    const validate = makeValidator(dataset)
    const dedupe = makeDeduplicator(dataset)
    const countInstruments = instrumentCounter(dataset)
    // Pages of columns stay columns through validation, the key check and the commit.
    const keepsColumns = holdsColumns(dataset.columns)
    const validateColumns = makeColumnValidator(dataset)
    const dedupeColumns = makeColumnDeduplicator(dataset)
    const countInstrumentsOfColumns = instrumentCounterOfColumns(dataset, countInstruments)
    const performance = yield* Performance.current
    const metrics = PipelineMetrics.forDataset(dataset.name)
    const startedAt = yield* Clock.currentTimeMillis
    const now = Clock.currentTimeMillis.pipe(Effect.map((ms) => new Date(ms).toISOString()))

    const days = yield* calendar.range(request.from, request.to)
    const sessions = days.filter((d): d is TradingSession => d._tag === "open")
    const closedDays = days.flatMap((d) => (d._tag === "closed" ? [{ date: d.date, reason: d.reason }] : []))
    for (const closed of closedDays) {
      if (!closed.reason.startsWith("weekend"))
        yield* Effect.logInfo(`skipping ${closed.date}: market closed (${closed.reason})`)
    }

    // A day a previous run recorded but did not publish (it stopped in between) is published now.
    yield* recoverStaged(sinks, checkpoints, dataset)
    const done = yield* checkpoints.days(dataset.name)
    const alreadyDone: Array<{ symbol: string; date: string }> = []
    const acceptedEmpty: Array<{ symbol: string; date: string }> = []
    const work: Array<DayWork> = []
    const units = source.units
    if (units !== undefined && dataset.subPartition === undefined)
      return yield* Effect.dieMessage(
        `${dataset.name}: a feed of units needs a dataset with a subPartition column`
      )
    let unitsSkipped = 0
    for (const session of sessions) {
      if (units !== undefined) {
        const planned = yield* planUnits(request, session, done, (symbol) => units.of(symbol, session))
        unitsSkipped += planned.skipped
        for (const symbol of planned.complete) alreadyDone.push({ symbol, date: session.date })
        if (planned.todo.length > 0)
          work.push({
            session,
            symbols: [...new Set(planned.todo.map((u) => u.symbol))],
            units: planned.todo
          })
        continue
      }
      const todo = request.symbols.filter((symbol) => {
        if (request.overwrite) return true
        const status = done.get(dayKey(symbol, session.date))?.status
        if (status === "done") alreadyDone.push({ symbol, date: session.date })
        else if (status === "empty" && request.acceptEmpty === true)
          acceptedEmpty.push({ symbol, date: session.date })
        else return true
        return false
      })
      if (todo.length > 0) work.push({ session, symbols: todo })
    }
    const unitsTotal = work.reduce((n, w) => n + (w.units?.length ?? 0), 0)
    const dayStates = new Map<string, DayProgress>(work.map((w) => [w.session.date, "queued"]))
    yield* onPlan({
      tradingDays: sessions.length,
      workDays: work.length,
      instrumentDays: work.reduce((n, w) => n + w.symbols.length, 0),
      alreadyDone: alreadyDone.length,
      ...(units === undefined ? {} : { units: unitsTotal })
    })
    if (alreadyDone.length > 0)
      yield* Effect.logInfo(`${alreadyDone.length} instrument-day(s) already done; not fetched again`)

    const at = yield* now
    // Every planned unit of work is recorded before anything is fetched: a status view shows them.
    yield* checkpoints.record(
      work.flatMap(({ session, symbols, units }) =>
        (units ?? symbols.map((symbol) => ({ symbol, unit: undefined }))).map(
          ({ symbol, unit }): DayEntry => ({
            kind: "day",
            dataset: dataset.name,
            symbol,
            date: session.date,
            ...(unit === undefined ? {} : { unit }),
            status: "pending",
            at
          })
        )
      )
    )

    const committed: Array<CommittedDay> = []
    const failed: Array<{ symbol: string; date: string; unit?: string; reason: string }> = []
    const empty: Array<{ symbol: string; date: string }> = []
    let rowsTotal = 0
    let daysDone = 0
    let unitsDone = 0
    let unitsNoData = 0
    let daysUnitsFailed = 0
    // One permit per unit in flight, shared by the days running at once.
    const unitPermits = yield* Effect.makeSemaphore(Math.max(1, units?.concurrency ?? 1))

    /**
     * One instrument's day, processed page by page as the pages arrive: each page is validated and
     * counted while the next requests are in flight, so that fetching and processing overlap instead
     * of adding up. What is kept per instrument (valid records in arrival order, vendor rejects, then
     * validation rejects) is what collecting every page first and validating afterwards gave.
     */
    const receiveSymbol = (
      symbol: string,
      session: TradingSession,
      window: EventWindow,
      unit: string | undefined,
      onFailure: (got: Received<A>) => Effect.Effect<void, never>
    ) =>
      Effect.suspend(() => {
        const got: Received<A> = {
          valid: [],
          columns: [],
          vendorRejects: [],
          invalid: [],
          received: new Map(),
          pages: 0,
          firstPageAt: undefined
        }
        const pages: Stream.Stream<SourcePage<A>, VendorError> = unit === undefined || units === undefined
          ? source.fetchDay(symbol, session)
          : units.fetch(symbol, session, unit)
        return pages.pipe(
          Stream.runForEach((page) =>
            Effect.map(Clock.currentTimeMillis, (now) => {
              got.firstPageAt ??= now
              got.pages++
              for (const r of page.rejected) got.vendorRejects.push(r)
              if (page.columns !== undefined && keepsColumns && got.valid.length === 0) {
                const checked = validateColumns(page.columns, window)
                if (checked.valid.length > 0) got.columns.push(checked.valid)
                for (const r of checked.rejected) got.invalid.push(r)
                countInstrumentsOfColumns(checked.valid, got.received)
                return
              }
              const valid = got.valid
              for (const table of got.columns.splice(0)) {
                const held = rowsOfColumns(dataset, table)
                for (let i = 0; i < held.length; i++) valid.push(held[i]!)
              }
              const records = page.columns === undefined ? page.records : rowsOfColumns(dataset, page.columns)
              const checked = validate(records, window)
              for (let i = 0; i < checked.valid.length; i++) valid.push(checked.valid[i]!)
              for (const r of checked.rejected) got.invalid.push(r)
              countInstruments(checked.valid, got.received)
            })
          ),
          Effect.tapError(() => onFailure(got)),
          Effect.as(got)
        )
      })

    /** The held column batches of a unit as one table, deduplicated (checked in one pass when sorted). */
    const committedColumns = (held: Array<ColumnarRows>) => dedupeColumns(concatRows(dataset.columns, held))

    /**
     * The partition write of a unit's rows. Rows held as columns go as columns: the Parquet sink
     * encodes them as they are, and `rows` is built only if a sink reads it (the SQL sink, or a
     * Parquet merge with rows already in the partition). Staged already, so nothing spreads it.
     */
    const writeOf = (
      scope: Omit<PartitionWrite<A>, "rows" | "columns">,
      content: { readonly table: ColumnarRows } | { readonly rows: ReadonlyArray<A> }
    ): PartitionWrite<A> => {
      if (!("table" in content)) return { ...scope, rows: content.rows }
      const table = content.table
      let built: ReadonlyArray<A> | undefined
      return {
        ...scope,
        columns: table,
        get rows(): ReadonlyArray<A> {
          built ??= rowsOfColumns(dataset, table)
          return built
        }
      }
    }

    /** Quarantine scope of an instrument's rejects: per unit when the day splits into units. */
    const scopeOf = (symbol: string, unit: string | undefined) =>
      unit === undefined ? symbol : `${symbol}-${unit}`

    /**
     * A unit's rejects read before its fetch failed (a row the body broke off in, with its line
     * number) are kept in quarantine although the unit is not committed; a later success replaces them.
     */
    const keepRejectsOfFailure =
      (session: TradingSession, symbol: string, unit: string | undefined) => (got: Received<A>) =>
        unit === undefined || got.vendorRejects.length + got.invalid.length === 0
          ? Effect.void
          : quarantine
              .write(dataset, session.date, scopeOf(symbol, unit), [...got.vendorRejects, ...got.invalid])
              .pipe(
                Effect.catchAll((e) =>
                  Effect.logWarning(`could not keep the rejects of a failed unit: ${e.message}`)
                ),
                Effect.asVoid
              )

    /**
     * One day of `symbols`, or one `unit` of one instrument's day: fetched, validated, deduplicated,
     * quarantined, committed staged and checkpointed.
     */
    const processDay = (session: TradingSession, symbols: ReadonlyArray<string>, unit?: string) =>
      Effect.gen(function* () {
        const dayStartedAt = yield* Clock.currentTimeMillis
        const window: EventWindow =
          dataset.dayWindow === "date"
            ? { date: session.date, ...dataset.partitionRange(session.date) }
            : { date: session.date, startMs: session.openMs, endMs: session.closeMs }
        const fetched = yield* Effect.forEach(
          symbols,
          (symbol) =>
            receiveSymbol(symbol, session, window, unit, keepRejectsOfFailure(session, symbol, unit)),
          { concurrency: 2 }
        )
        // In the order of `symbols`, whatever order the fetches finished in: "last received wins"
        // among equal keys (an article under two tickers) stays the same from one run to the next.
        // Every row held as columns: they stay columns to the sinks.
        const columnar =
          fetched.every((f) => f.valid.length === 0) && fetched.some((f) => f.columns.length > 0)
        const held = columnar ? fetched.flatMap((f) => f.columns.splice(0)) : []
        const all: Array<A> = fetched.length === 1 && !columnar ? fetched[0]!.valid : []
        const rejectedBySymbol = new Map<string, Array<Rejected>>(symbols.map((s) => [s, []]))
        const receivedBySymbol = new Map<string, number>()
        let pages = 0
        let received = 0
        let firstPageAt: number | undefined
        fetched.forEach((f, i) => {
          const symbol = symbols[i]!
          pages += f.pages
          received += f.valid.length + f.vendorRejects.length + f.invalid.length
          for (const table of f.columns) received += table.length
          if (f.firstPageAt !== undefined && (firstPageAt === undefined || f.firstPageAt < firstPageAt))
            firstPageAt = f.firstPageAt
          if (!columnar && f.columns.length > 0) {
            for (const table of f.columns.splice(0)) {
              const rows = rowsOfColumns(dataset, table)
              for (let k = 0; k < rows.length; k++) all.push(rows[k]!)
            }
          } else if (!columnar && fetched.length > 1)
            for (let k = 0; k < f.valid.length; k++) all.push(f.valid[k]!)
          const rejects = rejectedBySymbol.get(symbol)!
          for (const r of f.vendorRejects) rejects.push(r)
          for (const r of f.invalid) rejects.push(r)
          for (const [k, n] of f.received) receivedBySymbol.set(k, (receivedBySymbol.get(k) ?? 0) + n)
        })
        const content = columnar ? committedColumns(held) : dedupe(all)
        // The batches are joined: let them go before the sinks encode (a unit's worth of arrays).
        held.length = 0
        const duplicates = content.duplicates
        const rowCount = "table" in content ? content.table.length : content.rows.length
        let rejectedCount = 0
        // Rejects first: a day is done only once its rejects are kept too.
        for (const [symbol, rejects] of rejectedBySymbol) {
          rejectedCount += rejects.length
          yield* quarantine.write(dataset, session.date, scopeOf(symbol, unit), rejects)
        }
        // Without duplicates every received row is kept: no second count.
        const rowsBySymbol =
          duplicates === 0
            ? receivedBySymbol
            : "table" in content
              ? countInstrumentsOfColumns(content.table, new Map())
              : countInstruments(content.rows, new Map())
        // Nothing at all came back for the instrument (not even rejects): the vendor has no data.
        const isEmpty = (symbol: string) =>
          (receivedBySymbol.get(symbol) ?? 0) === 0 && (rejectedBySymbol.get(symbol)?.length ?? 0) === 0
        const commitStartedAt = yield* Clock.currentTimeMillis
        const results = yield* commitStaged(
          sinks,
          checkpoints,
          writeOf(
            {
              dataset,
              date: session.date,
              ...(unit === undefined ? {} : { subPartition: unit }),
              instruments: symbols,
              mode: "replace",
              staged: true
            },
            content
          ),
          (results) =>
            Effect.map(now, (at) => [
              ...fileEntryOf(dataset.name, session.date, results, at, unit),
              ...symbols.map(
                (symbol): DayEntry => ({
                  kind: "day",
                  dataset: dataset.name,
                  symbol,
                  date: session.date,
                  ...(unit === undefined ? {} : { unit }),
                  status: isEmpty(symbol) ? "empty" : "done",
                  rows: rowsBySymbol.get(symbol) ?? 0,
                  rejected: rejectedBySymbol.get(symbol)?.length ?? 0,
                  duplicates: (receivedBySymbol.get(symbol) ?? 0) - (rowsBySymbol.get(symbol) ?? 0),
                  ...(isEmpty(symbol) ? { reason: `${source.vendor} returned no rows` } : {}),
                  at
                })
              )
            ]),
          // The day counts as committed in the same breath as its checkpoint (see interruptedLines).
          Effect.sync(() => {
            if (unit === undefined) dayStates.set(session.date, "committed")
            else unitsDone++
          })
        )
        metrics.batch({ received, committed: rowCount, quarantined: rejectedCount })
        if (columnar) collectAfterUnit(rowCount)
        yield* performance.commitDone({
          source: "backfill",
          dataset: dataset.name,
          unit: unit === undefined ? session.date : `${session.date} ${unit}`,
          firstRecordAt: firstPageAt ?? dayStartedAt,
          commitStartedAt,
          durableAt: yield* Clock.currentTimeMillis,
          rows: rowCount
        })
        for (const symbol of symbols)
          if (isEmpty(symbol)) {
            if (unit === undefined) empty.push({ symbol, date: session.date })
            else unitsNoData++
          }
        const fileResult = results.find(
          (r) => r.file !== undefined && r.sha256 !== undefined && (r.bytes ?? 0) > 0
        )
        yield* Effect.logInfo(
          `${dataset.name} ${session.date}${unit === undefined ? "" : ` ${units?.noun ?? "unit"} ${unit}`} committed: ${rowCount} rows, ${rejectedCount} rejected, ${duplicates} duplicates, ${pages} pages`
        ).pipe(Effect.annotateLogs({ symbols: symbols.join(",") }))
        const day: CommittedDay = {
          date: session.date,
          ...(unit === undefined ? {} : { unit }),
          symbols,
          rows: rowCount,
          rejected: rejectedCount,
          duplicates,
          ...(fileResult?.file !== undefined ? { file: fileResult.file } : {}),
          ...(fileResult?.bytes !== undefined ? { bytes: fileResult.bytes } : {})
        }
        return day
      }).pipe(Effect.withSpan("backfill.day", { attributes: { date: session.date, unit: unit ?? "" } }))

    const progress = (elapsedMs: number): BackfillProgress => ({
      daysDone,
      daysTotal: work.length,
      ...(units === undefined ? {} : { units: { noun: units.noun, done: unitsDone, total: unitsTotal } }),
      rows: rowsTotal,
      elapsedMs,
      days: dayStates
    })

    /** Whether a failure stops the whole run rather than the day (or unit) it happened in. */
    const stopsTheRun = (e: { readonly _tag: string }) =>
      e instanceof VendorAuthError || e instanceof VendorStopError || e._tag === "StorageError"

    const showProgress = Effect.flatMap(Clock.currentTimeMillis, (t) =>
      Effect.sync(() => onProgress(progress(t - startedAt)))
    )

    /**
     * One unit of a day: a failure is the unit's own (recorded `failed`, retried by the next run),
     * unless it stops the run.
     */
    const runUnit = (session: TradingSession, symbol: string, unit: string) =>
      unitPermits
        .withPermits(1)(processDay(session, [symbol], unit))
        .pipe(
          Effect.tap((day) =>
            Effect.sync(() => {
              committed.push(day)
              rowsTotal += day.rows
            })
          ),
          Effect.as(true),
          Effect.catchIf(
            (e) => !stopsTheRun(e),
            (error) =>
              Effect.gen(function* () {
                const reason = messageOf(error)
                yield* Effect.logError(
                  `${dataset.name} ${session.date} ${units?.noun ?? "unit"} ${unit} failed: ${reason}`
                )
                failed.push({ symbol, date: session.date, unit, reason })
                const at = yield* now
                yield* checkpoints.record([
                  {
                    kind: "day",
                    dataset: dataset.name,
                    symbol,
                    date: session.date,
                    unit,
                    status: "failed",
                    reason,
                    at
                  }
                ])
                return false
              })
          ),
          Effect.zipLeft(showProgress)
        )

    /** A day of units: every unit, `units.concurrency` at once over the run; the day fails if one does. */
    const processUnits = (session: TradingSession, todo: ReadonlyArray<PlannedUnit>) =>
      Effect.forEach(todo, ({ symbol, unit }) => runUnit(session, symbol, unit), {
        concurrency: "unbounded"
      }).pipe(
        Effect.flatMap((ok) =>
          Effect.sync(() => {
            const complete = ok.every((x) => x)
            dayStates.set(session.date, complete ? "committed" : "failed")
            if (!complete) daysUnitsFailed++
          })
        )
      )

    const runDay = ({ session, symbols, units: planned }: DayWork) =>
      planned !== undefined
        ? Effect.sync(() => dayStates.set(session.date, "running")).pipe(
            Effect.zipRight(processUnits(session, planned)),
            Effect.zipRight(
              Effect.sync(() => {
                daysDone++
              })
            ),
            Effect.zipRight(showProgress)
          )
        : runWholeDay({ session, symbols })

    const runWholeDay = ({ session, symbols }: { session: TradingSession; symbols: ReadonlyArray<string> }) =>
      Effect.sync(() => dayStates.set(session.date, "running")).pipe(
        Effect.zipRight(
          processDay(session, symbols).pipe(
            performance.track("backfill-day", "backfill", `${dataset.name} ${session.date}`)
          )
        ),
        Effect.tap((day) =>
          Effect.sync(() => {
            committed.push(day)
            rowsTotal += day.rows
            dayStates.set(session.date, "committed")
          })
        ),
        // Auth failures stop the whole run; a day's other failures are recorded and the run goes on.
        Effect.catchIf(
          (e) => !stopsTheRun(e),
          (error) =>
            Effect.gen(function* () {
              const reason = messageOf(error)
              dayStates.set(session.date, "failed")
              yield* Effect.logError(`${dataset.name} ${session.date} failed: ${reason}`)
              for (const symbol of symbols) failed.push({ symbol, date: session.date, reason })
              const at = yield* now
              yield* checkpoints.record(
                symbols.map(
                  (symbol): DayEntry => ({
                    kind: "day",
                    dataset: dataset.name,
                    symbol,
                    date: session.date,
                    status: "failed",
                    reason,
                    at
                  })
                )
              )
            })
        ),
        Effect.zipRight(
          Effect.gen(function* () {
            daysDone++
            const t = yield* Clock.currentTimeMillis
            onProgress(progress(t - startedAt))
          })
        )
      )

    onProgress(progress(0))
    yield* Effect.forEach(work, runDay, { concurrency: Math.max(1, request.concurrency), discard: true })

    const finishedAt = yield* Clock.currentTimeMillis
    committed.sort((a, b) =>
      a.date < b.date
        ? -1
        : a.date > b.date
          ? 1
          : (a.unit ?? "") < (b.unit ?? "")
            ? -1
            : (a.unit ?? "") > (b.unit ?? "")
              ? 1
              : 0
    )
    const byDateThenSymbol = (
      a: { readonly date: string; readonly symbol: string },
      b: { readonly date: string; readonly symbol: string }
    ) => (a.date < b.date ? -1 : a.date > b.date ? 1 : a.symbol < b.symbol ? -1 : 1)
    failed.sort(byDateThenSymbol)
    empty.sort(byDateThenSymbol)
    const report: BackfillReport = {
      dataset: dataset.name,
      symbols: request.symbols,
      from: request.from,
      to: request.to,
      tradingDays: sessions.length,
      closedDays,
      alreadyDone,
      committed,
      failed,
      empty,
      acceptedEmpty,
      rows: committed.reduce((n, d) => n + d.rows, 0),
      rejected: committed.reduce((n, d) => n + d.rejected, 0),
      duplicates: committed.reduce((n, d) => n + d.duplicates, 0),
      bytes: committed.reduce((n, d) => n + (d.bytes ?? 0), 0),
      elapsedMs: finishedAt - startedAt,
      ...(units === undefined
        ? {}
        : {
            units: {
              noun: units.noun,
              daysComplete: work.length - daysUnitsFailed,
              daysFailed: daysUnitsFailed,
              daysSkipped: alreadyDone.length,
              committed: unitsDone - unitsNoData,
              noData: unitsNoData,
              failed: failed.length,
              skipped: unitsSkipped
            }
          })
    }
    return report
  })
