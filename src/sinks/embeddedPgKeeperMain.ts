/**
 * The keeper: a process `tapehouse sql` starts (EmbeddedPgKeeper.launch) when nobody holds the
 * embedded database. It opens the database like any owner (its lock, PGlite on its thread, the
 * loopback socket recorded in `state/pg.json`), runs the migrations, and serves it, so that this
 * and later `sql` calls (and psql, DuckDB) join it instead of starting Postgres each time.
 *
 * It ends, closing the database, when no client has been connected for `keepOpenMs`, and at
 * SIGTERM or SIGINT: a writer that needs the database sends SIGTERM (its lock says `keeper`,
 * EmbeddedPg.acquireLock) and waits until the lock is released. It never takes the database from
 * another process.
 *
 *   node embeddedPgKeeper.mjs <dataDir> <keepOpenMs>
 *
 * To the parent, through the IPC channel: { type: "ready", port } once it serves, or
 * { type: "failed", message }. It writes nothing else: its output goes nowhere.
 */

import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Deferred, Effect, Fiber, Layer } from "effect"
import * as EmbeddedPg from "./EmbeddedPg.js"

export type KeeperMessage =
  | { readonly type: "ready"; readonly port: number }
  | { readonly type: "failed"; readonly message: string }

const [dataDir = "", keepOpen = ""] = process.argv.slice(2)
const keepOpenMs = Number(keepOpen)

const tell = (message: KeeperMessage) =>
  Effect.async<void>((resume) => {
    if (process.send === undefined || !process.connected) return resume(Effect.void)
    process.send(message, undefined, undefined, () => {
      // The parent no longer listens: nothing else is said to it.
      if (process.connected) process.disconnect()
      resume(Effect.void)
    })
  })

const keep = Effect.gen(function* () {
  const idle = yield* Deferred.make<void>()
  // The client and the migrations load while PGlite opens on its thread.
  const loading = yield* Effect.fork(
    Effect.promise(() => Promise.all([import("@effect/sql-pg"), import("./sqlSchema.js")]))
  )
  const server = yield* EmbeddedPg.start(dataDir, {
    settings: EmbeddedPg.briefSessionSettings,
    keeper: true,
    takeOverKeeper: false,
    onIdle: { idleMs: keepOpenMs, run: () => Deferred.unsafeDone(idle, Effect.void) }
  })
  // Migrated as any owner does when it opens the database, through a connection closed after.
  const [{ PgClient }, { Migrations }] = yield* Fiber.join(loading)
  yield* Layer.build(
    Migrations.pipe(
      Layer.provide(
        PgClient.layer({
          host: server.host,
          port: server.port,
          database: "postgres",
          username: "postgres",
          applicationName: "tapehouse keeper",
          maxConnections: 1
        })
      )
    )
  ).pipe(Effect.scoped)
  yield* tell({ type: "ready", port: server.port })
  yield* Deferred.await(idle)
}).pipe(
  Effect.scoped,
  Effect.tapErrorCause((cause) => tell({ type: "failed", message: cause.toString().slice(0, 2000) }))
)

if (!(dataDir !== "" && Number.isSafeInteger(keepOpenMs) && keepOpenMs > 0)) {
  process.stderr.write("usage: embeddedPgKeeper.mjs <dataDir> <keepOpenMs ≥ 1>\n")
  process.exit(2)
}
NodeRuntime.runMain(keep, { disableErrorReporting: true, disablePrettyLogger: true })
