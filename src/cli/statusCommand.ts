/** `tapehouse status`: what the checkpoints say, per dataset, symbol and day, with files and checksums. */
import { createHash } from "node:crypto"
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import * as Checkpoints from "../pipeline/Checkpoints.js"
import { formatBytes, formatInt, table } from "./display.js"
import { IntegrityError } from "./errors.js"
import { root } from "./root.js"
import { resolveConfig } from "./setup.js"
import { sqlStatusLines } from "./sqlStatus.js"
import { streamStatusLines } from "./streamStatus.js"

const sha256Of = (file: string) =>
  Effect.promise(() =>
    NodeFs.readFile(file).then(
      (bytes) => createHash("sha256").update(bytes).digest("hex"),
      () => undefined
    )
  )

export interface StatusRow {
  readonly dataset: string
  readonly symbol: string
  readonly date: string
  readonly status: Checkpoints.DayStatusName
  readonly rows: number | null
  readonly rejected: number | null
  readonly duplicates: number | null
  readonly file: string | null
  readonly sha256: string | null
  readonly verified?: "ok" | "mismatch" | "missing"
  readonly reason: string | null
}

export const statusCommand = Command.make(
  "status",
  {
    dataset: Options.text("dataset").pipe(Options.withDescription("Only this dataset."), Options.optional),
    symbol: Options.text("symbol").pipe(Options.withDescription("Only this symbol."), Options.optional),
    verify: Options.boolean("verify").pipe(
      Options.withDescription("Recompute each partition file's SHA-256 and compare it with the checkpoint.")
    ),
    json: Options.boolean("json").pipe(
      Options.withDescription("Print JSON lines, one per symbol-day, instead of a table.")
    )
  },
  (opts) =>
    Effect.gen(function* () {
      const config = yield* resolveConfig(yield* root)
      if (!opts.json) for (const line of yield* streamStatusLines(config.dataDir)) yield* Console.log(line)
      if (!opts.json) for (const line of yield* sqlStatusLines(config)) yield* Console.log(line)
      const store = yield* Checkpoints.make(config.dataDir)
      const names = (yield* store.datasets).filter(
        (d) => (Option.isNone(opts.dataset) || d === opts.dataset.value) && d !== "continuity"
      )
      if (names.length === 0) {
        yield* Console.log(
          `No checkpoints in ${config.dataDir}${Option.isSome(opts.dataset) ? ` for ${opts.dataset.value}` : ""}; run a backfill first.`
        )
        return
      }
      for (const dataset of names) {
        const days = [...(yield* store.days(dataset)).values()]
          .filter((d) => Option.isNone(opts.symbol) || d.symbol === opts.symbol.value)
          .sort((a, b) => (a.date === b.date ? (a.symbol < b.symbol ? -1 : 1) : a.date < b.date ? -1 : 1))
        const files = yield* store.files(dataset)
        const verified = new Map<string, "ok" | "mismatch" | "missing">()
        if (opts.verify)
          for (const f of files.values()) {
            const actual = yield* sha256Of(Path.join(config.dataDir, f.file))
            verified.set(f.date, actual === undefined ? "missing" : actual === f.sha256 ? "ok" : "mismatch")
          }
        const rows: Array<StatusRow> = days.map((d) => {
          const f = d.status === "done" ? files.get(d.date) : undefined
          const v = f ? verified.get(d.date) : undefined
          return {
            dataset,
            symbol: d.symbol,
            date: d.date,
            status: d.status,
            rows: d.rows ?? null,
            rejected: d.rejected ?? null,
            duplicates: d.duplicates ?? null,
            file: f?.file ?? null,
            sha256: f?.sha256 ?? null,
            ...(v ? { verified: v } : {}),
            reason: d.reason ?? null
          }
        })
        if (opts.json) {
          for (const r of rows) yield* Console.log(JSON.stringify(r))
          continue
        }
        const count = (s: Checkpoints.DayStatusName) => rows.filter((r) => r.status === s).length
        const totalRows = rows.reduce((n, r) => n + (r.rows ?? 0), 0)
        const totalBytes = [...files.values()].reduce((n, f) => n + f.bytes, 0)
        yield* Console.log(
          `${dataset}: ${count("done")} done, ${count("failed")} failed, ${count("pending")} pending; ${formatInt(totalRows)} rows in ${files.size} file(s), ${formatBytes(totalBytes)}`
        )
        yield* Console.log(
          table(
            [
              "symbol",
              "date",
              "status",
              "rows",
              "rejected",
              "file",
              "sha256",
              ...(opts.verify ? ["verify"] : []),
              "reason"
            ],
            rows.map((r) => [
              r.symbol,
              r.date,
              r.status,
              r.rows === null ? "" : formatInt(r.rows),
              r.rejected === null ? "" : formatInt(r.rejected),
              r.file ?? "",
              r.sha256 ? r.sha256.slice(0, 16) : "",
              ...(opts.verify ? [r.verified ?? ""] : []),
              r.reason ?? ""
            ])
          )
        )
        const bad = [...verified.entries()].filter(([, v]) => v !== "ok")
        if (bad.length > 0)
          return yield* new IntegrityError({ dataset, mismatches: bad.map(([d, v]) => `${d} ${v}`) })
      }
    })
).pipe(
  Command.withDescription(
    "Show running streams with their heartbeat, each streamed day's coverage, recent alerts, and the checkpoint state per dataset, symbol and day (done / failed with reason / pending) with row counts and file checksums."
  )
)
