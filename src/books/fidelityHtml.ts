/**
 * The fidelity report as a self-contained HTML page: a summary table and three inline SVG charts
 * (events per minute with the gaps marked, best bid/ask error per snapshot compared, and depth
 * correlation per level). No script, no external image or font: it opens from disk anywhere.
 */
import type { FidelityReport } from "./fidelity.js"

const W = 880
const H = 220
const PAD = { left: 64, right: 16, top: 16, bottom: 32 }

const esc = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const fmt = (v: number | null, digits = 6): string =>
  v === null ? "n/a" : Number.isInteger(v) ? String(v) : v.toPrecision(digits)

const pct = (v: number | null): string => (v === null ? "n/a" : `${(v * 100).toFixed(4)} %`)

interface Axes {
  readonly x: (v: number) => number
  readonly y: (v: number) => number
  readonly frame: string
}

const axes = (xMax: number, yMin: number, yMax: number, yLabel: string, xLabel: string): Axes => {
  const iw = W - PAD.left - PAD.right
  const ih = H - PAD.top - PAD.bottom
  const span = yMax - yMin || 1
  const x = (v: number) => PAD.left + (xMax > 0 ? (v / xMax) * iw : 0)
  const y = (v: number) => PAD.top + ih - ((v - yMin) / span) * ih
  const frame = [
    `<rect x="${PAD.left}" y="${PAD.top}" width="${iw}" height="${ih}" fill="none" stroke="#bbb"/>`,
    `<text x="${PAD.left - 6}" y="${PAD.top + 10}" text-anchor="end" font-size="11">${esc(fmt(yMax, 4))}</text>`,
    `<text x="${PAD.left - 6}" y="${PAD.top + ih}" text-anchor="end" font-size="11">${esc(fmt(yMin, 4))}</text>`,
    `<text x="${PAD.left + iw / 2}" y="${H - 6}" text-anchor="middle" font-size="11">${esc(xLabel)}</text>`,
    `<text x="12" y="${PAD.top + ih / 2}" font-size="11" transform="rotate(-90 12 ${PAD.top + ih / 2})" text-anchor="middle">${esc(yLabel)}</text>`
  ].join("")
  return { x, y, frame }
}

const svg = (title: string, body: string): string =>
  `<figure><figcaption>${esc(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">${body}</svg></figure>`

const eventsChart = (r: FidelityReport): string => {
  const counts = r.events_per_minute
  const max = Math.max(1, ...counts)
  const a = axes(Math.max(1, counts.length), 0, max, "events / minute", "minute of the day (UTC)")
  const points = counts.map((c, i) => `${a.x(i).toFixed(1)},${a.y(c).toFixed(1)}`).join(" ")
  const dayStart = Date.parse(`${r.date}T00:00:00Z`)
  const gaps = r.gap_list
    .map((g) => {
      const minute = (Date.parse(g.time) - dayStart) / 60_000
      const gx = a.x(minute).toFixed(1)
      return `<line x1="${gx}" x2="${gx}" y1="${PAD.top}" y2="${H - PAD.bottom}" stroke="#d33" stroke-width="1"><title>gap: ${g.missing_ids} ids at ${esc(g.time)}</title></line>`
    })
    .join("")
  return svg(
    `Events per minute (red lines: ${r.gaps} sequence gap(s))`,
    `${a.frame}<polyline fill="none" stroke="#2a6" stroke-width="1" points="${points}"/>${gaps}`
  )
}

const errorChart = (r: FidelityReport): string => {
  const values = r.series.flatMap((s) => [s.bid_error, s.ask_error]).filter((v): v is number => v !== null)
  const lo = Math.min(0, ...values)
  const hi = Math.max(0, ...values)
  const a = axes(
    Math.max(1, r.series.length - 1),
    lo === hi ? -1 : lo,
    lo === hi ? 1 : hi,
    "price error",
    "snapshot compared (in time order)"
  )
  const dots = (key: "bid_error" | "ask_error", color: string) =>
    r.series
      .map((s, i) => {
        const v = s[key]
        return v === null
          ? ""
          : `<circle cx="${a.x(i).toFixed(1)}" cy="${a.y(v).toFixed(1)}" r="2" fill="${color}"><title>${esc(s.time)} ${key} ${v}</title></circle>`
      })
      .join("")
  const zero = a.y(0).toFixed(1)
  return svg(
    "Best bid (blue) and best ask (orange) of the rebuilt book minus the REST snapshot's",
    `${a.frame}<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${zero}" y2="${zero}" stroke="#999" stroke-dasharray="3 3"/>${dots("bid_error", "#36c")}${dots("ask_error", "#e80")}`
  )
}

const depthChart = (r: FidelityReport): string => {
  const n = Math.max(1, r.depth_correlation.length)
  const a = axes(n, -1, 1, "correlation", "level (0 = best)")
  const iw = W - PAD.left - PAD.right
  const bw = Math.max(2, iw / n - 2)
  const zero = a.y(0)
  const bars = r.depth_correlation
    .map((c, i) => {
      const x = (a.x(i) + 1).toFixed(1)
      if (c === null) return `<text x="${x}" y="${(zero - 4).toFixed(1)}" font-size="9">n/a</text>`
      const top = Math.min(a.y(c), zero)
      const h = Math.abs(a.y(c) - zero)
      return `<rect x="${x}" y="${top.toFixed(1)}" width="${bw.toFixed(1)}" height="${h.toFixed(1)}" fill="#69c"><title>level ${i}: ${c}</title></rect>`
    })
    .join("")
  return svg("Depth correlation per level, rebuilt book against the REST snapshots", `${a.frame}${bars}`)
}

/** The page for `report`. */
export const fidelityHtml = (r: FidelityReport): string => {
  const rows: Array<[string, string]> = [
    ["venue / symbol / date", `${r.venue} ${r.symbol} ${r.date}`],
    ["sequence gap ratio (level changes lost ÷ expected)", pct(r.gap_ratio)],
    [
      "gaps in the continuity ledger / level changes lost",
      `${r.ledger_gaps} / ${r.events_lost}${r.unrecorded_gaps > 0 ? ` (${r.unrecorded_gaps} break(s) of the stored ids not in the ledger)` : ""}`
    ],
    ["breaks in the stored ids / update ids missed", `${r.gaps} / ${r.missing_ids} (${pct(r.id_gap_ratio)})`],
    ["coverage of exchange time", `${pct(r.coverage)} (${fmt(r.covered_seconds, 8)} s)`],
    ["events (applied)", `${r.events} (${r.applied_events}); ${r.level_changes} level changes`],
    [
      "snapshots compared (top equal / not comparable)",
      `${r.snapshots_compared} (${r.snapshots_top_equal} / ${r.snapshots_not_compared})`
    ],
    ["best bid RMS error", fmt(r.best_bid_rms)],
    ["best ask RMS error", fmt(r.best_ask_rms)],
    ["depth correlation (levels 0..)", r.depth_correlation.map((c) => fmt(c, 4)).join(", ")]
  ]
  const table = rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("\n")
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Fidelity ${esc(r.venue)} ${esc(r.symbol)} ${esc(r.date)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:960px}th{text-align:left;padding-right:1em;font-weight:600}td,th{padding:2px 8px;border-bottom:1px solid #eee}figure{margin:1.5em 0}figcaption{font-weight:600;margin-bottom:4px}</style>
</head><body>
<h1>Order book fidelity: ${esc(r.symbol)} on ${esc(r.venue)}, ${esc(r.date)}</h1>
<table>
${table}
</table>
${eventsChart(r)}
${errorChart(r)}
${depthChart(r)}
</body></html>
`
}
