/**
 * Options analytics benchmark: implied volatility and greeks (src/analytics) on one day of SPY's
 * tracked chain from the simulator (every call and put within ±1 % of the open expiring within
 * 7 days, ~1M per-second bars), with each bar's close and the spot and time to expiry the simulator
 * priced it with; then every per-second indicator over a session of 23,400 seconds.
 *
 *   node bin/run-ts.mjs bench/analytics.ts [date] [passes]
 *
 * The inputs are built first (not timed). Each figure is the best of `passes` (default 3) passes,
 * in CPU time of this process (single-threaded work, so CPU ≈ wall on an idle core).
 */
import { bsmGreeks } from "../src/analytics/bsm.js"
import { impliedVolatility } from "../src/analytics/impliedVolatility.js"
import { SessionIndicators } from "../src/analytics/indicators/sessionIndicators.js"
import { optionSecondBars, theoretical } from "../src/sim/options/optionsChain.js"
import { nearTheMoney } from "../src/sim/options/optionsSim.js"
import { secondBars, sessionOf } from "../src/sim/syntheticMarket.js"

const DATE = process.argv[2] ?? "2024-03-05"
const PASSES = Number(process.argv[3] ?? 3)
const fmt = (n: number) => Math.round(n).toLocaleString("en-US")

const cpuMs = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/** Best CPU time of PASSES runs of `f`, in ms, and f's last result. */
const best = <A>(f: () => A): { ms: number; result: A } => {
  let ms = Number.POSITIVE_INFINITY
  let result: A = f()
  for (let i = 0; i < PASSES; i++) {
    const start = cpuMs()
    result = f()
    ms = Math.min(ms, cpuMs() - start)
  }
  return { ms, result }
}

const tickers = nearTheMoney(DATE, { underlyings: ["SPY"] })
const n0 = tickers.reduce((n, t) => n + optionSecondBars(t, DATE).length, 0)
const call = new Uint8Array(n0)
const spot = new Float64Array(n0)
const strike = new Float64Array(n0)
const years = new Float64Array(n0)
const rate = new Float64Array(n0)
const divYield = new Float64Array(n0)
const close = new Float64Array(n0)
let n = 0
for (const ticker of tickers)
  for (const bar of optionSecondBars(ticker, DATE)) {
    const th = theoretical(ticker, bar.ts)!
    call[n] = th.type === "call" ? 1 : 0
    spot[n] = th.spot
    strike[n] = th.strike
    years[n] = th.t
    rate[n] = th.rate
    divYield[n] = th.dividendYield
    close[n] = bar.close
    n++
  }

const ivs = new Float64Array(n)
const iv = best(() => {
  let solved = 0
  for (let i = 0; i < n; i++) {
    const r = impliedVolatility(
      call[i] === 1,
      spot[i]!,
      strike[i]!,
      years[i]!,
      rate[i]!,
      divYield[i]!,
      close[i]!
    )
    if (r._tag === "Solved") {
      ivs[i] = r.iv
      solved++
    } else ivs[i] = Number.NaN
  }
  return solved
})
const greeks = best(() => {
  let sum = 0
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(ivs[i]!)) continue
    sum += bsmGreeks(call[i] === 1, spot[i]!, strike[i]!, years[i]!, rate[i]!, divYield[i]!, ivs[i]!).delta
  }
  return sum
})
const both = best(() => {
  let sum = 0
  for (let i = 0; i < n; i++) {
    const r = impliedVolatility(
      call[i] === 1,
      spot[i]!,
      strike[i]!,
      years[i]!,
      rate[i]!,
      divYield[i]!,
      close[i]!
    )
    if (r._tag === "Solved")
      sum += bsmGreeks(call[i] === 1, spot[i]!, strike[i]!, years[i]!, rate[i]!, divYield[i]!, r.iv).gamma
  }
  return sum
})

// Every second of the session, forward-filled where SPY did not trade (as the consolidation feeds it).
const session = sessionOf(DATE)
if (session._tag !== "open") throw new Error(`${DATE} is not a trading day`)
const seconds = Math.round((session.closeMs - session.openMs) / 1000)
const bars = secondBars("SPY", DATE)
const high = new Float64Array(seconds)
const low = new Float64Array(seconds)
const last = new Float64Array(seconds)
const vwap = new Float64Array(seconds)
const volume = new Float64Array(seconds)
let price = bars[0]!.open
for (let i = 0, j = 0; i < seconds; i++) {
  const b = bars[j]
  if (b !== undefined && b.ts === session.openMs + i * 1000) {
    high[i] = b.high
    low[i] = b.low
    last[i] = price = b.close
    vwap[i] = b.vwap ?? b.close
    volume[i] = b.volume
    j++
  } else high[i] = low[i] = last[i] = vwap[i] = price
}
const indicators = best(() => {
  const s = new SessionIndicators()
  let rsi = 0
  for (let i = 0; i < seconds; i++)
    rsi = s.update(high[i]!, low[i]!, last[i]!, vwap[i]!, volume[i]!).rsi14 ?? rsi
  return rsi
})

console.log(
  `SPY ${DATE}: ${tickers.length} contracts, ${fmt(n)} option bars (${fmt(iv.result)} with an implied volatility)`
)
console.log(`implied volatility:        ${iv.ms.toFixed(0)} ms CPU, ${fmt((n / iv.ms) * 1000)} bars/s`)
console.log(
  `greeks (at the iv):        ${greeks.ms.toFixed(0)} ms CPU, ${fmt((iv.result / greeks.ms) * 1000)} bars/s`
)
console.log(`iv + greeks per bar:       ${both.ms.toFixed(0)} ms CPU, ${fmt((n / both.ms) * 1000)} bars/s`)
console.log(
  `indicators, ${fmt(seconds)} seconds of SPY: ${indicators.ms.toFixed(1)} ms CPU, ${fmt((seconds / indicators.ms) * 1000)} seconds/s`
)
