/**
 * The control endpoints of a simulator (`/__sim/...`): tests and users drive faults and read
 * what the simulator saw over HTTP, without an API key. Each endpoint is a handler registered by
 * path; a POST/PUT body is parsed as JSON before it runs. Control requests are not recorded.
 */
import type * as http from "node:http"
import { Either, ParseResult, Schema } from "effect"
import type { Queued, QueueOptions } from "./faultQueue.js"
import { json, type Reply } from "./reply.js"

export const CONTROL_PREFIX = "/__sim/"

export interface ControlRequest {
  readonly method: string
  /** The parsed JSON body of a POST/PUT (Left: why it could not be read), undefined otherwise. */
  readonly body: Either.Either<unknown, string> | undefined
  readonly requestId: string
}

/** An answer, or undefined when the endpoint does not take this method (then: 404). */
export type ControlHandler = (
  request: ControlRequest
) => { readonly status: number; readonly body: unknown } | undefined

export interface Controls {
  /** Adds (or replaces) the endpoint at `path`; returns its remover. */
  readonly register: (path: string, handler: ControlHandler) => () => void
  /** Answers a request whose path starts with `CONTROL_PREFIX`. */
  readonly handle: (
    req: http.IncomingMessage,
    path: string,
    requestId: string,
    answer: (reply: Reply) => void
  ) => void
}

const MAX_BODY = 1_000_000

const readBody = (req: http.IncomingMessage, k: (text: string | undefined) => void) => {
  const chunks: Array<Buffer> = []
  let size = 0
  req.on("data", (c: Buffer) => {
    size += c.length
    if (size <= MAX_BODY) chunks.push(c)
  })
  req.on("end", () => k(size > MAX_BODY ? undefined : Buffer.concat(chunks).toString("utf8")))
  req.on("error", () => k(undefined))
}

const parseJson = (text: string | undefined): Either.Either<unknown, string> => {
  if (text === undefined) return Either.left("body too large or unreadable")
  try {
    return Either.right(JSON.parse(text) as unknown)
  } catch (e) {
    return Either.left(`not JSON: ${(e as Error).message}`)
  }
}

export const makeControls = (): Controls => {
  const handlers = new Map<string, ControlHandler>()
  return {
    register: (path, handler) => {
      const key = path.replace(/\/$/, "")
      handlers.set(key, handler)
      return () => {
        if (handlers.get(key) === handler) handlers.delete(key)
      }
    },
    handle: (req, rawPath, requestId, answer) => {
      const path = rawPath.replace(/\/$/, "")
      const method = req.method ?? "GET"
      const notFound = () =>
        answer(
          json(404, {
            status: "NOT_FOUND",
            request_id: requestId,
            message: `No simulator control endpoint ${method} ${path}.`
          })
        )
      const handler = handlers.get(path)
      if (handler === undefined) return notFound()
      const run = (body: Either.Either<unknown, string> | undefined) => {
        const reply = handler({ method, body, requestId })
        if (reply === undefined) return notFound()
        answer(json(reply.status, reply.body))
      }
      if (method === "POST" || method === "PUT") return readBody(req, (text) => run(parseJson(text)))
      run(undefined)
    }
  }
}

/** A 400 answer of a control endpoint. */
export const badControl = (requestId: string | undefined, error: string) => ({
  status: 400,
  body: { status: "ERROR", ...(requestId === undefined ? {} : { request_id: requestId }), error }
})

/** The request's JSON body, or why there is none ("missing body", or why it could not be read). */
export const bodyOf = (request: ControlRequest): Either.Either<unknown, string> =>
  request.body ?? Either.left("missing body")

/**
 * Decodes a control body with `schema` into a list (one item or an array of them); Left: a
 * sentence naming the accepted `kinds` and the first issues.
 */
export const decodeControlList = <A, I>(
  schema: Schema.Schema<A | ReadonlyArray<A>, I>,
  body: Either.Either<unknown, string> | undefined,
  what: string,
  kinds: ReadonlyArray<string>
): Either.Either<ReadonlyArray<A>, string> => {
  const json = body ?? Either.left("missing body")
  if (Either.isLeft(json)) return Either.left(json.left)
  const decoded = Schema.decodeUnknownEither(schema)(json.right)
  if (Either.isLeft(decoded)) {
    const first = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
      .slice(0, 3)
      .map((i) => `${i.path.join(".") || "body"}: ${i.message}`)
      .join("; ")
    return Either.left(`not ${what} (kind: ${kinds.join(" | ")}): ${first}`.slice(0, 600))
  }
  const value = decoded.right
  return Either.right(Array.isArray(value) ? (value as ReadonlyArray<A>) : [value as A])
}

/** A fault as a control request sends it: the fault, with its queue options (`path` a regex source). */
export type FaultRequest<F> = F & {
  readonly times?: number | undefined
  readonly every?: number | undefined
  readonly path?: string | undefined
}

/**
 * A simulator's fault control: `GET` lists the pending faults, `POST` queues one or a list (each
 * with `times`, `every` and a `path` regex), `DELETE` clears them.
 */
export const faultControl =
  <F, I>(
    faults: {
      readonly inject: (fault: F, options?: QueueOptions) => void
      readonly clear: () => void
      readonly pending: () => ReadonlyArray<Queued<F>>
    },
    requests: Schema.Schema<FaultRequest<F> | ReadonlyArray<FaultRequest<F>>, I>,
    what: string,
    kinds: ReadonlyArray<string>
  ): ControlHandler =>
  (request) => {
    if (request.method === "GET") return { status: 200, body: faults.pending() }
    if (request.method === "DELETE") {
      faults.clear()
      return { status: 200, body: { status: "OK", pending: 0 } }
    }
    if (request.method !== "POST") return undefined
    const list = decodeControlList(requests, request.body, what, kinds)
    if (Either.isLeft(list)) return badControl(request.requestId, list.left)
    let regexes: Array<RegExp | undefined>
    try {
      regexes = list.right.map((r) => (r.path === undefined ? undefined : new RegExp(r.path)))
    } catch (e) {
      return badControl(request.requestId, `invalid path regex: ${(e as Error).message}`)
    }
    list.right.forEach((r, i) => {
      const { times, every, path: _path, ...fault } = r
      const re = regexes[i]
      faults.inject(fault as F, {
        ...(times === undefined ? {} : { times }),
        ...(every === undefined ? {} : { every }),
        ...(re === undefined ? {} : { path: re })
      })
    })
    return { status: 200, body: { status: "OK", pending: faults.pending().length } }
  }
