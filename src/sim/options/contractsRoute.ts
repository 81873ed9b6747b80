/**
 * The options contracts reference endpoints of the simulator (spec §5), over the synthetic chain:
 * - `GET /v3/reference/options/contracts`: filters `underlying_ticker`, `contract_type`,
 *   `expiration_date`, `strike_price` (each also with `.gte/.gt/.lte/.lt`), `ticker`, `as_of`
 *   (default today on the simulator's clock), `expired` (default false: contracts that expired
 *   before `as_of` are left out), `sort` (`ticker` | `underlying_ticker` | `expiration_date` |
 *   `strike_price`, ties by ticker) and `order`, `limit` (default 10, max 1000). Pages link with a
 *   `next_url` on the simulator's origin whose opaque `cursor` carries the query (with `as_of`
 *   resolved) and the offset; other parameters are ignored next to a cursor, as for aggregates.
 *   Retention: with `expired=true` and no lower bound on `expiration_date`, expired contracts
 *   reach back `EXPIRED_RETENTION_DAYS` before `as_of` (the whole history would be millions).
 * - `GET /v3/reference/options/contracts/{ticker}` (with or without `O:`), `as_of` as above: the
 *   contract, expired or not, if listed by then; otherwise 404 NOT_FOUND.
 */
import { addDays, isIsoDate, newYorkDate } from "../../domain/time.js"
import { errorBody, json, notFound, type Reply, type RouteHandler } from "../MassiveSim.js"
import { contractAsOf, contractsListed, OPTION_UNDERLYINGS, type SimContract } from "./optionsChain.js"

export const DEFAULT_LIMIT = 10
export const MAX_LIMIT = 1000
export const EXPIRED_RETENTION_DAYS = 60

const LIST_PATH = "/v3/reference/options/contracts"
const SINGLE_RE = /^\/v3\/reference\/options\/contracts\/([^/]+)\/?$/
const SORTS = ["ticker", "underlying_ticker", "expiration_date", "strike_price"] as const
type SortKey = (typeof SORTS)[number]
const RANGES = ["gte", "gt", "lte", "lt"] as const

/** A contract as the vendor writes it (the keys and order of the recorded fixture). */
export const contractWire = (c: SimContract) => ({
  cfi: c.type === "call" ? "OCASPS" : "OPASPS",
  contract_type: c.type,
  exercise_style: "american",
  expiration_date: c.expirationDate,
  primary_exchange: "BATO",
  shares_per_contract: 100,
  strike_price: c.strikeMilli / 1000,
  ticker: c.ticker,
  underlying_ticker: c.underlying
})

/** A filter on one field: an exact value and/or range bounds. */
interface Bounds<A extends string | number> {
  readonly eq?: A
  readonly gte?: A
  readonly gt?: A
  readonly lte?: A
  readonly lt?: A
}

const within = <A extends string | number>(b: Bounds<A>, v: A): boolean =>
  (b.eq === undefined || v === b.eq) &&
  (b.gte === undefined || v >= b.gte) &&
  (b.gt === undefined || v > b.gt) &&
  (b.lte === undefined || v <= b.lte) &&
  (b.lt === undefined || v < b.lt)

type Parsed<A> = { readonly ok: A } | { readonly error: string }

const bounds = <A extends string | number>(
  params: URLSearchParams,
  name: string,
  read: (text: string) => A | undefined,
  expected: string
): Parsed<Bounds<A>> => {
  const out: Record<string, A> = {}
  for (const suffix of ["", ...RANGES]) {
    const key = suffix === "" ? name : `${name}.${suffix}`
    const text = params.get(key)
    if (text === null) continue
    const value = read(text)
    if (value === undefined) return { error: `Invalid ${key} '${text}': expected ${expected}.` }
    out[suffix === "" ? "eq" : suffix] = value
  }
  return { ok: out as Bounds<A> }
}

const readDate = (s: string) => (isIsoDate(s) ? s : undefined)
const readNumber = (s: string) => (s.trim() !== "" && Number.isFinite(Number(s)) ? Number(s) : undefined)
const readText = (s: string) => (s.length > 0 ? s : undefined)

const encodeCursor = (params: URLSearchParams, offset: number): string => {
  const q = new URLSearchParams(params)
  q.delete("cursor")
  q.delete("apiKey")
  q.set("offset", String(offset))
  return Buffer.from(q.toString()).toString("base64url")
}

const decodeCursor = (cursor: string): URLSearchParams | undefined => {
  const text = Buffer.from(cursor, "base64url").toString("utf8")
  if (!/^[\w=&.%+-]*$/.test(text)) return undefined
  const q = new URLSearchParams(text)
  const offset = Number(q.get("offset"))
  return q.has("as_of") && Number.isInteger(offset) && offset >= 0 ? q : undefined
}

interface Query {
  readonly underlying: Bounds<string>
  readonly type: string | undefined
  readonly expiration: Bounds<string>
  readonly strike: Bounds<number>
  readonly ticker: string | undefined
  readonly asOf: string
  readonly expired: boolean
  readonly sort: SortKey
  readonly desc: boolean
  readonly limit: number
}

