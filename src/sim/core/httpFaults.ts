/**
 * Applying a simulator's HTTP faults to one request: the requests-per-minute limit (429), then
 * the first queued transport fault (an error status with its `Retry-After`, a cut body, HTML, a
 * delay, a dropped connection). The vendor supplies its error bodies; the routes apply the data
 * faults (`repeat-rows`, `ohlc-violation`, `extra-keys`) themselves. Also the control endpoints that drive
 * them: `/__sim/faults` and `/__sim/rate-limit`.
 */
import type * as http from "node:http"
import { Either } from "effect"
import { badControl, bodyOf, type Controls, faultControl } from "./controls.js"
import { FAULT_KINDS, type Fault, FaultRequests, type FaultSwitch, TRANSPORT_KINDS } from "./faults.js"
import { BAD_GATEWAY_PAGE, JSON_TYPE, type Reply, writeTruncated } from "./reply.js"

export type FaultMark = Fault["kind"] | "rate-limit"

export interface FaultedRequest {
  readonly req: http.IncomingMessage
  readonly res: http.ServerResponse
  readonly path: string
  readonly requestId: string
  /** The route's answer, computed only when a fault lets it through. */
  readonly handler: () => Reply
  /** Sends a reply (and records it with the fault that shaped it). */
  readonly send: (reply: Reply, fault?: FaultMark) => void
  /** Records an answer sent some other way (status 0: none). */
  readonly record: (status: number, fault: FaultMark) => void
}

export interface HttpFaults {
  /** Answers `request`, through the rate limit and the first transport fault that takes it. */
  readonly answer: (request: FaultedRequest) => void
}

/**
 * `statusBody`: what the vendor sends with a status when the fault brings no body (and with 429
 * for the rate limit); `later`: a timer the server cancels when it stops.
 */
export const makeHttpFaults = (
  faults: FaultSwitch,
  statusBody: (status: number, requestId: string) => Reply,
  later: (ms: number, f: () => void) => void
): HttpFaults => {
  let recent: Array<number> = []
  const overLimit = (): boolean => {
    const perMinute = faults.rateLimitPerMinute()
    if (perMinute === undefined) return false
    const t = Date.now()
    recent = recent.filter((x) => x > t - 60_000)
    if (recent.length >= perMinute) return true
    recent.push(t)
    return false
  }
  const statusReply = (fault: Extract<Fault, { kind: "status" }>, requestId: string): Reply => {
    let contentType = JSON_TYPE
    if (fault.body !== undefined) {
      try {
        JSON.parse(fault.body)
      } catch {
        contentType = "text/plain; charset=utf-8"
      }
    }
    return {
      status: fault.status,
      body: fault.body ?? statusBody(fault.status, requestId).body,
      contentType,
      ...(fault.retryAfter === undefined ? {} : { headers: { "Retry-After": fault.retryAfter } })
    }
  }
  return {
    answer: (r) => {
      if (overLimit()) return r.send(statusBody(429, r.requestId), "rate-limit")
      const fault = faults.take(r.path, (f) => TRANSPORT_KINDS.has(f.kind))
      switch (fault?.kind) {
        case "drop-connection":
          r.record(0, fault.kind)
          r.req.socket.destroy()
          return
        case "status":
          return r.send(statusReply(fault, r.requestId), fault.kind)
        case "non-json":
          return r.send(BAD_GATEWAY_PAGE, fault.kind)
        case "truncated": {
          const reply = r.handler()
          r.record(reply.status, fault.kind)
          return writeTruncated(r.res, r.requestId, reply)
        }
        case "slow":
          return later(fault.delayMs, () => {
            if (!r.res.destroyed) r.send(r.handler(), fault.kind)
          })
        default:
          return r.send(r.handler())
      }
    }
  }
}

/** `GET`/`POST`/`DELETE /__sim/faults` and `POST /__sim/rate-limit` on `controls`. */
export const registerFaultControls = (controls: Controls, faults: FaultSwitch): void => {
  controls.register("/__sim/faults", faultControl(faults, FaultRequests, "a fault", FAULT_KINDS))
  controls.register("/__sim/rate-limit", (request) => {
    if (request.method !== "POST") return undefined
    const body = bodyOf(request)
    if (Either.isLeft(body)) return badControl(request.requestId, body.left)
    const perMinute =
      typeof body.right === "object" && body.right !== null
        ? (body.right as Record<string, unknown>).perMinute
        : undefined
    if (
      perMinute !== null &&
      !(typeof perMinute === "number" && Number.isInteger(perMinute) && perMinute > 0)
    )
      return badControl(request.requestId, 'expected {"perMinute": <positive integer> | null}')
    faults.setRateLimitPerMinute(perMinute === null ? undefined : perMinute)
    return { status: 200, body: { status: "OK", perMinute } }
  })
}
