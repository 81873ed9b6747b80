/**
 * A simulator's HTTP server on 127.0.0.1 (port 0 = one the OS picks), alive for a scope: closing
 * the scope closes the server, destroys its open connections and cancels answers still waiting
 * on a timer (`later`).
 */
import * as http from "node:http"
import type { Socket } from "node:net"
import { Effect, Schema, type Scope } from "effect"

/** The simulator could not listen (port taken, permission). */
export class SimStartError extends Schema.TaggedError<SimStartError>()("SimStartError", {
  simulator: Schema.String,
  host: Schema.String,
  port: Schema.Number,
  detail: Schema.String
}) {
  override get message(): string {
    return `The ${this.simulator} simulator could not listen on ${this.host}:${this.port} (${this.detail}). Choose another port, or 0 for a free one.`
  }
}

export interface HttpHostOptions {
  /** Named in errors, e.g. "Massive". */
  readonly simulator: string
  readonly host?: "127.0.0.1"
  /** 0 (default) = a free port. */
  readonly port?: number
}

export interface HttpHost {
  readonly server: http.Server
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  readonly url: string
  readonly port: number
  /** Runs `f` after `ms` unless the scope closes first. */
  readonly later: (ms: number, f: () => void) => void
}

interface Running {
  readonly host: HttpHost
  readonly sockets: Set<Socket>
  readonly timers: Set<NodeJS.Timeout>
}

const start = (
  options: HttpHostOptions,
  handle: (req: http.IncomingMessage, res: http.ServerResponse) => void
): Effect.Effect<Running, SimStartError> =>
  Effect.async<Running, SimStartError>((resume) => {
    const host = options.host ?? "127.0.0.1"
    const port = options.port ?? 0
    const sockets = new Set<Socket>()
    const timers = new Set<NodeJS.Timeout>()
    const server = http.createServer()
    server.on("connection", (socket) => {
      sockets.add(socket)
      socket.once("close", () => sockets.delete(socket))
    })
    server.on("clientError", (_err, socket) => socket.destroy())
    server.on("request", handle)
    const later = (ms: number, f: () => void) => {
      const timer = setTimeout(() => {
        timers.delete(timer)
        f()
      }, ms)
      timers.add(timer)
    }
    const onError = (e: Error) => {
      resume(Effect.fail(new SimStartError({ simulator: options.simulator, host, port, detail: e.message })))
    }
    server.once("error", onError)
    server.listen(port, host, () => {
      server.off("error", onError)
      const address = server.address()
      const actual = typeof address === "object" && address !== null ? address.port : port
      resume(
        Effect.succeed({
          host: { server, url: `http://${host}:${actual}`, port: actual, later },
          sockets,
          timers
        })
      )
    })
    return Effect.sync(() => {
      server.close()
    })
  })

const stop = (running: Running): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    for (const t of running.timers) clearTimeout(t)
    running.timers.clear()
    running.host.server.close(() => resume(Effect.void))
    for (const s of running.sockets) s.destroy()
  })

/**
 * Listens with `handle` answering every request. Requests cannot arrive before the returned
 * effect has the URL, so a handler may read it from a variable set right after.
 */
export const listen = (
  options: HttpHostOptions,
  handle: (req: http.IncomingMessage, res: http.ServerResponse) => void
): Effect.Effect<HttpHost, SimStartError, Scope.Scope> =>
  Effect.map(Effect.acquireRelease(start(options, handle), stop), (r) => r.host)
