/**
 * Massive news (`GET /v2/reference/news`, spec §8): the article's wire shape as a Schema, the page
 * decoder, and the listing that pages through `next_url`.
 *
 * Unknown members are ignored (Schema's default), so fields the vendor adds do not break decoding.
 * Required is what the spec requires (and every sample carries): `id`, `publisher` {`name`,
 * `homepage_url`, `logo_url`}, `title`, `author`, `published_utc`, `article_url`, `tickers`.
 * An article that does not decode fails the listing with a `VendorDecodeError` naming the article
 * and the field, rather than being dropped. The page arrived whole (a broken body or envelope is
 * retried by the client), so asking again would not change it.
 */
import { Chunk, Effect, Either, Option, ParseResult, Schema, Stream } from "effect"
import { VendorDecodeError } from "../../domain/errors.js"
import { shapeOf } from "../../monitor/SchemaDrift.js"
import { type MassiveRestError, type MassiveRestShape, nextPath } from "./MassiveRest.js"
import { SuccessStatus } from "./wire.js"

/** RFC 3339 with a zone (`2024-06-24T18:33:53Z`), the only form the vendor sends. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/

/** `published_utc`: an RFC 3339 date-time string, decoded to epoch milliseconds. */
export const PublishedUtc = Schema.transformOrFail(
  Schema.String.pipe(
    Schema.filter((s) => RFC3339.test(s) && !Number.isNaN(Date.parse(s)), {
      message: (issue) =>
        `expected an RFC 3339 date-time such as 2024-06-24T18:33:53Z, got ${JSON.stringify(issue.actual)}`
    })
  ),
  Schema.Number,
  {
    strict: true,
    decode: (s) => ParseResult.succeed(Date.parse(s)),
    encode: (ms, _, ast) =>
      Number.isFinite(ms)
        ? ParseResult.succeed(new Date(ms).toISOString().replace(/\.000Z$/, "Z"))
        : ParseResult.fail(new ParseResult.Type(ast, ms, "not a finite epoch ms"))
  }
)

export const NewsPublisher = Schema.Struct({
  name: Schema.String,
  homepage_url: Schema.String,
  logo_url: Schema.String,
  favicon_url: Schema.optional(Schema.String)
})

export const Sentiment = Schema.Literal("positive", "neutral", "negative")
export type Sentiment = typeof Sentiment.Type

export const NewsInsight = Schema.Struct({
  ticker: Schema.String,
  sentiment: Sentiment,
  sentiment_reasoning: Schema.String
})

/** One news article; `published_utc` decodes to epoch ms. */
export const NewsArticle = Schema.Struct({
  id: Schema.NonEmptyString,
  publisher: NewsPublisher,
  title: Schema.String,
  author: Schema.String,
  published_utc: PublishedUtc,
  article_url: Schema.String,
  tickers: Schema.Array(Schema.String),
  amp_url: Schema.optional(Schema.String),
  image_url: Schema.optional(Schema.String),
  description: Schema.optional(Schema.String),
  keywords: Schema.optional(Schema.Array(Schema.String)),
  insights: Schema.optional(Schema.Array(NewsInsight))
})
export type NewsArticle = typeof NewsArticle.Type

/** The envelope; `results` is checked article by article so the error can name the article. */
export const NewsEnvelope = Schema.Struct({
  status: SuccessStatus,
  request_id: Schema.optional(Schema.String),
  count: Schema.optional(Schema.Number),
  next_url: Schema.optional(Schema.String),
  results: Schema.optional(Schema.Array(Schema.Unknown))
})

export interface NewsPage {
  readonly articles: ReadonlyArray<NewsArticle>
  /** Path and query of the next page (the `next_url` with its host dropped), if any. */
  readonly next: string | undefined
}

const firstIssue = (error: ParseResult.ParseError): string => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  if (issue === undefined) return "invalid"
  const path = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("")
  return `${path.replace(/^\./, "") || "(the value)"}: ${issue.message}`
}

const decodeArticleEither = Schema.decodeUnknownEither(NewsArticle, { errors: "first" })
const decodeEnvelopeEither = Schema.decodeUnknownEither(NewsEnvelope, { errors: "first" })

/** One article; `Left` names the field, e.g. `publisher.name: is missing`. */
export const decodeArticle = (raw: unknown): Either.Either<NewsArticle, string> =>
  Either.mapLeft(decodeArticleEither(raw), firstIssue)

/** The articles of a decoded envelope: `Left` names the article (position and id) and the field that is wrong. */
export const pageOf = (envelope: typeof NewsEnvelope.Type): Either.Either<NewsPage, string> => {
  const articles: Array<NewsArticle> = []
  const results = envelope.results ?? []
  for (let i = 0; i < results.length; i++) {
    const raw = results[i]
    const decoded = decodeArticle(raw)
    if (Either.isLeft(decoded)) {
      const id =
        typeof raw === "object" && raw !== null && typeof (raw as { id?: unknown }).id === "string"
          ? ` (id ${(raw as { id: string }).id})`
          : ""
      return Either.left(`results[${i}]${id}: ${decoded.left}`)
    }
    articles.push(decoded.right)
  }
  const nextUrl = envelope.next_url
  if (nextUrl === undefined) return Either.right({ articles, next: undefined })
  try {
    return Either.right({ articles, next: nextPath(nextUrl) })
  } catch {
    return Either.left(`next_url ${JSON.stringify(nextUrl)} is not a URL`)
  }
}

