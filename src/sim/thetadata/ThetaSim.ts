/**
 * A ThetaData terminal simulator on 127.0.0.1: the v3 API on one port and the legacy v2 API on
 * another (../shared/specs/thetadata.md), serving the synthetic SPXW chain of spxMarket.ts.
 *
 * - v3: `/v3/option/list/expirations?symbol=` and `/v3/option/history/greeks/first_order?symbol=
 *   &expiration=&date=&interval=1m[&format=csv|json|ndjson]` (CSV with CRLF by default).
 * - v2: `/v2/list/expirations?root=` (JSON) and `/v2/bulk_hist/option/greeks?root=&exp=
 *   &start_date=&end_date=&ivl=60000[&use_csv=true]`.
 * - Status codes as the terminal's: 472 no data (plain text), 473 invalid parameters, 471 when the
 *   simulated subscription tier is below the endpoint's, 404 unknown path, 429 past the
 *   concurrency limit (with Retry-After).
 * - Scripted faults through the shared machinery (core/faults.ts, `POST /__sim/faults` on either
 *   port), matched against the path with its query (`expiration=20240311`): a status
 *   (471/472/473/474/429 with Retry-After, …), `truncated` (the body cut mid-row),
 *   `drop-connection`, `slow`, `non-json`, and `malformed-rows` (rows that lose their last field).
 * Greeks answers are printed one contract at a time into bytes and written in 256 KiB chunks, with
 * back-pressure.
 */
import type * as http from "node:http"
import { Effect, type Scope } from "effect"
import { CONTROL_PREFIX, makeControls } from "../core/controls.js"
import { type Fault, type FaultSwitch, makeFaultSwitch } from "../core/faults.js"
import { registerFaultControls } from "../core/httpFaults.js"
import { type HttpHost, listen, type SimStartError } from "../core/httpHost.js"
import {
  BAD_GATEWAY_PAGE,
  json,
  type Reply,
  requestIdFactory,
  writeReply,
  writeTruncated
} from "../core/reply.js"
import {
  bodyEnd,
  bodyStart,
  type Contract,
  dayText,
  type GreeksFormat,
  separator,
  TextBytes,
  writeContract
} from "./greeksText.js"
import { emptyValues, expirations, SIM_SYMBOL, spxDay, strikesOf } from "./spxMarket.js"

export type Tier = "free" | "value" | "standard" | "pro"
const TIER_RANK: Record<Tier, number> = { free: 0, value: 1, standard: 2, pro: 3 }

export interface ThetaSimOptions {
  /** v3 port; 0 (default) = a free one. */
  readonly port?: number
  /** v2 port; 0 (default) = a free one. */
  readonly v2Port?: number
  /** Requests answered at once (both ports together) before answering 429; default 4 (STANDARD). */
  readonly concurrency?: number
  /** Strikes below and above the open per expiration; default 100 (200 strikes). */
  readonly strikesPerSide?: number
  /** The simulated subscription; endpoints above it answer 471. Default standard. */
  readonly tier?: Tier
  /**
   * v2 CSV only: contracts per page of a bulk answer; the rest is served from the URL in its
   * `Next-Page` header (`/v2/page/N`), as the terminal pages past `HTTP_TICK_LIM`. Default: no paging.
   */
  readonly v2PageContracts?: number
}

export interface ThetaSim {
  /** v3 base URL, `http://127.0.0.1:PORT`. */
  readonly url: string
  /** v2 base URL. */
  readonly v2Url: string
  readonly faults: FaultSwitch
}

const NO_DATA = ":No data for the specified timeframe & contract."
const TEXT = "text/plain; charset=utf-8"
const CSV = "text/csv; charset=utf-8"
const NDJSON = "application/x-ndjson; charset=utf-8"

const text = (status: number, body: string, headers?: Record<string, string>): Reply => ({
  status,
  body,
  contentType: TEXT,
  ...(headers === undefined ? {} : { headers })
})

