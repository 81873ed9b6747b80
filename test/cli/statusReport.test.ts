/**
 * `status`'s coverage of streamed days: one line per day and dataset, from the continuity ledger.
 * Several datasets stream the same day (SPY bars, I:VIX, the option chain); the gaps of one must
 * not be counted or reported as another's.
 */
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { collectStatus } from "../../src/cli/statusReport.js"
import { Continuity, type ContinuityRow } from "../../src/domain/Continuity.js"
import { encodeParquet } from "../../src/sinks/parquetCodec.js"
import { partitionFile } from "../../src/sinks/partitionLayout.js"
import { tempDir } from "../support/fixtures.js"

const DAY = "2024-03-05"
const at = (hhmm: string) => Date.parse(`${DAY}T${hhmm}:00Z`)

const gap = (source: string, from: string, to: string, status: string): ContinuityRow => ({
  source,
  kind: "gap",
  cause: "reconnect",
  start: at(from),
  end: at(to),
  symbols: "X",
  rows: 60,
  status,
  detail: status === "failed" ? "REST refused" : null
})

const writeLedger = (dataDir: string, rows: ReadonlyArray<ContinuityRow>) =>
  Effect.promise(async () => {
    const file = Path.join(dataDir, partitionFile(Continuity.name, DAY))
    await NodeFs.mkdir(Path.dirname(file), { recursive: true })
    await NodeFs.writeFile(
      file,
      encodeParquet(Continuity, rows, { compression: "snappy", rowGroupSize: 1000 })
    )
  })

describe("status coverage", () => {
  it.scoped("is reported per day and dataset, each with its own gaps", () =>
    Effect.gen(function* () {
      const dataDir = yield* tempDir("tapehouse-status-coverage-")
      yield* writeLedger(dataDir, [
        gap("massive-stocks", "15:00", "15:01", "repaired"),
        gap("massive-options", "15:10", "15:12", "failed"),
        gap("massive-options", "16:00", "16:01", "repaired"),
        { ...gap("massive-indices", "21:00", "21:00", "verified"), kind: "reconcile", cause: null },
        gap("demo-massive-news", "14:00", "14:01", "repaired"),
        gap("someone-else", "14:00", "14:01", "repaired")
      ])
      const report = yield* collectStatus(dataDir, { dataset: undefined, symbol: undefined, verify: false })
      const byDataset = Object.fromEntries(
        report.coverage.map((c) => [c.dataset ?? c.source, [c.gaps.length, c.unrepairedMs, c.complete]])
      )
      expect(byDataset).toEqual({
        stock_bars_1s: [1, 0, true],
        option_bars_1s: [2, 2 * 60_000, false],
        index_bars_1s: [0, 0, true],
        news: [1, 0, true],
        "someone-else": [1, 0, true]
      })
      expect(report.coverage.every((c) => c.date === DAY)).toBe(true)

      const options = yield* collectStatus(dataDir, {
        dataset: "option_bars_1s",
        symbol: undefined,
        verify: false
      })
      expect(options.coverage.map((c) => [c.source, c.gaps.length])).toEqual([["massive-options", 2]])
    })
  )
})
