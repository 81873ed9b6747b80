/**
 * `tapehouse consolidate` end to end: a day of SPY, I:VIX, its tracked option chain and news
 * backfilled from the simulator through the CLI, consolidated (on demand with inputs missing, then by
 * itself when the backfill completes the last input), read back from Parquet (hyparquet),
 * and rebuilt to the same bytes.
 */
import { createHash } from "node:crypto"
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { bsmGreeks } from "../../src/analytics/bsm.js"
import { OptionsEnriched1s, UnderlyingFeatures1s } from "../../src/domain/Consolidated.js"
import { OptionBars1s } from "../../src/domain/OptionBar.js"
import * as MassiveSim from "../../src/sim/MassiveSim.js"
import * as NewsRoute from "../../src/sim/newsRoute.js"
import { RATE, smileVol } from "../../src/sim/options/optionsChain.js"
import { optionsMarket, registerOptionContracts } from "../../src/sim/options/optionsSim.js"
import { makeConfigDir, runCli } from "../support/cli.js"
import { filesUnder, readLake, tempDir } from "../support/fixtures.js"

const KEY = "sk-test-consolidate"
const DAY = "2024-03-05"
const Q = 0.013

const hashes = (dataDir: string) =>
  Effect.gen(function* () {
    const lake = Path.join(dataDir, "lake")
    const files = (yield* filesUnder(lake)).filter(
      (f) => f.startsWith("options_enriched_1s/") || f.startsWith("underlying_features_1s/")
    )
    const out: Record<string, string> = {}
    for (const f of files)
      out[f] = createHash("sha256")
        .update(yield* Effect.promise(() => NodeFs.readFile(Path.join(lake, f))))
        .digest("hex")
    return out
  })

describe("consolidate through the CLI", () => {
  it.scopedLive(
    "builds the day from the lake, by itself once every input is in, idempotently",
    () =>
      Effect.gen(function* () {
        const sim = yield* MassiveSim.make({ markets: [...MassiveSim.SYNTHETIC_MARKETS, optionsMarket] })
        registerOptionContracts(sim)
        NewsRoute.register(sim)
        const dir = yield* tempDir()
        const configDir = yield* makeConfigDir(dir, {
          // SQL is left out here (wide rows make the embedded database slow to fill): the tables and
          // the view are tested in test/sinks/sqlSchema.test.ts.
          sql: false,
          replace: [
            ["settings.yaml", /max_dte: 7/, "max_dte: 0"],
            ["settings.yaml", /dividend_yield: 0/, `dividend_yield: {SPY: ${Q}}`]
          ]
        })
        const dataDir = Path.join(dir, "data")
        const env = { TAPEHOUSE_MASSIVE_URL: sim.url, MASSIVE_API_KEY: KEY, TAPEHOUSE_DATA_DIR: dataDir }
        const cli = (...args: ReadonlyArray<string>) =>
          runCli(["--config-dir", configDir, ...args], { env, timeoutMs: 180_000 })
        const day = ["--from", DAY, "--to", DAY]
        for (const args of [
          ["backfill", "--dataset", "stock_bars_1s", "--symbols", "SPY", ...day],
          ["backfill", "--dataset", "index_bars_1s", "--symbols", "I:VIX", ...day],
          ["backfill", "--dataset", "news", "--tickers", "SPY", ...day]
        ]) {
          const r = yield* cli(...args)
          expect(r.code, r.stderr).toBe(0)
          expect(r.stdout).not.toContain("consolidated SPY")
        }

        // On demand, with the option chain not filled yet: built, and the missing inputs named.
        const early = yield* cli("consolidate", "--date", DAY)
        expect(early.code, early.stderr).toBe(0)
        expect(early.stdout).toContain(
          `consolidated SPY ${DAY}: options_enriched_1s 0 rows, underlying_features_1s 23,400 rows; built without the inputs not complete: option_contracts SPY (not filled), option_bars_1s SPY (not filled)`
        )

        // The backfill that completes the last input consolidates the day by itself.
        const options = yield* cli("backfill", "--dataset", "option_bars_1s", "--underlying", "SPY", ...day)
        expect(options.code, options.stderr).toBe(0)
        const bars = yield* readLake(dataDir, OptionBars1s)
        expect(bars.length).toBeGreaterThan(10_000)
        expect(options.stdout).toContain(
          `consolidated SPY ${DAY}: options_enriched_1s ${bars.length.toLocaleString("en-US")} rows, underlying_features_1s 23,400 rows\n`
        )
        const built = yield* hashes(dataDir)
        expect(Object.keys(built)).toEqual([
          `options_enriched_1s/date=${DAY}/part-0000.parquet`,
          `underlying_features_1s/date=${DAY}/part-0000.parquet`
        ])

        // Read back: every option bar, with the simulator's smile recovered where vega ≥ 1e-3.
        const rows = yield* readLake(dataDir, OptionsEnriched1s)
        expect(rows.length).toBe(bars.length)
        let checked = 0
        for (const r of rows) {
          expect([r.rate, r.div_yield]).toEqual([RATE, Q])
          if (r.underlying_price === null || r.close <= 0.01) continue
          const sigma = smileVol("SPY", r.moneyness!, r.t_years)
          const call = r.contract_type === "call"
          if (bsmGreeks(call, r.underlying_price, r.strike_price, r.t_years, RATE, Q, sigma).vega < 1e-3)
            continue
          checked++
          expect(Math.abs(r.iv! - sigma)).toBeLessThanOrEqual(1e-6)
        }
        expect(checked).toBeGreaterThan(5000)
        const features = yield* readLake(dataDir, UnderlyingFeatures1s)
        expect(features.length).toBe(23_400)
        expect(features.filter((f) => f.vix !== null).length).toBeGreaterThan(23_000)

        // A rerun writes the same bytes.
        const again = yield* cli("consolidate", "--date", DAY)
        expect(again.code, again.stderr).toBe(0)
        expect(yield* hashes(dataDir)).toEqual(built)
      }),
    600_000
  )
})
