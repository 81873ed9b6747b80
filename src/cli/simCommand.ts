/**
 * `tapehouse sim serve`: the Massive simulator, and `tapehouse sim thetadata`: the ThetaData
 * terminal simulator, in the foreground for any client (ours, the official ones, curl).
 */
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

const thetadata = Command.make(
  "thetadata",
  {
    port: integerOption("port", { min: 0, max: 65535, expected: "a port, 0-65535 (0 = a free one)" }).pipe(
      Options.withDescription("Port of the v3 API on 127.0.0.1 (the terminal's own: 25503)."),
      Options.withDefault(25503)
    ),
    v2Port: integerOption("v2-port", {
      min: 0,
      max: 65535,
      expected: "a port, 0-65535 (0 = a free one)"
    }).pipe(
      Options.withDescription("Port of the legacy v2 API on 127.0.0.1 (the terminal's own: 25510)."),
      Options.withDefault(25510)
    ),
    concurrency: integerOption("concurrency", { min: 1, expected: "requests, 1 or more" }).pipe(
      Options.withDescription(
        "Requests answered at once before answering 429, as the terminal's tier limit (default 4, STANDARD)."
      ),
      Options.withDefault(4)
    )
  },
  (opts) =>
    Effect.gen(function* () {
      yield* interruptIsNormalEnd
      const ThetaSim = yield* Effect.promise(() => import("../sim/thetadata/ThetaSim.js"))
      const sim = yield* ThetaSim.make({
        port: opts.port,
        v2Port: opts.v2Port,
        concurrency: opts.concurrency
      })
      yield* Console.log(`ThetaData terminal simulator: v3 on ${sim.url}, v2 on ${sim.v2Url}`)
      yield* Console.log(`  try: curl "${sim.url}/v3/option/list/expirations?symbol=SPXW"`)
      yield* Console.log(
        `       curl "${sim.url}/v3/option/history/greeks/first_order?symbol=SPXW&expiration=20241108&date=20241104&interval=1m"`
      )
      yield* Console.log(`  point tapehouse at it: TAPEHOUSE_THETADATA_URL=${sim.url}`)
      yield* Console.log("  faults: POST a JSON fault to /__sim/faults (see README); Ctrl-C stops.")
      return yield* Effect.never
    }).pipe(Effect.scoped)
).pipe(
  Command.withDescription(
    "Run the ThetaData terminal simulator (v3 and v2 HTTP APIs, a synthetic SPXW chain with greeks) on 127.0.0.1 until Ctrl-C."
  )
)

export const simCommand = Command.make("sim").pipe(
  Command.withDescription("The local vendor simulators."),
  Command.withSubcommands([serve, thetadata])
)
