/**
 * Several datasets captured in one process and one session: each is a `stream.run` of its own (its
 * queue and spill, connections, gaps, heartbeat, continuity rows), all sharing the calendar, the
 * sinks, the checkpoints and the alerts of the context. A dataset whose feed fails for good (a
 * refused key or entitlement on its cluster) raises an alert and stops alone; the others go on to
 * the close. An interruption (Ctrl-C, SIGTERM, `tapehouse stop`) drains every one of them.
 */
import { Effect, Either } from "effect"
import { Alerts } from "../monitor/Alerts.js"
import type { StreamStats } from "../monitor/StreamStats.js"
import type { Feed } from "./Feed.js"
import type { LiveFeed } from "./LiveFeed.js"
import * as StreamRunner from "./stream.js"

/** One dataset of the set: its feed and what to capture of it. */
export interface DatasetStream<A> {
  readonly feed: Feed<A> & { readonly live: LiveFeed<A> }
  readonly request: StreamRunner.StreamRequest
}

/** `stream` with its record type erased, for a set of datasets of different types. */
export const erased = <A>(stream: DatasetStream<A>): DatasetStream<unknown> =>
  stream as unknown as DatasetStream<unknown>

/** How one dataset's capture ended: its report, or the error that stopped it early. */
export type StreamOutcome =
  | { readonly _tag: "Done"; readonly source: string; readonly report: StreamRunner.StreamReport }
  | {
      readonly _tag: "Failed"
      readonly source: string
      readonly error: unknown
      /** The error as one line, for summaries. */
      readonly message: string
    }

const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : typeof error === "string" ? error : JSON.stringify(error)

/**
 * Runs every stream of `streams` at once until the close (or an interruption), isolating failures:
 * the outcomes come back in the order of `streams`. `onTick` gets each stream's counters.
 */
export const runAll = (
  // Record types differ per dataset: erased here as at the registry, each feed and request agree.
  streams: ReadonlyArray<DatasetStream<unknown>>,
  onTick: (stats: StreamStats) => void = () => {}
) =>
  Effect.gen(function* () {
    const alerts = yield* Alerts
    const others = (source: string) =>
      streams.length === 1
        ? ""
        : `; ${streams
            .map((s) => s.request.source)
            .filter((s) => s !== source)
            .join(", ")} keep capturing`
    return yield* Effect.forEach(
      streams,
      ({ feed, request }) =>
        StreamRunner.run(feed, request, onTick).pipe(
          // Its own scope: a failed stream's fibers, connections and spill end with it.
          Effect.scoped,
          Effect.either,
          Effect.flatMap(
            (result): Effect.Effect<StreamOutcome> =>
              Either.match(result, {
                onRight: (report) =>
                  Effect.succeed({ _tag: "Done" as const, source: request.source, report }),
                onLeft: (error) => {
                  const message = messageOf(error)
                  return alerts
                    .raise({
                      kind: "error",
                      level: "error",
                      source: request.source,
                      message: `${feed.dataset.name} stopped: ${message}${others(request.source)}`
                    })
                    .pipe(Effect.as({ _tag: "Failed" as const, source: request.source, error, message }))
                }
              })
          )
        ),
      { concurrency: "unbounded" }
    )
  })
