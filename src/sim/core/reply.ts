/**
 * What a simulator route answers and how it goes on the wire: a status, a body and headers,
 * written whole with its `Content-Length` and an `X-Request-ID`, or cut in half (the `truncated`
 * fault).
 */
import type * as http from "node:http"

export interface Reply {
  readonly status: number
  readonly body: string
  readonly contentType?: string
  readonly headers?: Readonly<Record<string, string>>
}

export const JSON_TYPE = "application/json; charset=utf-8"

export const json = (status: number, value: unknown): Reply => ({ status, body: JSON.stringify(value) })

/** A gateway's error page, served with 200 by the `non-json` fault. */
export const BAD_GATEWAY_PAGE: Reply = {
  status: 200,
  contentType: "text/html; charset=utf-8",
  body: `<!DOCTYPE html>
<html><head><title>502 Bad Gateway</title></head>
<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>
`
}

export const writeReply = (res: http.ServerResponse, requestId: string, reply: Reply): void => {
  res.writeHead(reply.status, {
    "Content-Type": reply.contentType ?? JSON_TYPE,
    "Content-Length": Buffer.byteLength(reply.body),
    "X-Request-ID": requestId,
    ...reply.headers
  })
  res.end(reply.body)
}

/** Declares the full `Content-Length`, sends half of the body, then closes the socket. */
export const writeTruncated = (res: http.ServerResponse, requestId: string, reply: Reply): void => {
  const bytes = Buffer.from(reply.body)
  res.writeHead(reply.status, {
    "Content-Type": reply.contentType ?? JSON_TYPE,
    "Content-Length": bytes.length,
    "X-Request-ID": requestId
  })
  res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => res.socket?.destroy())
}

/** Deterministic 32-hex request ids, one per request, the same sequence on every run. */
export const requestIdFactory = (): (() => string) => {
  let n = 0
  const word = (x: number) => {
    let h = Math.imul(x ^ 0x5bd1e995, 0x27d4eb2d)
    h ^= h >>> 15
    h = Math.imul(h, 0x85ebca6b)
    h ^= h >>> 13
    return (h >>> 0).toString(16).padStart(8, "0")
  }
  return () => {
    n++
    return word(n) + word(n + 0x1000) + word(n + 0x2000) + word(n + 0x3000)
  }
}
