/** How `tapehouse sql` shows each Postgres type, read back from the embedded database. */
import { SqlClient } from "@effect/sql"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Option } from "effect"
import { formatResults } from "../../src/cli/sqlCommand.js"
import { displayTypes, timestamptzToIsoUtc } from "../../src/cli/sqlValues.js"
import * as SqlClientLive from "../../src/sinks/SqlClientLive.js"
import { dataDirWithEmptyDb } from "../support/pgTemplate.js"
import { removeTempDirs } from "../support/tempDirs.js"

afterAll(removeTempDirs)

describe("timestamptzToIsoUtc", () => {
  it("turns Postgres' text into ISO 8601 UTC, keeping every fractional digit", () => {
    expect(timestamptzToIsoUtc("2024-03-04 14:30:00+00")).toBe("2024-03-04T14:30:00.000Z")
    expect(timestamptzToIsoUtc("2024-03-04 09:30:00.5-05")).toBe("2024-03-04T14:30:00.500Z")
    expect(timestamptzToIsoUtc("2024-03-04 20:00:00.123456+05:30")).toBe("2024-03-04T14:30:00.123456Z")
    expect(timestamptzToIsoUtc("2024-01-01 00:00:00+01")).toBe("2023-12-31T23:00:00.000Z")
    expect(timestamptzToIsoUtc("0050-06-01 12:00:00+00")).toBe("0050-06-01T12:00:00.000Z")
    expect(timestamptzToIsoUtc("1900-01-01 00:00:00+00:09:21")).toBe("1899-12-31T23:50:39.000Z")
  })

  it("leaves what it does not recognise as Postgres wrote it", () => {
    expect(timestamptzToIsoUtc("infinity")).toBe("infinity")
    expect(timestamptzToIsoUtc("-infinity")).toBe("-infinity")
    expect(timestamptzToIsoUtc("0044-03-15 12:00:00+00 BC")).toBe("0044-03-15 12:00:00+00 BC")
  })
})

describe("tapehouse sql's display of values", () => {
  it.live("dates stay dates, timestamptz is ISO UTC, numbers keep their digits, arrays read as in psql", () =>
    Effect.gen(function* () {
      const dataDir = yield* Effect.promise(() => dataDirWithEmptyDb())
      const raw = yield* Effect.scoped(
        Effect.gen(function* () {
          const context = yield* Layer.build(
            SqlClientLive.layerFrom({ dataDir, url: Option.none() }, { types: displayTypes })
          )
          const sql = Context.get(context, SqlClient.SqlClient)
          // A session time zone far from UTC: dates and timestamps must not move.
          return yield* sql.unsafe(`
            SET TIME ZONE 'Asia/Tokyo';
            SELECT DATE '2024-03-04' AS d,
                   TIMESTAMPTZ '2024-03-04 09:30:00.25-05' AS tz,
                   TIMESTAMP '2024-03-04 09:30:00' AS local,
                   true AS yes, false AS no,
                   12345678901234567890.50::numeric AS big,
                   9007199254740993::int8 AS exact,
                   ARRAY[DATE '2024-03-04', DATE '2024-03-05'] AS dates,
                   ARRAY['a b', 'c'] AS words,
                   '{"k": [1, 2]}'::jsonb AS doc,
                   '\\x01ff'::bytea AS bytes,
                   NULL::text AS nothing;
            RESET TIME ZONE`).raw
        })
      )
      expect(formatResults(raw).split("\n")).toEqual([
        "SET",
        "",
        "d           tz                        local                yes   no     big                      exact             dates                    words      doc            bytes   nothing",
        "----------  ------------------------  -------------------  ----  -----  -----------------------  ----------------  -----------------------  ---------  -------------  ------  -------",
        '2024-03-04  2024-03-04T14:30:00.250Z  2024-03-04 09:30:00  true  false  12345678901234567890.50  9007199254740993  {2024-03-04,2024-03-05}  {"a b",c}  {"k": [1, 2]}  \\x01ff',
        "(1 row)",
        "",
        "RESET"
      ])
    })
  )
})
