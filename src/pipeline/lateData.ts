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
  // Numeric bounds, built once: a time-zone lookup per record cost more than the rest of the
  // pipeline together (measured by bench/stream.ts).
  const ranges = [...acceptedDates(currentDate, days)].map((d) => dataset.partitionRange(d))
  const futureFrom = dataset.partitionRange(currentDate).startMs
  const accept = (t: number) => {
    if (t >= futureFrom) return true
    for (let i = 0; i < ranges.length; i++) if (t >= ranges[i]!.startMs && t < ranges[i]!.endMs) return true
    return false
  }
  const window = days === 0 ? "the current trading day only" : `the current trading day and ${days} before it`
  return (records: ReadonlyArray<A>): { readonly accepted: Array<A>; readonly rejected: Array<Rejected> } => {
    const ok: Array<A> = []
    const rejected: Array<Rejected> = []
    for (let i = 0; i < records.length; i++) {
      const a = records[i]!
      if (accept(dataset.eventTime(a))) {
        ok.push(a)
        continue
      }
      rejected.push({
        record: a as Readonly<Record<string, unknown>>,
        reason: `late data: a record of ${dataset.partitionDate(a)} arrived during the ${currentDate} session (accepted: ${window}; settings.stream.late_data_days)`
      })
    }
    return { accepted: ok, rejected }
  }
}
