/** New York offsets (cached by UTC hour) against Intl's, around DST changes and across years. */
import { describe, expect, it } from "vitest"
import { newYorkDate, newYorkOffsetMinutes, newYorkTimeToEpochMs } from "../../src/domain/time.js"

const intl = new Intl.DateTimeFormat("en-US", {
  timeZone: "America/New_York",
  timeZoneName: "longOffset"
})
/** Intl's offset at an instant, minutes ("GMT-05:00" is -300). */
const intlOffset = (epochMs: number): number => {
  const name = intl.formatToParts(new Date(epochMs)).find((p) => p.type === "timeZoneName")?.value ?? ""
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name)
  if (m === null) throw new Error(`no offset in ${name}`)
  return (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]))
}

describe("newYorkOffsetMinutes", () => {
  it("equals Intl's offset to the millisecond around every DST change of 2023-2025", () => {
    // 2024-03-10 07:00Z (02:00 EST) to EDT; 2024-11-03 06:00Z (02:00 EDT) to EST; and 2023, 2025.
    const changes = [
      "2023-03-12T07:00:00Z",
      "2023-11-05T06:00:00Z",
      "2024-03-10T07:00:00Z",
      "2024-11-03T06:00:00Z",
      "2025-03-09T07:00:00Z",
      "2025-11-02T06:00:00Z"
    ].map(Date.parse)
    for (const at of changes) {
      for (const delta of [-HOUR, -1, 0, 1, 999, 59 * 60_000, HOUR - 1, HOUR]) {
        const t = at + delta
        expect(newYorkOffsetMinutes(t), new Date(t).toISOString()).toBe(intlOffset(t))
      }
      expect(newYorkOffsetMinutes(at - 1)).not.toBe(newYorkOffsetMinutes(at))
    }
  })

  it("equals Intl's offset at instants spread over years, asked in any order", () => {
    const start = Date.parse("2019-01-01T00:00:00Z")
    // A step that is not a whole number of hours walks through every minute of the hour.
    for (let k = 0; k < 300; k++) {
      const t = start + k * 4_000_037 * 47
      expect(newYorkOffsetMinutes(t), new Date(t).toISOString()).toBe(intlOffset(t))
    }
    for (let k = 300; k-- > 0; ) {
      const t = start + k * 3_999_983 * 47 + 123
      expect(newYorkOffsetMinutes(t), new Date(t).toISOString()).toBe(intlOffset(t))
    }
  })

  it("gives sessions and New York dates across a DST change", () => {
    expect(new Date(newYorkTimeToEpochMs("2024-03-08", 9, 30)).toISOString()).toBe("2024-03-08T14:30:00.000Z")
    expect(new Date(newYorkTimeToEpochMs("2024-03-11", 9, 30)).toISOString()).toBe("2024-03-11T13:30:00.000Z")
    expect(newYorkDate(Date.parse("2024-03-11T03:59:59.999Z"))).toBe("2024-03-10")
    expect(newYorkDate(Date.parse("2024-03-11T04:00:00.000Z"))).toBe("2024-03-11")
    expect(newYorkDate(Date.parse("2024-11-04T04:59:59.999Z"))).toBe("2024-11-03")
    expect(newYorkDate(Date.parse("2024-11-04T05:00:00.000Z"))).toBe("2024-11-04")
  })
})

const HOUR = 3_600_000
