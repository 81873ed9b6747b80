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
 *   node embeddedPgKeeper.mjs --cli <configDir> [<dataDir>]   (in the command's working directory)
 *
 * The second form is how `tapehouse sql` starts it from its entry point, before the CLI has
 * loaded (cli/earlyKeeper.ts): it resolves the configuration as the command will (the same
 * directory, `--config-dir` and `--data-dir`) and declines when there is nothing to keep: a
 * Postgres server is configured (`sinks.sql.url`), keeping is off (`sinks.sql.keep_open_ms: 0`),
 * the configuration does not load (the command reports that), or another process holds the
 * database.
 *
 * To the parent, through the IPC channel: { type: "ready", port } once it serves,
 * { type: "declined", reason }, or { type: "failed", message }. It writes nothing else: its output
 * goes nowhere.
 */

import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Deferred, Effect, Either, Fiber, Layer, Option } from "effect"
import { configDirFor } from "../config/configDir.js"
import * as EmbeddedPg from "./EmbeddedPg.js"
import * as EmbeddedPgAddress from "./EmbeddedPgAddress.js"
import { dropPrewarmed } from "./embeddedPgThread.js"
import { abandonEarlyOpen, earlyOpened, signalledEarly } from "./keeperEarlyOpen.js"
import { type KeeperMessage, tellParent } from "./keeperProcess.js"

/** The data dir and how long to keep it open, from the arguments or the CLI's configuration. */
const target: Effect.Effect<
  { readonly dataDir: string; readonly keepOpenMs: number } | { readonly declined: string }
> = Effect.gen(function* () {
  const args = process.argv.slice(2)
  if (args[0] !== "--cli") return { dataDir: args[0] ?? "", keepOpenMs: Number(args[1]) }
  const [, configDir = "", dataDir] = args
  const cwd = process.cwd()
  const { loadConfig } = yield* Effect.promise(() => import("../config/loadConfig.js"))
  const loaded = yield* Effect.either(
    loadConfig({
      configDir: configDirFor(configDir),
      ...(dataDir === undefined || dataDir === "" ? {} : { dataDir }),
      cwd,
      env: process.env
    })
  )
  if (Either.isLeft(loaded)) return { declined: "the configuration does not load" }
  const config = loaded.right
  if (Option.isSome(config.sql.url)) return { declined: "a Postgres server is configured" }
  if (config.sql.keepOpenMs <= 0) return { declined: "sinks.sql.keep_open_ms is 0" }
  // Opened already, before the configuration loaded (keeperEarlyOpen.ts), and rightly so.
  if (earlyOpened() === config.dataDir) return { dataDir: config.dataDir, keepOpenMs: config.sql.keepOpenMs }
  yield* Effect.promise(abandonEarlyOpen)
  // Somebody holds it (a writer, a keeper starting or serving): the command joins them.
  const holder = yield* EmbeddedPgAddress.findServed(config.dataDir, 0)
  if (Option.isSome(holder) || (yield* EmbeddedPgAddress.isHeld(config.dataDir)))
    return { declined: "another process holds the database" }
  return { dataDir: config.dataDir, keepOpenMs: config.sql.keepOpenMs }
})

/** Said once: a keeper that opened the database early has told the command already (keeperEarlyOpen.ts). */
const tell = (message: KeeperMessage) => Effect.promise(() => tellParent(message))

const keep = (dataDir: string, keepOpenMs: number) =>
  Effect.gen(function* () {
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
    // Migrated as any owner does when it opens the database, through a connection closed after;
    // readers that do not check (psql, DuckDB) are told nothing before. (A keeper that opened an
    // up-to-date database early has told the command already: keeperEarlyOpen.ts.)
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

/** Closes what was opened before the configuration loaded, and the thread started for it. */
const closeEarly = Effect.promise(() => abandonEarlyOpen().then(dropPrewarmed))

const main = Effect.flatMap(target, (t) => {
  if ("declined" in t)
    // What it opened early is closed first: a command that opens the database itself then finds
    // it free.
    return Effect.zipRight(closeEarly, tell({ type: "declined", reason: t.declined }))
  if (!(t.dataDir !== "" && Number.isSafeInteger(t.keepOpenMs) && t.keepOpenMs > 0))
    return Effect.sync(() => {
      process.stderr.write(
        "usage: embeddedPgKeeper.mjs <dataDir> <keepOpenMs ≥ 1> | --cli <configDir> [<dataDir>]\n"
      )
      process.exit(2)
    })
  return keep(t.dataDir, t.keepOpenMs)
})

NodeRuntime.runMain(
  // Asked to stop before the runtime listened (keeperEarlyOpen.holdSignals): close and end.
  Effect.suspend(() => (signalledEarly() ? closeEarly : main)).pipe(
    // What was opened early belongs to no scope until EmbeddedPg.start adopts it: a stop or a
    // failure before that (during the configuration's load) closes it here. After the adoption
    // this finds nothing of its own left (it checks the lock's and the record's pid).
    Effect.ensuring(Effect.promise(abandonEarlyOpen))
  ),
  { disableErrorReporting: true, disablePrettyLogger: true }
)
