/** `tapehouse sim serve`: the Massive simulator in the foreground, for any client (ours, the official ones, curl). */
import { Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import * as MassiveSim from "../sim/MassiveSim.js"
import { interruptIsNormalEnd } from "./exitCode.js"

const serve = Command.make(
  "serve",
  {
    port: Options.integer("port").pipe(
      Options.withDescription("Port on 127.0.0.1 (default: a free port chosen by the OS)."),
      Options.withDefault(0)
    ),
    apiKey: Options.text("api-key").pipe(
      Options.withDescription(
        "The only API key accepted (apiKey query or Authorization: Bearer). Default: any non-empty key."
      ),
      Options.optional
    ),
    pageSize: Options.integer("page-size").pipe(
      Options.withDescription(
        "Cap bars per aggregates page below the request's limit, to exercise next_url pagination."
      ),
      Options.optional
    ),
    rateLimit: Options.integer("rate-limit").pipe(
      Options.withDescription(
        "Answer 429 past this many requests per minute, as the free tier does (default: no limit)."
      ),
      Options.optional
    )
  },
  (opts) =>
    Effect.gen(function* () {
      // A foreground server: Ctrl-C or SIGTERM is how it ends (exit 0).
      yield* interruptIsNormalEnd
      if (opts.port < 0 || opts.port > 65535)
        return yield* Effect.die(new Error("unreachable: port validated"))
      const sim = yield* MassiveSim.make({
        port: opts.port,
        ...(Option.isSome(opts.apiKey) ? { apiKeys: [opts.apiKey.value] } : {}),
        ...(Option.isSome(opts.pageSize) ? { pageSize: opts.pageSize.value } : {}),
        ...(Option.isSome(opts.rateLimit) ? { rateLimitPerMinute: opts.rateLimit.value } : {})
      })
      yield* Console.log(`Massive simulator listening on ${sim.url}`)
      yield* Console.log(
        `  try: curl -H "Authorization: Bearer any-key" "${sim.url}/v2/aggs/ticker/SPY/range/1/second/2024-03-04/2024-03-04?limit=5"`
      )
      yield* Console.log(
        `  point tapehouse at it: TAPEHOUSE_MASSIVE_URL=${sim.url} MASSIVE_API_KEY=any-key npx tapehouse backfill …`
      )
      yield* Console.log("  faults: POST a JSON fault to /__sim/faults (see README); Ctrl-C stops.")
      return yield* Effect.never
    }).pipe(Effect.scoped)
).pipe(Command.withDescription("Run the Massive REST simulator on 127.0.0.1 in the foreground until Ctrl-C."))

export const simCommand = Command.make("sim").pipe(
  Command.withDescription("The local vendor simulators."),
  Command.withSubcommands([serve])
)
