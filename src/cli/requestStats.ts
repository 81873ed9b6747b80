/** How a command reports what its vendor client did: the summary's throttle part and a log line. */
import { Effect } from "effect"
import type { RequestStats } from "../sources/RequestStats.js"
import { formatDuration, formatInt } from "./display.js"

/** "12 request(s) throttled, 34.2 s waiting"; undefined when nothing was throttled. */
export const throttleNote = (s: RequestStats): string | undefined =>
  s.throttled === 0
    ? undefined
    : `${formatInt(s.throttled)} request(s) throttled, ${formatDuration(s.throttleWaitMs)} waiting`

/** A summary line with the throttle part appended when there is one. */
export const withThrottleNote = (summary: string, s: RequestStats): string => {
  const note = throttleNote(s)
  return note === undefined ? summary : `${summary}; ${note}`
}

/** Every counter in one log line: info when the run was throttled or retried, debug otherwise. */
export const logRequestStats = (vendor: string, s: RequestStats) => {
  const line = `${vendor} REST: ${formatInt(s.requests)} request(s), ${formatInt(s.throttled)} throttled (HTTP 429) with ${formatDuration(s.throttleWaitMs)} waiting, ${formatInt(s.errorRetries)} retried after errors`
  return s.throttled > 0 || s.errorRetries > 0 ? Effect.logInfo(line) : Effect.logDebug(line)
}
