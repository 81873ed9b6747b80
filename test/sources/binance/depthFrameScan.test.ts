import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { CATALOG, exchangeInfo } from "../../../src/sim/binance/catalog.js"
import { makeDepthMarket } from "../../../src/sim/binance/depthMarket.js"
import { scanDepthFrame } from "../../../src/sources/binance/depthFrameScan.js"
import { decodeDepthEvent, framePayload } from "../../../src/sources/binance/depthWire.js"
import { type BinanceVenue, symbolScales } from "../../../src/sources/binance/exchangeInfo.js"
import { haveBinanceFixtures, loadCapture } from "../../support/binanceFixtures.js"

/** What the general path (JSON.parse + decodeDepthEvent) makes of a frame. */
const general = (text: string, scales: ReturnType<typeof scalesOf>) => {
  const data = framePayload(JSON.parse(text)) as { s: string }
  return decodeDepthEvent(data, scales.get(data.s)!)
}
const scalesOf = (venue: BinanceVenue, info: unknown) => Either.getOrThrow(symbolScales(venue, info))

describe("scanDepthFrame", () => {
  it("gives the general decoder's event on every simulator message, raw and combined, spot and USD-M", () => {
    for (const [venue, simVenue] of [
      ["binance-spot", "spot"],
      ["binance-usdm", "usdm"]
    ] as const) {
      const specs = CATALOG[simVenue].slice(0, 2)
      const scales = scalesOf(venue, exchangeInfo(simVenue, specs, 6000, 0))
      const market = makeDepthMarket({
        seed: 3,
        startMs: 1_700_000_000_000,
        venues: { spot: [], usdm: [], [simVenue]: specs.map((spec) => ({ spec, rate: 5000 })) }
      })
      for (const s of specs) market.activate(simVenue, `${s.symbol.toLowerCase()}@depth@100ms`)
      let n = 0
      for (let step = 0; step < 20; step++)
        market.step((_v, m) => {
          for (const text of [m.payload, `{"stream":"${m.stream}","data":${m.payload}}`]) {
            const scanned = scanDepthFrame(text, (s) => scales.get(s))
            expect(scanned?._tag).toBe("Event")
            expect(scanned?._tag === "Event" ? scanned.event : undefined).toEqual(
              Either.getOrThrow(general(text, scales))
            )
            n++
          }
        })
      expect(n).toBeGreaterThan(20)
    }
  })

  it.skipIf(!haveBinanceFixtures)("gives the general decoder's event on every recorded frame", () => {
    for (const venue of ["binance-spot", "binance-usdm"] as const) {
      const capture = loadCapture(venue)
      const scales = scalesOf(venue, capture.exchangeInfo)
      for (const { frame } of capture.frames) {
        const text = typeof frame === "string" ? frame : JSON.stringify(frame)
        const scanned = scanDepthFrame(text, (s) => scales.get(s))
        expect(scanned?._tag === "Event" ? scanned.event : undefined).toEqual(
          Either.getOrThrow(general(text, scales))
        )
      }
    }
  })

  it("leaves anything else to the general path, and reports a price its scale cannot hold", () => {
    const scales = scalesOf("binance-spot", exchangeInfo("spot", CATALOG.spot.slice(0, 1), 6000, 0))
    const of = (s: string) => scales.get(s)
    const ok =
      '{"e":"depthUpdate","E":5,"s":"BTCUSDT","U":1,"u":2,"b":[["60000.01000000","0.00100000"]],"a":[]}'
    expect(scanDepthFrame(ok, of)?._tag).toBe("Event")
    expect(scanDepthFrame('{"e":"serverShutdown","E":1}', of)).toBeUndefined()
    expect(scanDepthFrame('{"result":null,"id":1}', of)).toBeUndefined()
    expect(scanDepthFrame(ok.replace("BTCUSDT", "XRPUSDT"), of)).toBeUndefined()
    expect(scanDepthFrame(ok.replace('"b":[[', '"b": [['), of)).toBeUndefined()
    expect(scanDepthFrame(ok.replace('"u":2', '"u":"2"'), of)).toBeUndefined()
    const bad = scanDepthFrame(ok.replace("60000.01000000", "60000.010000001"), of)
    expect(bad).toMatchObject({ _tag: "Invalid", symbol: "BTCUSDT" })
    expect(Either.isLeft(general(ok.replace("60000.01000000", "60000.010000001"), scales))).toBe(true)
  })
})
