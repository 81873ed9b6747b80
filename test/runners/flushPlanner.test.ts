/** The flush planner: when a flush must start so its oldest message is durable within the interval. */
import { describe, expect, it } from "@effect/vitest"
import * as FlushPlanner from "../../src/runners/flushPlanner.js"

const T = 1_709_562_600_000

describe("FlushPlanner", () => {
  it("before any flush was measured, a flush is due half an interval after its oldest message", () => {
    const planner = FlushPlanner.make(1000)
    expect(planner.leadMs()).toBe(500)
    expect(planner.dueAt(T)).toBe(T + 500)
  })

  it("plans from the longest recent flush, with headroom, not from the average", () => {
    const planner = FlushPlanner.make(1000)
    for (let i = 0; i < 10; i++) planner.record(T + i * 1000, T + i * 1000 + 100)
    expect(planner.leadMs()).toBe(1.25 * 100 + 20)
    // One slow flush (a stalled fsync) sets the lead for the flushes after it.
    planner.record(T + 20_000, T + 20_000 + 300)
    planner.record(T + 21_000, T + 21_000 + 90)
    expect(planner.leadMs()).toBe(1.25 * 300 + 20)
    expect(planner.dueAt(T)).toBe(T + 1000 - (1.25 * 300 + 20))
  })

  it("a slow flush stops counting once WINDOW flushes came after it", () => {
    const planner = FlushPlanner.make(1000)
    planner.record(T, T + 400)
    for (let i = 1; i < FlushPlanner.WINDOW; i++) planner.record(T + i * 1000, T + i * 1000 + 50 + i)
    expect(planner.leadMs()).toBe(1.25 * 400 + 20)
    planner.record(T + 99_000, T + 99_000 + 60)
    // The longest left in the window: the previous flush, 50 + (WINDOW - 1) ms.
    expect(planner.leadMs()).toBe(1.25 * (50 + FlushPlanner.WINDOW - 1) + 20)
  })

  it("the lead is capped so a flush still collects for part of the interval", () => {
    const planner = FlushPlanner.make(1000)
    planner.record(T, T + 5000)
    expect(planner.leadMs()).toBe(FlushPlanner.MAX_LEAD_SHARE * 1000)
  })

  it("a flush durable before it was due counts as taking no time; commits without cost keep a small lead", () => {
    const planner = FlushPlanner.make(200)
    planner.record(T + 50, T)
    planner.record(T, T)
    expect(planner.leadMs()).toBe(20)
    expect(planner.dueAt(T)).toBe(T + 180)
  })
})