/** The terminal's plain-text body for a status. */
const statusText = (status: number): Reply => {
  switch (status) {
    case 429:
      return text(429, "Too many concurrent requests; retry later.", { "Retry-After": "1" })
    case 471:
      return text(471, "Your subscription does not permit this request.")
    case 472:
      return text(472, NO_DATA)
    case 473:
      return text(473, "Invalid parameters.")
    case 474:
      return text(474, "Disconnected from the MDDS server; reconnecting.")
    default:
      return text(status, `Error ${status}.`)
  }
}

/** `YYYYMMDD` or `YYYY-MM-DD` → `YYYY-MM-DD`; undefined otherwise. */
const isoDate = (s: string | null): string | undefined => {
  if (s === null) return undefined
  const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(s)
  return m === null ? undefined : `${m[1]}-${m[2]}-${m[3]}`
}

/** What a greeks request resolved to: an answer to stream, or a status reply. */
type GreeksPlan =
  | { readonly _tag: "Reply"; readonly reply: Reply }
  | {
      readonly _tag: "Stream"
      readonly api: "v3" | "v2"
      readonly format: GreeksFormat
      readonly date: string
      readonly contracts: ReadonlyArray<Contract>
      /** Extra headers (v2's `Next-Page`). */
      readonly headers?: Readonly<Record<string, string>>
    }

const bad = (detail: string): GreeksPlan => ({
  _tag: "Reply",
  reply: text(473, `Invalid parameters: ${detail}`)
})

const plan = (
  api: "v3" | "v2",
  format: GreeksFormat,
  symbol: string | null,
  expiration: string | undefined,
  date: string | undefined,
  perSide: number
): GreeksPlan => {
  if (symbol === null || symbol === "") return bad(api === "v3" ? "symbol is required" : "root is required")
  if (expiration === undefined) return bad("expiration must be one date (YYYYMMDD); * is not supported here")
  if (date === undefined) return bad("date must be YYYYMMDD")
  const day = spxDay(date)
  if (symbol !== SIM_SYMBOL || day === undefined || expiration < date || !expirations().includes(expiration))
    return { _tag: "Reply", reply: text(472, NO_DATA) }
  const contracts: Array<Contract> = []
  for (const strike of strikesOf(day, perSide)) {
    contracts.push({ symbol, expiration, strike, call: true })
    contracts.push({ symbol, expiration, strike, call: false })
  }
  return { _tag: "Stream", api, format, date, contracts }
}

/** The whole text of a planned answer (for faults that need it whole). */
const wholeText = (p: Extract<GreeksPlan, { _tag: "Stream" }>): string => {
  const d = dayText(spxDay(p.date)!)
  const out = new TextBytes()
  const values = emptyValues()
  out.text(bodyStart(p.api, p.format))
  p.contracts.forEach((c, i) => {
    if (i > 0) out.text(separator(p.format))
    writeContract(p.api, p.format, d, c, out, values)
  })
  out.text(bodyEnd(p.format))
  return out.toString()
}

/** Drops the last field of the first `count` data rows of a CSV text. */
const breakRows = (body: string, count: number): string => {
  const lines = body.split("\r\n")
  for (let i = 1; i <= count && i < lines.length - 1; i++) lines[i] = lines[i]!.replace(/,[^,]*$/, "")
  return lines.join("\r\n")
}

const contentTypeOf = (api: "v3" | "v2", format: GreeksFormat): string =>
  format === "csv"
    ? CSV
    : format === "ndjson"
      ? NDJSON
      : api === "v2"
        ? "application/json"
        : "application/json"

/** Bytes written to the socket at a time. */
const CHUNK_BYTES = 256 * 1024

