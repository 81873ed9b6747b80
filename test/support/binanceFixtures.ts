/** Reads ../shared/fixtures/binance in place (tests skip when ../shared is absent). */
import { existsSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import type { BinanceVenue } from "../../src/sources/binance/exchangeInfo.js"

export const binanceDir = resolve(import.meta.dirname, "../../../shared/fixtures/binance")

/** One recorded capture: an exchangeInfo, a REST snapshot and the depth frames around it. */
export interface BinanceCapture {
  readonly venue: BinanceVenue
  readonly symbol: string
  readonly exchangeInfo: unknown
  readonly snapshot: { readonly lastUpdateId: number; readonly bids: string[][]; readonly asks: string[][] }
  /** Receive time of the snapshot, unix seconds (INDEX.md). */
  readonly snapshotReceived: number
  /** Each recorded WebSocket frame as received (combined-stream wrapper included), in order. */
  readonly frames: ReadonlyArray<{ readonly recvTs: number; readonly frame: unknown }>
}

const files = {
  "binance-spot": {
    symbol: "NKNUSDT",
    snapshotReceived: 1633998512.320639,
    info: "spot/exchangeInfo.NKNUSDT-BTCUSDT.trimmed.json",
    snapshot: "spot/NKNUSDT.depth-snapshot.limit1000.json",
    frames: "spot/NKNUSDT.depth100ms.frames.jsonl"
  },
  "binance-usdm": {
    symbol: "SUSHIUSDT",
    snapshotReceived: 1626992741.301402,
    info: "usdm-futures/exchangeInfo.SUSHIUSDT-BTCUSDT.trimmed.json",
    snapshot: "usdm-futures/SUSHIUSDT.depth-snapshot.limit1000.json",
    frames: "usdm-futures/SUSHIUSDT.depth100ms.frames.jsonl"
  }
} as const

export const haveBinanceFixtures = Object.values(files).every(
  (f) =>
    existsSync(join(binanceDir, f.info)) &&
    existsSync(join(binanceDir, f.snapshot)) &&
    existsSync(join(binanceDir, f.frames))
)
if (!haveBinanceFixtures)
  console.warn(`skipping the Binance capture tests: ${binanceDir} is absent (it is in ../shared)`)

const json = (file: string): unknown => JSON.parse(readFileSync(join(binanceDir, file), "utf8"))

export const loadCapture = (venue: BinanceVenue): BinanceCapture => {
  const f = files[venue]
  const frames = readFileSync(join(binanceDir, f.frames), "utf8")
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as { recvTs: number; frame: unknown })
  return {
    venue,
    symbol: f.symbol,
    exchangeInfo: json(f.info),
    snapshot: json(f.snapshot) as BinanceCapture["snapshot"],
    snapshotReceived: f.snapshotReceived,
    frames
  }
}
