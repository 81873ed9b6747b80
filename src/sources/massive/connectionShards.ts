/**
 * A feed's connections on one cluster when its instruments are split into groups (at most
 * `perConnection` a connection: our own setting, not the vendor's). They share the account's
 * connection limit: when the vendor refuses one with `max_connections`, it does not reconnect; its
 * instruments move to another connection of the feed, which subscribes them at once (the vendor
 * allows many channels a connection), so each instrument stays subscribed exactly once. The last
 * connection left keeps reconnecting with the longest backoff instead: never none, never several
 * flapping. The runner learns of a move through the `Moved` event, the refused connection's last.
 */
import { Effect, Queue, Stream } from "effect"
import type { LiveConnection, LiveEvent } from "../../runners/LiveFeed.js"
import type { Cluster, MassiveSocketShape } from "./MassiveSocket.js"
import type { AggregateCodec } from "./wsWire.js"

export interface ShardOptions<A> {
  readonly cluster: Cluster
  readonly codec: AggregateCodec<A>
  /** Instruments per connection at most (undefined: one connection for all). */
  readonly perConnection?: number
  /** The config key of `perConnection`, named when the vendor refuses a connection. */
  readonly perConnectionKey?: string
}

/** Splits `items` into groups of at most `size` (one group when `size` is undefined). */
export const shards = <T>(
  items: ReadonlyArray<T>,
  size: number | undefined
): ReadonlyArray<ReadonlyArray<T>> => {
  if (size === undefined || items.length <= size) return [items]
  const out: Array<ReadonlyArray<T>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

interface Shard {
  readonly id: string
  /** What it carries: its group, then what it took over. */
  readonly instruments: Array<string>
  /** Channels taken over and not yet handed to its socket. */
  incoming: Array<string>
  /** Its socket's queue of channels to take over, once its stream runs. */
  more: Queue.Queue<ReadonlyArray<string>> | undefined
  connected: boolean
  /** Refused for good: its instruments went to another shard. */
  retired: boolean
}

type StatusEvent = Extract<LiveEvent<unknown>, { readonly _tag: "Status" }>

/** The connections that carry `instruments` on `options.cluster`, sharing the account's limit. */
export const connections = <A>(
  socket: MassiveSocketShape,
  instruments: ReadonlyArray<string>,
  options: ShardOptions<A>
): ReadonlyArray<LiveConnection<A>> => {
  const groups = shards(instruments, options.perConnection)
  const all: Array<Shard> = groups.map((group, i) => ({
    id: groups.length === 1 ? options.cluster : `${options.cluster}#${i + 1}`,
    instruments: [...group],
    incoming: [],
    more: undefined,
    connected: false,
    retired: false
  }))
  const channel = (instrument: string) => `${options.codec.ev}.${instrument}`
  const key = options.perConnectionKey
  const advice =
    key === undefined
      ? "another client may be using this account's connection"
      : `raise ${key} so that fewer connections are needed, or ask the vendor for more connections`

  /** Where a refused shard's instruments go: a connected shard first, the least loaded first. */
  const takerFor = (refused: Shard): Shard | undefined => {
    let best: Shard | undefined
    for (const s of all) {
      if (s === refused || s.retired) continue
      if (
        best === undefined ||
        (s.connected && !best.connected) ||
        (s.connected === best.connected && s.instruments.length < best.instruments.length)
      )
        best = s
    }
    return best
  }

  /** Hands the channels taken over to the shard's socket, once its stream runs (else it starts with them). */
  const deliver = (shard: Shard) =>
    Effect.suspend(() => {
      if (shard.more === undefined || shard.incoming.length === 0) return Effect.void
      const batch = shard.incoming
      shard.incoming = []
      return Queue.offer(shard.more, batch)
    })

  return all.map((shard): LiveConnection<A> => {
    let taker: Shard | undefined
    /** A `max_connections` status, held until the loss that follows it decides what it means. */
    let held: StatusEvent | undefined
    const step = (e: LiveEvent<A>, now: number): ReadonlyArray<LiveEvent<A>> => {
      switch (e._tag) {
        case "Connected":
          shard.connected = true
          return [e]
        case "Status":
          if (e.status !== "max_connections") return [e]
          held = e
          return []
        case "Disconnected": {
          shard.connected = false
          const status = held
          held = undefined
          if (status === undefined) return [e]
          taker = takerFor(shard)
          if (taker === undefined)
            return [{ ...status, message: `${status.message} (the feed's last connection; ${advice})` }, e]
          const moved = shard.instruments.splice(0)
          shard.retired = true
          for (const i of moved) taker.instruments.push(i)
          for (const i of moved) taker.incoming.push(channel(i))
          return [
            {
              _tag: "Moved",
              instruments: moved,
              to: taker.id,
              at: now,
              message: `the vendor refused ${shard.id} (max_connections: ${status.message}): this account holds fewer connections than the feed's ${all.length} groups of ${key ?? "instruments"}=${options.perConnection ?? "all"}; its ${moved.length} instrument(s) now go on ${taker.id}. To capture them on their own connection, ${advice}`
            }
          ]
        }
        default:
          return [e]
      }
    }
    return {
      id: shard.id,
      instruments: shard.instruments.slice(),
      events: Stream.unwrapScoped(
        Effect.gen(function* () {
          const more = yield* Queue.unbounded<ReadonlyArray<string>>()
          const subscriptions = shard.instruments.map(channel)
          shard.incoming = []
          shard.more = more
          const clock = yield* Effect.clock
          return socket.events({ cluster: options.cluster, subscriptions, codec: options.codec, more }).pipe(
            Stream.mapConcat((e) => step(e, clock.unsafeCurrentTimeMillis())),
            Stream.takeUntil((e) => e._tag === "Moved"),
            // After the runner has the `Moved` event (and so the gaps it hands over): the taker subscribes.
            Stream.concat(
              Stream.drain(Stream.fromEffect(Effect.suspend(() => (taker ? deliver(taker) : Effect.void))))
            ),
            Stream.ensuring(
              Effect.sync(() => {
                shard.more = undefined
              })
            )
          )
        })
      )
    }
  })
}
