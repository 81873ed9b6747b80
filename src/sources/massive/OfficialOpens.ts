/**
 * The day's official opens the stocks feed has read (`op` of every aggregate, spec §11.4), for the
 * feeds that start from them: an option chain is the contracts near its underlying's open. A
 * stream process captures one session, so a symbol's open is noted once and then only read.
 */
import { Context, Effect, Layer } from "effect"

export interface OfficialOpensShape {
  /** Notes `op` for `symbol` (the first one counts); cheap enough for the decoding hot path. */
  readonly note: (symbol: string, op: number) => void
  /** The open of `symbol`, waiting until one is noted (bound it with a timeout). */
  readonly get: (symbol: string) => Effect.Effect<number>
}

export class OfficialOpens extends Context.Tag("tapehouse/massive/OfficialOpens")<
  OfficialOpens,
  OfficialOpensShape
>() {}

export const make = (): OfficialOpensShape => {
  const known = new Map<string, number>()
  const waiting = new Map<string, Set<(op: number) => void>>()
  return {
    note: (symbol, op) => {
      if (known.has(symbol) || !Number.isFinite(op)) return
      known.set(symbol, op)
      const waiters = waiting.get(symbol)
      if (waiters === undefined) return
      waiting.delete(symbol)
      for (const wake of waiters) wake(op)
    },
    get: (symbol) =>
      Effect.async<number>((resume) => {
        const op = known.get(symbol)
        if (op !== undefined) {
          resume(Effect.succeed(op))
          return
        }
        const wake = (value: number) => resume(Effect.succeed(value))
        let waiters = waiting.get(symbol)
        if (waiters === undefined) waiting.set(symbol, (waiters = new Set()))
        waiters.add(wake)
        return Effect.sync(() => waiters.delete(wake))
      })
  }
}

/** One record of opens for the process (the stocks feed writes it, the options feed reads it). */
export const layer: Layer.Layer<OfficialOpens> = Layer.sync(OfficialOpens, make)
