/**
 * The housekeeping the embedded database does not do by itself. PGlite runs Postgres as a
 * single-user backend: no checkpointer and no autovacuum run in it. Left alone, its WAL only
 * grows (545 MB after 100 days of one symbol, against a 36 MB lake) and the rows a replaced day
 * or a correction leaves dead are never reclaimed.
 *
 * Every `interval`, through this process's pool (so between its own statements, and after any
 * transaction another client has open), once at least `passWalBytes` of WAL were written since the
 * last round that ran (a round reads the catalogs' statistics, which in PGlite costs more than a
 * streaming flush's insert: three inserts a second of 17 bars in all write about 4 kB of WAL, so a
 * stream runs one every few minutes instead of every 2 s, and an idle database none; a backfill
 * writes more than that between two rounds, so all of its rounds run):
 * - `VACUUM (ANALYZE)` each table whose dead rows exceed `vacuumBaseRows` + `vacuumScale` × its
 *   live rows (autovacuum's rule and default scale), so their space is reused; `ANALYZE` a table
 *   whose changed rows since its last analysis exceed `vacuumBaseRows` + `analyzeScale` × the
 *   rows it had then, for the planner;
 * - `CHECKPOINT` once `checkpointWalBytes` of WAL were written since the last checkpoint. The
 *   checkpoint deletes the segments before it (`wal_recycle=off`, EmbeddedPg.serverSettings).
 *
 * When the scope closes the vacuum rule runs once more (PGlite keeps no statistics across a
 * restart, so dead rows not vacuumed now would be forgotten), without analyzing (the planner's
 * statistics are kept; a stop should be quick); closing the database then checkpoints.
 * Only for the embedded database: a Postgres server has its own checkpointer and autovacuum.
 */
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Duration, Effect, Layer } from "effect"
import { describeSqlError, quoteIdent } from "./sqlSchema.js"

export interface Policy {
  readonly interval: Duration.DurationInput
  /** WAL written since the last round that ran before the next one runs (0: every interval). */
  readonly passWalBytes: number
  readonly checkpointWalBytes: number
  readonly vacuumBaseRows: number
  readonly vacuumScale: number
  readonly analyzeScale: number
}

/**
 * A checkpoint every 32 MB of WAL leaves one 16 MB segment (or two) on disk after it. One
 * day of one symbol's per-second bars writes about 7 MB of WAL, so a backfill checkpoints every
 * few days; a checkpoint took 50–240 ms (bench/pg-size.ts). Between two rounds (2 s) more WAL
 * may come, so the WAL on disk stays under about 64 MB.
 *
 * Here an ANALYZE holds the one backend, so the writes wait for it (up to 1.5 s on a table of
 * millions of rows). At autovacuum's 10% of changed rows, analyses took 8% of a backfill's time;
 * once a table doubled (`analyzeScale` 1) they are as many as its doublings: 7 in a year of one
 * symbol, 4.9 s in all.
 */
export const defaultPolicy: Policy = {
  interval: "2 seconds",
  passWalBytes: 1024 * 1024,
  checkpointWalBytes: 32 * 1024 * 1024,
  vacuumBaseRows: 1_000,
  vacuumScale: 0.2,
  analyzeScale: 1
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

/**
 * One round: vacuum and analyze what needs it, then checkpoint if enough WAL was written. The
 * closing round only vacuums.
 */
export const pass = (
  policy: Policy,
  options: { readonly closing: boolean } = { closing: false }
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
    // One debug line per action: a few per 32 MB of WAL at most, never per row or statement.
    const timed = <A, E, R>(action: string, table: string, work: Effect.Effect<A, E, R>) =>
      Effect.timed(work).pipe(
        Effect.flatMap(([elapsed]) => {
          const ms = Duration.toMillis(elapsed)
          workMillis += ms
          return Effect.logDebug("embedded database housekeeping").pipe(
            Effect.annotateLogs({ action, table, ms: Math.round(ms) })
          )
        })
      )
    for (const t of tables) {
      const name = `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`
      if (t.dead > policy.vacuumBaseRows + policy.vacuumScale * t.live) {
        yield* timed("vacuum", t.name, sql.unsafe(`VACUUM (ANALYZE) ${name}`))
        vacuumed.push(t.name)
      } else if (
        !options.closing &&
        // Against the rows at the last analysis, as autovacuum does (a table never analyzed: none).
        t.changed > policy.vacuumBaseRows + policy.analyzeScale * Math.max(0, t.live - t.changed)
      ) {
        yield* timed("analyze", t.name, sql.unsafe(`ANALYZE ${name}`))
        analyzed.push(t.name)
      }
    }
    let checkpointed = false
    if (!options.closing) {
      const wal = yield* sql<{ readonly bytes: number }>`
        SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), redo_lsn)::float8 AS bytes
        FROM pg_control_checkpoint()`
      if ((wal[0]?.bytes ?? 0) > policy.checkpointWalBytes) {
        yield* timed("checkpoint", "", sql`CHECKPOINT`)
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

/** The WAL insert position, in bytes since the start of the WAL: one cheap function call. */
const walPosition: Effect.Effect<number, SqlError, SqlClient.SqlClient> = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) =>
    Effect.map(
      sql<{
        readonly bytes: number
      }>`SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::float8 AS bytes`,
      (rows) => rows[0]?.bytes ?? 0
    )
)

/**
 * Runs `pass` every `policy.interval` for the life of the layer (once `passWalBytes` of WAL came
 * since the last one), and the vacuum rule at its end.
 */
export const layer = (policy: Policy = defaultPolicy): Layer.Layer<never, never, SqlClient.SqlClient> =>
  Layer.scopedDiscard(
    Effect.gen(function* () {
      const report = reportFailures()
      // Where the WAL was when the last round ran; the first round runs whatever was written.
      let passedAt = Number.NEGATIVE_INFINITY
      const round = Effect.gen(function* () {
        const position = yield* walPosition
        if (position - passedAt < policy.passWalBytes) return
        yield* pass(policy)
        passedAt = position
      }).pipe(Effect.catchAll(report))
      // Finalizers run last first: the loop is interrupted, then the closing round runs.
      yield* Effect.addFinalizer(() =>
        pass(policy, { closing: true }).pipe(Effect.catchAll(report), Effect.asVoid)
      )
      yield* Effect.sleep(policy.interval).pipe(Effect.zipRight(round), Effect.forever, Effect.forkScoped)
    })
  )
