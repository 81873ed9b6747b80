/**
 * The news stored in the lake for one New York day (`news` and the `news_sentiment` written
 * alongside it), as a source of the simulator's news route (`newsRoute.ts`): what `tapehouse
 * simulate --date D` serves on `/v2/reference/news`. Each article is served as the vendor wrote it,
 * rebuilt from its row and its insights; the lake keeps no publisher logo, so `logo_url` is empty.
 * Hours outside the day hold no article.
 */
import { Effect } from "effect"
import type { SinkError } from "../domain/errors.js"
import { News, type NewsRecord, NewsSentiment, type NewsSentimentRecord } from "../domain/News.js"
import { readPartition } from "../sinks/compact.js"
import { HOUR_MS, isoSeconds, type NewsArticleWire } from "./newsArticles.js"
import type { ListedArticle, NewsSource } from "./newsRoute.js"

/** A stored article with its insights. */
interface StoredArticle extends ListedArticle {
  readonly row: NewsRecord
  readonly insights: ReadonlyArray<NewsSentimentRecord>
}

export interface StoredNews {
  readonly date: string
  /** Articles stored for the day. */
  readonly articles: number
  readonly source: NewsSource<StoredArticle>
}

/** The article as the vendor writes it (spec §8): optional members absent when the row has none. */
const wire = (a: StoredArticle): NewsArticleWire => {
  const r = a.row
  return {
    id: r.id,
    publisher: { name: r.publisher_name, homepage_url: r.publisher_homepage_url, logo_url: "" },
    title: r.title,
    author: r.author,
    published_utc: isoSeconds(r.published_utc),
    article_url: r.article_url,
    tickers: r.tickers,
    ...(r.amp_url === null ? {} : { amp_url: r.amp_url }),
    ...(r.image_url === null ? {} : { image_url: r.image_url }),
    ...(r.description === null ? {} : { description: r.description }),
    ...(r.keywords.length === 0 ? {} : { keywords: r.keywords }),
    ...(a.insights.length === 0
      ? {}
      : {
          insights: a.insights.map((i) => ({
            ticker: i.ticker,
            sentiment: i.sentiment,
            sentiment_reasoning: i.sentiment_reasoning
          }))
        })
  }
}

/**
 * The stored news of `date` (a New York date), or undefined when the lake holds no article for it.
 * Every article is served whatever the time asked at, once it is published.
 */
export const readStoredNews = (
  dataDir: string,
  date: string
): Effect.Effect<StoredNews | undefined, SinkError> =>
  Effect.gen(function* () {
    const rows = yield* readPartition(dataDir, News, date)
    if (rows.length === 0) return undefined
    const insights = new Map<string, Array<NewsSentimentRecord>>()
    for (const s of yield* readPartition(dataDir, NewsSentiment, date)) {
      const list = insights.get(s.id)
      if (list === undefined) insights.set(s.id, [s])
      else list.push(s)
    }
    const byHour = new Map<number, Array<StoredArticle>>()
    for (const row of rows) {
      const article: StoredArticle = {
        ms: row.published_utc,
        id: row.id,
        tickers: row.tickers,
        row,
        insights: (insights.get(row.id) ?? []).sort((a, b) => (a.ticker < b.ticker ? -1 : 1))
      }
      const hour = Math.floor(row.published_utc / HOUR_MS)
      const list = byHour.get(hour)
      if (list === undefined) byHour.set(hour, [article])
      else list.push(article)
    }
    for (const list of byHour.values())
      list.sort((a, b) => a.ms - b.ms || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    const empty: ReadonlyArray<StoredArticle> = []
    const source: NewsSource<StoredArticle> = {
      hour: (hour) => byHour.get(hour) ?? empty,
      article: (a) => wire(a),
      firstMs: Math.min(...rows.map((r) => r.published_utc))
    }
    return { date, articles: rows.length, source }
  })
