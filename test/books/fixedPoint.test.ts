import { describe, expect, it } from "vitest"
import { FixedPointError, formatFixed, parseFixed, scaleOfIncrement } from "../../src/books/fixedPoint.js"

describe("parseFixed", () => {
  it("scales a decimal string to an integer without a float", () => {
    expect(parseFixed("0.35130000", 4)).toBe(3513)
    expect(parseFixed("6195.00000000", 0)).toBe(6195)
    expect(parseFixed("7.6110", 3)).toBe(7611)
    expect(parseFixed("813", 0)).toBe(813)
    expect(parseFixed("0", 8)).toBe(0)
    expect(parseFixed("0.00000000", 0)).toBe(0)
    expect(parseFixed("1.5", 8)).toBe(150_000_000)
    expect(parseFixed(".5", 1)).toBe(5)
    // 0.1 + 0.2 style values a float path would get wrong at the last digit.
    expect(parseFixed("0.29999999", 8)).toBe(29_999_999)
    expect(parseFixed("90071992.54740991", 8)).toBe(Number.MAX_SAFE_INTEGER)
  })

  it("rejects non-zero decimals past the scale, values above 2^53 - 1 and malformed text", () => {
    expect(() => parseFixed("0.35135000", 4)).toThrow(/more than 4 decimals/)
    expect(() => parseFixed("90071992.54740992", 8)).toThrow(/exceeds 2\^53/)
    expect(() => parseFixed("9007199254740992", 0)).toThrow(/exceeds 2\^53/)
    expect(() => parseFixed("100000000000", 8)).toThrow(/exceeds 2\^53/)
    for (const bad of ["", ".", "-1", "1e5", "1.2.3", " 1", "1,5", "0x10"]) {
      expect(() => parseFixed(bad, 8), bad).toThrow(FixedPointError)
    }
    const error = (() => {
      try {
        parseFixed("1.23", 1)
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(FixedPointError)
    expect((error as FixedPointError).message).toBe(
      'cannot hold "1.23" as an integer × 10^-1: more than 1 decimals'
    )
  })
})

describe("formatFixed", () => {
  it("prints the integer back with the venue's decimals", () => {
    expect(formatFixed(3513, 4, 8)).toBe("0.35130000")
    expect(formatFixed(6195, 0, 8)).toBe("6195.00000000")
    expect(formatFixed(7611, 3, 4)).toBe("7.6110")
    expect(formatFixed(813, 0)).toBe("813")
    expect(formatFixed(0, 0)).toBe("0")
    expect(formatFixed(5, 3)).toBe("0.005")
    expect(formatFixed(Number.MAX_SAFE_INTEGER, 8)).toBe("90071992.54740991")
  })

  it("rejects what it cannot print exactly", () => {
    expect(() => formatFixed(1.5, 2)).toThrow(FixedPointError)
    expect(() => formatFixed(-1, 2)).toThrow(FixedPointError)
    expect(() => formatFixed(2 ** 53, 2)).toThrow(FixedPointError)
    expect(() => formatFixed(1, 4, 2)).toThrow(/with 2 decimals/)
  })

  it("round-trips every scale and digit pattern", () => {
    for (let scale = 0; scale <= 8; scale++)
      for (const v of [0, 1, 9, 10, 99, 100, 12_345_678, 100_000_000, 2 ** 40 + 7, Number.MAX_SAFE_INTEGER]) {
        expect(parseFixed(formatFixed(v, scale), scale)).toBe(v)
        expect(parseFixed(formatFixed(v, scale, 8), scale)).toBe(v)
      }
  })
})

describe("scaleOfIncrement", () => {
  it("is the decimals of a tick or step size without trailing zeros", () => {
    expect(scaleOfIncrement("0.00010000")).toBe(4)
    expect(scaleOfIncrement("1.00000000")).toBe(0)
    expect(scaleOfIncrement("0.0010")).toBe(3)
    expect(scaleOfIncrement("0.00000001")).toBe(8)
    expect(scaleOfIncrement("10")).toBe(0)
    expect(scaleOfIncrement("0")).toBe(8)
    expect(scaleOfIncrement("0.00000000")).toBe(8)
    expect(() => scaleOfIncrement("0.000000001")).toThrow(/more than 8 decimals/)
  })
})
