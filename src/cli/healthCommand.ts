/**
 * `tapehouse health`: one screen saying whether the lake is being kept well, with an exit code for
 * cron and probes: 0 healthy, 1 unhealthy (see `monitor/health.ts` for the rules), 2 bad usage or
 * configuration.
 */
import { Command, Options } from "@effect/cli"
import { Console, Effect, Option, Schema } from "effect"
import { UsageError } from "../domain/errors.js"
import { formatBytes, formatDuration, table } from "./display.js"
import { errorsTable } from "./errorsView.js"
import type { HealthReport } from "./healthReport.js"
import { root } from "./root.js"
import { resolveConfig } from "./setup.js"
import { parseDuration } from "./timeText.js"

/** `health` found something wrong. Exit code 1. */
export class Unhealthy extends Schema.TaggedError<Unhealthy>()("Unhealthy", {
  problems: Schema.Number
}) {
  override get message(): string {
    return `unhealthy: ${this.problems} problem(s), listed above.`
  }
}

const ago = (iso: string, nowIso: string) =>
  `${formatDuration(Math.max(0, Date.parse(nowIso) - Date.parse(iso)))} ago`

/** The screen. */
export const healthLines = (r: HealthReport): ReadonlyArray<string> => {
  const lines: Array<string> = [
    `tapehouse health: ${r.healthy ? "HEALTHY" : `UNHEALTHY (${r.problems.length} problem(s))`} — ${r.dataDir} at ${r.checkedAt}; alerts and errors since ${r.windowStart}`
  ]
  lines.push("processes:")
  if (r.processes.length === 0) lines.push("  no stream running")
  for (const p of r.processes) {
    const hb = p.heartbeat
    const beat =
      hb === undefined
        ? "no heartbeat yet"
        : `heartbeat ${hb.ageMs === undefined ? "of unknown age" : `${formatDuration(hb.ageMs)} old`}, ${hb.reason}`
    lines.push(
      `  ${p.source} (${p.dataset}) pid ${p.pid} ${p.alive ? "running" : "GONE"}, since ${p.startedAt}; ${beat}`
    )
  }
  lines.push("datasets:")
  if (r.datasets.length === 0) lines.push("  nothing in the lake yet")
  else
    lines.push(
      table(
        ["dataset", "last commit", "lake", "quarantine"],
        r.datasets.map((d) => [
          d.dataset,
          d.lastCommitAt === null
            ? "never"
            : `${d.lastCommitAt.slice(0, 19).replace("T", " ")} (${ago(d.lastCommitAt, r.checkedAt)})`,
          formatBytes(d.lakeBytes),
          formatBytes(d.quarantineBytes)
        ])
      )
        .split("\n")
        .map((l) => `  ${l}`)
        .join("\n")
    )
  if (r.sqlBytes !== null) lines.push(`  embedded SQL database: ${formatBytes(r.sqlBytes)}`)
  lines.push(`open alerts:${r.openAlerts.length === 0 ? " none" : ""}`)
  for (const a of r.openAlerts) lines.push(`  ${a.at} ${a.level} ${a.kind} ${a.source}: ${a.message}`)
  lines.push(`error groups:${r.errorGroups.length === 0 ? " none" : ""}`)
  if (r.errorGroups.length > 0)
    lines.push(
      errorsTable(r.errorGroups)
        .split("\n")
        .map((l) => `  ${l}`)
        .join("\n")
    )
  if (!r.healthy) {
    lines.push("problems:")
    for (const p of r.problems) lines.push(`  - ${p}`)
  }
  return lines
}

export const healthCommand = Command.make(
  "health",
  {
    window: Options.text("window").pipe(
      Options.withDescription(
        "How far back alerts and errors count: 30m, 24h, 7d. An alert or error group seen in it makes health unhealthy."
      ),
      Options.withDefault("24h")
    ),
    ignore: Options.text("ignore").pipe(
      Options.withDescription(
        "Comma-separated alert or error kinds not to judge, e.g. schema-drift,rejected (still listed in errors and status)."
      ),
      Options.optional
    ),
    json: Options.boolean("json").pipe(Options.withDescription("Print the report as one JSON document."))
  },
  (opts) =>
    Effect.gen(function* () {
      const windowMs = parseDuration(opts.window)
      if (windowMs === undefined)
        return yield* new UsageError({
          detail: `--window ${JSON.stringify(opts.window)} is not a duration; expected 30m, 24h or 7d.`
        })
      const ignore = new Set(
        Option.match(opts.ignore, {
          onNone: () => [],
          onSome: (text) =>
            text
              .split(",")
              .map((k) => k.trim())
              .filter((k) => k.length > 0)
        })
      )
      const config = yield* resolveConfig(yield* root)
      const { collectHealth } = yield* Effect.promise(() => import("./healthReport.js"))
      const report = yield* collectHealth(config, windowMs, ignore)
      if (opts.json) yield* Console.log(JSON.stringify(report, null, 2))
      else for (const line of healthLines(report)) yield* Console.log(line)
      if (!report.healthy) return yield* new Unhealthy({ problems: report.problems.length })
    })
).pipe(
  Command.withDescription(
    "One screen: running streams with their heartbeat age, the last commit and disk use of each dataset, open alerts and recent error groups. Exits 0 when healthy, 1 when something needs attention (a stream gone or stale or disconnected, an open alert, an error in the window), 2 on bad usage."
  )
)
