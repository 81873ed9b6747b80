/**
 * DuckDB, the reader the README points users to, reads what the flat writer writes: every column
 * type with its SQL type and value, the statistics it prunes by, and an empty file.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { decimalText } from "../../src/domain/columnValues.js"
import { News, type NewsRecord } from "../../src/domain/News.js"
import { StockBars1s } from "../../src/domain/StockBar.js"
import { encodeParquet, encodeTable } from "../../src/sinks/parquetCodec.js"
import { AllTypes, allTypesRows } from "../support/allTypes.js"
import { duckdb, duckdbInstalled, duckdbModule } from "../support/duckdb.js"
import { makeTempDir, removeTempDirs } from "../support/tempDirs.js"

afterAll(removeTempDirs)

const options = { compression: "snappy", rowGroupSize: 50 } as const

const writeFile = async (name: string, bytes: Uint8Array): Promise<string> => {
  const file = path.join(makeTempDir("tapehouse-duckdb-"), name)
  await fs.writeFile(file, bytes)
  return file.replaceAll("'", "''")
}

describe.skipIf(!duckdbInstalled)(
  !duckdbInstalled
    ? `DuckDB reads the flat writer's files (skipped: ${duckdbModule} is not installed; run npm install)`
    : "DuckDB reads the flat writer's files",
  () => {
    it("every column type, with its SQL type", async () => {
      const file = await writeFile("all.parquet", encodeParquet(AllTypes, allTypesRows(120, true), options))
      const columns = await duckdb(`DESCRIBE SELECT * FROM read_parquet('${file}')`)
      expect(Object.fromEntries(columns.map((c) => [c["column_name"], c["column_type"]]))).toEqual({
        id: "VARCHAR",
        at: "TIMESTAMP WITH TIME ZONE",
        flag: "BOOLEAN",
        maybeFlag: "BOOLEAN",
        day: "DATE",
        maybeDay: "DATE",
        // DuckDB before 2.0 has no nanosecond type with a time zone: it reads TIMESTAMP(NANOS, UTC)
        // as microseconds (2.0 reads it as TIMESTAMPTZ_NS). The file holds every nanosecond.
        ns: "TIMESTAMP WITH TIME ZONE",
        maybeNs: "TIMESTAMP WITH TIME ZONE",
        price: "DECIMAL(18,2)",
        maybePrice: "DECIMAL(18,2)",
        qty: "DECIMAL(18,8)",
        whole: "DECIMAL(18,0)",
        tags: "VARCHAR[]",
        maybeTags: "VARCHAR[]",
        count: "BIGINT",
        x: "DOUBLE",
        note: "VARCHAR"
      })
    })

    it("the news dataset's files: published_utc a TIMESTAMP, tickers and keywords VARCHAR[]", async () => {
      const article = (i: number, keywords: ReadonlyArray<string>): NewsRecord => ({
        id: `a${i}`,
        published_utc: Date.UTC(2024, 2, 4, 14, 30 + i),
        title: `Title ${i}`,
        author: "Desk",
        description: i === 0 ? null : "What happened",
        article_url: `https://news.example/${i}`,
        amp_url: null,
        image_url: null,
        publisher_name: "Wire",
        publisher_homepage_url: "https://news.example",
        tickers: ["SPY", "QQQ"].slice(0, i + 1),
        keywords
      })
      const rows = [article(0, []), article(1, ["markets", "rates"])]
      const file = await writeFile("news.parquet", encodeParquet(News, rows, options))
      const columns = await duckdb(`DESCRIBE SELECT * FROM read_parquet('${file}')`)
      const types = Object.fromEntries(columns.map((c) => [c["column_name"], c["column_type"]]))
      expect([types["published_utc"], types["tickers"], types["keywords"], types["description"]]).toEqual([
        "TIMESTAMP WITH TIME ZONE",
        "VARCHAR[]",
        "VARCHAR[]",
        "VARCHAR"
      ])
      const read = await duckdb(
        `SELECT id, epoch_ms(published_utc)::VARCHAR AS at, tickers, keywords, description
         FROM read_parquet('${file}') ORDER BY id`
      )
      expect(read).toEqual(
        rows.map((r) => ({
          id: r.id,
          at: String(r.published_utc),
          tickers: r.tickers,
          keywords: r.keywords,
          description: r.description
        }))
      )
    })

    it("every value: booleans, dates, decimals exactly, lists (empty, with empty strings, null), timestamps", async () => {
      const rows = allTypesRows(120, true)
      const file = await writeFile("all.parquet", encodeParquet(AllTypes, rows, options))
      const read = await duckdb(
        `SELECT id, flag, "maybeFlag", "day"::VARCHAR AS "day", "maybeDay"::VARCHAR AS "maybeDay",
              price::VARCHAR AS price, "maybePrice"::VARCHAR AS "maybePrice", qty::VARCHAR AS qty,
              whole::VARCHAR AS whole, tags, "maybeTags", epoch_us("maybeNs")::VARCHAR AS "maybeNs",
              epoch_ms("at")::VARCHAR AS "at", "count"::VARCHAR AS "count"
       FROM read_parquet('${file}') ORDER BY id`
      )
      expect(read).toEqual(
        rows.map((r) => ({
          id: r.id,
          flag: r.flag,
          maybeFlag: r.maybeFlag,
          day: r.day,
          maybeDay: r.maybeDay,
          price: decimalText(r.price, 2),
          maybePrice: r.maybePrice === null ? null : decimalText(r.maybePrice, 2),
          qty: decimalText(r.qty, 8),
          whole: decimalText(r.whole, 0),
          tags: r.tags,
          maybeTags: r.maybeTags,
          maybeNs: r.maybeNs === null ? null : String(r.maybeNs / 1000n),
          at: String(r.at),
          count: String(r.count)
        }))
      )
    })

    it("the statistics of booleans, dates, decimals and ns timestamps, and prunes by them", async () => {
      const rows = allTypesRows(50, false)
      // A table without a statistics choice gets them on every column (lists excepted).
      const bytes = encodeTable(
        { name: "all_types", columns: AllTypes.columns, rows },
        { ...options, rowGroupSize: 1000 }
      )
      const file = await writeFile("all.parquet", bytes)
      const stats = await duckdb(
        `SELECT path_in_schema AS column, stats_min_value AS min, stats_max_value AS max
       FROM parquet_metadata('${file}')
       WHERE path_in_schema IN ('flag', 'day', 'price', 'whole', 'maybeNs', 'tags, list, element')
       ORDER BY column_id`
      )
      expect(stats).toEqual([
        { column: "flag", min: "false", max: "true" },
        { column: "day", min: "0001-01-01", max: "9999-12-31" },
        { column: "maybeNs", min: "2024-01-02 14:30:00+00", max: "2024-01-02 14:30:00.049+00" },
        { column: "price", min: "-1234567.89", max: "90071992547409.91" },
        { column: "whole", min: "-9007199254740991", max: "9007199254740991" },
        { column: "tags, list, element", min: null, max: null }
      ])
      const filtered = await duckdb(
        `SELECT count(*)::VARCHAR AS n FROM read_parquet('${file}')
       WHERE "day" = DATE '2038-01-19' AND price > 100 AND flag`
      )
      const expected = rows.filter((r) => r.day === "2038-01-19" && r.price > 10_000 && r.flag).length
      expect(filtered).toEqual([{ n: String(expected) }])
    })

    it("stock_bars_1s and an empty file", async () => {
      const bars = await writeFile(
        "bars.parquet",
        encodeParquet(
          StockBars1s,
          [
            {
              symbol: "SPY",
              ts: 1_704_205_800_000,
              open: 1,
              high: 2,
              low: 0.5,
              close: 1.5,
              volume: 10,
              vwap: null,
              trades: 3
            }
          ],
          options
        )
      )
      expect(
        await duckdb(
          `SELECT symbol, epoch_ms(ts)::VARCHAR AS ts, vwap, trades::VARCHAR AS trades FROM '${bars}'`
        )
      ).toEqual([{ symbol: "SPY", ts: "1704205800000", vwap: null, trades: "3" }])
      const empty = await writeFile("empty.parquet", encodeParquet(AllTypes, [], options))
      expect(await duckdb(`SELECT count(*)::VARCHAR AS n FROM '${empty}'`)).toEqual([{ n: "0" }])
      const columns = await duckdb(`DESCRIBE SELECT * FROM '${empty}'`)
      expect(columns.find((c) => c["column_name"] === "tags")?.["column_type"]).toBe("VARCHAR[]")
    })
  }
)
