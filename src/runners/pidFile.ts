/**
 * Running streams announce themselves in `<data-dir>/state/streams/<source>.json` (pid, start,
 * symbols) so that `tapehouse stop` can signal them and `tapehouse status` can list them.
 */
import * as NodeFs from "node:fs/promises"
import * as Path from "node:path"
import { Effect } from "effect"
import { isAlive } from "../domain/processes.js"
import { makeDir, writeFileAtomic } from "../sinks/atomicFile.js"

export interface RunningStream {
  readonly source: string
  readonly pid: number
  readonly startedAt: string
  readonly symbols: ReadonlyArray<string>
  readonly dataset: string
}

export const streamsDir = (dataDir: string) => Path.join(dataDir, "state", "streams")

/** Writes the pid file for the life of the scope. */
export const register = (dataDir: string, stream: RunningStream) =>
  Effect.acquireRelease(
    makeDir(streamsDir(dataDir)).pipe(
      Effect.zipRight(
        writeFileAtomic(
          Path.join(streamsDir(dataDir), `${stream.source}.json`),
          new TextEncoder().encode(JSON.stringify(stream))
        )
      )
    ),
    () =>
      Effect.promise(() =>
        NodeFs.rm(Path.join(streamsDir(dataDir), `${stream.source}.json`), { force: true })
      )
  )

/** Streams whose process is alive; stale files (a crashed stream) are reported separately. */
export const list = (dataDir: string) =>
  Effect.promise(async () => {
    const dir = streamsDir(dataDir)
    const names = await NodeFs.readdir(dir).catch(() => [] as Array<string>)
    const running: Array<RunningStream> = []
    const stale: Array<RunningStream> = []
    for (const name of names.filter((n) => n.endsWith(".json")).sort()) {
      try {
        const s = JSON.parse(await NodeFs.readFile(Path.join(dir, name), "utf8")) as RunningStream
        ;(isAlive(s.pid) ? running : stale).push(s)
      } catch {
        // a file being replaced right now; the next look sees it
      }
    }
    return { running, stale }
  })

/** Sends SIGTERM to every running stream of the data dir and waits (up to `timeoutMs`) for each to exit. */
export const stopAll = (dataDir: string, timeoutMs: number) =>
  Effect.gen(function* () {
    const { running } = yield* list(dataDir)
    // One process may capture several datasets (a pid file each): it is signalled once.
    for (const pid of new Set(running.map((s) => s.pid))) process.kill(pid, "SIGTERM")
    const deadline = Date.now() + timeoutMs
    const stillRunning = () => running.filter((s) => isAlive(s.pid))
    while (stillRunning().length > 0 && Date.now() < deadline) yield* Effect.sleep("100 millis")
    return { stopped: running.filter((s) => !isAlive(s.pid)), stuck: stillRunning() }
  })
