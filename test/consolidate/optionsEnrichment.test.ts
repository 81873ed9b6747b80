import { describe, expect, it } from "vitest"
import { bsmGreeks, bsmPrice } from "../../src/analytics/bsm.js"
import { IV_REASONS } from "../../src/analytics/impliedVolatility.js"
import { seriesOf } from "../../src/consolidate/asOf.js"
import {
  enrichOptionBars,
  enrichOptionColumns,
  NO_UNDERLYING_REASON,
  optionBarColumns,
  optionBarColumnsOfRows,
  YEAR_MS
} from "../../src/consolidate/optionsEnrichment.js"
import { OptionsEnriched1s } from "../../src/domain/Consolidated.js"
import type { OptionBar } from "../../src/domain/OptionBar.js"
import { OptionBars1s } from "../../src/domain/OptionBar.js"
import { newYorkTimeToEpochMs } from "../../src/domain/time.js"
import { RATE, RULES, smileVol } from "../../src/sim/options/optionsChain.js"
import { encodeColumns, encodeParquet } from "../../src/sinks/parquetCodec.js"
import { columnsFromRows } from "../../src/sinks/parquetColumns.js"
import { simDay } from "./simDay.js"

const T0 = newYorkTimeToEpochMs("2024-03-05", 10, 0)
const series = (points: ReadonlyArray<readonly [number, number]>) =>
  seriesOf(
    points,
    (p) => p[0],
    (p) => p[1]
  )

const bar = (over: Partial<OptionBar>): OptionBar => ({
  symbol: "O:SPY240308C00500000",
  underlying: "SPY",
  expiration_date: "2024-03-08",
  strike_price: 500,
  contract_type: "call",
  ts: T0,
  open: 5,
  high: 5,
  low: 5,
  close: 5,
  volume: 1,
  vwap: 5,
  trades: 1,
  ...over
})

describe("options_enriched_1s rows", () => {
  it("recover a known volatility and its greeks, with the as-of underlying and VIX", () => {
    const t = (newYorkTimeToEpochMs("2024-03-08", 16, 0) - (T0 + 1000)) / YEAR_MS
    const price = bsmPrice(true, 502, 500, t, 0.04, 0.01, 0.2)
    const [row] = enrichOptionBars([bar({ close: price })], {
      // 502 at T0 − 3 s is the last at or before T0; the one at T0 + 1 s is after it.
      underlying: series([
        [T0 - 5000, 501],
        [T0 - 3000, 502],
        [T0 + 1000, 600]
      ]),
      vix: series([
        [T0 - 60_000, 14.5],
        [T0, 15],
        [T0 + 1000, 99]
      ]),
      rate: 0.04,
      dividendYield: 0.01
    })
    expect(row!.underlying_price).toBe(502)
    expect(row!.underlying_age_ms).toBe(3000)
    expect(row!.vix).toBe(15)
    expect(row!.t_years).toBe(t)
    expect(row!.dte).toBe(3)
    expect(row!.moneyness).toBeCloseTo(Math.log(500 / (502 * Math.exp(0.03 * t))), 15)
    expect(row!.iv).toBeCloseTo(0.2, 9)
    const g = bsmGreeks(true, 502, 500, t, 0.04, 0.01, row!.iv!)
    expect([row!.delta, row!.gamma, row!.theta, row!.vega, row!.rho]).toEqual([
      g.delta,
      g.gamma,
      g.theta,
      g.vega,
      g.rho
    ])
    expect(row!.iv_reason).toBeNull()
    expect([row!.rate, row!.div_yield]).toEqual([0.04, 0.01])
  })

  it("say why there is no implied volatility, with null greeks", () => {
    const rows = enrichOptionBars(
      [bar({ ts: T0 - 10_000 }), bar({ close: 0.5 }), bar({ close: 600, contract_type: "call" })],
      { underlying: series([[T0 - 5000, 510]]), vix: series([]), rate: 0.05, dividendYield: 0 }
    )
    expect(rows.map((r) => r.iv_reason)).toEqual([
      NO_UNDERLYING_REASON,
      IV_REASONS.belowIntrinsic,
      IV_REASONS.callAboveSpot
    ])
    for (const r of rows)
      expect([r.iv, r.delta, r.gamma, r.theta, r.vega, r.rho]).toEqual([null, null, null, null, null, null])
    expect(rows[0]!.underlying_price).toBeNull()
    expect(rows[0]!.moneyness).toBeNull()
    expect(rows[1]!.vix).toBeNull()
  })

  it("as columns: the same Parquet bytes as its rows, and only the bars of the underlying", () => {
    const t = (newYorkTimeToEpochMs("2024-03-08", 16, 0) - (T0 + 1000)) / YEAR_MS
    const bars = [
      bar({ ts: T0 - 10_000 }),
      bar({ close: 0.5 }),
      bar({ close: bsmPrice(true, 510, 500, t, 0.05, 0, 0.25), contract_type: "call" }),
      bar({ symbol: "O:SPY240308P00500000", close: 4 })
    ]
    const inputs = {
      underlying: series([[T0 - 5000, 510]]),
      vix: series([[T0, 15]]),
      rate: 0.05,
      dividendYield: 0
    }
    const options = { compression: "snappy", rowGroupSize: 1000 } as const
    const table = enrichOptionColumns(optionBarColumnsOfRows(bars), inputs)
    const rows = enrichOptionBars(bars, inputs)
    expect(rows.map((r) => r.iv === null)).toEqual([true, true, false, rows[3]!.iv === null])
    expect(rows[2]!.iv).toBeCloseTo(0.25, 9)
    expect(encodeColumns(OptionsEnriched1s, table, options)).toEqual(
      encodeParquet(OptionsEnriched1s, rows, options)
    )
    // A lake day of two underlyings: only SPY's bars are enriched.
    const day = [...bars, bar({ symbol: "O:QQQ240308P00400000", underlying: "QQQ" })]
    const lake = { length: day.length, columns: columnsFromRows(OptionBars1s.columns, day) }
    expect(enrichOptionColumns(optionBarColumns(lake, "SPY"), inputs)).toEqual(table)
  })

  it("on the simulator's chain, iv is the documented smile within 1e-6 wherever vega ≥ 1e-3", () => {
    const day = simDay("SPY", "2024-03-05", 0.004, 1)
    const q = RULES.SPY!.dividendYield
    const rows = enrichOptionBars(day.options, {
      underlying: seriesOf(
        day.underlying,
        (b) => b.ts,
        (b) => b.close
      ),
      vix: seriesOf(
        day.vix,
        (b) => b.ts,
        (b) => b.close
      ),
      rate: RATE,
      dividendYield: q
    })
    let checked = 0
    const misses: Array<string> = []
    for (const r of rows) {
      if (r.underlying_price === null || r.close <= 0.01) continue
      // The documented smile at the row's own inputs: k = ln(K/F) is the row's moneyness.
      const sigma = smileVol("SPY", r.moneyness!, r.t_years)
      const vega = bsmGreeks(
        r.contract_type === "call",
        r.underlying_price,
        r.strike_price,
        r.t_years,
        RATE,
        q,
        sigma
      ).vega
      if (vega < 1e-3) continue
      checked++
      if (r.iv === null || !(Math.abs(r.iv - sigma) <= 1e-6))
        misses.push(`${r.symbol} ${r.ts}: ${r.iv ?? r.iv_reason} vs ${sigma}`)
    }
    expect(checked).toBeGreaterThan(5000)
    expect(misses.slice(0, 5)).toEqual([])
  })
})
