/**
 * Deterministic news for the simulator's `GET /v2/reference/news` (the route is `newsRoute.ts`).
 *
 * - Every UTC hour holds 0–3 articles per synthetic ticker (SPY, QQQ, … of the synthetic market),
 *   a pure function of the hour: a seeded PRNG, no state. An article about one ticker mentions one
 *   or two more about a third of the time, some of them outside the synthetic market (AMZN, JPM …).
 * - About a quarter of the articles land on a quarter hour (hh:00:00, hh:15:00 …), so several
 *   articles share one `published_utc`: the boundary case of a poller's checkpoint.
 * - Every field of the vendor's shape is present; `amp_url` is absent on about 30 %, `keywords` on
 *   about 25 %, `publisher.favicon_url` for one publisher. `insights` cover some of an article's
 *   tickers (each with probability 0.6); an article with none has no `insights` member.
 * - Updates: about 1 in 5 articles is revised once, between 10 minutes and `UPDATE_MAX_DELAY_MS`
 *   (3 h) after publication. From then on the same `id` is served with a title starting "Update: "
 *   and a description saying what changed; `published_utc` stays, as the vendor's does. Since the
 *   API orders by `published_utc`, a client only sees a revision by re-reading a trailing window of
 *   at least that delay.
 * - Nothing before `NEWS_FIRST_MS` (2020-01-01) exists; the route hides what is after its clock.
 */
import { SYMBOLS } from "./syntheticMarket.js"

export const HOUR_MS = 3_600_000
/** The first instant with news. */
export const NEWS_FIRST_MS = Date.UTC(2020, 0, 1)
/** The longest delay between an article's publication and its revision. */
export const UPDATE_MAX_DELAY_MS = 3 * HOUR_MS
const UPDATE_MIN_DELAY_MS = 10 * 60_000

/** The tickers articles are written about: the synthetic market's. */
export const NEWS_TICKERS: ReadonlyArray<string> = SYMBOLS
/** Tickers only ever co-mentioned (no article is about them first). */
const OTHER_TICKERS: ReadonlyArray<string> = ["AMZN", "GOOGL", "META", "JPM", "XOM", "UBS", "NFLX"]
const ALL_TICKERS = [...NEWS_TICKERS, ...OTHER_TICKERS]

/** An article as the vendor writes it (keys in the order of the vendor's fixture). */
export interface NewsArticleWire {
  readonly id: string
  readonly publisher: {
    readonly name: string
    readonly homepage_url: string
    readonly logo_url: string
    readonly favicon_url?: string
  }
  readonly title: string
  readonly author: string
  readonly published_utc: string
  readonly article_url: string
  readonly tickers: ReadonlyArray<string>
  readonly amp_url?: string
  readonly image_url?: string
  readonly description?: string
  readonly keywords?: ReadonlyArray<string>
  readonly insights?: ReadonlyArray<{
    readonly ticker: string
    readonly sentiment: "positive" | "neutral" | "negative"
    readonly sentiment_reasoning: string
  }>
}

/** What ordering and filtering need, cheap to make for every article of an hour. */
export interface NewsSkeleton {
  /** `published_utc`, epoch ms (whole seconds). */
  readonly ms: number
  /** 64 hex digits, unique. */
  readonly id: string
  readonly tickers: ReadonlyArray<string>
  /** When the article is revised, epoch ms; undefined for articles never revised. */
  readonly updatedAtMs: number | undefined
  /** Seed of the article's text. */
  readonly seed: number
}

// ---------------------------------------------------------------------------------------------
// PRNG

