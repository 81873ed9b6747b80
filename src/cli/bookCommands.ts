/**
 * The commands over stored order books (issue 13): `books` (top-N books on a time grid),
 * `fidelity` (a symbol-day's report against the REST snapshots) and `assess` (what the lake holds
 * of a range and what more costs). The work is in src/books/bookJobs.ts, loaded when a command
 * runs so `--help` stays fast.
 */
import { Command, HelpDoc, Options, ValidationError } from "@effect/cli"
import { Console, Effect } from "effect"
import { UsageError } from "../domain/errors.js"
import { BookCommandError } from "./errors.js"
import { choiceOption, dateOption, integerOption } from "./optionTypes.js"
import { root } from "./root.js"
import { resolveConfig } from "./setup.js"

const VENUES = ["binance-spot", "binance-usdm"] as const

const venue = choiceOption("venue", VENUES).pipe(
  Options.withDescription("The venue: binance-spot or binance-usdm.")
)

const symbol = Options.text("symbol").pipe(
  Options.withPseudoName("SYMBOL"),
  Options.withDescription("The instrument as Binance spells it, e.g. BTCUSDT (upper-cased)."),
  Options.mapEffect((s) => {
    const t = s.trim().toUpperCase()
    return /^[A-Z0-9]{2,30}$/.test(t)
      ? Effect.succeed(t)
      : Effect.fail(
          ValidationError.invalidValue(
            HelpDoc.p(`--symbol ${s} is not a Binance symbol; expected letters and digits, e.g. BTCUSDT.`)
          )
        )
  })
)

const levels = integerOption("levels", { min: 1, max: 100, expected: "levels per side, 1 to 100" }).pipe(
  Options.withDescription("Levels per side (1-100). Default 20."),
  Options.withDefault(20)
)

/** `100ms`, `1s`, `5m`: at least 10 ms, at most a day. */
export const parseEvery = (text: string): number | undefined => {
  const m = /^(\d+)(ms|s|m)$/.exec(text.trim())
  if (m === null) return undefined
  const ms = Number(m[1]) * (m[2] === "ms" ? 1 : m[2] === "s" ? 1000 : 60_000)
  return ms >= 10 && ms <= 86_400_000 ? ms : undefined
}

const every = Options.text("every").pipe(
  Options.withPseudoName("INTERVAL"),
  Options.withDescription(
    "Sample interval: a number and ms, s or m (10ms to 1440m), e.g. 100ms. Default 100ms."
  ),
  Options.withDefault("100ms"),
  Options.mapEffect((text) => {
    const ms = parseEvery(text)
    return ms === undefined
      ? Effect.fail(
          ValidationError.invalidValue(
            HelpDoc.p(`--every ${text} is not an interval; expected 10ms to 1440m, e.g. 100ms, 1s, 5m.`)
          )
        )
      : Effect.succeed({ text: text.trim(), ms })
  })
)

const from = dateOption("from").pipe(Options.withDescription("First UTC day, YYYY-MM-DD (inclusive)."))
const to = dateOption("to").pipe(Options.withDescription("Last UTC day, YYYY-MM-DD (inclusive)."))

const checkRange = (f: string, t: string) =>
  f > t ? Effect.fail(new UsageError({ detail: `--from ${f} is after --to ${t}.` })) : Effect.void

/** The job's target from the config: data dir and the book key (when set, files are decrypted). */
const targetOf = (v: string, s: string) =>
  Effect.gen(function* () {
    const config = yield* resolveConfig(yield* root)
    const jobs = yield* Effect.promise(() => import("../books/bookJobs.js"))
    const { bookKeyFromEnv } = yield* Effect.promise(() => import("../books/encryption.js"))
    // Reading needs the key whenever files are encrypted, whatever book.encrypt says now.
    let key = config.book.encryptKey
    if (key === undefined && process.env["TAPEHOUSE_BOOK_KEY"] !== undefined) {
      const parsed = bookKeyFromEnv(true, process.env)
      if (parsed._tag === "Left") return yield* parsed.left
      key = parsed.right
    }
    return { jobs, target: { dataDir: config.dataDir, venue: v, symbol: s, key } }
  })

/** A job's failure (no data, unreadable or undecryptable file) as a domain error (exit 1). */
const attempt = <A>(f: () => Promise<A>) =>
  Effect.tryPromise({
    try: f,
    catch: (cause) => new BookCommandError({ detail: cause instanceof Error ? cause.message : String(cause) })
  })

