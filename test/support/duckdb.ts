/**
 * DuckDB for the tests that check an outside reader sees the lake as written. It is a dev
 * dependency with a native binary: where it is not installed (`npm ci --omit=dev`, a platform
 * without a prebuilt binary), `duckdbInstalled` is false and those checks skip and say why.
 */

/** The part of `@duckdb/node-api` the tests use. */
interface DuckDB {
  readonly DuckDBInstance: {
    create(path: string): Promise<{
      connect(): Promise<{
        runAndReadAll(sql: string): Promise<{ getRowObjectsJson(): unknown }>
        closeSync(): void
      }>
      closeSync(): void
    }>
  }
}

export const duckdbModule = "@duckdb/node-api"

const duck: DuckDB | undefined = await import(duckdbModule).then(
  (m: DuckDB) => m,
  () => undefined
)

export const duckdbInstalled = duck !== undefined

/** Runs `query` in a fresh in-memory DuckDB and returns its rows as JSON-like objects. */
export const duckdb = async (query: string): Promise<Array<Record<string, unknown>>> => {
  if (duck === undefined) throw new Error(`${duckdbModule} is not installed`)
  const instance = await duck.DuckDBInstance.create(":memory:")
  const connection = await instance.connect()
  try {
    return (await connection.runAndReadAll(query)).getRowObjectsJson() as Array<Record<string, unknown>>
  } finally {
    connection.closeSync()
    instance.closeSync()
  }
}
