/**
 * `tapehouse sim serve` (Massive), `tapehouse sim thetadata` (the ThetaData terminal) and
 * `tapehouse sim binance`: a vendor simulator in the foreground, for any client (ours, the
 * official ones, curl).
 */
import { Command, HelpDoc, Options, ValidationError } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import { shellWord } from "./commandLine.js"
import { interruptIsNormalEnd } from "./exitCode.js"
import { integerOption } from "./optionTypes.js"

/** The symbols the Binance simulator lists (kept here so `--help` does not load the simulator). */
const BINANCE_SYMBOLS = ["BTCUSDT", "ETHUSDT", "NKNUSDT", "SUSHIUSDT"] as const

const binanceSymbols = Options.text("symbols").pipe(
  Options.withPseudoName("SYM,SYM"),
  Options.withDescription(
    `Symbols to serve, comma-separated, from: ${BINANCE_SYMBOLS.join(", ")} (each on the venues that list it: NKNUSDT spot only, SUSHIUSDT USD-M only). Default: all.`
  ),
  Options.mapEffect((text) => {
    const list = [
      ...new Set(
        text
          .split(",")
          .map((s) => s.trim().toUpperCase())
          .filter((s) => s.length > 0)
      )
    ]
    const bad = list.find((s) => !(BINANCE_SYMBOLS as ReadonlyArray<string>).includes(s))
    return list.length > 0 && bad === undefined
      ? Effect.succeed(list)
      : Effect.fail(
          ValidationError.invalidValue(
            HelpDoc.p(
              `--symbols ${JSON.stringify(text)} ${bad === undefined ? "names no symbol" : `names an unknown symbol ${bad}`}; expected some of: ${BINANCE_SYMBOLS.join(", ")}.`
            )
          )
        )
  }),
  Options.optional
)

const binance = Command.make(
  "binance",
  {
    port: integerOption("port", { min: 0, max: 65535, expected: "a port, 0-65535 (0 = a free one)" }).pipe(
      Options.withDescription("Port on 127.0.0.1 (default: a free port chosen by the OS)."),
      Options.withDefault(0)
    ),
    rate: integerOption("rate", {
      min: 0,
      max: 200_000,
      expected: "events per second per symbol, 0-200000"
    }).pipe(
      Options.withDescription(
        "Book events (level changes) per second per symbol and venue; a depth message batches its interval's changes. Default 1000."
      ),
      Options.withDefault(1000)
    ),
    symbols: binanceSymbols,
    seed: integerOption("seed", { min: 0, max: 2 ** 31 - 1, expected: "an integer, 0 or more" }).pipe(
      Options.withDescription("Seed of the synthetic books: the same seed gives the same events. Default 1."),
      Options.withDefault(1)
    )
  },
  (opts) =>
    Effect.gen(function* () {
      yield* interruptIsNormalEnd
      const BinanceSim = yield* Effect.promise(() => import("../sim/binance/BinanceSim.js"))
      const sim = yield* BinanceSim.make({
        port: opts.port,
        rate: opts.rate,
        seed: opts.seed,
        ...(Option.isSome(opts.symbols) ? { symbols: opts.symbols.value } : {})
      })
      const served = sim.market.stats()
      const names = (venue: "spot" | "usdm") =>
        served
          .filter((s) => s.venue === venue)
          .map((s) => s.symbol)
          .join(",") || "(none)"
      yield* Console.log(`Binance simulator listening on ${sim.url}`)
      yield* Console.log(`  spot ${names("spot")}, USD-M ${names("usdm")}; ${opts.rate} events/s per symbol`)
      yield* Console.log(`  TAPEHOUSE_BINANCE_SPOT_URL=${sim.urls.spotRest}`)
      yield* Console.log(`  TAPEHOUSE_BINANCE_SPOT_WS_URL=${sim.urls.spotWs}`)
      yield* Console.log(`  TAPEHOUSE_BINANCE_USDM_URL=${sim.urls.usdmRest}`)
      yield* Console.log(`  TAPEHOUSE_BINANCE_USDM_WS_URL=${sim.urls.usdmWs}`)
      const spotFirst = served.find((s) => s.venue === "spot")
      const example =
        spotFirst !== undefined
          ? `${sim.urls.spotRest}/api/v3/depth?symbol=${spotFirst.symbol}&limit=5`
          : `${sim.urls.usdmRest}/fapi/v1/depth?symbol=${served[0]?.symbol ?? "BTCUSDT"}&limit=5`
      yield* Console.log(`  try: curl "${example}"`)
      yield* Console.log(
        "  faults: POST JSON to /__sim/binance-faults or /__sim/faults (see README); Ctrl-C stops."
      )
      return yield* Effect.never
    }).pipe(Effect.scoped)
).pipe(
  Command.withDescription(
    "Run the Binance spot and USD-M simulator (depth streams, REST snapshots, weights, faults) on 127.0.0.1 until Ctrl-C."
  )
)

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
  Command.withSubcommands([serve, thetadata, binance])
)
