/**
 * What the CLI says about its own use, read through a pipe as a script or a pager would: help
 * without terminal styles or filler and with a description for every option, and option errors
 * that name the option, the value given and what is expected, with exit code 2 before anything runs.
 */
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { runCli } from "../support/cli.js"
import { tempDir } from "../support/fixtures.js"

const COMMANDS: ReadonlyArray<ReadonlyArray<string>> = [
  [],
  ["backfill"],
  ["stream"],
  ["stop"],
  ["status"],
  ["simulate"],
  ["compact"],
  ["consolidate"],
  ["sim"],
  ["sim", "serve"],
  ["sim", "thetadata"],
  ["sql"],
  ["demo"]
]

/** Paragraphs @effect/cli writes for any option of a kind; they describe no option in particular. */
const GENERIC = [
  /^A true or false value\.$/,
  /^An integer\.$/,
  /^This setting is optional\./,
  /^One of the following: /,
  /^One of: /
]

/** Each option or argument of a help text (`--from YYYY-MM-DD`, `<query>`) with its paragraphs. */
const itemsOf = (help: string): Array<{ readonly heading: string; readonly paragraphs: Array<string> }> => {
  const items: Array<{ heading: string; paragraphs: Array<string> }> = []
  let current: { heading: string; paragraphs: Array<string> } | undefined
  for (const line of help.split("\n")) {
    if (/^(--|\(-|<)/.test(line)) items.push((current = { heading: line, paragraphs: [] }))
    else if (/^\S/.test(line)) current = undefined
    else if (current !== undefined && line.trim() !== "") current.paragraphs.push(line.trim())
  }
  return items
}

describe("tapehouse usage, piped", () => {
  it.live("--help of every command has no terminal styles, no filler, and describes every option", () =>
    Effect.gen(function* () {
      // NO_COLOR unset: the pipe alone must be enough.
      const results = yield* Effect.all(
        COMMANDS.map((command) => runCli([...command, "--help"], { unset: ["NO_COLOR"] })),
        { concurrency: 3 }
      )
      results.forEach((r, i) => {
        const what = `tapehouse ${COMMANDS[i]!.join(" ")} --help`
        expect(r.code, `${what}: ${r.stderr}`).toBe(0)
        expect(r.stdout, what).not.toContain("\x1b[")
        expect(r.stdout, what).not.toContain("A user-defined piece of text")
        expect(r.stderr, what).toBe("")
        const items = itemsOf(r.stdout)
        expect(items.length, what).toBeGreaterThan(0)
        for (const item of items) {
          const described = item.paragraphs.filter((p) => !GENERIC.some((g) => g.test(p)))
          expect(described, `${what}: ${item.heading} has a description`).not.toEqual([])
        }
      })
    })
  )

  it.scopedLive(
    "a bad option value or an unknown option names the option, the value and what is expected; exit 2",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir()
        const dataDir = Path.join(dir, "data")
        const backfill = (...rest: ReadonlyArray<string>) => [
          "--data-dir",
          dataDir,
          "backfill",
          "--dataset",
          "stock_bars_1s",
          "--symbols",
          "SPY",
          "--to",
          "2024-03-08",
          ...rest
        ]
        const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
          [backfill("--from", "2024-13-01"), "--from 2024-13-01 is not a date; expected YYYY-MM-DD."],
          [
            backfill("--from", "2024-03-04", "--rate-limit", "abc"),
            "--rate-limit abc is not an integer; expected requests per minute, 0 or more (0 = no limit)."
          ],
          [
            backfill("--from", "2024-03-04", "--rate-limit", "-1"),
            "--rate-limit -1 is out of range; expected requests per minute, 0 or more (0 = no limit)."
          ],
          [
            ["--data-dir", dataDir, "backfill", "--dataset", "nope"],
            "--dataset nope is not one of the choices; expected one of: stock_bars_1s, index_bars_1s, option_contracts, option_bars_1s, news, news_sentiment, option_greeks_1m."
          ],
          [
            [
              ...["--data-dir", dataDir, "backfill", "--dataset", "option_bars_1s", "--symbols", "SPY"],
              ...["--from", "2024-03-04", "--to", "2024-03-04"]
            ],
            "--symbols does not apply to option_bars_1s; it takes --underlying, e.g. --underlying SPY."
          ],
          [
            [
              "--data-dir",
              dataDir,
              "backfill",
              "--dataset",
              "stock_bars_1s",
              "--from",
              "2024-03-04",
              "--to",
              "2024-03-04"
            ],
            "stock_bars_1s needs --symbols, e.g. --symbols SPY,QQQ."
          ],
          // Unknown, with required options missing too: the unknown one is what is reported.
          [
            ["--data-dir", dataDir, "backfill", "--symbol", "SPY"],
            "--symbol is not an option of tapehouse backfill; it takes --dataset, --symbols, --tickers, --from, --to"
          ],
          [
            ["--verbose", "--data-dir", dataDir, "status"],
            "--verbose is not an option of tapehouse; it takes --data-dir, --config-dir"
          ],
          [["status", "--data-dir", dataDir], "--data-dir goes before the command"],
          [
            ["--data-dir", dataDir, "sim", "serve", "--port", "99999"],
            "--port 99999 is out of range; expected a port, 0-65535 (0 = a free one)."
          ],
          [
            ["--data-dir", dataDir, "sim", "serve", "--page-size=0"],
            "--page-size 0 is out of range; expected bars per page, 1 or more."
          ],
          [
            ["--data-dir", dataDir, "stop", "--timeout", "1.5"],
            "--timeout 1.5 is not an integer; expected seconds, 0 or more."
          ],
          [
            ["--data-dir", dataDir, "simulate", "--dataset", "stock_bars_1s", "--date", "2024-02-30"],
            "--date 2024-02-30 is not a date; expected YYYY-MM-DD."
          ],
          [
            ["--data-dir", dataDir, "compact", "--date", "03/04/2024"],
            "--date 03/04/2024 is not a date; expected YYYY-MM-DD."
          ]
        ]
        const results = yield* Effect.all(
          cases.map(([args]) => runCli(args, { unset: ["NO_COLOR"] })),
          { concurrency: 3 }
        )
        results.forEach((r, i) => {
          const [args, message] = cases[i]!
          const what = `tapehouse ${args.join(" ")}`
          expect(r.code, `${what}: ${r.stderr}`).toBe(2)
          expect(r.stderr, what).toContain(message)
          expect(r.stderr, what).not.toContain("\x1b[")
          expect(r.stderr, what).not.toMatch(/\n\s+at /)
          expect(r.stdout, what).toBe("")
        })
        // Stopped before doing anything: not even the data dir was made.
        expect(
          yield* Effect.promise(() =>
            NodeFs.stat(dataDir).then(
              () => true,
              () => false
            )
          )
        ).toBe(false)
      })
  )
})
