/**
 * The streaming part of `tapehouse status`: running streams and their heartbeat, coverage per day,
 * recent alerts. The heartbeat reader and the Parquet reader load only when there is something for
 * them (they bring the vendor client and the Parquet codecs), so status on a lake that was never
 * streamed starts fast.
 */
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { Effect } from "effect"
import { Continuity, type ContinuityRow } from "../domain/Continuity.js"
import * as Alerts from "../monitor/Alerts.js"
import * as PidFile from "../runners/pidFile.js"
import { formatDuration, formatInt } from "./display.js"

const iso = (ms: number) => new Date(ms).toISOString().slice(11, 19)

/** Lines describing streams, coverage and alerts; empty when nothing was ever streamed. */
export const streamStatusLines = (dataDir: string) =>
  Effect.gen(function* () {
    const lines: Array<string> = []
    const { running, stale } = yield* PidFile.list(dataDir)
    const beats =
      running.length === 0
        ? []
        : yield* Effect.promise(() => import("../monitor/Heartbeat.js")).pipe(
            Effect.flatMap((Heartbeat) => Heartbeat.readHeartbeats(dataDir)),
            Effect.orElseSucceed(() => [])
          )
    for (const s of running) {
      const beat = beats.find((b) => b.source === s.source)
      const hb = beat?.heartbeat
      lines.push(
        `stream ${s.source} running (pid ${s.pid}, ${s.symbols.join(",")}, since ${s.startedAt})` +
          (hb
            ? `; heartbeat ${formatDuration(beat?.ageMs ?? 0)} ago: ${hb.connection}, ${formatInt(hb.messagesTotal)} messages (${formatInt(hb.messagesLastInterval)} in the last interval), lag ${hb.lagMs === null ? "n/a" : formatDuration(hb.lagMs)}, market ${hb.marketState}${beat?.healthy === false ? " — UNHEALTHY" : ""}`
            : "; no heartbeat yet")
      )
    }
    for (const s of stale)
      lines.push(
        `stream ${s.source} (pid ${s.pid}) is not running: it stopped without cleaning up (crash or kill -9)`
      )

    // Coverage per streamed day, from the continuity ledger.
    const root = Path.join(dataDir, "lake", Continuity.name)
    const dates = (yield* Effect.promise(() => NodeFs.readdir(root).catch(() => [] as Array<string>)))
      .filter((d) => d.startsWith("date="))
      .map((d) => d.slice("date=".length))
      .sort()
    for (const date of dates) {
      const { readPartition } = yield* Effect.promise(() => import("../sinks/ParquetSink.js"))
      const rows: ReadonlyArray<ContinuityRow> = yield* readPartition(dataDir, Continuity, date).pipe(
        Effect.orElseSucceed(() => [])
      )
      const gaps = rows.filter((r) => r.kind === "gap")
      const failed = gaps.filter((g) => g.status === "failed")
      const reconcile = rows.find((r) => r.kind === "reconcile")
      const unrepairedMs = failed.reduce((n, g) => n + (g.end - g.start), 0)
      const coverage =
        reconcile && reconcile.status !== "failed"
          ? "100% (reconciled through REST)"
          : failed.length === 0
            ? "100% (every gap repaired)"
            : `${formatDuration(unrepairedMs)} not repaired`
      lines.push(
        `coverage ${date}: ${coverage}; ${gaps.length} gap(s)${gaps.length > 0 ? ` (${gaps.map((g) => `${iso(g.start)}–${iso(g.end)} ${g.status}, ${g.rows} rows`).join("; ")})` : ""}` +
          (reconcile ? `; reconcile ${reconcile.status}: ${reconcile.detail ?? ""}` : "")
      )
    }

    const alerts = yield* Alerts.read(dataDir, 5).pipe(Effect.orElseSucceed(() => []))
    if (alerts.length > 0) {
      lines.push("recent alerts:")
      for (const a of alerts) lines.push(`  ${a.at} ${a.level} ${a.kind} ${a.source}: ${a.message}`)
    }
    return lines
  })
