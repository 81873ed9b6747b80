/** Reads ../shared/fixtures/greeks in place (tests skip when ../shared is absent). */
import { existsSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"

// The same ../shared as test/support/fixtures.ts's `sharedDir`, without loading the backfill stack.
export const greeksDir = resolve(import.meta.dirname, "../../../shared/fixtures/greeks")
export const haveGreeksFixtures =
  existsSync(join(greeksDir, "bsm-reference.csv")) && existsSync(join(greeksDir, "iv-bounds.csv"))
if (!haveGreeksFixtures)
  console.warn(`skipping the greeks reference tests: ${greeksDir} is absent (it is in ../shared)`)

const readCsv = (file: string): ReadonlyArray<Readonly<Record<string, string>>> => {
  const [header, ...lines] = readFileSync(join(greeksDir, file), "utf8").trim().split("\n")
  const cols = header!.split(",")
  return lines.map((line) => {
    const cells = line.split(",")
    return Object.fromEntries(cols.map((c, i) => [c, cells[i]!]))
  })
}

/** What an option's price depends on, but its volatility: the columns both files share. */
export interface OptionInputs {
  readonly case: string
  readonly call: boolean
  readonly spot: number
  readonly strike: number
  readonly t: number
  readonly rate: number
  readonly q: number
}

const inputsOf = (r: Readonly<Record<string, string>>): OptionInputs => ({
  case: r["case"]!,
  call: r["type"] === "call",
  spot: Number(r["spot"]),
  strike: Number(r["strike"]),
  t: Number(r["t_years"]),
  rate: Number(r["rate"]),
  q: Number(r["div_yield"])
})

export interface ReferenceRow extends OptionInputs {
  readonly sigma: number
  readonly price: number
  readonly delta: number
  readonly gamma: number
  readonly theta: number
  readonly vega: number
  readonly rho: number
}

/** bsm-reference.csv; values below the double range (e.g. 6e-1731) parse to 0, their right answer. */
export const referenceRows = (): ReadonlyArray<ReferenceRow> =>
  readCsv("bsm-reference.csv").map((r) => ({
    ...inputsOf(r),
    sigma: Number(r["sigma"]),
    price: Number(r["price"]),
    delta: Number(r["delta"]),
    gamma: Number(r["gamma"]),
    theta: Number(r["theta_per_year"]),
    vega: Number(r["vega_per_unit_vol"]),
    rho: Number(r["rho_per_unit_rate"])
  }))

export interface BoundsRow extends OptionInputs {
  readonly price: number
  readonly expected: string
}

export const boundsRows = (): ReadonlyArray<BoundsRow> =>
  readCsv("iv-bounds.csv").map((r) => ({
    ...inputsOf(r),
    price: Number(r["price"]),
    expected: r["expected"]!
  }))
