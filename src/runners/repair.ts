/**
 * Repairs through REST, with the same pipeline stages as everything else:
 * - `repairGap`: a window the stream missed (reconnect or stall) is fetched and appended;
 * - `reconcileSession`: at the close the session is fetched whole, compared with what the stream
 *   wrote, and the day's partition is replaced by it (the WebSocket feed has no trade counts and
 *   the vendor may correct bars after the 15-minute window; REST is the final word).
 * Each produces one continuity row; a failure is recorded in it, never thrown at the stream.
 */
import { Effect, Stream } from "effect"
import type { TradingSession } from "../calendar/MarketCalendar.js"
import type { ContinuityRow } from "../domain/Continuity.js"
import { keyOf, type Rejected } from "../domain/Dataset.js"
import { type StockBar, StockBars1s } from "../domain/StockBar.js"
import { makeDeduplicator } from "../pipeline/dedupe.js"
import { makeValidator } from "../pipeline/validate.js"
import type { QuarantineShape } from "../sinks/Quarantine.js"
import type { PartitionWrite, Sinks } from "../sinks/Sink.js"
import type { MassiveRestShape } from "../sources/massive/MassiveRest.js"

export interface RepairDeps {
  readonly rest: MassiveRestShape
  readonly sinks: Sinks["Type"]
  readonly quarantine: QuarantineShape
  readonly source: string
}

const validate = makeValidator(StockBars1s)
const dedupe = makeDeduplicator(StockBars1s)

/** Every REST bar of `symbols` with start in [fromMs, toMs), validated against the session. */
const fetchWindow = (
  rest: MassiveRestShape,
  symbols: ReadonlyArray<string>,
  session: TradingSession,
  fromMs: number,
  toMs: number
) =>
  Effect.gen(function* () {
    const records: Array<StockBar> = []
    const rejected: Array<Rejected> = []
    for (const symbol of symbols) {
      yield* rest
        .aggregates({ ticker: symbol, multiplier: 1, timespan: "second", from: fromMs, to: toMs - 1 })
        .pipe(
          Stream.runForEach((page) =>
            Effect.sync(() => {
              for (const b of page.bars) if (b.ts >= fromMs && b.ts < toMs) records.push(b)
              for (const r of page.rejected) rejected.push(r)
            })
          )
        )
    }
    const checked = validate(records, { date: session.date, startMs: session.openMs, endMs: session.closeMs })
    for (const r of checked.rejected) rejected.push(r)
    return { rows: dedupe(checked.valid).rows, rejected }
  })

/** Why a gap opened (the `cause` column of the ledger). */
export type GapCause = "reconnect" | "stall" | "restart" | "late-start" | "stopped"

const row =
  (
    deps: RepairDeps,
    kind: "gap" | "reconcile",
    cause: GapCause | null,
    start: number,
    end: number,
    symbols: ReadonlyArray<string>
  ) =>
  (fields: Pick<ContinuityRow, "rows" | "status" | "detail">): ContinuityRow => ({
    source: deps.source,
    kind,
    cause,
    start,
    end,
    symbols: symbols.join(","),
    ...fields
  })

const failureText = (e: unknown) => (e instanceof Error ? e.message : String(e))

/** Fetches [startMs, endMs) for `symbols` and appends it to the sinks. */
export const repairGap = (
  deps: RepairDeps,
  session: TradingSession,
  symbols: ReadonlyArray<string>,
  startMs: number,
  endMs: number,
  cause: GapCause,
  quarantineScope: string
) => {
  const start = Math.max(startMs, session.openMs)
  const end = Math.min(endMs, session.closeMs)
  const make = row(deps, "gap", cause, start, end, symbols)
  if (end <= start) return Effect.succeed(make({ rows: 0, status: "repaired", detail: "empty window" }))
  return Effect.gen(function* () {
    const { rows, rejected } = yield* fetchWindow(deps.rest, symbols, session, start, end)
    if (rows.length > 0)
      yield* deps.sinks.commit({
        dataset: StockBars1s,
        date: session.date,
        instruments: symbols,
        rows,
        mode: "append"
      })
    if (rejected.length > 0)
      yield* deps.quarantine.write(StockBars1s, session.date, quarantineScope, rejected)
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
  /** Rows present in both with a different price, volume or VWAP. */
  readonly changed: number
  /** Rows that differ only by the trade count the WebSocket feed cannot carry. */
  readonly tradesFilled: number
}

export const compareSession = (
  streamed: ReadonlyArray<StockBar>,
  authoritative: ReadonlyArray<StockBar>
): Comparison => {
  const key = keyOf(StockBars1s)
  const byKey = new Map<string, StockBar>()
  for (const b of streamed) byKey.set(key(b), b)
  let missing = 0
  let changed = 0
  let tradesFilled = 0
  for (const b of authoritative) {
    const s = byKey.get(key(b))
    if (s === undefined) {
      missing++
      continue
    }
    byKey.delete(key(b))
    const samePrices = s.open === b.open && s.high === b.high && s.low === b.low && s.close === b.close
    if (!samePrices || s.volume !== b.volume || s.vwap !== b.vwap) changed++
    else if (s.trades !== b.trades) tradesFilled++
  }
  return { missing, extra: byKey.size, changed, tradesFilled }
}

/**
 * Replaces the session's partition for `symbols` by REST's version through `commitDay` (the
 * runner's staged commit, which records the day done), recording how it differed.
 */
export const reconcileSession = <E>(
  deps: RepairDeps,
  session: TradingSession,
  symbols: ReadonlyArray<string>,
  streamed: ReadonlyArray<StockBar>,
  quarantineScope: string,
  commitDay: (write: PartitionWrite<StockBar>) => Effect.Effect<unknown, E>
) => {
  const make = row(deps, "reconcile", null, session.openMs, session.closeMs, symbols)
  return Effect.gen(function* () {
    const { rows, rejected } = yield* fetchWindow(
      deps.rest,
      symbols,
      session,
      session.openMs,
      session.closeMs
    )
    const c = compareSession(streamed, rows)
    yield* deps.quarantine.write(StockBars1s, session.date, quarantineScope, rejected)
    yield* commitDay({
      dataset: StockBars1s,
      date: session.date,
      instruments: symbols,
      rows,
      mode: "replace"
    })
    const differed = c.missing + c.extra + c.changed
    return make({
      rows: differed,
      status: differed === 0 ? "verified" : "repaired",
      detail: `${rows.length} REST rows; stream: ${c.missing} missing, ${c.extra} extra, ${c.changed} changed; ${c.tradesFilled} trade counts filled from REST`
    })
  }).pipe(
    Effect.catchAll((e) => Effect.succeed(make({ rows: 0, status: "failed", detail: failureText(e) }))),
    Effect.withSpan("stream.reconcileSession")
  )
}
