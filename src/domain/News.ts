/**
 * News articles (`news`) and their per-ticker sentiment (`news_sentiment`), from Massive's
 * `/v2/reference/news` (spec §8). Both are partitioned by the New York date of `published_utc`,
 * which a revision of an article does not change, so a re-sent article replaces its old version in
 * the same partition.
 *
 * Scope of a day's rewrite: `news` is scoped by `tickers` (a list): rewriting SPY's day replaces
 * the day's articles that mention SPY; `news_sentiment` by `ticker`.
 */
import { Schema } from "effect"
import type { Dataset } from "./Dataset.js"
import { newYorkDate, newYorkDayRange } from "./time.js"

export const NewsRecord = Schema.Struct({
  id: Schema.String,
  /** Epoch ms, UTC. */
  published_utc: Schema.Number,
  title: Schema.String,
  author: Schema.String,
  description: Schema.NullOr(Schema.String),
  article_url: Schema.String,
  amp_url: Schema.NullOr(Schema.String),
  image_url: Schema.NullOr(Schema.String),
  publisher_name: Schema.String,
  publisher_homepage_url: Schema.String,
  tickers: Schema.Array(Schema.String),
  keywords: Schema.Array(Schema.String)
})
export type NewsRecord = typeof NewsRecord.Type

export const Sentiment = Schema.Literal("positive", "neutral", "negative")

export const NewsSentimentRecord = Schema.Struct({
  id: Schema.String,
  ticker: Schema.String,
  sentiment: Sentiment,
  sentiment_reasoning: Schema.String,
  /** Epoch ms, UTC (the article's). */
  published_utc: Schema.Number
})
export type NewsSentimentRecord = typeof NewsSentimentRecord.Type

const idRule = (r: { readonly id: string }): string | undefined =>
  r.id.length === 0 ? "id is empty" : undefined

const sentimentRule = (r: NewsSentimentRecord): string | undefined =>
  r.sentiment === "positive" || r.sentiment === "neutral" || r.sentiment === "negative"
    ? undefined
    : `sentiment ${JSON.stringify(r.sentiment)} is not positive, neutral or negative`

export const News: Dataset<NewsRecord> = {
  name: "news",
  schema: NewsRecord,
  columns: [
    { name: "id", type: "string", nullable: false, doc: "the vendor's article id" },
    { name: "published_utc", type: "timestamp_ms", nullable: false, doc: "publication time, UTC" },
    { name: "title", type: "string", nullable: false, doc: "headline" },
    { name: "author", type: "string", nullable: false, doc: "author" },
    { name: "description", type: "string", nullable: true, doc: "summary, when given" },
    { name: "article_url", type: "string", nullable: false, doc: "the article" },
    { name: "amp_url", type: "string", nullable: true, doc: "its AMP page, when given" },
    { name: "image_url", type: "string", nullable: true, doc: "its image, when given" },
    { name: "publisher_name", type: "string", nullable: false, doc: "publisher" },
    { name: "publisher_homepage_url", type: "string", nullable: false, doc: "publisher's home page" },
    { name: "tickers", type: "string_list", nullable: false, doc: "tickers the article mentions" },
    { name: "keywords", type: "string_list", nullable: false, doc: "keywords (empty when none)" }
  ],
  key: ["id"],
  instrument: "tickers",
  timeColumn: "published_utc",
  eventTime: (r) => r.published_utc,
  partitionDate: (r) => newYorkDate(r.published_utc),
  partitionRange: newYorkDayRange,
  rules: [idRule]
}

export const NewsSentiment: Dataset<NewsSentimentRecord> = {
  name: "news_sentiment",
  schema: NewsSentimentRecord,
  columns: [
    { name: "id", type: "string", nullable: false, doc: "the article's id (news.id)" },
    { name: "ticker", type: "string", nullable: false, doc: "the ticker the insight is about" },
    { name: "sentiment", type: "string", nullable: false, doc: "positive, neutral or negative" },
    { name: "sentiment_reasoning", type: "string", nullable: false, doc: "the vendor's reasoning" },
    {
      name: "published_utc",
      type: "timestamp_ms",
      nullable: false,
      doc: "the article's publication time, UTC"
    }
  ],
  key: ["id", "ticker"],
  instrument: "ticker",
  timeColumn: "published_utc",
  eventTime: (r) => r.published_utc,
  partitionDate: (r) => newYorkDate(r.published_utc),
  partitionRange: newYorkDayRange,
  rules: [idRule, sentimentRule]
}
