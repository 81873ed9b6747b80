/** A raw `ws` test client for the WebSocket simulator: records every frame, waits on conditions. */
import { Effect, type Scope } from "effect"
import WebSocket from "ws"

// biome-ignore lint/suspicious/noExplicitAny: JSON frames under test
export type Json = any

export interface RawClient {
  readonly ws: WebSocket
  /** Every text frame received, in order. */
  readonly frames: Array<string>
  readonly send: (value: unknown) => void
  /** The next frame not yet returned by `next`. */
  readonly next: Effect.Effect<string>
  /** Waits until `predicate` holds (checked on every frame and on close). */
  readonly waitFor: (predicate: () => boolean) => Effect.Effect<void>
  /** The close code once closed (1006: dropped without a close frame). */
  readonly closeCode: () => number | undefined
  readonly closed: Effect.Effect<number>
  /** Every `A` event received in array frames, in order (a live array). */
  readonly aggregates: () => ReadonlyArray<Json>
}

const parse = (frame: string): Json => {
  try {
    return JSON.parse(frame)
  } catch {
    return undefined
  }
}

/**
 * Connects to `url`; `onOpen` runs in the `open` handler, before any frame is read (as the Go and
 * JS clients send auth). Terminated when the scope closes.
 */
export const connect = (
  url: string,
  onOpen: (ws: WebSocket) => void = () => {}
): Effect.Effect<RawClient, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<RawClient, Error>((resume) => {
      const ws = new WebSocket(url)
      const frames: Array<string> = []
      const aggregates: Array<Json> = []
      const listeners = new Set<() => void>()
      let code: number | undefined
      let cursor = 0
      const notify = () => {
        for (const l of [...listeners]) l()
      }
      const waitFor = (predicate: () => boolean) =>
        Effect.async<void>((done) => {
          if (predicate()) return done(Effect.void)
          const check = () => {
            if (!predicate()) return
            listeners.delete(check)
            done(Effect.void)
          }
          listeners.add(check)
          return Effect.sync(() => listeners.delete(check))
        })
      const client: RawClient = {
        ws,
        frames,
        send: (value) => ws.send(JSON.stringify(value)),
        next: Effect.suspend(() =>
          waitFor(() => frames.length > cursor || code !== undefined).pipe(
            Effect.map(() => frames[cursor++] ?? "<closed>")
          )
        ),
        waitFor,
        closeCode: () => code,
        closed: Effect.suspend(() => waitFor(() => code !== undefined)).pipe(Effect.map(() => code!)),
        aggregates: () => aggregates
      }
      ws.on("message", (data) => {
        const frame = String(data)
        frames.push(frame)
        const v = parse(frame)
        if (Array.isArray(v)) for (const e of v) if (e?.ev === "A") aggregates.push(e)
        notify()
      })
      ws.on("close", (c) => {
        code = c
        notify()
      })
      let settled = false
      ws.on("error", (e) => {
        if (settled) return
        settled = true
        resume(Effect.fail(e))
      })
      ws.on("open", () => {
        settled = true
        onOpen(ws)
        resume(Effect.succeed(client))
      })
    }),
    (c) => Effect.sync(() => c.ws.terminate())
  )

/** The frame parsed as JSON (undefined when it is not JSON). */
export const parseFrame = parse

/** connect, then auth with `key` and wait for the reply frame. */
export const authed = (url: string, key = "test-key") =>
  Effect.gen(function* () {
    const c = yield* connect(url)
    expectStatus(yield* c.next, "connected")
    c.send({ action: "auth", params: key })
    expectStatus(yield* c.next, "auth_success")
    return c
  })

export const statusOf = (frame: string): string | undefined => {
  const v = parse(frame)
  return Array.isArray(v) && v.length === 1 && v[0]?.ev === "status" ? v[0].status : undefined
}

const expectStatus = (frame: string, status: string) => {
  if (statusOf(frame) !== status) throw new Error(`expected status ${status}, got ${frame}`)
}

/** Subscribes and reads the one `success` frame per channel. */
export const subscribe = (c: RawClient, params: string) =>
  Effect.gen(function* () {
    c.send({ action: "subscribe", params })
    const acks: Array<string> = []
    for (const _ of params.split(",")) acks.push(yield* c.next)
    return acks
  })
