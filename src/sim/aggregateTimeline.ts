/**
 * A replayed session as Massive's per-second aggregates (`A` events, spec §11.4): every cluster's
 * bars merged into publish groups (the bars of one second go out together, `PUBLISH_DELAY_MS`
 * after its start), built lazily in order, with the day totals (`av`, `a`, `op`) each event
 * carries; and the re-sent bar of a `correction`.
 */
import type { StockBar } from "../domain/StockBar.js"
import { newYorkTimeToEpochMs } from "../domain/time.js"
import { type BarProvider, PUBLISH_DELAY_MS } from "./MassiveSim.js"
import { sessionOf } from "./syntheticMarket.js"

export type Cluster = "stocks" | "options" | "indices"

/** One cluster's replay: its tickers, their per-second bars, and the wire shape of its aggregates. */
export interface ClusterFeed {
  readonly cluster: Cluster
  readonly symbols: ReadonlyArray<string>
  readonly bars: BarProvider
  /** `index`: aggregates without volume keys (spec §11.4, indices). */
  readonly wire: "stock" | "index"
}

const round4 = (x: number) => Math.round(x * 10_000) / 10_000
const round2 = (x: number) => Math.round(x * 100) / 100

/** A second aggregate as the vendor sends it (spec §11.4); indices carry no volume keys. */
export interface AEvent {
  readonly ev: "A"
  readonly sym: string
  readonly v?: number
  readonly av?: number
  readonly op: number
  readonly vw?: number
  readonly o: number
  readonly c: number
  readonly h: number
  readonly l: number
  readonly a?: number
  readonly z?: number
  readonly s: number
  readonly e: number
}

export interface Published {
  readonly cluster: Cluster
  /** `A.SPY`: the channel that carries it. */
  readonly channel: string
  readonly json: string
  readonly event: AEvent
  readonly bar: StockBar
}

export interface Group {
  readonly pub: number
  readonly events: ReadonlyArray<Published>
}

interface SymbolState {
  readonly cluster: Cluster
  readonly wire: ClusterFeed["wire"]
  readonly sym: string
  readonly bars: ReadonlyArray<StockBar>
  i: number
  av: number
  notional: number
  readonly op: number
}

const published = (cluster: Cluster, event: AEvent, bar: StockBar): Published => ({
  cluster,
  channel: `A.${event.sym}`,
  json: JSON.stringify(event),
  event,
  bar
})

const nextEvent = (st: SymbolState, b: StockBar): Published => {
  if (st.wire === "index")
    return published(
      st.cluster,
      {
        ev: "A",
        sym: st.sym,
        op: st.op,
        o: b.open,
        c: b.close,
        h: b.high,
        l: b.low,
        s: b.ts,
        e: b.ts + 1000
      },
      b
    )
  st.av += b.volume
  const vw = b.vwap ?? round4((b.high + b.low + b.close) / 3)
  st.notional += vw * b.volume
  const a = st.av > 0 ? round4(st.notional / st.av) : vw
  const z = b.trades !== null && b.trades > 0 ? Math.round(b.volume / b.trades) : b.volume
  return published(
    st.cluster,
    {
      ev: "A",
      sym: st.sym,
      v: b.volume,
      av: st.av,
      op: st.op,
      vw,
      o: b.open,
      c: b.close,
      h: b.high,
      l: b.low,
      a,
      z,
      s: b.ts,
      e: b.ts + 1000
    },
    b
  )
}

export const corrected = (p: Published): Published => {
  const c = round2(p.event.c + 0.01)
  const event: AEvent = {
    ...p.event,
    c,
    h: Math.max(p.event.h, c),
    ...(p.event.v === undefined ? {} : { v: p.event.v + 100, av: (p.event.av ?? 0) + 100 })
  }
  return published(p.cluster, event, { ...p.bar, close: c, high: event.h, volume: event.v ?? p.bar.volume })
}

/** The session's bars, merged over clusters and symbols into publish groups, built lazily in order. */
export const makeTimeline = (date: string, feeds: ReadonlyArray<ClusterFeed>) => {
  const day = sessionOf(date)
  const states: Array<SymbolState> = []
  const seconds = new Set<number>()
  if (day._tag === "open") {
    for (const feed of feeds)
      for (const sym of [...new Set(feed.symbols)].sort()) {
        const inSession = feed.bars(sym, date).filter((b) => b.ts >= day.openMs && b.ts < day.closeMs)
        const sorted = inSession.every((b, i) => i === 0 || inSession[i - 1]!.ts < b.ts)
          ? inSession
          : inSession.slice().sort((x, y) => x.ts - y.ts)
        if (sorted.length === 0) continue
        for (const b of sorted) seconds.add(b.ts)
        states.push({
          cluster: feed.cluster,
          wire: feed.wire,
          sym,
          bars: sorted,
          i: 0,
          av: 0,
          notional: 0,
          op: sorted[0]!.open
        })
      }
  }
  const order = [...seconds].sort((a, b) => a - b)
  let k = 0
  return {
    openMs: day._tag === "open" ? day.openMs : newYorkTimeToEpochMs(date, 9, 30),
    size: order.length,
    /** The next group, or undefined at the end. Each call advances. */
    next: (): Group | undefined => {
      const ts = order[k]
      if (ts === undefined) return undefined
      k++
      const events: Array<Published> = []
      for (const st of states) {
        const b = st.bars[st.i]
        if (b === undefined || b.ts !== ts) continue
        st.i++
        events.push(nextEvent(st, b))
      }
      return { pub: ts + PUBLISH_DELAY_MS, events }
    }
  }
}
