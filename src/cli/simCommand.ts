/** `tapehouse sim serve`: the Massive simulator in the foreground, for any client (ours, the official ones, curl). */
import { Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import { shellWord } from "./commandLine.js"
import { interruptIsNormalEnd } from "./exitCode.js"
import { integerOption } from "./optionTypes.js"

const serve = Command.make(
  "serve",
  {
    port: integerOption("port", { min: 0, max: 65535, expected: "a port, 0-65535 (0 = a free one)" }).pipe(
      Options.withDescription("Port on 127.0.0.1 (default: a free port chosen by the OS)."),
      Options.withDefault(0)
    ),
    apiKey: Options.text("api-key").pipe(
      Options.withPseudoName("KEY"),
      Options.withDescription(
        "The only API key accepted (apiKey query or Authorization: Bearer). Default: any non-empty key."
      ),
      Options.optional
    ),
    pageSize: integerOption("page-size", { min: 1, expected: "bars per page, 1 or more" }).pipe(
      Options.withDescription(
        "Cap bars per aggregates page below the request's limit, to exercise next_url pagination."
      ),
      Options.optional
    ),
    rateLimit: integerOption("rate-limit", { min: 1, expected: "requests per minute, 1 or more" }).pipe(
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
      const [MassiveSim, NewsRoute, OptionsSim] = yield* Effect.promise(() =>
        Promise.all([
          import("../sim/MassiveSim.js"),
          import("../sim/newsRoute.js"),
          import("../sim/options/optionsSim.js")
        ])
      )
      const sim = yield* MassiveSim.make({
        port: opts.port,
        // The synthetic option chain: `O:` aggregates and the contracts reference.
        markets: [...MassiveSim.SYNTHETIC_MARKETS, OptionsSim.optionsMarket],
        ...(Option.isSome(opts.apiKey) ? { apiKeys: [opts.apiKey.value] } : {}),
        ...(Option.isSome(opts.pageSize) ? { pageSize: opts.pageSize.value } : {}),
        ...(Option.isSome(opts.rateLimit) ? { rateLimitPerMinute: opts.rateLimit.value } : {})
      })
      NewsRoute.register(sim)
      yield* Effect.acquireRelease(
        Effect.sync(() => OptionsSim.registerOptionContracts(sim)),
        (remove) => Effect.sync(remove)
      )
      // The examples carry the key it accepts: the one given, or any key when none was.
      const key = Option.getOrElse(opts.apiKey, () => "any-key")
      yield* Console.log(`Massive simulator listening on ${sim.url}`)
      yield* Console.log(
        `  try: curl -H ${shellWord(`Authorization: Bearer ${key}`)} "${sim.url}/v2/aggs/ticker/SPY/range/1/second/2024-03-04/2024-03-04?limit=5"`
      )
      yield* Console.log(
        `  point tapehouse at it: TAPEHOUSE_MASSIVE_URL=${sim.url} MASSIVE_API_KEY=${shellWord(key)} npx tapehouse backfill …`
      )
      yield* Console.log("  faults: POST a JSON fault to /__sim/faults (see README); Ctrl-C stops.")
      return yield* Effect.never
    }).pipe(Effect.scoped)
).pipe(Command.withDescription("Run the Massive REST simulator on 127.0.0.1 in the foreground until Ctrl-C."))

export const simCommand = Command.make("sim").pipe(
  Command.withDescription("The local vendor simulators."),
  Command.withSubcommands([serve])
)
