/**
 * A planned reconnect without a gap (bookCapture.ts): the replacement connection opens while the
 * old one still delivers, and both feed CaptureCore until the new one has caught up with every
 * symbol; then the old one is closed. The two carry the same streams, so an event may come twice
 * (DepthSync ignores the second as stale: its `u` is not past the book's) or, when the new socket
 * runs ahead of the old, out of order. To keep order, a symbol's events from the new connection
 * are held until it "joins": its first event is one the capture has already seen (`u` ≤ the last
 * `u` seen) or the very next one (spot `U` = last `u` + 1, USD-M `pu` = last `u`). From then on,
 * each of its events follows one the capture has seen, so it is a duplicate or the next in chain.
 */
import type { DepthEvent } from "../../sources/binance/depthWire.js"

interface HeldEvent {
  readonly event: DepthEvent
  readonly arrivalMs: number
  readonly arrivalNs: bigint
}

export type Process = (event: DepthEvent, arrivalMs: number, arrivalNs: bigint) => void

export class Handover {
  private readonly joined = new Set<string>()
  private readonly held = new Map<string, Array<HeldEvent>>()

  constructor(
    readonly usdm: boolean,
    private readonly symbolCount: number
  ) {}

  /** Every symbol's events from the new connection now follow the capture's. */
  get complete(): boolean {
    return this.joined.size >= this.symbolCount
  }

  /** `event` may follow `lastU`, the last final id seen for its symbol (-1: none yet). */
  private joinable(lastU: number, event: DepthEvent): boolean {
    if (lastU < 0 || event.u <= lastU) return true
    return this.usdm ? event.pu === lastU : event.U === lastU + 1
  }

  /**
   * Whether an event goes on to the book now; false when it is held (from the new connection,
   * ahead of the old one's).
   */
  admit(
    symbol: string,
    lastU: number,
    event: DepthEvent,
    arrivalMs: number,
    arrivalNs: bigint,
    fromNew: boolean
  ): boolean {
    if (!fromNew || this.joined.has(symbol)) return true
    const held = this.held.get(symbol)
    if (held === undefined && this.joinable(lastU, event)) {
      this.joined.add(symbol)
      return true
    }
    if (held === undefined) this.held.set(symbol, [{ event, arrivalMs, arrivalNs }])
    else held.push({ event, arrivalMs, arrivalNs })
    return false
  }

  /** After an event of the old connection: the held ones go on once the first of them may follow. */
  drain(symbol: string, lastU: number, process: Process): void {
    const held = this.held.get(symbol)
    if (held === undefined || !this.joinable(lastU, held[0]!.event)) return
    this.held.delete(symbol)
    this.joined.add(symbol)
    for (const h of held) process(h.event, h.arrivalMs, h.arrivalNs)
  }

  /** The old connection is gone: what is held goes on in order (a gap there is found as any other). */
  finish(process: (symbol: string) => Process): void {
    for (const [symbol, held] of this.held) {
      const p = process(symbol)
      for (const h of held) p(h.event, h.arrivalMs, h.arrivalNs)
    }
    this.held.clear()
  }
}
