/**
 * A sharded feed's connections under the vendor's connection limit, over a scripted socket: a
 * connection refused with `max_connections` hands its instruments to another (which takes them over
 * on its socket) instead of reconnecting; the last one left keeps reconnecting, carrying everything.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Queue, Stream } from "effect"
import type { StockBar } from "../../../src/domain/StockBar.js"
import type { LiveEvent } from "../../../src/runners/LiveFeed.js"
import * as ConnectionShards from "../../../src/sources/massive/connectionShards.js"
import type { MassiveSocketShape, SubscribeRequest } from "../../../src/sources/massive/MassiveSocket.js"
import { codec } from "../../../src/sources/massive/stockBarsFeed.js"

const refused: ReadonlyArray<LiveEvent<StockBar>> = [
  { _tag: "Status", status: "max_connections", message: "Maximum number of connections exceeded.", at: 1 },
  { _tag: "Disconnected", at: 1, reason: "status max_connections: Maximum number of connections exceeded." },
  { _tag: "Connected", at: 2, attempt: 2 }
]
const accepted: ReadonlyArray<LiveEvent<StockBar>> = [{ _tag: "Connected", at: 1, attempt: 1 }]

/** A socket whose connections replay `script(request)` and then stay open; it keeps every request. */
const scriptedSocket = (
  script: (request: SubscribeRequest<StockBar>) => ReadonlyArray<LiveEvent<StockBar>>
) => {
  const requests: Array<SubscribeRequest<StockBar>> = []
  const socket: MassiveSocketShape = {
    events: <A>(request: SubscribeRequest<A>) => {
      const r = request as unknown as SubscribeRequest<StockBar>
      requests.push(r)
      return Stream.concat(Stream.fromIterable(script(r) as ReadonlyArray<LiveEvent<A>>), Stream.never)
    }
  }
  return { socket, requests }
}

/** The events of `stream` until it ends (after a `Moved` event) or up to its reconnect. */
const untilSettled = <A>(stream: Stream.Stream<LiveEvent<A>, unknown>) =>
  stream.pipe(
    Stream.takeUntil((e) => e._tag === "Connected" && e.attempt === 2),
    Stream.runCollect,
    Effect.map(Chunk.toReadonlyArray)
  )

const options = {
  cluster: "stocks" as const,
  codec,
  perConnection: 2,
  perConnectionKey: "options.contracts_per_connection"
}

describe("connectionShards", () => {
  it("splits into groups of at most perConnection", () => {
    expect(ConnectionShards.shards([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]])
    expect(ConnectionShards.shards([1, 2], undefined)).toEqual([[1, 2]])
  })

  it.effect("a refused connection hands its instruments to a connected one, which subscribes them once", () =>
    Effect.gen(function* () {
      const { socket, requests } = scriptedSocket((r) =>
        r.subscriptions.includes("A.E") ? refused : accepted
      )
      const conns = ConnectionShards.connections(socket, ["A", "B", "C", "D", "E"], options)
      expect(conns.map((c) => [c.id, c.instruments])).toEqual([
        ["stocks#1", ["A", "B"]],
        ["stocks#2", ["C", "D"]],
        ["stocks#3", ["E"]]
      ])
      // The first two connect and stay up.
      const up = yield* Effect.forEach(conns.slice(0, 2), (c) => Effect.fork(Stream.runDrain(c.events)))
      yield* Effect.yieldNow()
      const events = yield* untilSettled(conns[2]!.events)
      expect(events).toEqual([expect.objectContaining({ _tag: "Moved", instruments: ["E"], to: "stocks#1" })])
      const moved = events[0] as Extract<LiveEvent<StockBar>, { _tag: "Moved" }>
      expect(moved.message).toContain("options.contracts_per_connection")
      // After the `Moved` event, the taker subscribes the channels on its open connection, once.
      const taker = requests.find((r) => r.subscriptions.includes("A.A"))!
      expect(Chunk.toReadonlyArray(yield* Queue.takeAll(taker.more!))).toEqual([["A.E"]])
      const other = requests.find((r) => r.subscriptions.includes("A.C"))!
      expect(yield* Queue.size(other.more!)).toBe(0)
      // No reconnect of the refused connection: it asked the socket once.
      expect(requests.filter((r) => r.subscriptions.includes("A.E"))).toHaveLength(1)
      yield* Effect.forEach(up, Fiber.interrupt)
    })
  )

  it.effect("all refused: the last connection keeps reconnecting with every instrument, the others end", () =>
    Effect.gen(function* () {
      const { socket, requests } = scriptedSocket(() => refused)
      const conns = ConnectionShards.connections(socket, ["A", "B", "C", "D", "E"], options)
      const outcomes = []
      for (const c of conns) outcomes.push(yield* untilSettled(c.events))
      expect(outcomes.map((events) => events.map((e) => e._tag))).toEqual([
        ["Moved"],
        ["Moved"],
        ["Status", "Disconnected", "Connected"]
      ])
      const status = outcomes[2]![0] as Extract<LiveEvent<StockBar>, { _tag: "Status" }>
      expect(status.message).toContain("options.contracts_per_connection")
      // The last one started with what the others handed over: every channel, once.
      expect([...requests[2]!.subscriptions].sort()).toEqual(["A.A", "A.B", "A.C", "A.D", "A.E"])
      expect(yield* Queue.size(requests[2]!.more!)).toBe(0)
    })
  )
})
