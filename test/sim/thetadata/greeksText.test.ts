import { describe, expect, it } from "vitest"
import { fixed, TextBytes } from "../../../src/sim/thetadata/greeksText.js"

describe("fixed", () => {
  it("prints a number with exactly d decimals, as toFixed after rounding, never -0", () => {
    const cases: ReadonlyArray<[number, number, string]> = [
      [0.5584, 4, "0.5584"],
      [-4.66609, 4, "-4.6661"],
      [0.00004, 4, "0.0000"],
      [-0.00004, 4, "0.0000"],
      [0.0999, 4, "0.0999"],
      [0.001, 4, "0.0010"],
      [100, 4, "100.0000"],
      [9.99995, 4, "10.0000"],
      [0.05, 2, "0.05"],
      [-0.5, 1, "-0.5"]
    ]
    for (const [x, d, text] of cases) expect(fixed(x, d)).toBe(text)
  })
})

describe("TextBytes", () => {
  it("prints fixed() byte for byte, and cents as dollars, growing past its capacity", () => {
    const out = new TextBytes(16)
    const expected: Array<string> = []
    const xs = [
      0.5584,
      -4.66609,
      0.00004,
      -0.00004,
      9.99995,
      -0.5,
      1e-300,
      123456.78915,
      -1024.25195,
      2 ** 60,
      -1e30
    ]
    for (let k = 0; k < 200; k++) xs.push(Math.sin(k) * 10 ** ((k % 9) - 3))
    for (const x of [...xs, Number.NaN, Number.POSITIVE_INFINITY])
      for (const d of [1, 2, 4, 6]) {
        out.fixed(x, d)
        out.text(",")
        expected.push(fixed(x, d))
      }
    for (const c of [0, 5, 10, 99, 100, 105, 123_456]) {
      out.cents(c)
      out.text(",")
      expected.push(`${Math.floor(c / 100)}.${String(c % 100).padStart(2, "0")}`)
    }
    expect(out.toString()).toBe(`${expected.join(",")},`)
  })
})
