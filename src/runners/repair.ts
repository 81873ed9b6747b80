/**
 * Repairs through REST, with the same pipeline stages as everything else, for any feed:
 * - `repairGap`: a window the stream missed (reconnect, stall, restart) is fetched and appended;
 * - `reconcileSession`: at the close the session is fetched whole, compared with what the stream
 *   wrote, and the day's partition is replaced by it (a live feed may lack columns, such as the
 *   trade counts of per-second bars, and the vendor may correct records after the fact; REST is the
 *   final word).
 * Each produces one continuity row; a failure is recorded in it, never thrown at the stream.
 */
import { Effect, Stream } from "effect"
import type { TradingSession } from "../calendar/MarketCalendar.js"
import type { ContinuityRow } from "../domain/Continuity.js"
import { instrumentsOf, keyOf, type Rejected } from "../domain/Dataset.js"
import { rowsOfColumns } from "../pipeline/columnBatch.js"
import { makeDeduplicator } from "../pipeline/dedupe.js"
import { makeValidator } from "../pipeline/validate.js"
import type { QuarantineShape } from "../sinks/Quarantine.js"
import type { PartitionWrite, Sinks } from "../sinks/Sink.js"
import type { Feed } from "./Feed.js"

export interface RepairDeps<A> {
  readonly feed: Feed<A>
  readonly sinks: Sinks["Type"]
  readonly quarantine: QuarantineShape
  readonly source: string
}

/** Why a gap opened (the `cause` column of the ledger). */
export type GapCause = "reconnect" | "stall" | "restart" | "late-start"

/** Every REST record of `instruments` in [fromMs, toMs), validated against the session. */
const fetchWindow = <A>(
  feed: Feed<A>,
  instruments: ReadonlyArray<string>,
  session: TradingSession,
  fromMs: number,
  toMs: number
) =>
  Effect.gen(function* () {
    const records: Array<A> = []
    const rejected: Array<Rejected> = []
    yield* feed.fetchWindow(instruments, session, fromMs, toMs).pipe(
      Stream.runForEach((page) =>
        Effect.sync(() => {
          const got = page.columns === undefined ? page.records : rowsOfColumns(feed.dataset, page.columns)
          for (const r of got) records.push(r)
          for (const r of page.rejected) rejected.push(r)
        })
      )
    )
    const checked = makeValidator(feed.dataset)(records, {
      date: session.date,
      startMs: session.openMs,
      endMs: session.closeMs
    })
    for (const r of checked.rejected) rejected.push(r)
    return { rows: makeDeduplicator(feed.dataset)(checked.valid).rows, rejected }
  })

const row =
  <A>(
    deps: RepairDeps<A>,
    kind: "gap" | "reconcile",
    cause: GapCause | null,
    start: number,
    end: number,
    instruments: ReadonlyArray<string>
  ) =>
  (fields: Pick<ContinuityRow, "rows" | "status" | "detail">): ContinuityRow => ({
    source: deps.source,
    kind,
    cause,
    start,
    end,
    symbols: instruments.join(","),
    ...fields
  })

const failureText = (e: unknown) => (e instanceof Error ? e.message : String(e))

/** Fetches [startMs, endMs) for `instruments` and appends it to the sinks. */
export const repairGap = <A>(
  deps: RepairDeps<A>,
  session: TradingSession,
  instruments: ReadonlyArray<string>,
  startMs: number,
  endMs: number,
  cause: GapCause,
  quarantineScope: string
) => {
  const start = Math.max(startMs, session.openMs)
  const end = Math.min(endMs, session.closeMs)
  const make = row(deps, "gap", cause, start, end, instruments)
  if (end <= start) return Effect.succeed(make({ rows: 0, status: "repaired", detail: "empty window" }))
  const dataset = deps.feed.dataset
  return Effect.gen(function* () {
    const { rows, rejected } = yield* fetchWindow(deps.feed, instruments, session, start, end)
    if (rows.length > 0)
      yield* deps.sinks.commit({ dataset, date: session.date, instruments, rows, mode: "append" })
    if (rejected.length > 0) yield* deps.quarantine.write(dataset, session.date, quarantineScope, rejected)
    return make({
      rows: rows.length,
      status: "repaired",
      detail: rejected.length > 0 ? `${rejected.length} rejected to quarantine` : null
    })
  }).pipe(
    Effect.catchAll((e) => Effect.succeed(make({ rows: 0, status: "failed", detail: failureText(e) }))),
    Effect.withSpan("stream.repairGap")
  )
}

