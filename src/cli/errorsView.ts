/** How `tapehouse errors`, `health` and the end of a backfill show error groups. */
import type { ErrorGroup } from "../monitor/ErrorLog.js"
import { formatInt, table } from "./display.js"

const EXAMPLE_CHARS = 120

const shortTime = (iso: string) => iso.slice(0, 19).replace("T", " ")

/** One row per group: source, kind, count, first and last seen (UTC), and the example. */
export const errorsTable = (groups: ReadonlyArray<ErrorGroup>): string =>
  table(
    ["source", "kind", "count", "first seen (UTC)", "last seen (UTC)", "example"],
    groups.map((g) => [
      g.source,
      g.kind,
      formatInt(g.count),
      shortTime(g.firstSeen),
      shortTime(g.lastSeen),
      g.example.length > EXAMPLE_CHARS ? `${g.example.slice(0, EXAMPLE_CHARS - 1)}…` : g.example
    ])
  )
