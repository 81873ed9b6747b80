import { describe, expect, it } from "vitest"
import { fixed } from "../../../src/sim/thetadata/greeksText.js"

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
