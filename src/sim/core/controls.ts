/**
 * The control endpoints of a simulator (`/__sim/...`): tests and users drive faults and read
 * what the simulator saw over HTTP, without an API key. Each endpoint is a handler registered by
 * path; a POST/PUT body is parsed as JSON before it runs. Control requests are not recorded.
 */
import type * as http from "node:http"
import { Either, ParseResult, Schema } from "effect"
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
