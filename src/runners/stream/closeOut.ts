/**
 * Stage 5 of a stream: the close. With reconciliation the session is fetched whole through REST and
 * replaces the day through the staged commit, which records it done; without it (or when it fails)
 * the day's part files are compacted and the day is recorded `streamed`. Either way the ledger and
 * the checkpoints say what the lake holds.
 */
import { Clock, Effect } from "effect"
import { instrumentsOf } from "../../domain/Dataset.js"
import type { DayEntry } from "../../pipeline/Checkpoints.js"
import { commitStaged, fileEntryOf } from "../../pipeline/stagedCommit.js"
import { compact, readPartition } from "../../sinks/compact.js"
import { reconcileSession } from "../repair.js"
import { recordLedger } from "./batch.js"
import type { StreamContext } from "./context.js"

const atNow = Effect.map(Clock.currentTimeMillis, (t) => new Date(t).toISOString())

/** One entry per instrument of the stream: its rows of the day and the day's status. */
const dayEntries = <A>(
  ctx: StreamContext<A>,
  rows: ReadonlyArray<A>,
  status: DayEntry["status"],
  at: string
): ReadonlyArray<DayEntry> => {
  const { dataset } = ctx.feed
  const counts = new Map<string, number>()
  const instrumentsOfRow = instrumentsOf(dataset)
  for (const r of rows)
    for (const instrument of instrumentsOfRow(r)) counts.set(instrument, (counts.get(instrument) ?? 0) + 1)
  const lacks = ctx.feed.liveLacks ?? []
  return ctx.instruments.map((instrument) => ({
    kind: "day",
    dataset: dataset.name,
    symbol: instrument,
    date: ctx.session.date,
    status,
    rows: counts.get(instrument) ?? 0,
    ...(status === "streamed"
      ? {
          reason: `streamed to the close; not reconciled through REST${lacks.length > 0 ? ` (${lacks.join(", ")} missing)` : ""}`
        }
      : {}),
    at
  }))
}

/** The close-out, after the last flush: `reconcile` as the user asked. */
export const run = <A>(ctx: StreamContext<A>, reconcile: boolean) =>
  Effect.gen(function* () {
    const { config, session, checkpoints } = ctx
    const { dataset } = ctx.feed
    const inScope = new Set(ctx.instruments)
    const instrumentsOfRow = instrumentsOf(dataset)
    const mine = (rows: ReadonlyArray<A>) =>
      rows.filter((r) => instrumentsOfRow(r).some((instrument) => inScope.has(instrument)))
    let reconciled = false
    if (reconcile) {
      const streamed = mine(yield* readPartition(config.dataDir, dataset, session.date))
      const row = yield* reconcileSession(
        { feed: ctx.feed, sinks: ctx.sinks, quarantine: ctx.quarantine, source: ctx.source },
        session,
        { instruments: ctx.instruments, subjects: ctx.subjects },
        streamed,
        `reconcile-${ctx.source}`,
        (write) =>
          commitStaged(ctx.sinks, checkpoints, write, (results) =>
            Effect.map(atNow, (at) => [
              ...fileEntryOf(dataset.name, session.date, results, at),
              ...dayEntries(ctx, write.rows, "done", at)
            ])
          )
      )
      yield* recordLedger(ctx, row)
      reconciled = row.status !== "failed"
    }
    if (reconciled) return
    const compacted = config.parquet.enabled
      ? yield* compact(
          {
            dataDir: config.dataDir,
            compression: config.parquet.compression,
            rowGroupSize: config.parquet.rowGroupSize
          },
          dataset,
          session.date
        )
      : undefined
    const dayRows = mine(yield* readPartition(config.dataDir, dataset, session.date))
    const at = yield* atNow
    yield* checkpoints.record([
      // The day's file changed: record its checksum for `status --verify`.
      ...(compacted?.file === undefined || compacted.sha256 === undefined
        ? []
        : [
            {
              kind: "file" as const,
              dataset: dataset.name,
              date: session.date,
              file: compacted.file,
              rows: compacted.rows,
              bytes: compacted.bytes ?? 0,
              sha256: compacted.sha256,
              at
            }
          ]),
      ...dayEntries(ctx, dayRows, "streamed", at)
    ])
  })
