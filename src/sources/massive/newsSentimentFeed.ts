/**
 * `news_sentiment` from Massive: one row per insight (ticker, sentiment, reasoning) of each relevant
 * article, fetched and polled as `news` is (newsFeed.ts).
 */
import type { Effect } from "effect"
import type { AppConfig } from "../../config/AppConfig.js"
import type { LiveCapableFeed } from "../../domain/datasets.js"
import { NewsSentiment, type NewsSentimentRecord } from "../../domain/News.js"
import type { MassiveRest } from "./MassiveRest.js"
import { makeFor } from "./newsFeed.js"
import { sentimentRecords } from "./newsRecords.js"

const feed = makeFor<NewsSentimentRecord>({
  dataset: NewsSentiment,
  records: sentimentRecords,
  subject: (r) => r.ticker
})

/** Backfill and stream: the same feed (polling needs no socket). */
export const make: Effect.Effect<LiveCapableFeed<NewsSentimentRecord>, never, MassiveRest | AppConfig> = feed
export const makeLive = feed
