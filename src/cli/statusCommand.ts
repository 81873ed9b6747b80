/** `tapehouse status`: streams, coverage, streamed days, checkpoints and alerts (statusReport.ts), as text or one JSON document. */
import { Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import { UsageError } from "../domain/errors.js"
import { DAY_STATUSES } from "../pipeline/Checkpoints.js"
import { formatBytes, formatDuration, formatInt, table } from "./display.js"
import { IntegrityError } from "./errors.js"
import { root } from "./root.js"
import { resolveConfig } from "./setup.js"
import type { StatusReport } from "./statusReport.js"

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19)

/** The text view: one section per part of the report, in the order a user asks about them. */
export const statusLines = (
  r: StatusReport,
  verify: boolean,
  inventoryText: ReadonlyArray<string> = []
): ReadonlyArray<string> => {
  const lines: Array<string> = []
  for (const s of r.streams) {
    if (!s.running) {
      lines.push(
        `stream ${s.source} (pid ${s.pid}) is not running: it stopped without cleaning up (crash or kill -9)`
      )
      continue
    }
    const hb = s.heartbeat
    lines.push(
      `stream ${s.source} running (pid ${s.pid}, ${s.symbols.join(",")}, since ${s.startedAt})` +
        (hb
          ? `; heartbeat ${formatDuration(s.heartbeatAgeMs ?? 0)} ago: ${hb.connection}, ${formatInt(hb.messagesTotal)} messages (${formatInt(hb.messagesLastInterval)} in the last interval), ${formatInt(hb.committed)} committed, lag ${hb.lagMs === null ? "n/a" : formatDuration(hb.lagMs)}, market ${hb.marketState}${s.healthy ? "" : " — UNHEALTHY"}`
          : "; no heartbeat yet")
    )
  }
  for (const c of r.coverage) {
    const text =
      c.reconcile && c.reconcile.status !== "failed"
        ? "100% (reconciled through REST)"
        : c.unrepairedMs === 0
          ? c.gaps.length === 0
            ? "no gap"
            : c.gaps.some((g) => g.status === "resynced")
              ? "order-book gaps re-synced from snapshots (their deltas are lost)"
              : "every gap repaired"
          : `${formatDuration(c.unrepairedMs)} not repaired`
    const gaps = c.gaps.map(
      (g) => `${g.cause ?? "gap"} ${clock(g.start)}–${clock(g.end)} ${g.status}, ${formatInt(g.rows)} rows`
    )
    lines.push(
      `coverage ${c.date} ${c.dataset ?? c.source}: ${text}; ${c.gaps.length} gap(s)${gaps.length > 0 ? ` (${gaps.join("; ")})` : ""}` +
        (c.reconcile ? `; reconcile ${c.reconcile.status}: ${c.reconcile.detail ?? ""}` : "")
    )
  }
  for (const d of r.datasets)
    for (const s of d.streamedDays)
      lines.push(
        `streamed ${d.dataset} ${s.date}: ${s.state === "streaming" ? "streaming now" : "stopped before the close, not compacted"}; ${formatInt(s.rows)} rows in ${s.parts} part file(s)${s.base ? " and the base" : ""}, ${formatBytes(s.bytes)}; ${s.gaps} gap(s)${s.staged ? "; a staged file waits to be published" : ""}`
      )
  if (r.schemaDrift.length > 0) {
    lines.push(`schema drift (vendor fields the decoders do not expect; the newest 7 days with any):`)
    for (const d of r.schemaDrift)
      lines.push(
        `  ${new Date(d.first_seen).toISOString().slice(0, 10)} ${d.source} ${d.kind} field ${d.field}` +
          (d.kind === "new"
            ? ` (${d.seen})`
            : d.kind === "missing"
              ? ` (expected ${d.expected})`
              : `: ${d.seen}, expected ${d.expected}`)
      )
  }
  if (r.alerts.length > 0) {
    lines.push("recent alerts:")
    for (const a of r.alerts) lines.push(`  ${a.at} ${a.level} ${a.kind} ${a.source}: ${a.message}`)
  }
  if (r.datasets.length === 0 && r.inventory === null) {
    lines.push(`No checkpoints and no lake in ${r.dataDir} yet; run a backfill or a stream first.`)
    return lines
  }
  for (const d of r.datasets) {
    const others = DAY_STATUSES.filter((s) => s !== "done" && s !== "failed" && s !== "pending")
    const counts = [
      `${d.counts.done} done, ${d.counts.failed} failed, ${d.counts.pending} pending`,
      ...others.filter((s) => d.counts[s] > 0).map((s) => `${d.counts[s]} ${s}`)
    ].join(", ")
    lines.push(
      `${d.dataset}: ${counts}; ${formatInt(d.rows)} rows in ${d.files} file(s), ${formatBytes(d.bytes)}`
    )
    // With --dataset, the per-day inventory stands for the table of its units.
    if (d.days.length === 0 || r.inventory?.dataset === d.dataset) continue
    lines.push(
      table(
        [
          "symbol",
          "date",
          "status",
          "rows",
          "rejected",
          "file",
          "sha256",
          ...(verify ? ["verify"] : []),
          "reason"
        ],
        d.days.map((row) => [
          row.symbol,
          row.date,
          row.status,
          row.rows === null ? "" : formatInt(row.rows),
          row.rejected === null ? "" : formatInt(row.rejected),
          row.file ?? "",
          row.sha256 ? row.sha256.slice(0, 16) : "",
          ...(verify ? [row.verified ?? ""] : []),
          row.reason ?? ""
        ])
      )
    )
  }
  lines.push(...inventoryText)
  return lines
}

