/**
 * The text of aggregates pages the simulator has written, kept by query so that asking again for
 * history it already served costs the copy of a string, not the JSON writing of every bar again
 * (on a day of a tracked option chain, JSON.stringify was most of the simulator's time: it paced
 * the options backfill benchmark, not tapehouse). A vendor's servers answer history from their
 * caches too. Least recently used pages go first once `maxChars` is reached.
 *
 * Only for answers that depend on the query alone: bars from a provider that gives the same bars
 * for the same day (see `BarProvider`), nothing held back by the clock, no scripted fault.
 */
export interface PageText {
  /** The `results` array as JSON text. */
  readonly results: string
  readonly count: number
  /** The event time of the first bar of the next page, if there is one. */
  readonly nextTs: number | undefined
}

export interface PageTextCache {
  readonly get: (key: string) => PageText | undefined
  readonly set: (key: string, page: PageText) => void
}

export const makePageTextCache = (maxChars: number): PageTextCache => {
  // A Map iterates in insertion order: re-inserting on a hit keeps the least recently used first.
  const pages = new Map<string, PageText>()
  let chars = 0
  return {
    get: (key) => {
      const page = pages.get(key)
      if (page !== undefined) {
        pages.delete(key)
        pages.set(key, page)
      }
      return page
    },
    set: (key, page) => {
      if (page.results.length > maxChars) return
      const old = pages.get(key)
      if (old !== undefined) {
        pages.delete(key)
        chars -= old.results.length
      }
      pages.set(key, page)
      chars += page.results.length
      for (const [k, p] of pages) {
        if (chars <= maxChars) break
        pages.delete(k)
        chars -= p.results.length
      }
    }
  }
}
