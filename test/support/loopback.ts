/** Loopback endpoints for failure tests: a port where nothing listens, a server that never answers. */
import * as Net from "node:net"
import { Effect, type Scope } from "effect"

/** A 127.0.0.1 port where nothing listens (the OS picks it, it is bound, then closed). */
export const refusedPort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })

/** A 127.0.0.1 server that accepts connections and never says a word, for the scope's life. */
export const silentServer: Effect.Effect<number, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(
    () =>
      new Promise<{ server: Net.Server; sockets: Set<Net.Socket>; port: number }>((resolve, reject) => {
        const sockets = new Set<Net.Socket>()
        const server = Net.createServer((socket) => {
          sockets.add(socket)
          socket.once("close", () => sockets.delete(socket))
        })
        server.once("error", reject)
        server.listen(0, "127.0.0.1", () => {
          const address = server.address()
          resolve({
            server,
            sockets,
            port: typeof address === "object" && address !== null ? address.port : 0
          })
        })
      })
  ),
  ({ server, sockets }) =>
    Effect.promise(
      () =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy()
          server.close(() => resolve())
        })
    )
).pipe(Effect.map(({ port }) => port))
