/**
 * How far the SQL schema's migrations go (sqlSchema.ts), as plain constants: the keeper that opens
 * the database before it loads Effect (keeperEarlyOpen.ts) serves it at once only when the
 * database is already at this level; otherwise it migrates first, as any owner does. A test
 * checks `latestMigration` against the list of migrations: add one there, raise it here.
 */

/** Table holding the applied migrations (the migrator's default). */
export const migrationsTable = "effect_sql_migrations"

/** The id of the last migration (the number of steps in sqlSchema's `migrationSteps`). */
export const latestMigration = 13
