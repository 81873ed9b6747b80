/**
 * Where a resumable feed (a poller) stands, stored per stream source in
 * `<data-dir>/state/positions/<source>.json`, written atomically (temp, fsync, rename) and only
 * after the sinks committed the records before it (batch.ts). A restart reads it back and the feed
 * asks for what came after.
 */
import * as Path from "node:path"
import { Effect } from "effect"
import type { StorageError } from "../../domain/errors.js"
import { makeDir, readFileIfExists, writeFileAtomic } from "../../sinks/atomicFile.js"

const fileOf = (dataDir: string, source: string) => Path.join(dataDir, "state", "positions", `${source}.json`)

/** The stored position of `source`; undefined before its first commit. */
export const read = (dataDir: string, source: string): Effect.Effect<string | undefined, StorageError> =>
  Effect.map(readFileIfExists(fileOf(dataDir, source)), (bytes) =>
    bytes === undefined ? undefined : new TextDecoder().decode(bytes)
  )

/** Stores `position` for `source`, replacing the previous one atomically. */
export const write = (
  dataDir: string,
  source: string,
  position: string
): Effect.Effect<void, StorageError> => {
  const file = fileOf(dataDir, source)
  return Effect.zipRight(
    makeDir(Path.dirname(file)),
    writeFileAtomic(file, new TextEncoder().encode(position))
  )
}