/** A 32-bit avalanche mix of three integers (murmur3 finaliser). */
const mix = (a: number, b: number, c: number): number => {
  let h = (a ^ Math.imul(b, 0x9e3779b1) ^ Math.imul(c, 0x85ebca6b) ^ 0x6e657773) >>> 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

const mulberry32 = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const pick = <A>(rng: () => number, list: ReadonlyArray<A>): A => list[Math.floor(rng() * list.length)]!

const hexId = (hour: number, ticker: number, k: number): string => {
  let out = ""
  for (let w = 0; w < 8; w++)
    out += mix(hour, ticker * 8 + w, k + 1)
      .toString(16)
      .padStart(8, "0")
  return out
}

// ---------------------------------------------------------------------------------------------
// Skeletons, per hour

const compareSkeletons = (a: NewsSkeleton, b: NewsSkeleton): number =>
  a.ms - b.ms || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/** The articles published in UTC hour `hour` (epoch ms / 3 600 000), ascending by (`published_utc`, `id`). */
export const hourSkeletons = (hour: number): ReadonlyArray<NewsSkeleton> => {
  const out: Array<NewsSkeleton> = []
  if (hour * HOUR_MS >= NEWS_FIRST_MS) {
    NEWS_TICKERS.forEach((primary, t) => {
      const rng = mulberry32(mix(hour, t, 0x5eed))
      const count = Math.floor(rng() * 4)
      for (let k = 0; k < count; k++) {
        const second = rng() < 0.25 ? Math.floor(rng() * 4) * 900 : Math.floor(rng() * 3600)
        const tickers = [primary]
        const extra = rng()
        const more = extra < 0.1 ? 2 : extra < 0.35 ? 1 : 0
        for (let m = 0; m < more; m++) {
          const other = pick(rng, ALL_TICKERS)
          if (!tickers.includes(other)) tickers.push(other)
        }
        const ms = hour * HOUR_MS + second * 1000
        const revised = rng() < 0.2
        const delay = UPDATE_MIN_DELAY_MS + Math.floor(rng() * (UPDATE_MAX_DELAY_MS - UPDATE_MIN_DELAY_MS))
        out.push({
          ms,
          id: hexId(hour, t, k),
          tickers,
          updatedAtMs: revised ? ms + Math.floor(delay / 1000) * 1000 : undefined,
          seed: mix(hour, t, k + 0x100)
        })
      }
    })
  }
  out.sort(compareSkeletons)
  return out
}

/** `hourSkeletons` memoised (bounded), for one simulator instance. */
export const makeHourCache = (): ((hour: number) => ReadonlyArray<NewsSkeleton>) => {
  const cache = new Map<number, ReadonlyArray<NewsSkeleton>>()
  return (hour) => {
    let hit = cache.get(hour)
    if (hit === undefined) {
      hit = hourSkeletons(hour)
      if (cache.size >= 20_000) cache.clear()
      cache.set(hour, hit)
    }
    return hit
  }
}

// ---------------------------------------------------------------------------------------------
// Text

const NAMES: Readonly<Record<string, string>> = {
  SPY: "S&P 500 ETF",
  QQQ: "Nasdaq-100 ETF",
  IWM: "Russell 2000 ETF",
  DIA: "Dow Jones ETF",
  AAPL: "Apple",
  MSFT: "Microsoft",
  NVDA: "Nvidia",
  TSLA: "Tesla",
  AMZN: "Amazon",
  GOOGL: "Alphabet",
  META: "Meta Platforms",
  JPM: "JPMorgan Chase",
  XOM: "Exxon Mobil",
  UBS: "UBS",
  NFLX: "Netflix"
}

const PUBLISHERS: ReadonlyArray<NewsArticleWire["publisher"]> = [
  {
    name: "MarketWatch",
    homepage_url: "https://www.marketwatch.com/",
    logo_url: "https://s3.massive.com/public/assets/news/logos/marketwatch.svg",
    favicon_url: "https://s3.massive.com/public/assets/news/favicons/marketwatch.ico"
  },
  {
    name: "Investing.com",
    homepage_url: "https://www.investing.com/",
    logo_url: "https://s3.massive.com/public/assets/news/logos/investing.png",
    favicon_url: "https://s3.massive.com/public/assets/news/favicons/investing.ico"
  },
  {
    name: "Benzinga",
    homepage_url: "https://www.benzinga.com/",
    logo_url: "https://s3.massive.com/public/assets/news/logos/benzinga.svg",
    favicon_url: "https://s3.massive.com/public/assets/news/favicons/benzinga.ico"
  },
  {
    name: "Zacks Investment Research",
    homepage_url: "https://www.zacks.com/",
    logo_url: "https://s3.massive.com/public/assets/news/logos/zacks.png"
  }
]

const AUTHORS = ["Sam Boughedda", "Jill Mislinski", "Lisa Levin", "Zacks Equity Research", "MarketWatch"]
const EVENTS = [
  ["climbs", "positive", "gains on upbeat guidance"],
  ["slips", "negative", "falls after a cautious outlook"],
  ["holds steady", "neutral", "trades flat ahead of economic data"],
  ["rallies", "positive", "is lifted by strong demand"],
  ["drops", "negative", "is pressured by rising yields"],
  ["is in focus", "neutral", "draws attention before earnings"]
] as const
const TOPICS = [
  "Federal Reserve",
  "interest rates",
  "earnings",
  "inflation",
  "economic data",
  "options activity",
  "technology",
  "energy"
]
const SENTIMENTS = ["positive", "neutral", "negative"] as const

const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")

export const isoSeconds = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z")

/**
 * The article as served at `nowMs`: the revised version once `nowMs` has reached its revision
 * time. The caller only asks for published articles (`skeleton.ms <= nowMs`).
 */
export const articleAt = (skeleton: NewsSkeleton, nowMs: number): NewsArticleWire => {
  const rng = mulberry32(skeleton.seed)
  const primary = skeleton.tickers[0]!
  const name = NAMES[primary] ?? primary
  const [verb, tone, phrase] = pick(rng, EVENTS)
  const topic = pick(rng, TOPICS)
  const publisher = pick(rng, PUBLISHERS)
  const author = pick(rng, AUTHORS)
  const title = `${name} ${verb} as ${topic} move markets`
  const description = `${name} ${phrase}; traders weigh ${topic} and what it means for ${skeleton.tickers.map((t) => NAMES[t] ?? t).join(", ")}.`
  const path = `news/${slug(title)}-${skeleton.id.slice(0, 10)}`
  const hasAmp = rng() >= 0.3
  const keywordCount = rng() < 0.25 ? 0 : 2 + Math.floor(rng() * 3)
  const keywords: Array<string> = []
  for (let i = 0; i < keywordCount; i++) {
    const k = pick(rng, TOPICS)
    if (!keywords.includes(k)) keywords.push(k)
  }
  const insights: Array<NonNullable<NewsArticleWire["insights"]>[number]> = []
  for (const ticker of skeleton.tickers) {
    const covered = rng() < 0.6
    const sentiment = ticker === primary ? tone : pick(rng, SENTIMENTS)
    if (!covered) continue
    insights.push({
      ticker,
      sentiment,
      sentiment_reasoning: `${NAMES[ticker] ?? ticker} ${sentiment === "positive" ? "benefits from" : sentiment === "negative" ? "is hurt by" : "is mentioned alongside"} the ${topic} news.`
    })
  }
  const revised = skeleton.updatedAtMs !== undefined && nowMs >= skeleton.updatedAtMs
  return {
    id: skeleton.id,
    publisher,
    title: revised ? `Update: ${title}` : title,
    author,
    published_utc: isoSeconds(skeleton.ms),
    article_url: `${publisher.homepage_url}${path}`,
    tickers: skeleton.tickers,
    ...(hasAmp ? { amp_url: `${publisher.homepage_url}amp/${path}` } : {}),
    image_url: `https://images.example-news.invalid/${skeleton.id.slice(0, 16)}.jpg`,
    description: revised
      ? `${description} Updated at ${isoSeconds(skeleton.updatedAtMs ?? 0)} with analyst comments.`
      : description,
    ...(keywords.length === 0 ? {} : { keywords }),
    ...(insights.length === 0 ? {} : { insights })
  }
}
