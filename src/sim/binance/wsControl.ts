/**
 * The live control messages of a Binance market-stream connection (spec §1.1): `SUBSCRIBE`,
 * `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY ["combined", bool]` and `GET_PROPERTY
 * ["combined"]`, each answered once with its `id` (`{"result":…,"id":…}`), or with
 * `{"error":{"code":…,"msg":…},"id":…}`. `id` may be an unsigned integer, a string of at most 36
 * letters and digits, or null.
 */

export interface StreamSubscriptions {
  readonly streams: Set<string>
  combined: boolean
}

export interface ControlContext {
  /** Starts serving `stream`; false: not a stream name this venue knows. */
  readonly activate: (stream: string) => boolean
  readonly subscribed: (stream: string) => void
  readonly unsubscribed: (stream: string) => void
  readonly maxStreams: number
}

const error = (code: number, msg: string, id: unknown) =>
  JSON.stringify({ error: { code, msg }, id: id === undefined ? null : id })

const validId = (id: unknown): boolean =>
  id === null ||
  (typeof id === "number" && Number.isSafeInteger(id) && id >= 0) ||
  (typeof id === "string" && /^[A-Za-z0-9]{1,36}$/.test(id))

/** The reply to one client text frame. */
export const handleControl = (text: string, conn: StreamSubscriptions, ctx: ControlContext): string => {
  let msg: unknown
  try {
    msg = JSON.parse(text)
  } catch {
    return error(3, "Invalid JSON: expected value at line 1 column 1", null)
  }
  if (typeof msg !== "object" || msg === null || Array.isArray(msg))
    return error(3, "Invalid JSON: expected an object", null)
  const { method, params, id } = msg as Record<string, unknown>
  if (!validId(id)) return error(2, "Invalid request: request ID must be an unsigned integer", null)
  const ok = (result: unknown) => JSON.stringify({ result, id })
  switch (method) {
    case "SUBSCRIBE":
    case "UNSUBSCRIBE": {
      if (!Array.isArray(params) || !params.every((p): p is string => typeof p === "string"))
        return error(2, "Invalid request: params must be a list of stream names", id)
      if (method === "SUBSCRIBE") {
        const bad = params.find((p) => !ctx.activate(p))
        if (bad !== undefined) return error(2, `Invalid request: invalid stream name ${bad}`, id)
        const added = params.filter((p) => !conn.streams.has(p))
        if (conn.streams.size + new Set(added).size > ctx.maxStreams)
          return error(2, `Invalid request: at most ${ctx.maxStreams} streams per connection`, id)
        for (const p of added) {
          conn.streams.add(p)
          ctx.subscribed(p)
        }
      } else for (const p of params) if (conn.streams.delete(p)) ctx.unsubscribed(p)
      return ok(null)
    }
    case "LIST_SUBSCRIPTIONS":
      return ok([...conn.streams])
    case "SET_PROPERTY": {
      if (!Array.isArray(params) || params.length !== 2)
        return error(2, "Invalid request: SET_PROPERTY takes [name, value]", id)
      if (typeof params[0] !== "string")
        return error(2, "Invalid request: property name must be a string", id)
      if (params[0] !== "combined") return error(0, "Unknown property", id)
      if (typeof params[1] !== "boolean") return error(1, "Invalid value type: expected Boolean", id)
      conn.combined = params[1]
      return ok(null)
    }
    case "GET_PROPERTY": {
      if (!Array.isArray(params) || params.length !== 1)
        return error(2, "Invalid request: GET_PROPERTY takes [name]", id)
      if (typeof params[0] !== "string")
        return error(2, "Invalid request: property name must be a string", id)
      if (params[0] !== "combined") return error(0, "Unknown property", id)
      return ok(conn.combined)
    }
    default:
      return error(2, "Invalid request: unknown variable", id)
  }
}
