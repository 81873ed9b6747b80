import { describe, expect, it } from "@effect/vitest"
import {
  dateOfDays,
  daysOfDate,
  decimalText,
  isDate,
  isInt64,
  isStringList,
  scaledOfDecimalText
} from "../../src/domain/columnValues.js"

describe("columnValues", () => {
  it("dates: days since 1970 and back, as JavaScript's UTC calendar counts them, years 0001 to 9999", () => {
    const utcDays = (date: string) => {
      const d = new Date(0)
      d.setUTCFullYear(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10)))
      return Math.round(d.getTime() / 86_400_000)
    }
    for (let days = -719_162; days <= 2_932_896; days += 997) {
      const date = dateOfDays(days)
      expect(daysOfDate(date)).toBe(days)
      expect(utcDays(date)).toBe(days)
    }
    expect(daysOfDate("1970-01-01")).toBe(0)
    expect(daysOfDate("1969-12-31")).toBe(-1)
    expect(daysOfDate("2038-01-19")).toBe(24_855)
    expect(daysOfDate("0001-01-01")).toBe(-719_162)
    expect(daysOfDate("9999-12-31")).toBe(2_932_896)
    expect(dateOfDays(-719_163)).toBe("0000-12-31")
    expect(dateOfDays(2_932_897)).toBe("+010000-01-01")
  })

  it("dates: only real YYYY-MM-DD dates", () => {
    for (const good of ["2000-02-29", "2024-02-29", "1900-02-28", "2023-12-31"])
      expect(isDate(good)).toBe(true)
    for (const bad of [
      "1900-02-29", // not a leap year
      "2023-02-29",
      "2024-04-31",
      "2024-13-01",
      "2024-00-10",
      "2024-01-00",
      "0000-01-01", // Postgres has no year 0
      "2024-1-05",
      "2024/01/05",
      "2024-01-05T00:00:00Z",
      " 2024-01-05",
      "２０２４-01-05",
      "",
      19_000,
      null
    ])
      expect(isDate(bad), String(bad)).toBe(false)
  })

  it("decimals: exact text of a scaled integer, and back", () => {
    expect(decimalText(47_025, 2)).toBe("470.25")
    expect(decimalText(-5, 2)).toBe("-0.05")
    expect(decimalText(0, 2)).toBe("0.00")
    expect(decimalText(-1, 8)).toBe("-0.00000001")
    expect(decimalText(Number.MAX_SAFE_INTEGER, 0)).toBe("9007199254740991")
    expect(decimalText(-Number.MAX_SAFE_INTEGER, 18)).toBe("-0.009007199254740991")
    expect(decimalText(12n, 1)).toBe("1.2")
    for (const [text, scale, scaled] of [
      ["470.25", 2, 47_025],
      ["-0.05", 2, -5],
      ["470.2", 2, 47_020],
      ["470", 2, 47_000],
      ["470.2500", 2, 47_025],
      ["+1.5", 1, 15],
      ["-0.00000001", 8, -1],
      ["9007199254740991", 0, Number.MAX_SAFE_INTEGER]
    ] as const)
      expect(scaledOfDecimalText(text, scale), text).toBe(scaled)
    for (const [text, scale] of [
      ["470.255", 2], // more digits than the scale holds
      ["9007199254740992", 0], // beyond a safe integer
      ["1e5", 0],
      ["", 0],
      ["1.2.3", 2],
      ["NaN", 2]
    ] as const)
      expect(scaledOfDecimalText(text, scale), text).toBeUndefined()
  })

  it("int64 bigints and string lists", () => {
    expect(isInt64(2n ** 63n - 1n)).toBe(true)
    expect(isInt64(-(2n ** 63n))).toBe(true)
    expect(isInt64(2n ** 63n)).toBe(false)
    expect(isInt64(5)).toBe(false)
    expect(isStringList([])).toBe(true)
    expect(isStringList(["", "a"])).toBe(true)
    expect(isStringList(["a", null])).toBe(false)
    expect(isStringList("a")).toBe(false)
  })
})
