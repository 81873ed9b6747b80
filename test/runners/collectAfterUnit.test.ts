/** The collection after a large unit held as columns frees the array buffers it left behind. */
import { describe, expect, it } from "vitest"
import { COLLECT_ABOVE_BYTES, collectAfterUnit, LARGE_UNIT_ROWS } from "../../src/runners/collectAfterUnit.js"

describe("collectAfterUnit", () => {
  it("after a large unit, frees the array buffers nothing holds any more", async () => {
    const arrayBuffers = () => process.memoryUsage().arrayBuffers
    const before = arrayBuffers()
    // A unit's worth of columns, committed and dropped: more than the threshold, all garbage.
    let unit: Array<Float64Array> | undefined = Array.from(
      { length: 20 },
      () => new Float64Array((COLLECT_ABOVE_BYTES / 8 / 20) * 1.5)
    )
    unit[0]![0] = 1
    expect(arrayBuffers() - before).toBeGreaterThan(COLLECT_ABOVE_BYTES)
    unit = undefined
    collectAfterUnit(LARGE_UNIT_ROWS)
    // V8 releases the memory of collected array buffers on a background thread, just after.
    for (let i = 0; i < 50 && arrayBuffers() - before >= 16 * 1024 * 1024; i++)
      await new Promise((resolve) => setTimeout(resolve, 10))
    expect(arrayBuffers() - before).toBeLessThan(16 * 1024 * 1024)
  })

  it("leaves a small unit alone: no collection is asked for", () => {
    // Nothing to observe but that it returns at once without exposing or calling `gc`.
    expect(collectAfterUnit(LARGE_UNIT_ROWS - 1)).toBeUndefined()
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined()
  })
})
