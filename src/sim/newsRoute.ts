/**
 * `GET /v2/reference/news` for the Massive simulator (spec §8), over the articles of
 * `newsArticles.ts`; `register(sim)` adds it to a running simulator.
 *
 * Filters: `ticker` (+ `.gte/.gt/.lte/.lt`, compared as strings; an article matches when one of
 * its tickers satisfies them all), `published_utc` (+ the same suffixes; RFC 3339 date-time or a
 * plain date, a date being its whole UTC day: `gte=D` from D's midnight, `gt=D` from the next one,
 * `lte=D` through D's end, `lt=D` before its midnight), `order` (`asc`|`desc`, default `desc`),
 * `sort` (`published_utc` only), `limit` (1–1000, default 10). Results are ordered by
 * (`published_utc`, `id`). Articles published after the simulator's clock are not served.
 *
 * Pagination as the vendor's: `next_url` on the simulator's own origin carrying only an opaque
 * `cursor`, base64url JSON of the normalised query plus `search_after: [published ms, id]` of
 * the page's last article (the vendor's cursor has the same members); explicit parameters are
 * ignored when a cursor is present. Walking `next_url` visits every article once even while the
 * clock moves (a later article is appended at the end of an ascending walk).
 *
 * The articles come from a `NewsSource`: the synthetic ones of `newsArticles.ts` by default, or any
 * other (`tapehouse simulate` serves the articles stored in the lake for its day, `lakeNews.ts`).
 */
import { errorBody, json, type MassiveSimServer, type Reply, type RouteHandler } from "./MassiveSim.js"
import {
  articleAt,
  HOUR_MS,
  makeHourCache,
  NEWS_FIRST_MS,
  type NewsArticleWire,
  type NewsSkeleton
} from "./newsArticles.js"

/** What ordering and filtering need of an article. */
export interface ListedArticle {
  /** `published_utc`, epoch ms. */
  readonly ms: number
  readonly id: string
  readonly tickers: ReadonlyArray<string>
}

/** What the route serves: the articles of each hour, and each article as served at a time. */
export interface NewsSource<S extends ListedArticle> {
  /** The articles published in hour `hour` (epoch ms / 1 h), ascending by (`published_utc`, `id`). */
  readonly hour: (hour: number) => ReadonlyArray<S>
  /** The article as served at `nowMs` (the caller asks only for published ones: `ms <= nowMs`). */
  readonly article: (listed: S, nowMs: number) => NewsArticleWire
  /** Nothing is published before this instant (epoch ms). */
  readonly firstMs: number
}

/** The deterministic synthetic articles (`newsArticles.ts`). */
export const syntheticNews = (): NewsSource<NewsSkeleton> => ({
  hour: makeHourCache(),
  article: articleAt,
  firstMs: NEWS_FIRST_MS
})

const PATH_RE = /^\/v2\/reference\/news\/?$/
const DEFAULT_LIMIT = 10
const MAX_LIMIT = 1000
const DAY_MS = 86_400_000
const OPS = ["gte", "gt", "lte", "lt"] as const
type Op = (typeof OPS)[number]