export const booksCommand = Command.make("books", { venue, symbol, from, to, levels, every }, (opts) =>
  Effect.gen(function* () {
    yield* checkRange(opts.from, opts.to)
    const { jobs, target } = yield* targetOf(opts.venue, opts.symbol)
    const outcomes = yield* attempt(() =>
      jobs.rebuildBooks(target, {
        from: opts.from,
        to: opts.to,
        levels: opts.levels,
        everyMs: opts.every.ms,
        everyText: opts.every.text
      })
    )
    let total = 0
    for (const o of outcomes) {
      total += o.rows
      yield* Console.log(
        o.rows === 0
          ? `${o.date}: no book held (no book_deltas with a snapshot block for ${opts.symbol})`
          : `${o.date}: ${o.rows} rows in ${o.files.length} file(s)${o.gaps > 0 ? `, ${o.gaps} sequence gap(s) (no rows from the last event before each gap to its re-sync)` : ""}`
      )
    }
    if (total === 0)
      return yield* new BookCommandError({
        detail: `no books written: the lake holds no book_deltas of ${opts.symbol} on ${opts.venue} from ${opts.from} to ${opts.to}.`
      })
    const first = outcomes.find((o) => o.files.length > 0)
    if (first !== undefined) yield* Console.log(`written under ${first.files[0]!.replace(/\/date=.*$/, "")}`)
  })
).pipe(
  Command.withDescription(
    "Rebuild a symbol's order books from the stored book_deltas (each day from its start-of-day snapshot) and write its top N levels every interval of exchange time as book_top<N>_<interval> (ts, symbol, u, bid_px_0, bid_sz_0 … ask_px_<N-1>, ask_sz_<N-1>; exact DECIMAL prices) under lake/, one file per period of the day. A rerun rewrites the days it covers."
  )
)

export const fidelityCommand = Command.make(
  "fidelity",
  {
    venue,
    symbol,
    date: dateOption("date").pipe(Options.withDescription("The UTC day, YYYY-MM-DD.")),
    levels,
    json: Options.boolean("json").pipe(
      Options.withDescription("Print the report's JSON to stdout (the files are still written).")
    )
  },
  (opts) =>
    Effect.gen(function* () {
      const { jobs, target } = yield* targetOf(opts.venue, opts.symbol)
      const outcome = yield* attempt(() => jobs.fidelityOfDay(target, opts.date, opts.levels))
      if (opts.json) {
        yield* Console.log(JSON.stringify(outcome.report, null, 2))
        return
      }
      const r = outcome.report
      const pct = (v: number | null) => (v === null ? "n/a" : `${(v * 100).toFixed(4)} %`)
      yield* Console.log(
        `${opts.symbol} ${opts.venue} ${opts.date}: gap ratio ${pct(r.gap_ratio)} (${r.ledger_gaps} gap(s) in the continuity ledger, ${r.events_lost} level changes lost${r.unrecorded_gaps > 0 ? `, ${r.unrecorded_gaps} break(s) of the stored ids not in the ledger` : ""}), coverage ${pct(r.coverage)}, ${r.snapshots_compared} snapshot(s) compared (${r.snapshots_top_equal} equal), best bid RMS ${r.best_bid_rms ?? "n/a"}, best ask RMS ${r.best_ask_rms ?? "n/a"}`
      )
      yield* Console.log(`report: ${outcome.jsonFile}`)
      yield* Console.log(`page:   ${outcome.htmlFile}`)
    })
).pipe(
  Command.withDescription(
    "Report how faithful a symbol-day's stored books are: sequence gap ratio, coverage of exchange time, and best bid/ask RMS error and per-level depth correlation of the rebuilt book against the REST snapshots taken during capture (book.validate_every_ms). Writes <data-dir>/reports/fidelity-<venue>-<symbol>-<date>.json and .html (inline SVG charts) and prints their paths."
  )
)

export const assessCommand = Command.make(
  "assess",
  {
    venue,
    symbol,
    from,
    to,
    levels,
    every,
    json: Options.boolean("json").pipe(Options.withDescription("Print the assessment as JSON."))
  },
  (opts) =>
    Effect.gen(function* () {
      yield* checkRange(opts.from, opts.to)
      const { jobs, target } = yield* targetOf(opts.venue, opts.symbol)
      const { assessLines } = yield* Effect.promise(() => import("../books/assess.js"))
      const report = yield* attempt(() =>
        jobs.assessRange(target, {
          from: opts.from,
          to: opts.to,
          levels: opts.levels,
          everyMs: opts.every.ms
        })
      )
      if (opts.json) yield* Console.log(JSON.stringify(report, null, 2))
      else for (const line of assessLines(report)) yield* Console.log(line)
    })
).pipe(
  Command.withDescription(
    "Before a long rebuild or training run: what the lake holds of a symbol's book_deltas over a range of days (days held, exchange time covered, events, gaps and update ids missed, events per second mean and peak) and estimates of disk per day and year, memory to rebuild, and the size of books output at --levels and --every."
  )
)
