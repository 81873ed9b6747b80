/** `news` from Massive: one row per relevant article (newsFeed.ts says how it is fetched and polled). */
import type { Effect } from "effect"
import type { AppConfig } from "../../config/AppConfig.js"
import type { LiveCapableFeed } from "../../domain/datasets.js"
import { News, type NewsRecord } from "../../domain/News.js"
import type { MassiveRest } from "./MassiveRest.js"
import { makeFor } from "./newsFeed.js"
import { newsRecord } from "./newsRecords.js"

const feed = makeFor<NewsRecord>({
  dataset: News,
  records: (article) => [newsRecord(article)],
  subject: (r) => r.tickers[0] ?? ""
})

/** Backfill and stream: the same feed (polling needs no socket). */
export const make: Effect.Effect<LiveCapableFeed<NewsRecord>, never, MassiveRest | AppConfig> = feed
export const makeLive = feed
