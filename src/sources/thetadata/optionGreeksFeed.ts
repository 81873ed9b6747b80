/**
 * The feed of `option_greeks_1m`: first-order greeks at 1-minute interval from the ThetaData
 * terminal. A trading day D of a root (`SPXW`) splits into units, its expirations from D to
 * D + `sources.thetadata.max_dte` days; each is one greeks request, streamed through the CSV parser
 * and committed into `date=D/expiration=E/`. The terminal's errors become the pipeline's vendor
 * errors here: "not running" and "permission / tier" stop the run, the rest fail their unit.
 */
import { Effect, Stream } from "effect"
import type { TradingSession } from "../../calendar/MarketCalendar.js"
import { AppConfig } from "../../config/AppConfig.js"
import { VendorDecodeError, VendorRequestError, VendorStopError } from "../../domain/errors.js"
import type { OptionGreek } from "../../domain/OptionGreek.js"
import { OptionGreeks1m } from "../../domain/OptionGreek.js"
import { addDays } from "../../domain/time.js"
import { rowsOfColumns } from "../../pipeline/columnBatch.js"
import type { Feed, SourcePage, VendorError } from "../../runners/Feed.js"
import type { ThetaTerminalError } from "./errors.js"
import { type GreeksPart, ThetaTerminal } from "./ThetaTerminal.js"

const VENDOR = "ThetaData"

/** The terminal's error as the pipeline's: the run stops, the unit fails, or the answer was not CSV. */
export const vendorErrorOf = (e: ThetaTerminalError): VendorError => {
  switch (e._tag) {
    case "ThetaTerminalNotRunning":
    case "ThetaTierError":
      return new VendorStopError({ vendor: VENDOR, detail: e.message })
    case "ThetaProtocolError":
      return new VendorDecodeError({ vendor: VENDOR, request: e.request, detail: e.detail })
    case "ThetaResponseCut":
      return new VendorRequestError({ vendor: VENDOR, request: e.request, detail: e.message })
    case "ThetaRequestError":
      return new VendorRequestError({
        vendor: VENDOR,
        request: e.request,
        ...(e.status === undefined ? {} : { status: e.status }),
        detail: e.detail
      })
  }
}

/** The expirations of `all` (sorted) a day D keeps: from D to D + maxDte. */
export const expirationsOfDay = (
  all: ReadonlyArray<string>,
  date: string,
  maxDte: number
): ReadonlyArray<string> => {
  const last = addDays(date, maxDte)
  return all.filter((e) => e >= date && e <= last)
}

const NO_ROWS: SourcePage<OptionGreek> = { records: [], rejected: [] }

/** A part as a page of columns: the pipeline validates and holds them without a record per row. */
const pageOf = (part: GreeksPart): SourcePage<OptionGreek> =>
  part._tag === "NoData" ? NO_ROWS : { records: [], columns: part.columns, rejected: part.rejected }

export const make: Effect.Effect<Feed<OptionGreek>, never, ThetaTerminal | AppConfig> = Effect.gen(
  function* () {
    const terminal = yield* ThetaTerminal
    const { thetadata } = yield* AppConfig
    // A root's expirations are listed once per run (every day of it picks its own from the list).
    const listed = new Map<string, ReadonlyArray<string>>()
    const expirations = (symbol: string) =>
      Effect.suspend(() => {
        const known = listed.get(symbol)
        if (known !== undefined) return Effect.succeed(known)
        return terminal.expirations(symbol).pipe(
          Effect.tap((all) => Effect.sync(() => listed.set(symbol, all))),
          Effect.mapError(vendorErrorOf)
        )
      })

    const unitsOf = (symbol: string, session: TradingSession) =>
      Effect.map(expirations(symbol), (all) => expirationsOfDay(all, session.date, thetadata.maxDte))

    const fetchUnit = (symbol: string, session: TradingSession, expiration: string) =>
      terminal
        .greeks({ symbol, expiration, date: session.date })
        .pipe(Stream.map(pageOf), Stream.mapError(vendorErrorOf))

    const fetchDay = (symbol: string, session: TradingSession) =>
      Stream.unwrap(
        Effect.map(unitsOf(symbol, session), (units) =>
          Stream.flatMap(Stream.fromIterable(units), (e) => fetchUnit(symbol, session, e))
        )
      )

    return {
      dataset: OptionGreeks1m,
      vendor: VENDOR,
      fetchDay,
      fetchWindow: (instruments, session, fromMs, toMs) =>
        Stream.flatMap(Stream.fromIterable(instruments), (symbol) =>
          fetchDay(symbol, session).pipe(
            Stream.map((page) => ({
              records: (page.columns === undefined
                ? page.records
                : rowsOfColumns(OptionGreeks1m, page.columns)
              ).filter((g) => g.ts >= fromMs && g.ts < toMs),
              rejected: page.rejected
            }))
          )
        ),
      units: { noun: "expiration", of: unitsOf, fetch: fetchUnit, concurrency: thetadata.concurrency }
    }
  }
)
