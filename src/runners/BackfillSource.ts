/**
 * What the backfill runner needs from a vendor for one dataset: every record of one instrument
 * on one trading day, page by page. A new dataset is a new `BackfillSource` plus a `Dataset`.
 */
import type { Stream } from "effect"
import type { TradingSession } from "../calendar/MarketCalendar.js"
import type { Dataset, Rejected } from "../domain/Dataset.js"
import type { VendorAuthError, VendorDecodeError, VendorRequestError } from "../domain/errors.js"

export interface SourcePage<A> {
  readonly records: ReadonlyArray<A>
  /** Records that failed decoding at the vendor boundary. */
  readonly rejected: ReadonlyArray<Rejected>
}

export interface BackfillSource<A> {
  readonly dataset: Dataset<A>
  readonly vendor: string
  readonly fetchDay: (
    symbol: string,
    session: TradingSession
  ) => Stream.Stream<SourcePage<A>, VendorAuthError | VendorRequestError | VendorDecodeError>
}
