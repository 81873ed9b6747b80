/**
 * The housekeeping the embedded database does not do by itself. PGlite runs Postgres as a
 * single-user backend: no checkpointer and no autovacuum run in it. Left alone, its WAL only
 * grows (545 MB after 100 days of one symbol, against a 36 MB lake) and the rows a replaced day
 * or a correction leaves dead are never reclaimed.
 *
 * Every `interval`, through this process's pool (so between its own statements, and after any
 * transaction another client has open):
 * - `VACUUM (ANALYZE)` each table whose dead rows exceed `vacuumBaseRows` + `vacuumScale` × its
 *   live rows (autovacuum's rule and default scale), so their space is reused; `ANALYZE` a table
 *   with that many changed rows since its last analysis, for the planner;
 * - `CHECKPOINT` once `checkpointWalBytes` of WAL were written since the last checkpoint. The
 *   checkpoint deletes the segments before it (`wal_recycle=off`, EmbeddedPg.serverSettings).
 *
 * When the scope closes the vacuum rule runs once more (PGlite keeps no statistics across a
 * restart, so dead rows not vacuumed now would be forgotten); closing the database checkpoints.
 * Only for the embedded database: a Postgres server has its own checkpointer and autovacuum.
 */
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Duration, Effect, Layer } from "effect"
import { describeSqlError, quoteIdent } from "./sqlSchema.js"

export interface Policy {
  readonly interval: Duration.DurationInput
  readonly checkpointWalBytes: number
  readonly vacuumBaseRows: number
  readonly vacuumScale: number
  readonly analyzeScale: number
}

/**
 * A checkpoint every 32 MB of WAL keeps at most three 16 MB segments on disk (one after it). One
 * day of one symbol's per-second bars writes about 7 MB of WAL, so a backfill checkpoints every
 * few days; a checkpoint took 100–250 ms (bench/pg-size.ts).
 */
export const defaultPolicy: Policy = {
  interval: "2 seconds",
  checkpointWalBytes: 32 * 1024 * 1024,
  vacuumBaseRows: 1_000,
  vacuumScale: 0.2,
  analyzeScale: 0.1
}

export interface PassResult {
  readonly vacuumed: ReadonlyArray<string>
  readonly analyzed: ReadonlyArray<string>
  readonly checkpointed: boolean
  /** Time spent vacuuming, analyzing and checkpointing (not in the two reads every round makes). */
  readonly workMillis: number
}

interface TableStats {
  readonly schema: string
  readonly name: string
  readonly live: number
  readonly dead: number
  readonly changed: number
}

/** One round: vacuum and analyze what needs it, then checkpoint if enough WAL was written. */
export const pass = (
  policy: Policy,
  options: { readonly checkpoint: boolean } = { checkpoint: true }
): Effect.Effect<PassResult, SqlError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    // Statistics reach the shared counters at most once a second, when the backend is idle: ask
    // for them now, so the next statement reads the writes of the last moments too.
    yield* sql`SELECT pg_stat_force_next_flush()`
    const tables = yield* sql<TableStats>`
      SELECT schemaname AS schema, relname AS name, n_live_tup::float8 AS live,
             n_dead_tup::float8 AS dead, n_mod_since_analyze::float8 AS changed
      FROM pg_stat_user_tables`
    const vacuumed: Array<string> = []
    const analyzed: Array<string> = []
    let workMillis = 0
    const timed = <A, E, R>(work: Effect.Effect<A, E, R>) =>
      Effect.timed(work).pipe(Effect.map(([elapsed]) => (workMillis += Duration.toMillis(elapsed))))
    for (const t of tables) {
      const name = `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`
      if (t.dead > policy.vacuumBaseRows + policy.vacuumScale * t.live) {
        yield* timed(sql.unsafe(`VACUUM (ANALYZE) ${name}`))
        vacuumed.push(t.name)
      } else if (t.changed > policy.vacuumBaseRows + policy.analyzeScale * t.live) {
        yield* timed(sql.unsafe(`ANALYZE ${name}`))
        analyzed.push(t.name)
      }
    }
    let checkpointed = false
    if (options.checkpoint) {
      const wal = yield* sql<{ readonly bytes: number }>`
        SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), redo_lsn)::float8 AS bytes
        FROM pg_control_checkpoint()`
      if ((wal[0]?.bytes ?? 0) > policy.checkpointWalBytes) {
        yield* timed(sql`CHECKPOINT`)
        checkpointed = true
      }
    }
    return { vacuumed, analyzed, checkpointed, workMillis }
  })

/** Logs a failed round once (not every interval while the failure lasts); the next round retries. */
const reportFailures = () => {
  let last = ""
  return (error: SqlError) =>
    Effect.suspend(() => {
      const detail = describeSqlError(error)
      if (detail === last) return Effect.void
      last = detail
      return Effect.logWarning(`embedded database housekeeping failed, retrying: ${detail}`)
    })
}

/** One debug line for a round that did something (at most one per checkpoint or vacuum). */
const logWork = (result: PassResult) =>
  result.vacuumed.length + result.analyzed.length === 0 && !result.checkpointed
    ? Effect.void
    : Effect.logDebug("embedded database housekeeping").pipe(
        Effect.annotateLogs({
          vacuumed: result.vacuumed.join(","),
          analyzed: result.analyzed.join(","),
          checkpointed: result.checkpointed,
          work_ms: Math.round(result.workMillis)
        })
      )

/** Runs `pass` every `policy.interval` for the life of the layer, and the vacuum rule at its end. */
export const layer = (policy: Policy = defaultPolicy): Layer.Layer<never, never, SqlClient.SqlClient> =>
  Layer.scopedDiscard(
    Effect.gen(function* () {
      const report = reportFailures()
      const round = pass(policy).pipe(Effect.tap(logWork), Effect.catchAll(report))
      // Finalizers run last first: the loop is interrupted, then the closing round runs.
      yield* Effect.addFinalizer(() =>
        pass(policy, { checkpoint: false }).pipe(Effect.tap(logWork), Effect.catchAll(report), Effect.asVoid)
      )
      yield* Effect.sleep(policy.interval).pipe(Effect.zipRight(round), Effect.forever, Effect.forkScoped)
    })
  )