/** Writes a planned answer in chunks of about CHUNK_BYTES, waiting for the socket to drain. */
const streamAnswer = (
  res: http.ServerResponse,
  requestId: string,
  p: Extract<GreeksPlan, { _tag: "Stream" }>
) => {
  res.writeHead(200, {
    "Content-Type": contentTypeOf(p.api, p.format),
    "X-Request-ID": requestId,
    ...p.headers
  })
  const d = dayText(spxDay(p.date)!)
  const values = emptyValues()
  // A contract's rows are ~60 KB of CSV: room for a chunk and the contract that crosses its end.
  const out = new TextBytes(CHUNK_BYTES + 128 * 1024)
  let i = 0
  out.text(bodyStart(p.api, p.format))
  const pump = () => {
    while (!res.destroyed) {
      if (i < p.contracts.length) {
        if (i > 0) out.text(separator(p.format))
        writeContract(p.api, p.format, d, p.contracts[i]!, out, values)
        i++
        if (out.pos < CHUNK_BYTES) continue
      } else {
        out.text(bodyEnd(p.format))
        res.end(out.take())
        return
      }
      if (!res.write(out.take())) {
        res.once("drain", pump)
        return
      }
    }
  }
  pump()
}

const expirationsV3 = (symbol: string | null, format: string): Reply => {
  if (symbol !== SIM_SYMBOL) return text(472, NO_DATA)
  const list = expirations()
  if (format === "json")
    return json(200, { response: list.map((expiration) => ({ symbol: SIM_SYMBOL, expiration })) })
  if (format === "ndjson")
    return {
      status: 200,
      contentType: NDJSON,
      body: list.map((e) => `{"symbol":"${SIM_SYMBOL}","expiration":"${e}"}\n`).join("")
    }
  return {
    status: 200,
    contentType: CSV,
    body: `symbol,expiration\r\n${list.map((e) => `${SIM_SYMBOL},${e}\r\n`).join("")}`
  }
}

const expirationsV2 = (root: string | null): Reply => {
  if (root !== SIM_SYMBOL) return text(472, NO_DATA)
  return json(200, {
    header: { latency_ms: 0, error_type: "null", error_msg: "null", next_page: "null", format: ["date"] },
    response: expirations().map((e) => Number(e.replaceAll("-", "")))
  })
}

const parseFormat = (s: string | null): GreeksFormat | undefined =>
  s === null || s === "csv" ? "csv" : s === "json" || s === "ndjson" ? s : undefined