const parseQuery = (params: URLSearchParams, today: string): Parsed<Query> => {
  const underlying = bounds(params, "underlying_ticker", readText, "a ticker")
  if ("error" in underlying) return underlying
  const expiration = bounds(params, "expiration_date", readDate, "a date YYYY-MM-DD")
  if ("error" in expiration) return expiration
  const strike = bounds(params, "strike_price", readNumber, "a number")
  if ("error" in strike) return strike
  const type = params.get("contract_type") ?? undefined
  if (type !== undefined && type !== "call" && type !== "put" && type !== "other")
    return { error: `Invalid contract_type '${type}': use call or put.` }
  const asOf = params.get("as_of") ?? today
  if (!isIsoDate(asOf)) return { error: `Invalid as_of '${asOf}': expected a date YYYY-MM-DD.` }
  const expiredText = (params.get("expired") ?? "false").toLowerCase()
  if (expiredText !== "true" && expiredText !== "false")
    return { error: `Invalid expired '${expiredText}': use true or false.` }
  const sort = (params.get("sort") ?? "ticker") as SortKey
  if (!SORTS.includes(sort)) return { error: `Invalid sort '${sort}': use one of ${SORTS.join(", ")}.` }
  const order = params.get("order") ?? "asc"
  if (order !== "asc" && order !== "desc") return { error: `Invalid order '${order}': use asc or desc.` }
  const limitText = params.get("limit")
  const limit = limitText === null ? DEFAULT_LIMIT : Number(limitText)
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
    return { error: `Invalid limit '${limitText}': use an integer from 1 to ${MAX_LIMIT}.` }
  return {
    ok: {
      underlying: underlying.ok,
      type,
      expiration: expiration.ok,
      strike: strike.ok,
      ticker: params.get("ticker") ?? undefined,
      asOf,
      expired: expiredText === "true",
      sort,
      desc: order === "desc",
      limit
    }
  }
}

const maxDate = (a: string, b: string | undefined) => (b !== undefined && b > a ? b : a)

/** Every contract the query selects, in its order. */
const select = (q: Query): ReadonlyArray<SimContract> => {
  // The expiration window to generate: not expired (or within retention), and the filter's bounds.
  const e = q.expiration
  let from = q.expired ? addDays(q.asOf, -EXPIRED_RETENTION_DAYS) : q.asOf
  const lower = e.eq ?? maxDate(e.gte ?? "", e.gt === undefined ? undefined : addDays(e.gt, 1))
  if (q.expired && lower !== "") from = lower
  else from = maxDate(from, lower === "" ? undefined : lower)
  const to = e.eq ?? e.lte ?? (e.lt === undefined ? "9999-12-31" : addDays(e.lt, -1))

  const rows: Array<SimContract> = []
  for (const underlying of OPTION_UNDERLYINGS) {
    if (!within(q.underlying, underlying)) continue
    for (const c of contractsListed(underlying, q.asOf, from, to)) {
      if (q.type !== undefined && c.type !== q.type) continue
      if (q.ticker !== undefined && c.ticker !== q.ticker) continue
      if (!within(e, c.expirationDate) || !within(q.strike, c.strikeMilli / 1000)) continue
      rows.push(c)
    }
  }
  const key: (c: SimContract) => string | number =
    q.sort === "ticker"
      ? (c) => c.ticker
      : q.sort === "underlying_ticker"
        ? (c) => c.underlying
        : q.sort === "expiration_date"
          ? (c) => c.expirationDate
          : (c) => c.strikeMilli
  const sign = q.desc ? -1 : 1
  return rows.sort((a, b) => {
    const ka = key(a)
    const kb = key(b)
    if (ka !== kb) return ka < kb ? -sign : sign
    return a.ticker < b.ticker ? -sign : a.ticker > b.ticker ? sign : 0
  })
}

const list = (url: URL, requestId: string, today: string): Reply => {
  const cursorText = url.searchParams.get("cursor")
  const cursor = cursorText === null ? undefined : decodeCursor(cursorText)
  if (cursorText !== null && cursor === undefined) return errorBody(400, requestId, "Invalid cursor.")
  const params = cursor ?? url.searchParams
  const parsed = parseQuery(params, today)
  if ("error" in parsed) return errorBody(400, requestId, parsed.error)
  const q = parsed.ok
  const offset = cursor === undefined ? 0 : Number(cursor.get("offset"))
  const rows = select(q)
  const page = rows.slice(offset, offset + q.limit)
  const more = offset + q.limit < rows.length
  // The cursor keeps the resolved as_of, so later pages do not move with the clock.
  const carried = new URLSearchParams(params)
  carried.set("as_of", q.asOf)
  return json(200, {
    results: page.map(contractWire),
    status: "OK",
    request_id: requestId,
    ...(more
      ? { next_url: `${url.origin}${LIST_PATH}?cursor=${encodeCursor(carried, offset + q.limit)}` }
      : {})
  })
}

const single = (url: URL, requestId: string, raw: string, today: string): Reply => {
  let ticker: string
  try {
    ticker = decodeURIComponent(raw)
  } catch {
    return errorBody(400, requestId, `Invalid options ticker '${raw}'.`)
  }
  const asOf = url.searchParams.get("as_of") ?? today
  if (!isIsoDate(asOf))
    return errorBody(400, requestId, `Invalid as_of '${asOf}': expected a date YYYY-MM-DD.`)
  const c = contractAsOf(ticker, asOf)
  if (c === undefined) return notFound(requestId, `Options contract ${ticker} not found as of ${asOf}.`)
  return json(200, { results: contractWire(c), status: "OK", request_id: requestId })
}

/** The contracts endpoints as a simulator route (`sim.registerRoute`); `now` is the simulator's clock. */
export const optionContractsRoute =
  (now: () => number): RouteHandler =>
  (url, requestId) => {
    const path = url.pathname
    if (path === LIST_PATH || path === `${LIST_PATH}/`) return list(url, requestId, newYorkDate(now()))
    const m = SINGLE_RE.exec(path)
    return m === null ? undefined : single(url, requestId, m[1]!, newYorkDate(now()))
  }
