/** How SQL failures read: the server's words, its SQLSTATE or the system's cause, and the action that fits. */
import { SqlError } from "@effect/sql/SqlError"
import { describe, expect, it } from "@effect/vitest"
import { describeSqlError } from "../../src/sinks/sqlSchema.js"

const pgError = (message: string, code: string) =>
  Object.assign(new Error(message), { code, severity: "ERROR" })

describe("describeSqlError", () => {
  it("a full disk under the database (53100, as PGlite reports it): free space", () => {
    const error = new SqlError({
      cause: pgError('could not write to file "pg_wal/xlogtemp.42": No space left on device', "53100"),
      message: "Failed to execute statement"
    })
    expect(describeSqlError(error)).toBe(
      'could not write to file "pg_wal/xlogtemp.42": No space left on device (SQLSTATE 53100). Free space on the database\'s disk (for the embedded database, the disk holding the data dir) and rerun: everything committed is kept'
    )
  })

  it("a SQLSTATE without a fitting action keeps the server's words only", () => {
    const error = new SqlError({ cause: pgError('null value in column "open"', "23502"), message: "x" })
    expect(describeSqlError(error)).toBe('null value in column "open" (SQLSTATE 23502)')
  })

  it("a system code is not called a SQLSTATE", () => {
    const reset = Object.assign(new Error("read ECONNRESET"), {
      code: "ECONNRESET",
      errno: -104,
      syscall: "read"
    })
    expect(describeSqlError(new SqlError({ cause: reset, message: "x" }))).toBe(
      "ECONNRESET (read ECONNRESET)"
    )
  })
})
