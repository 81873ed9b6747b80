/**
 * `tapehouse simulate`: serve a stored day over the vendor's own protocol (REST and WebSocket) on
 * 127.0.0.1, paced at N× or as fast as the client reads, so that `stream` pointed at it runs the
 * exact production path. And `tapehouse compact`: merge a streamed day into one file.
 */
import { Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import { datasetNames, entryOf } from "../domain/datasets.js"
import { UsageError } from "../domain/errors.js"
import { shellWord } from "./commandLine.js"
import { formatBytes, formatInt } from "./display.js"
import { interruptIsNormalEnd } from "./exitCode.js"
import { metricsPort, withMetricsServer } from "./metricsOption.js"
import { choiceOption, dateOption, integerOption } from "./optionTypes.js"
import { root } from "./root.js"
import { prepareDataDir, resolveConfig } from "./setup.js"

const date = dateOption("date").pipe(Options.withDescription("The trading day."))

/** `60`, `1` … or `max`. */
export const parseSpeed = (text: string) => {
  if (text === "max") return Effect.succeed("max" as const)
  const n = Number(text)
  return Number.isFinite(n) && n > 0
    ? Effect.succeed(n)
    : Effect.fail(
        new UsageError({
          detail: `--speed ${text} is not a speed; expected a positive number (60 = 60× real time) or max.`
        })
      )
}

export const simulateCommand = Command.make(
  "simulate",
  {
    dataset: choiceOption("dataset", datasetNames).pipe(
      Options.withDescription(
        "The dataset that must be stored for --date (the stream command printed is for it); every other dataset stored for that day is replayed too, each on its own cluster."
      )
    ),
    date,
    speed: Options.text("speed").pipe(
      Options.withPseudoName("N|max"),
      Options.withDescription(
        "Replay pace: a multiple of real time (1, 60 …) or max (as fast as the client reads)."
      ),
      Options.withDefault("1")
    ),
    port: integerOption("port", { min: 0, max: 65535, expected: "a port, 0-65535 (0 = a free one)" }).pipe(
      Options.withDescription("Port on 127.0.0.1 (default: a free port)."),
      Options.withDefault(0)
    ),
    apiKey: Options.text("api-key").pipe(
      Options.withPseudoName("KEY"),
      Options.withDescription("The only API key accepted. Default: any non-empty key."),
      Options.optional
    ),
    metricsPort
  },
  (opts) =>
    Effect.gen(function* () {
      // A foreground server: Ctrl-C or SIGTERM is how it ends (exit 0).
      yield* interruptIsNormalEnd
      if (entryOf(opts.dataset).live === undefined)
        return yield* new UsageError({
          detail: `simulate replays the datasets that stream (${datasetNames.filter((n) => entryOf(n).live !== undefined).join(", ")}); ${opts.dataset} does not stream yet, so it has no replay.`
        })
      const speed = yield* parseSpeed(opts.speed)
      const config = yield* resolveConfig(yield* root)
      const { serveStoredDay } = yield* Effect.promise(() => import("../sim/lakeBars.js"))
      const served = yield* serveStoredDay({
        dataDir: config.dataDir,
        date: opts.date,
        speed,
        port: opts.port,
        dataset: opts.dataset,
        ...(Option.isSome(opts.apiKey) ? { apiKeys: [opts.apiKey.value] } : {})
      })
      yield* Console.log(`replaying ${opts.date} at ${speed === "max" ? "full speed" : `${speed}x`}`)
      yield* Console.log(`  REST      ${served.restUrl}`)
      // Every dataset stored for the day, each on its own cluster.
      for (const s of served.served)
        yield* Console.log(
          `  WebSocket ${served.wsUrl}/${s.live.cluster}  ${s.dataset}: ${s.day.symbols.join(",")}`
        )
      if (served.newsArticles > 0)
        yield* Console.log(
          `  News      ${served.restUrl}/v2/reference/news  ${formatInt(served.newsArticles)} stored article(s), each once the replay's clock passes its published_utc`
        )
      yield* Console.log(
        `  stream it: TAPEHOUSE_MASSIVE_URL=${served.restUrl} TAPEHOUSE_MASSIVE_WS_URL=${served.wsUrl} MASSIVE_API_KEY=${shellWord(Option.getOrElse(opts.apiKey, () => "any-key"))} npx tapehouse stream --dataset ${opts.dataset} --symbols ${served.day.symbols[0] ?? "SPY"}`
      )
      yield* Console.log("  Ctrl-C stops.")
      return yield* Effect.never.pipe(withMetricsServer(opts.metricsPort, config))
    }).pipe(Effect.scoped)
).pipe(
  Command.withDescription(
    "Serve a stored day of the lake over the Massive WebSocket protocol (and REST for the same data) on 127.0.0.1, paced at --speed, for `tapehouse stream` or any client: every dataset stored for that day on its own cluster (stock_bars_1s on /stocks, index_bars_1s on /indices, option_bars_1s on /options), and its stored news on /v2/reference/news as the replay's clock reaches each article."
  )
)

export const compactCommand = Command.make(
  "compact",
  {
    dataset: choiceOption("dataset", datasetNames).pipe(
      Options.withDescription("Dataset."),
      Options.withDefault("stock_bars_1s" as const)
    ),
    date
  },
  (opts) =>
    Effect.gen(function* () {
      const config = yield* resolveConfig(yield* root)
      yield* prepareDataDir(config)
      const { compact } = yield* Effect.promise(() => import("../sinks/compact.js"))
      const result = yield* compact(
        {
          dataDir: config.dataDir,
          compression: config.parquet.compression,
          rowGroupSize: config.parquet.rowGroupSize
        },
        entryOf(opts.dataset).dataset,
        opts.date
      )
      yield* Console.log(
        `${opts.dataset} ${opts.date}: ${result.partsMerged} part file(s) merged into ${result.file ?? "nothing (empty)"}; ${formatInt(result.rows)} rows, ${formatInt(result.duplicatesRemoved)} duplicates removed, ${formatBytes(result.bytes ?? 0)}`
      )
    })
).pipe(
  Command.withDescription(
    "Merge a day's streamed part files into one deduplicated file (last write wins), atomically."
  )
)
