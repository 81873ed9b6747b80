/**
 * Massive's market status endpoints as the simulator answers them from the NYSE calendar:
 * `/v1/marketstatus/now` (`marketStatusNow`) and `/v1/marketstatus/upcoming` (`upcoming`).
 */
import { earlyClosesOf, holidaysOf, nyseDay } from "../calendar/nyseRules.js"
import { addDays, newYorkDate, newYorkOffsetMinutes, newYorkTimeToEpochMs } from "../domain/time.js"

const pad2 = (n: number) => String(n).padStart(2, "0")

const newYorkIso = (ms: number): string => {
  const offset = newYorkOffsetMinutes(ms)
  const local = new Date(Math.floor(ms / 1000) * 1000 + offset * 60_000).toISOString().slice(0, 19)
  const abs = Math.abs(offset)
  return `${local}${offset < 0 ? "-" : "+"}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`
}

export const marketStatusNow = (now: number) => {
  const date = newYorkDate(now)
  const day = nyseDay(date)
  let market = "closed"
  let earlyHours = false
  let afterHours = false
  if (day._tag === "open") {
    if (now >= day.openMs && now < day.closeMs) market = "open"
    else if (now >= newYorkTimeToEpochMs(date, 4, 0) && now < day.openMs) {
      market = "extended-hours"
      earlyHours = true
    } else if (now >= day.closeMs && now < newYorkTimeToEpochMs(date, 20, 0)) {
      market = "extended-hours"
      afterHours = true
    }
  }
  // FX trades around the clock from Sunday 17:00 to Friday 17:00 New York time.
  const dow = new Date(`${date}T00:00:00Z`).getUTCDay()
  const fivepm = newYorkTimeToEpochMs(date, 17, 0)
  const fxClosed = dow === 6 || (dow === 5 && now >= fivepm) || (dow === 0 && now < fivepm)
  return {
    market,
    earlyHours,
    afterHours,
    serverTime: newYorkIso(now),
    exchanges: { nyse: market, nasdaq: market, otc: market },
    currencies: { fx: fxClosed ? "closed" : "open", crypto: "open" }
  }
}

const VENDOR_HOLIDAY_NAMES: Readonly<Record<string, string>> = {
  "New Year's Day": "New Years Day",
  "Juneteenth National Independence Day": "Juneteenth",
  "Thanksgiving Day": "Thanksgiving",
  "Christmas Day": "Christmas",
  "Day after Thanksgiving": "Thanksgiving",
  "Christmas Eve": "Christmas"
}
const vendorName = (rule: string): string => {
  const base = rule.replace(/ \(early close\)$/, "")
  return VENDOR_HOLIDAY_NAMES[base] ?? base
}

export const upcoming = (now: number) => {
  const from = newYorkDate(now)
  const to = addDays(from, 365)
  const firstYear = Number(from.slice(0, 4))
  const days: Array<{ date: string; name: string; early: boolean }> = []
  for (const year of [firstYear, firstYear + 1]) {
    for (const [date, name] of holidaysOf(year)) days.push({ date, name, early: false })
    for (const [date, name] of earlyClosesOf(year)) days.push({ date, name, early: true })
  }
  const out: Array<Record<string, string>> = []
  for (const d of days
    .filter((d) => d.date >= from && d.date <= to)
    .sort((a, b) => (a.date < b.date ? -1 : 1))) {
    for (const exchange of ["NYSE", "NASDAQ"]) {
      const name = vendorName(d.name)
      if (!d.early) {
        out.push({ exchange, name, date: d.date, status: "closed" })
        continue
      }
      const session = nyseDay(d.date)
      if (session._tag !== "open") continue
      out.push({
        exchange,
        name,
        date: d.date,
        status: "early-close",
        open: new Date(session.openMs).toISOString(),
        close: new Date(session.closeMs).toISOString()
      })
    }
  }
  return out
}
