import { describe, expect, it } from "@effect/vitest"
import { makePageTextCache } from "../../src/sim/pageTextCache.js"

const page = (results: string) => ({ results, count: 1, nextTs: undefined })

describe("pageTextCache", () => {
  it("keeps pages up to its size, dropping the least recently used first", () => {
    const cache = makePageTextCache(10)
    cache.set("a", page("aaaa"))
    cache.set("b", page("bbbb"))
    expect(cache.get("a")?.results).toBe("aaaa") // a is now the most recently used
    cache.set("c", page("cccc")) // 12 characters: b goes
    expect(cache.get("b")).toBeUndefined()
    expect(cache.get("a")?.results).toBe("aaaa")
    expect(cache.get("c")?.results).toBe("cccc")
    // Replacing a page counts its new size only.
    cache.set("c", page("cc"))
    cache.set("d", page("dddd"))
    expect([cache.get("a"), cache.get("c"), cache.get("d")].map((p) => p?.results)).toEqual([
      "aaaa",
      "cc",
      "dddd"
    ])
  })

  it("does not keep a page larger than the whole cache", () => {
    const cache = makePageTextCache(3)
    cache.set("big", page("xxxx"))
    expect(cache.get("big")).toBeUndefined()
  })
})
