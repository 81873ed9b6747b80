/**
 * `tapehouse stream --dataset book_deltas --venue binance-spot|binance-usdm --symbols A,B`: the
 * order-book capture (runners/bookCapture.ts), run until Ctrl-C, SIGTERM or `tapehouse stop`
 * (exit 0). The runner and its modules are loaded only here.
 */
import { Console, Effect, Option } from "effect"
import type { AppConfigShape } from "../config/AppConfig.js"
import { UsageError } from "../domain/errors.js"
import * as PidFile from "../runners/pidFile.js"
import { formatInt } from "./display.js"
import { loggingLayer } from "./layers.js"
import { prepareDataDir } from "./setup.js"

export const BOOK_VENUES = ["binance-spot", "binance-usdm"] as const
export type BookVenue = (typeof BOOK_VENUES)[number]

/** Binance symbols: upper-cased, letters and digits. */
const parseBookSymbols = (text: string) =>
  Effect.gen(function* () {
    const symbols = [
      ...new Set(
        text
          .split(",")
          .map((s) => s.trim().toUpperCase())
          .filter((s) => s.length > 0)
      )
    ]
    if (symbols.length === 0)
      return yield* new UsageError({
        detail: "--symbols is empty; expected a comma list such as BTCUSDT,ETHUSDT."
      })
    const bad = symbols.find((s) => !/^[A-Z0-9]{2,30}$/.test(s))
    if (bad !== undefined)
      return yield* new UsageError({
        detail: `--symbols has ${JSON.stringify(bad)}, which is not a Binance symbol; expected letters and digits such as BTCUSDT.`
      })
    if (symbols.length > 200)
      return yield* new UsageError({
        detail: `--symbols has ${symbols.length} symbols; one connection carries at most 200.`
      })
    return symbols
  })

export const runBookStream = (
  config: AppConfigShape,
  venue: Option.Option<BookVenue>,
  symbolsText: Option.Option<string>
) =>
  Effect.gen(function* () {
    if (Option.isNone(venue))
      return yield* new UsageError({
        detail: "--dataset book_deltas needs --venue binance-spot or binance-usdm."
      })
    if (Option.isNone(symbolsText))
      return yield* new UsageError({
        detail: "--dataset book_deltas needs --symbols, e.g. --symbols BTCUSDT,ETHUSDT."
      })
    const symbols = yield* parseBookSymbols(symbolsText.value)
    yield* prepareDataDir(config)
    const [BookCapture, Alerts, StatusFile] = yield* Effect.promise(() =>
      Promise.all([
        import("../runners/bookCapture.js"),
        import("../monitor/Alerts.js"),
        import("../runners/book/statusFile.js")
      ])
    )
    const alerts = yield* Alerts.make({ dataDir: config.dataDir })
    yield* Console.log(
      `capturing ${symbols.join(",")} from ${venue.value} (book_deltas, book_snapshots) into ${config.dataDir}; Ctrl-C or \`tapehouse stop\` ends it`
    )
    const status = yield* Effect.gen(function* () {
      yield* PidFile.register(config.dataDir, {
        source: venue.value,
        pid: process.pid,
        startedAt: new Date().toISOString(),
        symbols,
        dataset: "book_deltas"
      })
      return yield* BookCapture.runBookCapture({ config, venue: venue.value, symbols, alerts })
    }).pipe(
      Effect.scoped,
      // An unknown symbol is bad usage: exit 2.
      Effect.mapError((e) =>
        e._tag === "BookCaptureError" && e.usage ? new UsageError({ detail: e.detail }) : e
      ),
      Effect.onInterrupt(() =>
        Effect.promise(() => StatusFile.readBookStatus(config.dataDir, venue.value)).pipe(
          Effect.flatMap((s) =>
            s === undefined
              ? Effect.void
              : Console.log(
                  s.symbols
                    .map(
                      (x) =>
                        `${x.symbol}: ${formatInt(x.appliedLevels)} level changes, ${x.gaps} gap(s), gap ratio ${(x.gapRatio * 100).toFixed(3)} %, last update id ${x.lastUpdateId}`
                    )
                    .join("\n")
                )
          )
        )
      ),
      Effect.provide(loggingLayer(config))
    )
    return status
  })