/** A news response body: the envelope, then each article (see `pageOf`). */
export const decodePage = (json: unknown): Either.Either<NewsPage, string> => {
  const envelope = decodeEnvelopeEither(json)
  return Either.isLeft(envelope)
    ? Either.left(`news envelope: ${firstIssue(envelope.left)}`)
    : pageOf(envelope.right)
}

export interface NewsListing {
  /** Only articles mentioning this ticker; every ticker when absent. */
  readonly ticker?: string
  /**
   * Only articles published after this instant (epoch ms): `published_utc.gt`, or `.gte` when
   * `inclusive`. Sent in whole seconds, the form of the vendor's timestamps and examples: `gt`
   * rounds down and `gte` up, which selects the same whole-second articles as the exact instant.
   */
  readonly since: number
  readonly inclusive?: boolean
  /** Only articles published before this instant (epoch ms, a whole second): `published_utc.lt`. */
  readonly until?: number
  /** Articles per page, 1–1000 (default 1000, the fewest requests). */
  readonly limit?: number
}

const isoSeconds = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z")

/** The first page's path: ascending by `published_utc`, newer than `since`. */
export const listingPath = (listing: NewsListing): string => {
  const query = new URLSearchParams()
  if (listing.ticker !== undefined) query.set("ticker", listing.ticker)
  const inclusive = listing.inclusive === true
  const second = (inclusive ? Math.ceil : Math.floor)(listing.since / 1000) * 1000
  query.set(`published_utc.${inclusive ? "gte" : "gt"}`, isoSeconds(second))
  if (listing.until !== undefined)
    query.set("published_utc.lt", isoSeconds(Math.ceil(listing.until / 1000) * 1000))
  query.set("order", "asc")
  query.set("sort", "published_utc")
  query.set("limit", String(listing.limit ?? 1000))
  return `/v2/reference/news?${query}`
}

/** The name schema drift of news articles is reported under. */
export const NEWS_SOURCE = "massive-news"
const articleShape = shapeOf(NewsArticle)

/** A page of the listing, its first article through the schema drift check. */
const observed = (rest: MassiveRestShape, path: string) =>
  Effect.tap(rest.getJson(path, NewsEnvelope), (envelope) =>
    rest.observeDrift(NEWS_SOURCE, articleShape, envelope.results?.[0])
  )

/**
 * The articles newer than `since`, oldest first, following `next_url` until the last page (one
 * request per page). Fails with the client's domain errors.
 */
export const list = (
  rest: MassiveRestShape,
  listing: NewsListing
): Stream.Stream<NewsArticle, MassiveRestError> =>
  Stream.paginateChunkEffect(listingPath(listing), (path) =>
    Effect.flatMap(observed(rest, path), (envelope) => {
      const page = pageOf(envelope)
      if (Either.isLeft(page))
        return Effect.fail(new VendorDecodeError({ vendor: "Massive", request: path, detail: page.left }))
      const { articles, next } = page.right
      return next === path
        ? Effect.fail(
            new VendorDecodeError({
              vendor: "Massive",
              request: path,
              detail: "next_url points back at the same page"
            })
          )
        : Effect.succeed([
            Chunk.unsafeFromArray(articles.slice()),
            next === undefined ? Option.none() : Option.some(next)
          ] as const)
    })
  ).pipe(Stream.withSpan("MassiveNews.list"))

/** An article that did not decode: what came, and why (it goes to quarantine). */
export interface RejectedArticle {
  readonly raw: unknown
  readonly reason: string
}

export interface LenientNewsPage {
  readonly articles: ReadonlyArray<NewsArticle>
  readonly rejected: ReadonlyArray<RejectedArticle>
}

/**
 * The articles newer than `since`, a page at a time, like `list`, except that an article that does
 * not decode is returned with its reason (for quarantine) instead of failing the listing: a backfill
 * keeps the rest of the day.
 */
export const listPages = (
  rest: MassiveRestShape,
  listing: NewsListing
): Stream.Stream<LenientNewsPage, MassiveRestError> =>
  Stream.paginateEffect(listingPath(listing), (path) =>
    Effect.flatMap(observed(rest, path), (envelope) => {
      const articles: Array<NewsArticle> = []
      const rejected: Array<RejectedArticle> = []
      ;(envelope.results ?? []).forEach((raw, i) => {
        const decoded = decodeArticle(raw)
        if (Either.isRight(decoded)) articles.push(decoded.right)
        else rejected.push({ raw, reason: `results[${i}]: ${decoded.left}` })
      })
      let next: string | undefined
      try {
        next = envelope.next_url === undefined ? undefined : nextPath(envelope.next_url)
      } catch {
        return Effect.fail(
          new VendorDecodeError({
            vendor: "Massive",
            request: path,
            detail: `next_url ${JSON.stringify(envelope.next_url)} is not a URL`
          })
        )
      }
      if (next === path)
        return Effect.fail(
          new VendorDecodeError({
            vendor: "Massive",
            request: path,
            detail: "next_url points back at the same page"
          })
        )
      const page: LenientNewsPage = { articles, rejected }
      return Effect.succeed([page, next === undefined ? Option.none() : Option.some(next)] as const)
    })
  ).pipe(Stream.withSpan("MassiveNews.listPages"))