/** The query, normalised: what a cursor carries. */
interface NewsQuery {
  readonly limit: number
  readonly sort: "published_utc"
  readonly order: "ascending" | "descending"
  /** Conditions on one ticker: `eq` and the comparison suffixes. */
  readonly ticker: Partial<Record<Op | "eq", string>>
  /** `published_utc` as [gte, lt) in epoch ms. */
  readonly published_utc: { readonly gte: number; readonly lt: number }
  /** The last article of the previous page: [published ms, id]. */
  readonly search_after?: readonly [number, string]
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/
const DATE_TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/

/** The [from, to) span of one `published_utc` value: a date is its UTC day, a date-time one millisecond. */
const spanOf = (text: string): readonly [number, number] | undefined => {
  if (DATE_RE.test(text)) {
    const t = Date.parse(`${text}T00:00:00Z`)
    return Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== text ? undefined : [t, t + DAY_MS]
  }
  if (!DATE_TIME_RE.test(text)) return undefined
  const t = Date.parse(text)
  return Number.isNaN(t) ? undefined : [t, t + 1]
}

const parseQuery = (params: URLSearchParams, firstMs: number): NewsQuery | string => {
  const limitText = params.get("limit")
  const limit = limitText === null ? DEFAULT_LIMIT : Number(limitText)
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
    return `Invalid limit '${limitText}': use an integer from 1 to ${MAX_LIMIT}.`
  const sort = params.get("sort") ?? "published_utc"
  if (sort !== "published_utc") return `Invalid sort '${sort}': the only sort is published_utc.`
  const order = params.get("order") ?? "desc"
  if (order !== "asc" && order !== "desc") return `Invalid order '${order}': use asc or desc.`

  const ticker: Partial<Record<Op | "eq", string>> = {}
  const exact = params.get("ticker")
  if (exact !== null) ticker.eq = exact
  for (const op of OPS) {
    const v = params.get(`ticker.${op}`)
    if (v !== null) ticker[op] = v
  }

  let gte = Number.NEGATIVE_INFINITY
  let lt = Number.POSITIVE_INFINITY
  for (const op of ["eq", ...OPS] as const) {
    const name = op === "eq" ? "published_utc" : `published_utc.${op}`
    const text = params.get(name)
    if (text === null) continue
    const span = spanOf(text)
    if (span === undefined)
      return `Invalid ${name} '${text}': use an RFC 3339 date-time (2024-03-04T14:30:00Z) or a date (2024-03-04).`
    const [from, to] = span
    if (op === "eq" || op === "gte") gte = Math.max(gte, from)
    if (op === "gt") gte = Math.max(gte, to)
    if (op === "eq" || op === "lte") lt = Math.min(lt, to)
    if (op === "lt") lt = Math.min(lt, from)
  }
  return {
    limit,
    sort: "published_utc",
    order: order === "asc" ? "ascending" : "descending",
    ticker,
    // JSON has no infinities: the bounds of the data stand in for them.
    published_utc: { gte: Math.max(gte, firstMs), lt: Math.min(lt, 8.64e15) }
  }
}

const encodeCursor = (q: NewsQuery): string => Buffer.from(JSON.stringify(q)).toString("base64url")

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

const decodeCursor = (cursor: string): NewsQuery | undefined => {
  try {
    const q: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"))
    if (!isRecord(q) || !isRecord(q.published_utc) || !isRecord(q.ticker)) return undefined
    const { limit, order, published_utc, search_after } = q
    const ok =
      typeof limit === "number" &&
      Number.isInteger(limit) &&
      limit >= 1 &&
      limit <= MAX_LIMIT &&
      (order === "ascending" || order === "descending") &&
      typeof published_utc.gte === "number" &&
      typeof published_utc.lt === "number" &&
      Object.values(q.ticker).every((v) => typeof v === "string") &&
      (search_after === undefined ||
        (Array.isArray(search_after) &&
          typeof search_after[0] === "number" &&
          typeof search_after[1] === "string"))
    return ok ? (q as unknown as NewsQuery) : undefined
  } catch {
    return undefined
  }
}

const tickerMatches = (cond: NewsQuery["ticker"], tickers: ReadonlyArray<string>): boolean => {
  if (Object.keys(cond).length === 0) return true
  return tickers.some(
    (t) =>
      (cond.eq === undefined || t === cond.eq) &&
      (cond.gte === undefined || t >= cond.gte) &&
      (cond.gt === undefined || t > cond.gt) &&
      (cond.lte === undefined || t <= cond.lte) &&
      (cond.lt === undefined || t < cond.lt)
  )
}

/** Whether `s` comes after the key `[ms, id]` in the walk's order. */
const isAfter = (s: ListedArticle, key: readonly [number, string], ascending: boolean): boolean => {
  const c = s.ms - key[0] || (s.id < key[1] ? -1 : s.id > key[1] ? 1 : 0)
  return ascending ? c > 0 : c < 0
}

/** The news route over the clock `now` (epoch ms), serving `source`. */
export const route = <S extends ListedArticle>(now: () => number, source: NewsSource<S>): RouteHandler => {
  const hours = source.hour

  /** Up to `n` matching articles in the walk's order, published no later than `nowMs`. */
  const select = (q: NewsQuery, nowMs: number, n: number): Array<S> => {
    const ascending = q.order === "ascending"
    const from = q.published_utc.gte
    const to = Math.min(q.published_utc.lt, nowMs + 1)
    const out: Array<S> = []
    if (from >= to) return out
    const first = Math.floor(from / HOUR_MS)
    const last = Math.floor((to - 1) / HOUR_MS)
    const keep = (s: S) =>
      s.ms >= from &&
      s.ms < to &&
      (q.search_after === undefined || isAfter(s, q.search_after, ascending)) &&
      tickerMatches(q.ticker, s.tickers)
    // Start at the cursor's hour rather than the range's.
    const resume = q.search_after === undefined ? undefined : Math.floor(q.search_after[0] / HOUR_MS)
    if (ascending) {
      for (let h = Math.max(first, resume ?? first); h <= last && out.length < n; h++)
        for (const s of hours(h)) if (keep(s) && out.push(s) >= n) break
    } else {
      for (let h = Math.min(last, resume ?? last); h >= first && out.length < n; h--) {
        const list = hours(h)
        for (let i = list.length - 1; i >= 0; i--) if (keep(list[i]!) && out.push(list[i]!) >= n) break
      }
    }
    return out
  }

  const news = (url: URL, requestId: string): Reply => {
    const cursorText = url.searchParams.get("cursor")
    const parsed =
      cursorText === null ? parseQuery(url.searchParams, source.firstMs) : decodeCursor(cursorText)
    if (parsed === undefined) return errorBody(400, requestId, "Invalid cursor.")
    if (typeof parsed === "string") return errorBody(400, requestId, parsed)
    const nowMs = now()
    const found = select(parsed, nowMs, parsed.limit + 1)
    const page = found.slice(0, parsed.limit)
    const last = page[page.length - 1]
    const next =
      found.length > parsed.limit && last !== undefined
        ? `${url.origin}/v2/reference/news?cursor=${encodeCursor({ ...parsed, search_after: [last.ms, last.id] })}`
        : undefined
    return json(200, {
      results: page.map((s) => source.article(s, nowMs)),
      status: "OK",
      request_id: requestId,
      count: page.length,
      ...(next === undefined ? {} : { next_url: next })
    })
  }

  return (url, requestId) => (PATH_RE.test(url.pathname) ? news(url, requestId) : undefined)
}

/** Serves news (default: the synthetic articles) on a running simulator, on `now` (default its clock); returns the remover. */
export const register = <S extends ListedArticle>(
  sim: MassiveSimServer,
  source?: NewsSource<S>,
  now: () => number = sim.now
): (() => void) => sim.registerRoute(source === undefined ? route(now, syntheticNews()) : route(now, source))
