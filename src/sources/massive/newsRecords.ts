/**
 * News articles as the records of two datasets, and the relevance filter.
 *
 * - `news`, key `id`, partitioned by the New York date of `published_utc`: one row per article.
 * - `news_sentiment`, key (`id`, `ticker`): one row per insight of a kept article (all its
 *   insights, not only those for the configured tickers: they describe the article).
 *
 * `published_utc` is epoch milliseconds (UTC) in both, for a TIMESTAMP(MILLIS, UTC) column. Optional
 * text the vendor leaves out is `null`; absent `keywords` is an empty list.
 */
import type { NewsRecord, NewsSentimentRecord } from "../../domain/News.js"
import { newYorkDate } from "../../domain/time.js"
import type { NewsArticle } from "./news.js"

export type { NewsRecord, NewsSentimentRecord } from "../../domain/News.js"

/** The `news.*` settings that choose which articles are kept. */
export interface NewsRelevance {
  /** Keep articles mentioning one of these tickers (`news.tickers`, default SPY). */
  readonly tickers: ReadonlyArray<string>
  /** Keep only articles with an insight for one of those tickers (`news.require_insight`, default false). */
  readonly requireInsight: boolean
}

export const defaultRelevance: NewsRelevance = { tickers: ["SPY"], requireInsight: false }

/** The partition date of a news or sentiment record: New York date of `published_utc`. */
export const partitionDate = (record: { readonly published_utc: number }): string =>
  newYorkDate(record.published_utc)

export const isRelevant = (article: NewsArticle, relevance: NewsRelevance): boolean => {
  const wanted = (t: string) => relevance.tickers.includes(t)
  return relevance.requireInsight
    ? (article.insights ?? []).some((i) => wanted(i.ticker))
    : article.tickers.some(wanted)
}

export const newsRecord = (a: NewsArticle): NewsRecord => ({
  id: a.id,
  published_utc: a.published_utc,
  title: a.title,
  author: a.author,
  description: a.description ?? null,
  article_url: a.article_url,
  amp_url: a.amp_url ?? null,
  image_url: a.image_url ?? null,
  publisher_name: a.publisher.name,
  publisher_homepage_url: a.publisher.homepage_url,
  tickers: a.tickers,
  keywords: a.keywords ?? []
})

/**
 * The sentiment rows of an article. Two insights for one ticker would collide on the key; the
 * later one is kept, as an upsert of both would leave it.
 */
export const sentimentRecords = (a: NewsArticle): ReadonlyArray<NewsSentimentRecord> => {
  const byTicker = new Map<string, NewsSentimentRecord>()
  for (const i of a.insights ?? [])
    byTicker.set(i.ticker, {
      id: a.id,
      ticker: i.ticker,
      sentiment: i.sentiment,
      sentiment_reasoning: i.sentiment_reasoning,
      published_utc: a.published_utc
    })
  return [...byTicker.values()]
}

export interface NewsRecords {
  readonly news: ReadonlyArray<NewsRecord>
  readonly sentiment: ReadonlyArray<NewsSentimentRecord>
}

/** The records of the relevant articles, in the articles' order. */
export const recordsOf = (articles: Iterable<NewsArticle>, relevance: NewsRelevance): NewsRecords => {
  const news: Array<NewsRecord> = []
  const sentiment: Array<NewsSentimentRecord> = []
  for (const a of articles) {
    if (!isRelevant(a, relevance)) continue
    news.push(newsRecord(a))
    for (const s of sentimentRecords(a)) sentiment.push(s)
  }
  return { news, sentiment }
}
