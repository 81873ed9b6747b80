/**
 * Where a running tapehouse serves the embedded database: `<dataDir>/state/pg.json`.
 *
 * The process that holds the embedded database (`state/pg.lock`) serves it on a loopback port.
 * Once the server accepts connections it writes this record atomically, and it removes the
 * record before it stops serving. `tapehouse sql`, `status`, psql or DuckDB then connect there
 * instead of opening the folder, which the lock forbids while the owner runs. A record whose
 * process is gone (a crash) is stale: readers ignore it and the next owner replaces it.
 */
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { Clock, Duration, Effect, Either, Option, Schema, type Scope } from "effect"
import type { StorageError } from "../domain/errors.js"
import { makeDir, writeFileAtomic } from "./atomicFile.js"
import { isAlive } from "./embeddedPgLock.js"
import { lockPath, recordFields, recordPath } from "./embeddedPgRecord.js"

export class Address extends Schema.Class<Address>("EmbeddedPgAddress")({
  host: Schema.String,
  port: Schema.Int.pipe(Schema.between(1, 65_535)),
  /** The process serving it (the holder of `state/pg.lock`). */
  pid: Schema.Int.pipe(Schema.positive()),
  startedAt: Schema.String,
  database: Schema.String,
  user: Schema.String,
  /** The same as a libpq URL, for psql and other clients (no password: the server trusts loopback). */
  url: Schema.String
}) {}

export { isAlive } from "./embeddedPgLock.js"
export { connectionString, lockPath, recordPath } from "./embeddedPgRecord.js"

/** Records this process's server for the life of the scope (removed when the scope closes). */
export const publish = (
  dataDir: string,
  server: { readonly host: string; readonly port: number }
): Effect.Effect<Address, StorageError, Scope.Scope> => {
  const target = recordPath(dataDir)
  const address = new Address(recordFields(server))
  return Effect.acquireRelease(
    makeDir(Path.dirname(target)).pipe(
      Effect.zipRight(
        writeFileAtomic(target, new TextEncoder().encode(`${JSON.stringify(address, null, 2)}\n`))
      ),
      Effect.as(address)
    ),
    () =>
      // Only our own record: a successor may have replaced it after a takeover.
      Effect.promise(async () => {
        const current = await readRecord(dataDir)
        if (Option.isSome(current) && current.value.pid !== process.pid) return
        await NodeFs.rm(target, { force: true }).catch(() => undefined)
      })
  )
}

const decodeRecord = Schema.decodeUnknownEither(Schema.parseJson(Address))

const readRecord = async (dataDir: string): Promise<Option.Option<Address>> => {
  const text = await NodeFs.readFile(recordPath(dataDir), "utf8").catch(() => undefined)
  if (text === undefined) return Option.none()
  return Either.getRight(decodeRecord(text))
}

/** The pid in `state/pg.lock` when that process is alive. */
const lockHolder = async (dataDir: string): Promise<Option.Option<number>> => {
  const text = await NodeFs.readFile(lockPath(dataDir), "utf8").catch(() => "")
  const pid = Number.parseInt(text, 10)
  return Number.isSafeInteger(pid) && pid > 0 && isAlive(pid) ? Option.some(pid) : Option.none()
}

/** Whether a live process holds `state/pg.lock` (it may not serve yet: it is starting). */
export const isHeld = (dataDir: string): Effect.Effect<boolean> =>
  Effect.promise(() => lockHolder(dataDir).then(Option.isSome))

/** The record, if its process is alive and still holds the lock (else it is stale). */
export const read = (dataDir: string): Effect.Effect<Option.Option<Address>> =>
  Effect.promise(async () => {
    const record = await readRecord(dataDir)
    if (Option.isNone(record)) return record
    const holder = await lockHolder(dataDir)
    return Option.isSome(holder) && holder.value === record.value.pid ? record : Option.none()
  })

/**
 * Where to connect when a running tapehouse holds the embedded database; None when nobody holds
 * it (open it yourself). A holder that has not published its address yet (it is starting: PGlite
 * takes a few seconds, an older tapehouse never does) is waited for up to `wait`.
 */
export const findServed = (
  dataDir: string,
  wait: Duration.DurationInput = "30 seconds"
): Effect.Effect<Option.Option<Address>> =>
  Effect.gen(function* () {
    const deadline = (yield* Clock.currentTimeMillis) + Duration.toMillis(wait)
    while (true) {
      const record = yield* read(dataDir)
      if (Option.isSome(record)) return record
      const holder = yield* Effect.promise(() => lockHolder(dataDir))
      if (Option.isNone(holder) || (yield* Clock.currentTimeMillis) >= deadline) return Option.none()
      yield* Effect.sleep("100 millis")
    }
  })
