/**
 * Stage 1 of a stream: the session. Market time (the vendor's clock when it is a replay, else the
 * Clock), the session open now or next, and the wait for its open.
 */
import { Effect } from "effect"
import type { MarketCalendar, TradingSession } from "../../calendar/MarketCalendar.js"
import type { VendorAuthError } from "../../domain/errors.js"
import { newYorkDate } from "../../domain/time.js"
import * as MarketTime from "../marketTime.js"

/** The last bars of a session are published ~2 s after its close; wait a little longer. */
export const CLOSE_GRACE_MS = 5000

/** The session that is open now, or the next one (searching up to two weeks ahead). */
export const currentOrNextSession = (calendar: MarketCalendar["Type"], nowMs: number): TradingSession => {
  let date = newYorkDate(nowMs)
  for (let i = 0; i < 15; i++) {
    const day = calendar.day(date)
    if (day._tag === "open" && nowMs < day.closeMs) return day
    date = new Date(Date.parse(`${date}T12:00:00Z`) + 86_400_000).toISOString().slice(0, 10)
  }
  throw new Error(`no NYSE session in the two weeks after ${new Date(nowMs).toISOString()}`)
}

const describeWait = (ms: number) => {
  const m = Math.round(ms / 60_000)
  return m < 120 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`
}

export interface SessionClock {
  readonly clock: MarketTime.MarketTime
  readonly session: TradingSession
  /** Market time when the stream may stop (the close and its grace). */
  readonly stopAt: number
  /** Market time once the session is open (after the wait, if there was one). */
  readonly openedAt: number
}

/**
 * Finds the session and waits for its open (`onWait` is told when it waits). Every wait is on
 * Effect's Clock.
 */
export const awaitSession = (
  calendar: MarketCalendar["Type"],
  vendorClock: Effect.Effect<number | undefined, VendorAuthError>,
  onWait: () => void
) =>
  Effect.gen(function* () {
    const clock = yield* MarketTime.make(vendorClock)
    let now = yield* clock.now
    const session = currentOrNextSession(calendar, now)
    if (clock.isReplay())
      yield* Effect.logInfo(`the vendor's clock is a replay of ${session.date}; following it`)
    if (now < session.openMs) {
      yield* Effect.logInfo(
        `market closed; waiting until ${new Date(session.openMs).toISOString()} (${session.date} 09:30 New York, in ${describeWait(session.openMs - now)})`
      )
      onWait()
      yield* Effect.sleep(session.openMs - now)
      now = yield* clock.now
    }
    const result: SessionClock = { clock, session, stopAt: session.closeMs + CLOSE_GRACE_MS, openedAt: now }
    return result
  })
