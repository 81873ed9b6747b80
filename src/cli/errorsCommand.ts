/** `tapehouse errors`: the error log grouped by source, kind and normalised message. */
import { Command, Options } from "@effect/cli"
import { Clock, Console, Effect, Option } from "effect"
import { UsageError } from "../domain/errors.js"
import { errorsTable } from "./errorsView.js"
import { root } from "./root.js"
import { resolveConfig } from "./setup.js"
import { parseSince } from "./timeText.js"

export const SINCE_EXPECTED =
  "a date (2026-12-01, from midnight UTC), an ISO time, or a duration back from now (30m, 24h, 7d)"

/** `--since` as epoch ms (undefined when absent), or a usage error. */
export const sinceOf = (given: Option.Option<string>) =>
  Effect.gen(function* () {
    if (Option.isNone(given)) return undefined
    const ms = parseSince(given.value, yield* Clock.currentTimeMillis)
    if (ms === undefined)
      return yield* new UsageError({
        detail: `--since ${JSON.stringify(given.value)} is not ${SINCE_EXPECTED}.`
      })
    return ms
  })

export const errorsCommand = Command.make(
  "errors",
  {
    since: Options.text("since").pipe(
      Options.withDescription(`Only errors seen since then: ${SINCE_EXPECTED}. Default: all.`),
      Options.optional
    ),
    json: Options.boolean("json").pipe(Options.withDescription("Print the groups as one JSON array."))
  },
  (opts) =>
    Effect.gen(function* () {
      const config = yield* resolveConfig(yield* root)
      const since = yield* sinceOf(opts.since)
      const ErrorLog = yield* Effect.promise(() => import("../monitor/ErrorLog.js"))
      const groups = ErrorLog.groupErrors(yield* ErrorLog.read(config.dataDir), since)
      if (opts.json) return yield* Console.log(JSON.stringify(groups, null, 2))
      if (groups.length === 0)
        return yield* Console.log(
          `no errors${since === undefined ? "" : ` since ${new Date(since).toISOString()}`} in ${config.dataDir}`
        )
      yield* Console.log(errorsTable(groups))
    })
).pipe(
  Command.withDescription(
    "List the errors tapehouse met (failed backfill days, rejected records, stream disconnects and failures), grouped by source, kind and message with numbers, ids, dates and tickers taken out: count, first and last seen, and the latest example."
  )
)
