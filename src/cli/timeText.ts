/** Times and durations typed on the command line (`--since`, `--window`). */

const UNITS: Record<string, number> = { m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 }

/** `30m`, `24h`, `7d` in ms; undefined when it is none of these. */
export const parseDuration = (text: string): number | undefined => {
  const m = /^(\d+)\s*(m|min|h|d)$/.exec(text.trim())
  return m === null ? undefined : Number(m[1]) * UNITS[m[2]!]!
}

/**
 * A point in time: a date (`2026-12-01`, from its midnight UTC), an ISO time, or a duration back
 * from `nowMs` (`30m`, `24h`, `7d`); undefined when it is none of these.
 */
export const parseSince = (text: string, nowMs: number): number | undefined => {
  const duration = parseDuration(text)
  if (duration !== undefined) return nowMs - duration
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    const ms = Date.parse(`${text}T00:00:00Z`)
    return Number.isNaN(ms) ? undefined : ms
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    const ms = Date.parse(text)
    return Number.isNaN(ms) ? undefined : ms
  }
  return undefined
}
