/**
 * The backfill of a feed whose pages are columns (ThetaData greeks), in memory: rows stay columns
 * to the sinks (records only for a sink that reads them), bad lines and invalid rows go to
 * quarantine with their reasons, and an answer out of key order is deduplicated as records are.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Ref } from "effect"
import * as MarketCalendar from "../../src/calendar/MarketCalendar.js"
import { AppConfig } from "../../src/config/AppConfig.js"
import type { OptionGreek } from "../../src/domain/OptionGreek.js"
import * as Checkpoints from "../../src/pipeline/Checkpoints.js"
import * as Backfill from "../../src/runners/backfill.js"
import * as Quarantine from "../../src/sinks/Quarantine.js"
import { fanOut, type PartitionWrite, Sinks } from "../../src/sinks/Sink.js"
import * as OptionGreeksFeed from "../../src/sources/thetadata/optionGreeksFeed.js"
import * as ThetaTerminal from "../../src/sources/thetadata/ThetaTerminal.js"
import { testConfig } from "../support/fixtures.js"

const HEADER =
  "symbol,expiration,strike,right,timestamp,bid,ask,delta,theta,vega,rho,epsilon,lambda,implied_vol,iv_error,underlying_timestamp,underlying_price"
const line = (expiration: string, minute: number, delta = "0.51", strike = "5800.000") =>
  `SPXW,${expiration},${strike},CALL,2024-11-04T09:${30 + minute}:00,12.1,12.4,${delta},-3.2,4.1,0.9,-0.8,20.5,0.14,0.001,2024-11-04T09:${30 + minute}:00,5712.5`

const BODIES: Record<string, string> = {
  // sorted, with a line that cannot be read (line 4) and a row the rules reject (line 5)
  "2024-11-08": [
    HEADER,
    line("2024-11-08", 0),
    line("2024-11-08", 1),
    line("2024-11-08", 2, "0.5", "58x0"),
    line("2024-11-08", 3, "1.5"),
    line("2024-11-08", 4)
  ].join("\n"),
  // minute 1 sent twice: the later one wins
  "2024-11-05": [HEADER, line("2024-11-05", 0), line("2024-11-05", 1), line("2024-11-05", 1, "0.6")].join(
    "\n"
  )
}

interface Seen {
  readonly expiration: string | undefined
  readonly hasColumns: boolean
  readonly rowsIsGetter: boolean
}

describe("backfill of a feed of columns", () => {
  it.effect("commits columns, builds records only for a sink that reads them, quarantines by line", () =>
    Effect.gen(function* () {
      const seen = yield* Ref.make<ReadonlyArray<Seen>>([])
      const rowsRead = yield* Ref.make<ReadonlyArray<ReadonlyArray<OptionGreek>>>([])
      const sinks = fanOut([
        {
          name: "columns",
          commit: <A>(write: PartitionWrite<A>) =>
            Effect.as(
              Ref.update(seen, (s) => [
                ...s,
                {
                  expiration: write.subPartition,
                  hasColumns: write.columns !== undefined,
                  rowsIsGetter: Object.getOwnPropertyDescriptor(write, "rows")?.get !== undefined
                }
              ]),
              { sink: "columns", rows: write.columns?.length ?? write.rows.length }
            )
        },
        {
          name: "rows",
          commit: <A>(write: PartitionWrite<A>) =>
            Effect.as(
              Ref.update(rowsRead, (r) => [...r, write.rows as unknown as ReadonlyArray<OptionGreek>]),
              { sink: "rows", rows: write.rows.length }
            )
        }
      ])
      const config = testConfig("/nonexistent", "http://127.0.0.1:1")
      const stack = Layer.mergeAll(
        ThetaTerminal.Test({
          expirations: { SPXW: ["2024-11-04", "2024-11-05", "2024-11-08"] },
          greeks: (r) => BODIES[r.expiration]
        }),
        MarketCalendar.Test,
        Checkpoints.Test,
        Quarantine.Test,
        Layer.succeed(Sinks, sinks),
        Layer.succeed(AppConfig, { ...config, thetadata: { ...config.thetadata, maxDte: 7 } })
      )
      const { report, written } = yield* Effect.gen(function* () {
        const feed = yield* OptionGreeksFeed.make
        const report = yield* Backfill.run(feed, {
          symbols: ["SPXW"],
          from: "2024-11-04",
          to: "2024-11-04",
          overwrite: false,
          concurrency: 1
        })
        return { report, written: yield* Ref.get(yield* Quarantine.Written) }
      }).pipe(Effect.provide(stack))

      expect(report.units).toMatchObject({ committed: 2, noData: 1, failed: 0 })
      expect([report.rows, report.rejected, report.duplicates]).toEqual([5, 2, 1])
      const commits = yield* Ref.get(seen)
      expect(commits.filter((c) => c.expiration !== "2024-11-04")).toEqual([
        { expiration: "2024-11-05", hasColumns: true, rowsIsGetter: true },
        { expiration: "2024-11-08", hasColumns: true, rowsIsGetter: true }
      ])
      const byExpiration = new Map((yield* Ref.get(rowsRead)).map((rows) => [rows[0]?.expiration, rows]))
      expect(byExpiration.get("2024-11-05")!.map((g) => g.delta)).toEqual([0.51, 0.6])
      expect(
        byExpiration.get("2024-11-08")!.map((g) => g.ts - byExpiration.get("2024-11-08")![0]!.ts)
      ).toEqual([0, 60_000, 240_000])
      expect(written.map((w) => [w.scope, w.rejected.map((r) => r.reason)])).toEqual([
        [
          "SPXW-2024-11-08",
          ['line 4: strike "58x0" is not a decimal of at most 3 places', "delta 1.5 is outside [-1, 1]"]
        ]
      ])
    })
  )
})
