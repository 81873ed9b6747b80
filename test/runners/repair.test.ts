/** `compareSession`: what a reconciliation reports of the stream against REST. */
import { describe, expect, it } from "@effect/vitest"
import { News, type NewsRecord } from "../../src/domain/News.js"
import type { Feed } from "../../src/runners/Feed.js"
import { compareSession } from "../../src/runners/repair.js"

const article = (id: string, title: string): NewsRecord => ({
  id,
  published_utc: Date.UTC(2024, 2, 8, 15),
  title,
  author: "A. Writer",
  description: null,
  article_url: `https://news.example/${id}`,
  amp_url: null,
  image_url: null,
  publisher_name: "Example",
  publisher_homepage_url: "https://news.example/",
  tickers: ["SPY", "QQQ"],
  keywords: ["rates"]
})
// Only the dataset is read here.
const feed = { dataset: News } as unknown as Feed<NewsRecord>

describe("compareSession", () => {
  it("compares list columns by their elements, not by reference", () => {
    const streamed = [article("a", "One"), article("b", "Two")]
    // Copies, as decoded again from REST: equal lists in new arrays.
    const rest = [article("a", "One"), article("b", "Two (revised)"), article("c", "Three")]
    expect(compareSession(feed, streamed, rest)).toEqual({ missing: 1, extra: 0, changed: 1, filled: 0 })
    expect(
      compareSession(feed, [{ ...article("a", "One"), tickers: ["SPY"] }], [article("a", "One")])
    ).toEqual({
      missing: 0,
      extra: 0,
      changed: 1,
      filled: 0
    })
  })
})
