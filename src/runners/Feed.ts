/**
 * What the runners need from a vendor for one dataset: a `Feed`. It is the dataset's description
 * plus how to fetch its history through REST (a unit of work: one instrument on one trading day; a
 * window of time for gap repair and reconciliation) and, when the dataset streams, how it goes live.
 * A new dataset is a `Dataset` and a `Feed`; the runners, pipeline, sinks and monitors stay as they
 * are. Feeds are built by the vendor's modules (`src/sources/<vendor>/<dataset>Feed.ts`) and looked
 * up through the registry (`src/domain/datasets.ts`).
 */
import type { Effect, Stream } from "effect"
import type { TradingSession } from "../calendar/MarketCalendar.js"
import type { SessionPolicy } from "../calendar/sessionPolicy.js"
import type { Dataset, Rejected } from "../domain/Dataset.js"
import type {
  VendorAuthError,
  VendorDecodeError,
  VendorRequestError,
  VendorStopError
} from "../domain/errors.js"
import type { ColumnarRows } from "../sinks/parquetColumns.js"
import type { LiveFeed } from "./LiveFeed.js"

export interface SourcePage<A> {
  /** The page's rows as records; empty when it gives them as `columns`. */
  readonly records: ReadonlyArray<A>
  /**
   * The page's rows as columns of `dataset.columns` (a decoder that builds typed arrays: ThetaData
   * greeks), instead of `records`. The backfill then validates, checks and commits them as columns.
   */
  readonly columns?: ColumnarRows
  /** Records that failed decoding at the vendor boundary. */
  readonly rejected: ReadonlyArray<Rejected>
}

export type VendorError = VendorAuthError | VendorRequestError | VendorDecodeError | VendorStopError

/**
 * How a dataset whose day splits into units is fetched (option greeks: one unit per expiration).
 * Each unit of an instrument's day is fetched, committed and checkpointed on its own, as
 * (instrument, day, unit), into the partition `dataset.subPartition` = the unit. A unit the vendor
 * has no data for is recorded `empty`, and that is final: the day is complete when each of its
 * units is `done` or `empty`.
 */
export interface DayUnits<A> {
  /** What a unit is, for messages ("expiration"). */
  readonly noun: string
  /** The units of one instrument's trading day, in the order to fetch them. */
  readonly of: (
    instrument: string,
    session: TradingSession
  ) => Effect.Effect<ReadonlyArray<string>, VendorError>
  /** Every record of one unit. */
  readonly fetch: (
    instrument: string,
    session: TradingSession,
    unit: string
  ) => Stream.Stream<SourcePage<A>, VendorError>
  /** Units fetched at once, over every day of a run (the vendor's own limit on requests in flight). */
  readonly concurrency: number
}

export interface Feed<A> {
  readonly dataset: Dataset<A>
  readonly vendor: string
  /** Every record of one instrument (a value of `dataset.instrument`) on one trading day. */
  readonly fetchDay: (
    instrument: string,
    session: TradingSession
  ) => Stream.Stream<SourcePage<A>, VendorError>
  /**
   * Every record of `instruments` with event time in [fromMs, toMs) of `session`: what gap repair
   * and the end-of-session reconciliation fetch.
   */
  readonly fetchWindow: (
    instruments: ReadonlyArray<string>,
    session: TradingSession,
    fromMs: number,
    toMs: number
  ) => Stream.Stream<SourcePage<A>, VendorError>
  /** Columns the live feed does not carry (the reconciliation fills them from REST), e.g. trade counts. */
  readonly liveLacks?: ReadonlyArray<keyof A & string>
  /**
   * Whose hours it keeps: the exchange's sessions (`nyse`, the default) or every calendar day
   * (`always-open`: news). A backfill's days and a stream's session come from it.
   */
  readonly sessionPolicy?: SessionPolicy
  /** How the dataset is captured live, when it is. */
  readonly live?: LiveFeed<A>
  /** Its day's units, when a day is fetched and committed unit by unit (`DayUnits`). */
  readonly units?: DayUnits<A>
}

/** The backfill runner's part of a feed (a feed is one). */
export type BackfillSource<A> = Pick<Feed<A>, "dataset" | "vendor" | "fetchDay" | "sessionPolicy" | "units">
