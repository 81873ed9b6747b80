/**
 * WebSocket upgrades on a simulator's HTTP server, for as long as a scope lives: a request for
 * one of `paths` becomes a connection handed to `onConnection` with the path's value (a cluster,
 * a stream); any other path gets a 404. `paths` is a table of exact paths, or a function of the
 * path and the whole URL (paths that carry values, `/ws/<stream>`, or a query) returning the value
 * or undefined. Closing the scope stops the upgrades, runs `onClose`
 * (end the open connections) and closes the WebSocket server.
 */
import type * as http from "node:http"
import type { Duplex } from "node:stream"
import { Effect, type Scope } from "effect"
import { type WebSocket, WebSocketServer } from "ws"

export const attachWebSocket = <P>(
  server: http.Server,
  paths: Readonly<Record<string, P>> | ((path: string, url: URL) => P | undefined),
  onConnection: (ws: WebSocket, path: P) => void,
  onClose: () => void
): Effect.Effect<void, never, Scope.Scope> => {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20, perMessageDeflate: false })
  const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1")
    const path = url.pathname.replace(/\/$/, "")
    const target =
      typeof paths === "function" ? paths(path, url) : Object.hasOwn(paths, path) ? paths[path] : undefined
    if (target === undefined) {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, target))
  }
  return Effect.acquireRelease(
    Effect.sync(() => {
      server.on("upgrade", onUpgrade)
    }),
    () =>
      Effect.async<void>((resume) => {
        server.off("upgrade", onUpgrade)
        onClose()
        wss.close(() => resume(Effect.void))
      })
  )
}