export const statusCommand = Command.make(
  "status",
  {
    dataset: Options.text("dataset").pipe(Options.withDescription("Only this dataset."), Options.optional),
    symbol: Options.text("symbol").pipe(Options.withDescription("Only this symbol."), Options.optional),
    from: Options.text("from").pipe(
      Options.withDescription(
        "With --dataset: the first day of the per-day inventory (YYYY-MM-DD); the first day the checkpoints hold by default."
      ),
      Options.optional
    ),
    to: Options.text("to").pipe(
      Options.withDescription(
        "With --dataset: the last day of the per-day inventory (YYYY-MM-DD); the last day the checkpoints hold by default."
      ),
      Options.optional
    ),
    gaps: Options.boolean("gaps").pipe(
      Options.withDescription(
        "With --dataset: list only the trading days of the range that are not done (queued, in progress, no data, failed); exit 0."
      )
    ),
    verify: Options.boolean("verify").pipe(
      Options.withDescription(
        "Recompute each partition file's SHA-256 and compare it with the checkpoint (with --dataset: every file of the range); exit 1 if any changed or is missing."
      )
    ),
    json: Options.boolean("json").pipe(
      Options.withDescription(
        "Print one JSON document holding everything the text view shows: streams, coverage, streamed days, checkpoints, alerts, the order-book captures (bookCaptures: each symbol's sync state and gap ratio) and the SQL target (sql: where it is, its size on disk, and who serves it)."
      )
    )
  },
  (opts) =>
    Effect.gen(function* () {
      const dataset = Option.getOrUndefined(opts.dataset)
      const from = Option.getOrUndefined(opts.from)
      const to = Option.getOrUndefined(opts.to)
      if (dataset === undefined && (from !== undefined || to !== undefined || opts.gaps))
        return yield* new UsageError({
          detail: `status: ${[from === undefined ? [] : ["--from"], to === undefined ? [] : ["--to"], opts.gaps ? ["--gaps"] : []].flat().join(", ")} need(s) --dataset: the per-day inventory is of one dataset (status --dataset stock_bars_1s --gaps).`
        })
      const config = yield* resolveConfig(yield* root)
      const filter = { dataset, symbol: Option.getOrUndefined(opts.symbol), verify: opts.verify, from, to }
      const [statusReport, view] = yield* Effect.promise(() =>
        Promise.all([import("./statusReport.js"), import("./dayInventoryView.js")])
      )
      if (opts.gaps && dataset !== undefined) {
        const inventory = yield* statusReport.collectInventoryOnly(config.dataDir, { ...filter, dataset })
        if (opts.json) {
          const { days, ...range } = inventory
          yield* Console.log(
            JSON.stringify({ ...range, gaps: days.filter((d) => d.state !== "done") }, null, 2)
          )
        } else for (const line of view.gapLines(inventory)) yield* Console.log(line)
        if (inventory.problems.length > 0)
          return yield* new IntegrityError({
            dataset,
            mismatches: inventory.problems.map((p) => `${p.date} ${p.file} ${p.verified}`)
          })
        return
      }
      const report = yield* statusReport.collectStatus(config.dataDir, filter)
      const inventory = report.inventory
      // Where SQL lives and how to connect while a capture holds it (files only, no connection).
      const { sqlStatus, sqlStatusLine } = yield* Effect.promise(() => import("./sqlStatus.js"))
      const sql = yield* sqlStatus(config)
      if (opts.json) yield* Console.log(JSON.stringify({ ...report, sql }, null, 2))
      else {
        const inventoryText = inventory === null ? [] : view.inventoryLines(inventory)
        for (const line of statusLines(report, opts.verify, inventoryText)) yield* Console.log(line)
        const { bookStatusLines } = yield* Effect.promise(() => import("./bookStatus.js"))
        for (const line of bookStatusLines(report.bookCaptures)) yield* Console.log(line)
        if (sql !== null) yield* Console.log(sqlStatusLine(sql))
      }
      if (inventory !== null) {
        if (inventory.problems.length > 0)
          return yield* new IntegrityError({
            dataset: inventory.dataset,
            mismatches: inventory.problems.map((p) => `${p.date} ${p.file} ${p.verified}`)
          })
        return
      }
      const bad = report.datasets.flatMap((d) =>
        [
          ...new Set(
            d.days
              .filter((r) => r.verified !== undefined && r.verified !== "ok")
              .map((r) => `${r.date} ${r.verified}`)
          )
        ].map((m) => [d.dataset, m] as const)
      )
      if (bad.length > 0)
        return yield* new IntegrityError({ dataset: bad[0]![0], mismatches: bad.map(([, m]) => m) })
    })
).pipe(
  Command.withDescription(
    "Show running streams with their heartbeat, each streamed day's coverage (every gap and its cause), days streamed but not compacted yet, the checkpoint state per dataset, symbol and day (done, empty, streamed, streaming, pending, failed with the reason) with row counts and file checksums, the schema drift of recent days, and recent alerts. With --dataset, each trading day of a range (--from, --to) as queued, in progress, done, no data or failed, with its units, attempts, last error, rows, bytes, and files with their SHA-256 and when each was written."
  )
)