export const make = (options: ThetaSimOptions = {}): Effect.Effect<ThetaSim, SimStartError, Scope.Scope> =>
  Effect.gen(function* () {
    const faults = makeFaultSwitch()
    const controls = makeControls()
    registerFaultControls(controls, faults)
    const nextId = requestIdFactory()
    const limit = options.concurrency ?? 4
    const perSide = options.strikesPerSide ?? 100
    const tier = TIER_RANK[options.tier ?? "standard"]
    let inFlight = 0
    const pages = new Map<string, Extract<GreeksPlan, { _tag: "Stream" }>>()
    let lastPage = 0

    /** A v2 answer cut to `v2PageContracts`, the rest kept for its `Next-Page` URL. */
    const paged = (planned: GreeksPlan): GreeksPlan => {
      const size = options.v2PageContracts
      if (planned._tag !== "Stream" || planned.format !== "csv" || size === undefined) return planned
      if (planned.contracts.length <= size) return planned
      const id = String(++lastPage)
      pages.set(id, { ...planned, contracts: planned.contracts.slice(size) })
      return {
        ...planned,
        contracts: planned.contracts.slice(0, size),
        headers: { "Next-Page": `${v2Host.url}/v2/page/${id}` }
      }
    }

    const route = (api: "v3" | "v2", url: URL): GreeksPlan => {
      const q = url.searchParams
      if (api === "v3") {
        if (url.pathname === "/v3/option/list/expirations") {
          const format = q.get("format") ?? "csv"
          return { _tag: "Reply", reply: expirationsV3(q.get("symbol"), format) }
        }
        if (url.pathname === "/v3/option/history/greeks/first_order") {
          if (tier < TIER_RANK.standard) return { _tag: "Reply", reply: statusText(471) }
          const interval = q.get("interval")
          if (interval !== "1m") return bad(`the simulator serves interval=1m only, not ${interval}`)
          const format = parseFormat(q.get("format"))
          if (format === undefined) return bad("format must be csv, json or ndjson")
          const date = isoDate(q.get("date"))
          return plan("v3", format, q.get("symbol"), isoDate(q.get("expiration")), date, perSide)
        }
      } else {
        if (url.pathname === "/v2/list/expirations")
          return { _tag: "Reply", reply: expirationsV2(q.get("root")) }
        if (url.pathname === "/v2/bulk_hist/option/greeks") {
          if (tier < TIER_RANK.standard) return { _tag: "Reply", reply: statusText(471) }
          if (q.get("ivl") !== "60000") return bad("the simulator serves ivl=60000 only")
          const start = isoDate(q.get("start_date"))
          if (start === undefined || start !== isoDate(q.get("end_date")))
            return bad("start_date and end_date must be the same day")
          const format: GreeksFormat = q.get("use_csv") === "true" ? "csv" : "json"
          return paged(plan("v2", format, q.get("root"), isoDate(q.get("exp")), start, perSide))
        }
        const page = /^\/v2\/page\/(\d+)$/.exec(url.pathname)?.[1]
        if (page !== undefined) {
          const rest = pages.get(page)
          pages.delete(page)
          return rest === undefined
            ? { _tag: "Reply", reply: text(477, "No page found: it expired or was already fetched.") }
            : paged(rest)
        }
      }
      return { _tag: "Reply", reply: text(404, `No such endpoint: ${url.pathname}`) }
    }

    const handle = (api: "v3" | "v2") => (req: http.IncomingMessage, res: http.ServerResponse) => {
      const requestId = nextId()
      const url = new URL(req.url ?? "/", "http://127.0.0.1")
      const send = (reply: Reply) => writeReply(res, requestId, reply)
      if (url.pathname.startsWith(CONTROL_PREFIX)) return controls.handle(req, url.pathname, requestId, send)
      if (inFlight >= limit) return send(statusText(429))
      inFlight++
      res.once("close", () => {
        inFlight--
      })
      // Faults match the path with its query, so one can target an expiration or a day.
      const target = url.pathname + url.search
      const answer = () => {
        const planned = route(api, url)
        if (planned._tag === "Reply") return send(planned.reply)
        const broken = faults.take(target, (f) => f.kind === "malformed-rows" && planned.format === "csv")
        if (broken?.kind === "malformed-rows")
          return send({ status: 200, contentType: CSV, body: breakRows(wholeText(planned), broken.count) })
        streamAnswer(res, requestId, planned)
      }
      const fault: Fault | undefined = faults.take(target, (f) => f.kind !== "malformed-rows")
      switch (fault?.kind) {
        case "status": {
          const base = statusText(fault.status)
          return send({
            ...base,
            body: fault.body ?? base.body,
            headers: {
              ...base.headers,
              ...(fault.retryAfter === undefined ? {} : { "Retry-After": fault.retryAfter })
            }
          })
        }
        case "drop-connection":
          return req.socket.destroy()
        case "non-json":
          return send(BAD_GATEWAY_PAGE)
        case "truncated": {
          const planned = route(api, url)
          if (planned._tag === "Reply") return writeTruncated(res, requestId, planned.reply)
          return writeTruncated(res, requestId, {
            status: 200,
            contentType: contentTypeOf(planned.api, planned.format),
            body: wholeText(planned)
          })
        }
        case "slow":
          return host.later(fault.delayMs, () => {
            if (!res.destroyed) answer()
          })
        default:
          return answer()
      }
    }

    const host: HttpHost = yield* listen({ simulator: "ThetaData v3", port: options.port ?? 0 }, handle("v3"))
    const v2Host = yield* listen({ simulator: "ThetaData v2", port: options.v2Port ?? 0 }, handle("v2"))
    return { url: host.url, v2Url: v2Host.url, faults }
  })
