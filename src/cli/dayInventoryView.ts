/** The text views of a dataset's per-day inventory (dayInventory.ts): the whole table, and `--gaps`. */
import type { DatasetInventory, InventoryDay } from "./dayInventory.js"
import { DAY_STATES } from "./dayInventory.js"
import { formatBytes, formatInt, table } from "./display.js"

const NONE = "-"

const countsText = (inv: DatasetInventory) => DAY_STATES.map((s) => `${inv.counts[s]} ${s}`).join(", ")

const rangeText = (inv: DatasetInventory) =>
  `${inv.dataset} ${inv.from}..${inv.to}: ${inv.days.length} ${inv.calendar}`

/** Instruments named by a day's units, the first few. */
const instrumentsText = (days: ReadonlyArray<InventoryDay>) => {
  const names = [
    ...new Set(days.flatMap((d) => d.unitStatuses.map((u) => u.unit.split(" ")[0] ?? u.unit)))
  ].sort()
  const shown = names.slice(0, 10)
  return names.length === 0
    ? ""
    : `; instruments ${shown.join(",")}${names.length > shown.length ? ` and ${names.length - shown.length} more` : ""}`
}

/** `2024-03-05T21:00:01.123Z` → `2024-03-05 21:00:01Z`. */
const timeText = (iso: string | null) => (iso === null ? NONE : `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`)

/** The inventory table: one row per day, and one more per further file of a day. */
export const inventoryLines = (inv: DatasetInventory): ReadonlyArray<string> => {
  if (inv.from === null)
    return [`${inv.dataset}: the checkpoint journal holds no day yet; give --from and --to to list a range.`]
  const lines = [`${rangeText(inv)}: ${countsText(inv)}${instrumentsText(inv.days)}`]
  const rows: Array<ReadonlyArray<string>> = []
  for (const d of inv.days) {
    const dayCells = [
      d.date,
      d.state,
      d.units === 0 ? NONE : `${d.unitsDone}/${d.units}`,
      d.attempts === null ? NONE : String(d.attempts),
      d.rows === null ? NONE : formatInt(d.rows),
      d.files.length === 0 ? NONE : formatBytes(d.bytes)
    ]
    const fileCells = (i: number) => {
      const f = d.files[i]
      if (f === undefined) return [NONE, NONE, NONE, ...(inv.verified ? [NONE] : [])]
      return [
        f.file,
        f.sha256 ?? "not recorded",
        timeText(f.writtenAt),
        ...(inv.verified ? [f.verified ?? NONE] : [])
      ]
    }
    rows.push([...dayCells, ...fileCells(0), d.lastError ?? NONE])
    for (let i = 1; i < d.files.length; i++) rows.push([...dayCells.map(() => ""), ...fileCells(i), ""])
  }
  lines.push(
    table(
      [
        "date",
        "state",
        "units",
        "attempts",
        "rows",
        "bytes",
        "file",
        "sha256",
        "written",
        ...(inv.verified ? ["verify"] : []),
        "last error"
      ],
      rows
    )
  )
  if (inv.verified)
    lines.push(
      inv.problems.length === 0
        ? `verify: every file of the range has the bytes that were written`
        : `verify: ${inv.problems.length} file(s) changed or missing: ${inv.problems.map((p) => `${p.file} ${p.verified}`).join(", ")}`
    )
  return lines
}

/** `--gaps`: the days of the range that are not done, one a line, then how many. */
export const gapLines = (inv: DatasetInventory): ReadonlyArray<string> => {
  if (inv.from === null)
    return [`${inv.dataset}: the checkpoint journal holds no day yet; give --from and --to to list a range.`]
  const gaps = inv.days.filter((d) => d.state !== "done")
  return [
    ...gaps.map(
      (d) =>
        `${d.date} ${d.state}${d.units > 0 ? ` (${d.unitsDone}/${d.units} units done${d.attempts === null ? "" : `, ${d.attempts} attempt(s)`})` : ""}${d.lastError === null ? "" : `: ${d.lastError}`}`
    ),
    `${rangeText(inv)}, ${gaps.length} not done (${countsText(inv)})`
  ]
}
