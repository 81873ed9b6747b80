import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as MarketCalendar from "../../src/calendar/MarketCalendar.js"
import { earlyClosesOf, holidaysOf, nyseDay } from "../../src/calendar/nyseRules.js"

// NYSE's published full-day closures (nyse.com holidays & trading hours pages, per year).
const published: Record<number, ReadonlyArray<string>> = {
  2015: [
    "2015-01-01",
    "2015-01-19",
    "2015-02-16",
    "2015-04-03",
    "2015-05-25",
    "2015-07-03",
    "2015-09-07",
    "2015-11-26",
    "2015-12-25"
  ],
  2018: [
    "2018-01-01",
    "2018-01-15",
    "2018-02-19",
    "2018-03-30",
    "2018-05-28",
    "2018-07-04",
    "2018-09-03",
    "2018-11-22",
    "2018-12-05",
    "2018-12-25"
  ],
  2021: [
    "2021-01-01",
    "2021-01-18",
    "2021-02-15",
    "2021-04-02",
    "2021-05-31",
    "2021-07-05",
    "2021-09-06",
    "2021-11-25",
    "2021-12-24"
  ],
  2022: [
    "2022-01-17",
    "2022-02-21",
    "2022-04-15",
    "2022-05-30",
    "2022-06-20",
    "2022-07-04",
    "2022-09-05",
    "2022-11-24",
    "2022-12-26"
  ],
  2023: [
    "2023-01-02",
    "2023-01-16",
    "2023-02-20",
    "2023-04-07",
    "2023-05-29",
    "2023-06-19",
    "2023-07-04",
    "2023-09-04",
    "2023-11-23",
    "2023-12-25"
  ],
  2024: [
    "2024-01-01",
    "2024-01-15",
    "2024-02-19",
    "2024-03-29",
    "2024-05-27",
    "2024-06-19",
    "2024-07-04",
    "2024-09-02",
    "2024-11-28",
    "2024-12-25"
  ],
  2025: [
    "2025-01-01",
    "2025-01-09",
    "2025-01-20",
    "2025-02-17",
    "2025-04-18",
    "2025-05-26",
    "2025-06-19",
    "2025-07-04",
    "2025-09-01",
    "2025-11-27",
    "2025-12-25"
  ],
  2026: [
    "2026-01-01",
    "2026-01-19",
    "2026-02-16",
    "2026-04-03",
    "2026-05-25",
    "2026-06-19",
    "2026-07-03",
    "2026-09-07",
    "2026-11-26",
    "2026-12-25"
  ],
  2027: [
    "2027-01-01",
    "2027-01-18",
    "2027-02-15",
    "2027-03-26",
    "2027-05-31",
    "2027-06-18",
    "2027-07-05",
    "2027-09-06",
    "2027-11-25",
    "2027-12-24"
  ]
}

const publishedEarly: Record<number, ReadonlyArray<string>> = {
  2023: ["2023-07-03", "2023-11-24"],
  2024: ["2024-07-03", "2024-11-29", "2024-12-24"],
  2025: ["2025-07-03", "2025-11-28", "2025-12-24"],
  2026: ["2026-11-27", "2026-12-24"]
}

describe("NYSE rules", () => {
  for (const [year, dates] of Object.entries(published)) {
    it(`full closures of ${year} match the exchange's list`, () => {
      expect([...holidaysOf(Number(year)).keys()].sort()).toEqual([...dates].sort())
    })
  }
  for (const [year, dates] of Object.entries(publishedEarly)) {
    it(`13:00 early closes of ${year} match the exchange's list`, () => {
      expect([...earlyClosesOf(Number(year)).keys()].sort()).toEqual([...dates].sort())
    })
  }

  it("regular session is 09:30–16:00 New York, across the DST change", () => {
    const winter = nyseDay("2024-03-08")
    const summer = nyseDay("2024-03-11")
    expect(winter).toMatchObject({ _tag: "open", earlyClose: false })
    expect(summer).toMatchObject({ _tag: "open", earlyClose: false })
    if (winter._tag !== "open" || summer._tag !== "open") throw new Error("expected open days")
    expect(new Date(winter.openMs).toISOString()).toBe("2024-03-08T14:30:00.000Z")
    expect(new Date(winter.closeMs).toISOString()).toBe("2024-03-08T21:00:00.000Z")
    expect(new Date(summer.openMs).toISOString()).toBe("2024-03-11T13:30:00.000Z")
    expect(new Date(summer.closeMs).toISOString()).toBe("2024-03-11T20:00:00.000Z")
  })

  it("early close ends at 13:00 New York", () => {
    const day = nyseDay("2024-11-29")
    if (day._tag !== "open") throw new Error("expected open")
    expect(day.earlyClose).toBe(true)
    expect(new Date(day.closeMs).toISOString()).toBe("2024-11-29T18:00:00.000Z")
  })

  it("weekends and holidays are closed with a reason", () => {
    expect(nyseDay("2024-03-09")).toEqual({
      _tag: "closed",
      date: "2024-03-09",
      reason: "weekend (Saturday)"
    })
    expect(nyseDay("2024-03-29")).toEqual({
      _tag: "closed",
      date: "2024-03-29",
      reason: "holiday: Good Friday"
    })
  })
})

describe("MarketCalendar", () => {
  it("vendor upcoming entries override the rules", () => {
    const cal = MarketCalendar.fromRules(
      [
        { exchange: "NYSE", name: "Special closure", date: "2024-03-05", status: "closed" },
        { exchange: "NASDAQ", name: "Ignored", date: "2024-03-06", status: "closed" },
        {
          exchange: "NYSE",
          name: "Short day",
          date: "2024-03-07",
          status: "early-close",
          openMs: Date.parse("2024-03-07T14:30:00Z"),
          closeMs: Date.parse("2024-03-07T18:00:00Z")
        }
      ],
      "test"
    )
    expect(cal.day("2024-03-05")).toEqual({
      _tag: "closed",
      date: "2024-03-05",
      reason: "holiday: Special closure"
    })
    expect(cal.day("2024-03-06")._tag).toBe("open")
    expect(cal.day("2024-03-07")).toMatchObject({
      _tag: "open",
      earlyClose: true,
      closeMs: Date.parse("2024-03-07T18:00:00Z")
    })
  })

  it.effect("range rejects bad and out-of-range dates with a specific message", () =>
    Effect.gen(function* () {
      const cal = MarketCalendar.fromRules([], "test")
      const bad = yield* Effect.flip(cal.range("2024-02-30", "2024-03-01"))
      expect(bad.message).toBe("--from 2024-02-30 is not a date; expected YYYY-MM-DD.")
      const old = yield* Effect.flip(cal.range("2010-01-04", "2010-01-05"))
      expect(old.message).toContain("outside the built-in NYSE calendar (2015–2035)")
      const reversed = yield* Effect.flip(cal.range("2024-03-08", "2024-03-04"))
      expect(reversed.message).toBe("--from 2024-03-08 is after --to 2024-03-04.")
      const week = yield* cal.range("2024-03-04", "2024-03-10")
      expect(week.filter((d) => d._tag === "open").map((d) => d.date)).toEqual([
        "2024-03-04",
        "2024-03-05",
        "2024-03-06",
        "2024-03-07",
        "2024-03-08"
      ])
    })
  )
})
