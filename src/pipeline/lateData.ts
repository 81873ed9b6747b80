/**
 * LateData: while streaming, records whose partition (trading day) is older than the current
 * session, beyond an allowed number of previous trading days, go to quarantine instead of
 * rewriting closed days behind the user's back. Backfill does not use it (it asks for old days).
 */
import { nyseDay } from "../calendar/nyseRules.js"
import type { Dataset, Rejected } from "../domain/Dataset.js"
import { addDays } from "../domain/time.js"

/** The trading days accepted while `currentDate` is the session: it and the `days` before it. */
export const acceptedDates = (currentDate: string, days: number): ReadonlySet<string> => {
  const accepted = new Set<string>([currentDate])
  let d = currentDate
  for (let n = 0; n < days; ) {
    d = addDays(d, -1)
    if (nyseDay(d)._tag === "open") {
      accepted.add(d)
      n++
    }
  }
  return accepted
}

export const makeLateDataFilter = <A>(dataset: Dataset<A>, currentDate: string, days: number) => {
  const accepted = acceptedDates(currentDate, days)
  const window = days === 0 ? "the current trading day only" : `the current trading day and ${days} before it`
  return (records: ReadonlyArray<A>): { readonly accepted: Array<A>; readonly rejected: Array<Rejected> } => {
    const ok: Array<A> = []
    const rejected: Array<Rejected> = []
    for (let i = 0; i < records.length; i++) {
      const a = records[i]!
      const date = dataset.partitionDate(a)
      if (accepted.has(date) || date > currentDate) ok.push(a)
      else
        rejected.push({
          record: a as Readonly<Record<string, unknown>>,
          reason: `late data: a record of ${date} arrived during the ${currentDate} session (accepted: ${window}; settings.stream.late_data_days)`
        })
    }
    return { accepted: ok, rejected }
  }
}