/** What the stream wrote against what REST says, for one session. */
export interface Comparison {
  /** Rows REST has that the stream did not write. */
  readonly missing: number
  /** Rows the stream wrote that REST does not have. */
  readonly extra: number
  /** Rows present in both that differ in a column the live feed carries. */
  readonly changed: number
  /** Rows that differ only in columns the live feed cannot carry (filled from REST). */
  readonly filled: number
}

/** Equal column values: lists (a `string_list` column) element by element. */
const sameValue = (a: unknown, b: unknown): boolean =>
  Object.is(a, b) ||
  (Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => Object.is(v, b[i])))

/** Compares the stream's rows with REST's by key; `liveLacks`: columns the live feed does not carry. */
export const compareSession = <A>(
  feed: Feed<A>,
  streamed: ReadonlyArray<A>,
  authoritative: ReadonlyArray<A>
): Comparison => {
  const key = keyOf(feed.dataset)
  const lacks = new Set<string>(feed.liveLacks ?? [])
  const carried = feed.dataset.columns.map((c) => c.name).filter((c) => !lacks.has(c))
  const byKey = new Map<string, A>()
  for (const r of streamed) byKey.set(key(r), r)
  let missing = 0
  let changed = 0
  let filled = 0
  const differs = (x: A, y: A) => (c: string) => !sameValue(x[c as keyof A], y[c as keyof A])
  for (const r of authoritative) {
    const k = key(r)
    if (!byKey.has(k)) {
      missing++
      continue
    }
    const s = byKey.get(k) as A
    byKey.delete(k)
    if (carried.some(differs(s, r))) changed++
    else if ([...lacks].some(differs(s, r))) filled++
  }
  return { missing, extra: byKey.size, changed, filled }
}

/**
 * Replaces the session's partition for `scope.instruments` by REST's version of `scope.subjects`
 * (the same, except for feeds whose subjects are only known in the session) through `commitDay`
 * (the runner's staged commit, which records the day done), recording how it differed.
 */
export const reconcileSession = <A, E>(
  deps: RepairDeps<A>,
  session: TradingSession,
  scope: { readonly instruments: ReadonlyArray<string>; readonly subjects: ReadonlyArray<string> },
  streamed: ReadonlyArray<A>,
  quarantineScope: string,
  commitDay: (write: PartitionWrite<A>) => Effect.Effect<unknown, E>
) => {
  const { instruments, subjects } = scope
  const make = row(deps, "reconcile", null, session.openMs, session.closeMs, instruments)
  const dataset = deps.feed.dataset
  return Effect.gen(function* () {
    const { rows, rejected } = yield* fetchWindow(
      deps.feed,
      subjects,
      session,
      session.openMs,
      session.closeMs
    )
    // The stream's rows are those of the instruments (closeOut.ts); so are REST's compared with them
    // (an article's insights for tickers other than the ones asked for are not the stream's miss).
    const inScope = new Set(instruments)
    const instrumentsOfRow = instrumentsOf(dataset)
    const c = compareSession(
      deps.feed,
      streamed,
      rows.filter((r) => instrumentsOfRow(r).some((i) => inScope.has(i)))
    )
    yield* deps.quarantine.write(dataset, session.date, quarantineScope, rejected)
    yield* commitDay({ dataset, date: session.date, instruments, rows, mode: "replace" })
    const differed = c.missing + c.extra + c.changed
    const lacks = deps.feed.liveLacks ?? []
    return make({
      rows: differed,
      status: differed === 0 ? "verified" : "repaired",
      detail:
        `${rows.length} REST rows; stream: ${c.missing} missing, ${c.extra} extra, ${c.changed} changed` +
        (lacks.length > 0 ? `; ${c.filled} row(s) with ${lacks.join(", ")} filled from REST` : "")
    })
  }).pipe(
    Effect.catchAll((e) => Effect.succeed(make({ rows: 0, status: "failed", detail: failureText(e) }))),
    Effect.withSpan("stream.reconcileSession")
  )
}
